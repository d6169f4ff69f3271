"""The timer service's contracts: ask for a reply after a delay or at a time; cancel it.

Arvo keeps machines pure and forbids XState's ``after``: time enters a workflow as an event,
like any other service's answer. A workflow sends ``com.arvo.timer`` with a ``delay`` in
seconds or an absolute ``due`` time (and an optional ``tag``), and receives
``evt.arvo.timer.success`` when the timer is due. ``com.arvo.timer.cancel`` names the timer
and answers at once whether it was still pending. A workflow does not know the ids of the
events it emits, so a timer it may cancel gets a ``name``, unique within its subject: the
cancel request gives that name (or the id of the event that set the timer).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from arvo_ray.core import create_simple_arvo_contract

__all__ = [
    "TimerCancel",
    "TimerCancelled",
    "TimerFired",
    "TimerRequest",
    "timer_cancel_contract",
    "timer_contract",
]


class TimerRequest(BaseModel):
    """Reply after ``delay`` seconds, or at ``due`` (an ISO 8601 time with its offset).

    Example:
        >>> TimerRequest(delay=30, name="deadline").delay
        30.0
        >>> TimerRequest(delay=30, due="2026-01-01T09:00:00+00:00")
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for TimerRequest
          Value error, give exactly one of 'delay' (seconds) and 'due' (a time) ...
    """

    delay: float | None = Field(default=None, ge=0, description="Seconds from now.")
    due: datetime | None = Field(default=None, description="When, with a UTC offset.")
    tag: str | None = Field(default=None, description="Returned in the reply, e.g. 'deadline'.")
    name: str | None = Field(
        default=None,
        min_length=1,
        description="Names the timer within its subject, to cancel it; a second request with "
        "the same name while it waits is ignored.",
    )

    @model_validator(mode="after")
    def _one_of_delay_and_due(self) -> TimerRequest:
        if (self.delay is None) == (self.due is None):
            raise ValueError("give exactly one of 'delay' (seconds) and 'due' (a time)")
        if self.due is not None and self.due.utcoffset() is None:
            raise ValueError("'due' needs a UTC offset (e.g. 2026-01-01T09:00:00+00:00)")
        return self


class TimerFired(BaseModel):
    """The reply: the timer ``timer_id`` (the request's event id) is due.

    Example:
        >>> fired = TimerFired(timer_id="e-1", tag="deadline", due="2026-01-01T09:00:00Z",
        ...     fired_at="2026-01-01T09:00:00.2Z")
        >>> fired.tag, fired.name
        ('deadline', None)
    """

    timer_id: str
    name: str | None = None
    tag: str | None = None
    due: str = Field(description="When it was due (ISO 8601, UTC).")
    fired_at: str = Field(description="When it fired (ISO 8601, UTC).")


class TimerCancel(BaseModel):
    """Cancel the timer set by the event ``timer_id``, or the one ``name``d on this subject.

    Example:
        >>> TimerCancel(name="deadline").name
        'deadline'
    """

    timer_id: str | None = Field(
        default=None, min_length=1, description="The id of the event that set the timer."
    )
    name: str | None = Field(default=None, min_length=1, description="The timer's name.")

    @model_validator(mode="after")
    def _one_of_id_and_name(self) -> TimerCancel:
        if (self.timer_id is None) == (self.name is None):
            raise ValueError("give exactly one of 'timer_id' and 'name'")
        return self


class TimerCancelled(BaseModel):
    """The answer to a cancel: whether a pending timer was dropped.

    Example:
        >>> TimerCancelled(name="deadline", cancelled=False).cancelled
        False
    """

    timer_id: str | None = None
    name: str | None = None
    cancelled: bool = Field(description="False when it had fired already, or never existed.")


timer_contract = create_simple_arvo_contract(
    uri="#/arvo-ray/timer",
    type="arvo.timer",
    versions={"1.0.0": {"accepts": TimerRequest, "emits": TimerFired}},
    description="A reply after a delay or at a time: durable, fired once.",
)

timer_cancel_contract = create_simple_arvo_contract(
    uri="#/arvo-ray/timer/cancel",
    type="arvo.timer.cancel",
    versions={"1.0.0": {"accepts": TimerCancel, "emits": TimerCancelled}},
    description="Cancel a pending timer.",
)
