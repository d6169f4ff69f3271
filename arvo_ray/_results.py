"""What a run gives back, in-process (``SimpleEventBroker``) and on Ray (``ArvoRuntime``) alike.

One vocabulary for both: a :class:`RunResult` (the answer, the events returned, the dead letters,
the trace), :class:`DeadLetter` (an event and the error that stopped it), the errors a run can
report besides violations, and :class:`WorkflowRecord` (a stored record, readable). Plain
dataclasses of events and exceptions, so they pickle cheaply across Ray; they render as tables
in Jupyter (``_repr_html_``, built by :mod:`arvo_ray._display`). The lists a result holds are
:class:`EventList` and :class:`DeadLetterList`: plain lists in every respect but their table
display. Nothing here imports Ray.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arvo_ray import _display, _lazy
from arvo_ray.core import ArvoEvent
from arvo_ray.workflow import is_finished, stored_answer

__all__ = [
    "AnswerTimeoutError",
    "DeadLetter",
    "OrphanEventError",
    "RunResult",
    "WorkflowRecord",
    "WorkflowStalledError",
]


class OrphanEventError(LookupError):
    """An event that belongs to no workflow instance, kept as a dead letter with the reason.

    Either no instance is stored for its subject and it is not that workflow's init event (a
    reply to a workflow that never started), or its subject names another orchestrator.

    Example:
        >>> error = OrphanEventError("no workflow instance is stored for the subject")
        >>> error.reason, isinstance(error, LookupError)
        ('no workflow instance is stored for the subject', True)
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkflowStalledError(RuntimeError):
    """The workflow has not finished and waits for an event that may never come: the last
    event for it raised a violation (it committed nothing), as noted on its record.

    Resending a corrected event lets it go on; ``ArvoRuntime.record(subject)["stalled"]``
    names the event and the violation.

    Example:
        >>> error = WorkflowStalledError.of({"eventId": "e-1", "eventType": "evt.x.success",
        ...     "error": "ContractViolation", "message": "ViolationError<Contract> ..."})
        >>> str(error)
        "The workflow has not finished: event 'e-1' (evt.x.success) raised ContractViolation: ViolationError<Contract> ..."
    """

    @classmethod
    def of(cls, note: dict[str, Any]) -> WorkflowStalledError:
        """The error for the ``"stalled"`` note of a workflow record."""
        return cls(
            f"The workflow has not finished: event {note['eventId']!r} ({note['eventType']}) "
            f"raised {note['error']}: {note['message']}"
        )


class AnswerTimeoutError(TimeoutError):
    """A run stopped waiting for its workflow's answer after ``completion_timeout`` seconds.

    The run's own chain was cut (a crash, or a failure the recovery sweep retries) and the
    workflow was still active in memory when the wait ended; it may still finish later, and
    ``ArvoRuntime.record(subject)`` shows where it is.

    Example:
        >>> AnswerTimeoutError("no answer within 600 s").args
        ('no answer within 600 s',)
    """


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


# EventList and DeadLetterList are left out of __all__, which the package re-exports as its
# pinned public surface: they are met as the lists of a RunResult, and imported from here.
class EventList(list[ArvoEvent]):
    """A ``list`` of events that renders as one table in Jupyter, a row per event.

    It is a list in every other respect (equal to a plain list of the same events, pickled
    and copied as one), so code that builds or compares lists of events need not know it.
    ``RunResult.outputs``, ``trace``, ``domained`` and ``late`` are ones; wrap any other list
    of events (``EventList(events)``) to see it as a table.

    Example:
        >>> from arvo_ray.core import create_arvo_event
        >>> events = [create_arvo_event(source="com.test.client", type=f"com.step.{n}",
        ...     subject="demo", data={"n": n}, disable_telemetry=True) for n in (1, 2)]
        >>> listed = EventList(events)
        >>> listed == events, isinstance(listed, list)
        (True, True)
        >>> shown = listed._repr_html_()
        >>> "2 events</caption>" in shown, shown.count("<tr>")
        (True, 3)
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        return _display.events_html(self)


class DeadLetterList(list[DeadLetter]):
    """A ``list`` of dead letters that renders as one table in Jupyter, a row per letter.

    Equal to, and pickled like, a plain list; ``RunResult.errors`` is one, and
    ``DeadLetterList(runtime.dead_letters())`` shows a runtime's as a table.

    Example:
        >>> from arvo_ray.core import create_arvo_event
        >>> event = create_arvo_event(source="com.test.client", type="com.step.one",
        ...     subject="demo", data={}, disable_telemetry=True)
        >>> letters = DeadLetterList([DeadLetter(ValueError("no handler"), event)])
        >>> letters == [DeadLetter(letters[0].error, event)]
        True
        >>> shown = letters._repr_html_()
        >>> "1 dead letter</caption>" in shown, "no handler" in shown
        (True, True)
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        return _display.dead_letters_html(self)


@dataclass(slots=True)
class RunResult:
    """Everything one chain of events (started by one event) produced, in-process
    (``SimpleEventBroker.run``) or on Ray (``ArvoRuntime.run``) alike.

    Attributes:
        final: The last output addressed back to the initiating event's ``source`` (e.g. the
            workflow's completion or system error), or ``None``.
        outputs: Events no handler or workflow subscribes to, in arrival order; never dropped.
        errors: Events that raised a violation, failed, or belong to no workflow instance
            (:class:`OrphanEventError`), with the error; each event once.
        domained: Events addressed to another domain's bus.
        late: Events that reached a workflow after it had finished (ignored; not errors).
        hops: How many events were routed to a handler or workflow.
        seconds: Wall-clock duration of the chain.
        trace: Every event of the chain in routing order (only when asked for: ``trace=True``).
        redelivered: Some event of the chain had been consumed or handed on before (the
            run was retried after a crash, raced a recovery, or repeated an earlier run);
            ``final`` then comes from the answer stored with the workflow or from whichever
            chain delivered it.

    Every event appears at most once in ``outputs``, ``errors``, ``domained`` and ``late``,
    whatever retries and recoveries happened inside the chain. The lists given are kept as an
    :class:`EventList` or a :class:`DeadLetterList` (equal to the plain lists), so each one
    shows as a table in Jupyter too; the result's own ``repr`` is a one-line summary.

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
        >>> result
        RunResult(ok, final='arvo.orc.inc.done', outputs=0, errors=0, hops=4, seconds=0.250)
        >>> failed = RunResult(errors=[DeadLetter(ValueError("boom"), done)])
        >>> failed.ok, failed.errors == [DeadLetter(failed.errors[0].error, done)]
        (False, True)
        >>> failed
        RunResult(1 error: ValueError, final=None, outputs=0, errors=1, hops=0, seconds=0.000)
    """

    final: ArvoEvent | None = None
    outputs: list[ArvoEvent] = field(default_factory=list)
    errors: list[DeadLetter] = field(default_factory=list)
    domained: list[ArvoEvent] = field(default_factory=list)
    hops: int = 0
    seconds: float = 0.0
    trace: list[ArvoEvent] | None = None
    redelivered: bool = False
    late: list[ArvoEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Keep every list a displayable one; callers (and both brokers) pass plain lists.
        self.outputs = _events(self.outputs)
        self.domained = _events(self.domained)
        self.late = _events(self.late)
        if self.trace is not None:
            self.trace = _events(self.trace)
        if not isinstance(self.errors, DeadLetterList):
            self.errors = DeadLetterList(self.errors)

    def __repr__(self) -> str:
        # One line: the dataclass repr would print every event of every list.
        if self.errors:
            kinds = ", ".join(sorted({type(letter.error).__name__ for letter in self.errors}))
            count = len(self.errors)
            status = f"{count} error{'' if count == 1 else 's'}: {kinds}"
        else:
            status = "ok"
        parts = [
            status,
            f"final={self.final.type if self.final is not None else None!r}",
            f"outputs={len(self.outputs)}",
            f"errors={len(self.errors)}",
        ]
        parts += [
            f"{name}={len(events)}"
            for name, events in (("domained", self.domained), ("late", self.late))
            if events
        ]
        parts += [f"hops={self.hops}", f"seconds={self.seconds:.3f}"]
        if self.trace is not None:
            parts.append(f"trace={len(self.trace)}")
        if self.redelivered:
            parts.append("redelivered")
        return f"RunResult({', '.join(parts)})"

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
            f"| late | {len(self.late)} |",
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
            "late": len(self.late),
            "hops": self.hops,
            "seconds": round(self.seconds, 6),
        }


def _events(events: list[ArvoEvent]) -> EventList:
    return events if isinstance(events, EventList) else EventList(events)


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
        >>> record.output is None, record.answer, record.finished
        (True, [], False)
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
    def finished(self) -> bool:
        """Done or failed: nothing will change this record but acknowledgements."""
        return is_finished(self)

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

    @property
    def answer(self) -> list[ArvoEvent]:
        """The finished workflow's answer: its completion or its ``sys.*.error`` events."""
        return stored_answer(self)

    def _repr_html_(self) -> str:
        return _display.record_html(self)


# Shared by the broker and the runtime: named after the package that exports both.
_lazy.set_public_module("arvo_ray", [globals()[name] for name in __all__])
