"""``EventGate``: refuse, at the door, the events a runtime's receivers would refuse later.

An event accepted over HTTP is the sender's last chance to hear that it is wrong: once it is
in, a contract violation only shows up as a dead letter the sender never sees. So the gate
asks the receiving handler or workflow to run the checks its first step would run
(``check_input``: contract, version, data), and turns any violation into a 422.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arvo_ray.core import ArvoEvent, InvalidSubjectError, is_violation_error
from arvo_ray.core.kit import quote
from arvo_ray.egress import SinkRouting
from arvo_ray.ingress._http import IngressError

__all__ = ["EventGate"]


class EventGate:
    """The topics of a runtime's handlers and workflows, and their input checks.

    Args:
        receivers: Handlers and workflows; each takes the events whose ``to`` is its
            ``source``. A receiver without ``check_input`` is trusted with every event.
        sinks: Where events for no receiver go: a ``to`` one of them takes is known too.
    """

    def __init__(self, receivers: Iterable[Any], sinks: SinkRouting | None = None) -> None:
        self._receivers = {receiver.source: receiver for receiver in receivers}
        self._sinks = sinks or SinkRouting()

    @property
    def topics(self) -> list[str]:
        return sorted(self._receivers)

    def check(self, event: ArvoEvent) -> None:
        """Raises :class:`IngressError` (422) when no receiver takes ``event`` or its receiver
        would refuse it; the message is the violation's."""
        receiver = self._receivers.get(event.to or "")
        if receiver is None and self._sinks.for_topic(event.to or "") is not None:
            return
        if receiver is None:
            raise IngressError(
                422,
                f"Event {quote(event.id)}: no handler or workflow here takes to="
                f"{quote(event.to)}; known: {', '.join(self.topics)}",
            )
        check = getattr(receiver, "check_input", None)
        if check is None:
            return
        try:
            check(event)
        except InvalidSubjectError as exc:
            raise IngressError(422, f"Event {quote(event.id)}: {exc}") from exc
        except Exception as exc:
            if not is_violation_error(exc):
                raise
            raise IngressError(
                422, f"Event {quote(event.id)} violates {type(exc).__name__}: {exc}"
            ) from exc
