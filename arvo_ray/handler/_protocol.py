"""The one seam every handler kind shares: ``async execute(event) -> ExecutionResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from arvo_ray.core import ArvoEvent, SchemaRecord
from arvo_ray.core.otel import OtelInherit

__all__ = ["ExecutionResult", "IArvoEventHandler", "OtelInherit"]


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What one ``execute`` call produced: the events to publish, in order.

    Attributes:
        events: The events to publish.
        committed: A workflow step wrote its new state (always ``False`` for plain handlers).
        duplicate: The workflow had already consumed this event id; ``events`` are what that
            earlier step emitted and has not seen acknowledged (re-published, same ids).
        late: The workflow had already finished (done or failed); the event changed nothing.
        orphan: Why the event belongs to no workflow instance here (a non-init event with no
            stored workflow, or a subject naming another orchestrator); ``None`` otherwise.
        answer: The stored answer of a finished workflow (its completion, or its
            ``sys.*.error`` events), returned with duplicate and late events, so a caller that
            asks again gets the answer it missed.
        retry_in: The call failed transiently, its retry policy tries it again, and the
            caller asked to do the waiting itself (``defer_retry``): call again with the next
            attempt after this many seconds. ``None`` otherwise.

    Example:
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import value_write_contract, value_write_handler
        >>> handler = value_write_handler({})
        >>> event = create_arvo_event_factory(value_write_contract.version("0.0.1")).accepts(
        ...     source="com.example.client", subject="s", data={"key": "apples", "value": 3})
        >>> result = asyncio.run(handler.execute(event))
        >>> [(e.type, e.data) for e in result.events]
        [('evt.value.write.success', {'key': 'apples', 'success': True})]
        >>> result.committed, result.duplicate, result.late, result.orphan, result.answer
        (False, False, False, None, [])
        >>> result.retry_in is None
        True
    """

    events: list[ArvoEvent] = field(default_factory=list)
    committed: bool = False
    duplicate: bool = False
    late: bool = False
    orphan: str | None = None
    answer: list[ArvoEvent] = field(default_factory=list)
    retry_in: float | None = None

    def _repr_html_(self) -> str:
        """Jupyter: the flags as a table, then the events to publish and any stored answer."""
        from arvo_ray._display import execution_result_html

        return execution_result_html(self)


@runtime_checkable
class IArvoEventHandler(Protocol):
    """A unit that turns one event into zero or more events, knowing nothing of where it runs.

    ``execute`` raises violations (:class:`~arvo_ray.core.errors.ViolationError`) and returns
    every other failure as ``sys.<source>.error`` events. The same object runs in-process (the
    ``SimpleEventBroker``) and on Ray (as a task or inside a workflow actor).

    Example:
        >>> from arvo_ray.examples.number_domain import build_number_domain
        >>> domain = build_number_domain()
        >>> all(isinstance(unit, IArvoEventHandler) for unit in domain.all)
        True
        >>> [unit.source for unit in domain.all]
        ['com.increment.number', 'com.decrement.number', 'com.value.read', 'com.value.write',
         'arvo.orc.inc', 'arvo.orc.dec', 'arvo.orc.number.modifier']
        >>> domain.all[2].system_error_schema.type
        'sys.com.value.read.error'
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
