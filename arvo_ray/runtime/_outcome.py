"""Values that travel between the runtime's processes, and what the runtime hands back to read.

Step outcomes, dead letters and run results are plain dataclasses of events and exceptions, so
they pickle cheaply across Ray. They, a stored workflow record (:class:`WorkflowRecord`) and the
runtime's counters (:class:`RuntimeStats`) render as tables in Jupyter (``_repr_html_``, built
by :mod:`arvo_ray._display`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arvo_ray import _display
from arvo_ray.core import ArvoEvent

__all__ = ["DeadLetter", "RunResult", "RuntimeStats", "StepOutcome", "WorkflowRecord"]


@dataclass(slots=True)
class StepOutcome:
    """What handling one event produced on a worker.

    Attributes:
        events: The events to route next.
        error: A violation (or an unexpected error) raised while handling the event.
        finished: The workflow instance reached a terminal state (done or failed).
        committed: A workflow step wrote its state (acknowledgements it carried are applied).
        duplicate: The workflow had already consumed the event (a redelivery).
        metrics: New metric figures of the worker process (first outcome of a batch only,
            when telemetry is configured), gathered by the broker for ``stats()``.

    Example:
        A handler task wraps what ``execute`` returned (or raised) exactly like this:

        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import increment_contract, increment_handler
        >>> factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
        >>> request = factory.accepts(source="com.test.client", data={"init": 1, "increment": 2})
        >>> result = asyncio.run(increment_handler().execute(request))
        >>> outcome = StepOutcome(events=result.events)
        >>> [(event.type, event.data) for event in outcome.events]
        [('evt.increment.number.success', {'result': 3})]
        >>> outcome.error, outcome.finished, outcome.committed
        (None, False, False)
    """

    events: list[ArvoEvent] = field(default_factory=list)
    error: BaseException | None = None
    finished: bool = False
    committed: bool = False
    duplicate: bool = False
    metrics: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event that could not be processed, with the error that says why.

    Example:
        An event whose data breaks the contract makes the handler raise a violation; the
        runtime keeps the pair (``RunResult.errors``, ``ArvoRuntime.dead_letters()``):

        >>> import asyncio
        >>> from arvo_ray.core import ContractViolation, create_arvo_event
        >>> from arvo_ray.examples.number_domain import increment_handler
        >>> bad = create_arvo_event(source="com.test.client", type="com.increment.number",
        ...     subject="demo", data={"init": "one", "increment": 2},
        ...     dataschema="#/test/handler/increment/0.0.1", disable_telemetry=True)
        >>> try:
        ...     asyncio.run(increment_handler().execute(bad))
        ... except ContractViolation as error:
        ...     letter = DeadLetter(error=error, event=bad)
        >>> letter
        DeadLetter(ContractViolation: ViolationError<Contract> Input event payload validation
                   failed: ..., event=ArvoEvent(type='com.increment.number', ...))
        >>> letter.event is bad
        True
    """

    error: BaseException
    event: ArvoEvent

    def __repr__(self) -> str:
        return f"DeadLetter({type(self.error).__name__}: {self.error}, event={self.event!r})"

    def _repr_html_(self) -> str:
        return _display.dead_letter_html(self)


@dataclass(slots=True)
class RunResult:
    """Everything one chain of events (started by one event) produced.

    Attributes:
        final: The last output addressed back to the initiating event's ``source`` (e.g. the
            workflow's completion or system error), or ``None``.
        outputs: Events no handler or workflow subscribes to, in arrival order; never dropped.
        errors: Events that raised a violation or failed, with the error.
        domained: Events addressed to another domain's bus.
        hops: How many events were routed to a handler or workflow.
        seconds: Wall-clock duration of the chain.
        trace: Every event of the chain in routing order (only when asked for: ``trace=True``).
        redelivered: Some event of the chain had been consumed before (the run was retried
            after a crash, or raced a recovery); ``final`` then comes from the workflow's record
            or from whichever chain delivered it.

    Example:
        ``ArvoRuntime.run`` returns one; built by hand here with a completion of the number
        domain's ``arvo.orc.inc`` workflow as the final event:

        >>> result = runtime.run(init_event)  # doctest: +SKIP
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import increment_orchestrator_contract
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     increment_orchestrator_contract.version("0.0.1"))
        >>> done = factory.complete(source="arvo.orc.inc",
        ...     data={"success": True, "error": [], "final": 3})
        >>> result = RunResult(final=done, hops=4, seconds=0.25)
        >>> result.ok, result.final.type, result.final.data["final"]
        (True, 'arvo.orc.inc.done', 3)
        >>> summary = result.describe()
        >>> summary["hops"], summary["errors"], summary["final"]["type"]
        (4, [], 'arvo.orc.inc.done')
        >>> RunResult(errors=[DeadLetter(ValueError("boom"), done)]).ok
        False
    """

    final: ArvoEvent | None = None
    outputs: list[ArvoEvent] = field(default_factory=list)
    errors: list[DeadLetter] = field(default_factory=list)
    domained: list[ArvoEvent] = field(default_factory=list)
    hops: int = 0
    seconds: float = 0.0
    trace: list[ArvoEvent] | None = None
    redelivered: bool = False

    @property
    def ok(self) -> bool:
        """True when the chain ended without errors."""
        return not self.errors

    def _repr_markdown_(self) -> str:
        rows = [
            "| | |",
            "|---|---|",
            f"| final | `{self.final.type if self.final else None}` |",
            f"| outputs | {len(self.outputs)} |",
            f"| errors | {len(self.errors)} |",
            f"| domained | {len(self.domained)} |",
            f"| hops | {self.hops} |",
            f"| seconds | {self.seconds:.3f} |",
        ]
        if self.final is not None:
            rows.append(f"| final data | `{self.final.data}` |")
        return "\n".join(rows)

    def _repr_html_(self) -> str:
        """Jupyter: the final event and the counts, the errors, and the trace as a table."""
        return _display.run_result_html(self)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "final": self.final.to_dict() if self.final else None,
            "outputs": len(self.outputs),
            "errors": [f"{type(d.error).__name__}: {d.error}" for d in self.errors],
            "domained": len(self.domained),
            "hops": self.hops,
            "seconds": round(self.seconds, 6),
        }


class WorkflowRecord(dict[str, Any]):
    """A stored workflow record (a plain ``dict``) that renders as a table in Jupyter.

    ``ArvoRuntime.record(subject)`` returns one; wrap any record read from a memory with
    ``WorkflowRecord(record)``. It is equal to the plain record and reads like it
    (``record["status"]``); the properties below spare digging for the common fields of
    orchestrator records (``state``) and resumable records (``state$$``) alike.

    Example:
        One step of the number domain's ``arvo.orc.number.modifier`` orchestrator, run here on a
        local memory, and its stored record read back:

        >>> record = runtime.record(subject)  # doctest: +SKIP
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     number_modifier_contract, number_modifier_orchestrator)
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = SimpleMachineMemory()
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     number_modifier_contract.version("0.0.1"))
        >>> init = factory.init(source="com.test.client", data={"init": 1, "modifier": 2,
        ...     "operation": "increment", "trend": "linear", "parentSubject$$": None})
        >>> step = asyncio.run(number_modifier_orchestrator(memory).execute(init))
        >>> stored = asyncio.run(memory.read(init.subject))
        >>> record = WorkflowRecord(stored)
        >>> record == stored, record["status"], record.status, record.subject == init.subject
        (True, 'active', 'active', True)
        >>> {key: record.context[key] for key in ("init", "modifier", "operation")}
        {'init': 1, 'modifier': 2, 'operation': 'increment'}
        >>> record.output is None
        True
    """

    @property
    def subject(self) -> str | None:
        """The workflow instance's subject."""
        return self.get("subject")

    @property
    def status(self) -> str | None:
        """``"active"`` or ``"done"``."""
        return self.get("status")

    @property
    def context(self) -> Any:
        """The machine's context (orchestrators) or the persisted context (resumables)."""
        state = self.get("state")
        if isinstance(state, dict) and "context" in state:
            return state["context"]
        return self.get("state$$")

    @property
    def output(self) -> Any:
        """The machine's output once done (orchestrators; ``None`` otherwise)."""
        state = self.get("state")
        return state.get("output") if isinstance(state, dict) else None

    def _repr_html_(self) -> str:
        return _display.record_html(self)


class RuntimeStats(dict[str, Any]):
    """``ArvoRuntime.stats()``: a plain ``dict`` of counters that renders as a table in Jupyter.

    Example:
        >>> stats = runtime.stats()  # doctest: +SKIP
        >>> stats = RuntimeStats({"runs": 1, "events_routed": 4, "placement": "instance"})
        >>> stats == {"runs": 1, "events_routed": 4, "placement": "instance"}, stats["runs"]
        (True, 1)
        >>> "runtime stats" in stats._repr_html_()
        True
    """

    def _repr_html_(self) -> str:
        return _display.stats_html(self)
