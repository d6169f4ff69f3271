"""The one seam every handler kind shares: ``async execute(event) -> ExecutionResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from arvo_ray.core import ArvoEvent, SchemaRecord

__all__ = ["ExecutionResult", "IArvoEventHandler", "OtelInherit"]

OtelInherit = Literal["event", "context"]
"""Parent of the handler's span: the event's ``traceparent`` or the caller's active span."""


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What one ``execute`` call produced: the events to publish, in order.

    Attributes:
        events: The events to publish.
        committed: A workflow step wrote its new state (always ``False`` for plain handlers).
        duplicate: The workflow had already consumed this event id; ``events`` are what that
            earlier step emitted and has not seen acknowledged (re-published, same ids).
    """

    events: list[ArvoEvent] = field(default_factory=list)
    committed: bool = False
    duplicate: bool = False


@runtime_checkable
class IArvoEventHandler(Protocol):
    """A unit that turns one event into zero or more events, knowing nothing of where it runs.

    ``execute`` raises violations (:class:`~arvo_ray.core.errors.ViolationError`) and returns
    every other failure as ``sys.<source>.error`` events. The same object runs in-process (the
    ``SimpleEventBroker``) and on Ray (as a task or inside a workflow actor).
    """

    @property
    def source(self) -> str:
        """The event type (topic) this handler consumes."""
        ...

    @property
    def system_error_schema(self) -> SchemaRecord:
        """The ``sys.<source>.error`` event this handler emits for uncaught errors."""
        ...

    async def execute(
        self, event: ArvoEvent, *, otel_inherit: OtelInherit = "event"
    ) -> ExecutionResult:
        """Handle one event."""
        ...
