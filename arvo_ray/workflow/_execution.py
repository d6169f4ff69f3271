"""The one execution wrapper of every workflow step: lock → read → run → build → CAS write → unlock.

``ArvoOrchestrator`` and ``ArvoResumable`` only supply the "run" part (:meth:`WorkflowHandler._run`);
everything about subjects, memory, failure records, system errors and event building lives
here, and the Ray workflow actors call this same code. The write is the commit point: a step
whose write fails (stale record, lost lock) has no effect and raises a
:class:`~arvo_ray.core.errors.TransactionViolation`, so it can be retried safely.

Departures from the original, on purpose:

* an event whose id the workflow already consumed is ignored (the record keeps the last
  :data:`CONSUMED_IDS_KEPT` ids), so redelivered or replayed events never drive a workflow twice;
* a finished workflow keeps its **answer** (the completion, or the ``sys.*.error`` events of a
  failure) in its record under ``"answer"``, and events reaching it afterwards are *late*: they
  are validated as before, then ignored without rewriting the record, so nothing can replace
  the answer. Duplicate and late events return the stored answer
  (:attr:`~arvo_ray.handler.ExecutionResult.answer`), so a caller that asks again gets it;
* events that belong to no instance (a non-init event with no stored workflow, or a subject
  naming another orchestrator) still produce no events, and the result says why
  (:attr:`~arvo_ray.handler.ExecutionResult.orphan`), so a runtime can report them;
* a ``parentSubject$$`` in an init event must be a valid orchestration subject.

With :attr:`WorkflowHandler.track_outbox` on (the Ray runtime turns it on), each record also
keeps a transactional **outbox**: the events a step emitted are stored in the same write as the
new state, each with the id of the event that caused it, until the caller acknowledges that it
handed them on (``acknowledged=`` on a later step). A redelivered event then re-emits what its
step emitted and is still unacknowledged, so a step whose results were lost in a crash (after
its commit) is re-published rather than silently dropped.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import Span, SpanKind

from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    ContractViolation,
    ExecutionViolation,
    TransactionViolation,
    TransactionViolationCause,
    VersionedArvoContract,
    is_violation_error,
)
from arvo_ray.core.kit import derived_event_id, quote
from arvo_ray.core.otel import (
    ATTR_ARVO_SPAN_KIND,
    execution_span,
    log_to_span,
    mark_failure,
    metrics_enabled,
    observed_execution,
    record_emittables,
    record_workflow,
    span_headers,
)
from arvo_ray.handler import ArvoDomain, DomainSpec, ExecutionResult, OtelInherit
from arvo_ray.handler.kit import create_system_error_events
from arvo_ray.memory import CarriedHistory, IMachineMemory, lock_and_read, write_and_unlock
from arvo_ray.workflow._emittable import EmitContext, build_emittables, strip_completion_extras
from arvo_ray.workflow._record import (
    WorkflowRecordData,
    is_done,
    is_failed,
    step_state,
    stored_answer,
)

__all__ = [
    "CONSUMED_IDS_KEPT",
    "StepInput",
    "StepOutput",
    "WorkflowHandler",
]

_logger = logging.getLogger("arvo_ray.workflow")

CONSUMED_IDS_KEPT = 256
"""How many consumed event ids a workflow record remembers for de-duplication."""


class _Hold:
    """Whether the step still holds its instance's lock (a fused write releases it)."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = False


@dataclass(frozen=True, slots=True)
class StepInput:
    """What the "run" part of a step gets: the event and the workflow as last committed.

    Example:
        >>> from arvo_ray.core import ArvoOrchestrationSubject
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import decrement_orchestrator_contract
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     decrement_orchestrator_contract.version("0.0.1"))
        >>> init = factory.init(source="com.example.client", data={
        ...     "parentSubject$$": None, "key": "apples", "modifier": 1, "trend": "linear"})
        >>> step = StepInput(event=init, subject=ArvoOrchestrationSubject.parse(init.subject),
        ...                  record=None, parent_subject=None, init_event_id=init.id, span=None)
        >>> step.subject["orchestrator"]
        {'name': 'arvo.orc.dec', 'version': '0.0.1'}
    """

    event: ArvoEvent
    subject: Mapping[str, Any]
    record: Mapping[str, Any] | None
    parent_subject: str | None
    init_event_id: str
    span: Span | None


@dataclass(slots=True)
class StepOutput:
    """What the "run" part produced.

    Attributes:
        raw_events: Service calls and other events, as raw dicts (domains not yet defaulted).
        completion: The workflow's output when it completes in this step, else ``None``.
        self_contract: The self contract version to build events with.
        services: The service contracts of that version.
        finish: Builds the record to persist from the emitted events, or returns ``None`` to
            persist nothing (the step changed nothing).

    Example:
        >>> from arvo_ray.core import ArvoOrchestrationSubject
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     decrement_orchestrator_contract, decrement_resumable)
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     decrement_orchestrator_contract.version("0.0.1"))
        >>> init = factory.init(source="com.example.client", data={
        ...     "parentSubject$$": None, "key": "apples", "modifier": 1, "trend": "linear"})
        >>> step = StepInput(event=init, subject=ArvoOrchestrationSubject.parse(init.subject),
        ...                  record=None, parent_subject=None, init_event_id=init.id, span=None)
        >>> output = asyncio.run(decrement_resumable(SimpleMachineMemory())._run(step))
        >>> output.raw_events, output.completion
        ([{'type': 'com.value.read', 'data': {'key': 'apples'}}], None)
        >>> output.self_contract, sorted(output.services)
        (VersionedArvoContract(uri='#/test/orchestrator/decrement', version='0.0.1'),
         ['decrement', 'value_reader', 'value_writer'])
        >>> record = output.finish([])
        >>> record["status"], record["state$$"]
        ('active', {'key': 'apples', 'value': 0, 'modifier': 1, 'trend': 'linear', 'error': []})
    """

    raw_events: list[dict[str, Any]]
    completion: Mapping[str, Any] | None
    self_contract: VersionedArvoContract
    services: Mapping[str, VersionedArvoContract]
    finish: Callable[[list[ArvoEvent]], WorkflowRecordData | None]
    attributes: dict[str, Any] = field(default_factory=dict)


class WorkflowHandler(ABC):
    """Base of workflow handlers (orchestrators and resumables): the shared step sequence.

    Subclasses set the attributes below and implement :meth:`_run`.

    Example:
        Every workflow kind gets the same guarantees from this step, e.g. a redelivered event
        never drives an instance twice:

        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     decrement_orchestrator, decrement_orchestrator_contract, decrement_resumable)
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     decrement_orchestrator_contract.version("0.0.1"))
        >>> init = factory.init(source="com.example.client", data={
        ...     "parentSubject$$": None, "key": "apples", "modifier": 1, "trend": "linear"})
        >>> for workflow in (decrement_orchestrator(SimpleMachineMemory()),
        ...                  decrement_resumable(SimpleMachineMemory())):
        ...     first = asyncio.run(workflow.execute(init))
        ...     again = asyncio.run(workflow.execute(init))
        ...     print(type(workflow).__name__, isinstance(workflow, WorkflowHandler),
        ...           [e.type for e in first.events], first.committed,
        ...           again.events, again.duplicate)
        ArvoOrchestrator True ['com.value.read'] True [] True
        ArvoResumable True ['com.value.read'] True [] True
    """

    source: str
    memory: IMachineMemory
    executionunits: int | float
    requires_resource_locking: bool
    default_event_emission_domains: dict[str, list[DomainSpec]]
    handler_type: str
    span_kind_value: str
    track_outbox: bool = False
    routed: Callable[[str], bool] | None = None
    """Which ``to`` values the runtime delivers itself (its handlers, workflows, services and
    sinks). When set, a finished workflow's answer addressed to anyone else (its caller) is
    kept as the record's ``answer`` only, not in the outbox: nothing could deliver it again,
    and a caller that asks again is given the stored answer. That spares the write that would
    empty the outbox once the answer was handed back."""
    keep_history: int = 0
    """How many steps each record keeps in ``history`` (the consumed event, what the step
    emitted, and the state it left), for replaying a workflow against changed code (see
    :func:`arvo_ray.testing.replay`). The first steps are kept; later ones are only counted
    (``historyDropped``), so a record stays bounded. The Ray runtime turns it on."""

    @property
    @abstractmethod
    def system_error_contract(self) -> VersionedArvoContract:
        """The contract version used for ``sys.*.error`` events."""

    @abstractmethod
    def _span_name(self, event: ArvoEvent) -> str: ...

    @abstractmethod
    async def _run(self, step: StepInput) -> StepOutput:
        """Run the workflow logic for one event (may raise; violations propagate)."""

    @abstractmethod
    def check_input(self, event: ArvoEvent) -> None:
        """Raise the violation a step would raise for ``event`` before touching any state
        (so a gateway can refuse bad input at the door)."""

    @staticmethod
    def _default_domains(
        given: Mapping[str, Sequence[DomainSpec]] | None,
    ) -> dict[str, list[DomainSpec]]:
        given = dict(given or {})
        return {
            "system_error": list(given.get("system_error", [ArvoDomain.ORCHESTRATION_CONTEXT])),
            "services": list(given.get("services", [ArvoDomain.LOCAL])),
            "complete": list(given.get("complete", [ArvoDomain.ORCHESTRATION_CONTEXT])),
        }

    @property
    def system_error_schema(self) -> Any:
        return self.system_error_contract.system_error

    # -- memory, with the original's error mapping -----------------------------------------

    async def _commit(
        self,
        event: ArvoEvent,
        record: Mapping[str, Any],
        prev: Mapping[str, Any] | None,
        hold: _Hold,
    ) -> None:
        """The step's write; a held lock is released by the same memory call where the memory
        fuses the two (:func:`arvo_ray.memory.write_and_unlock`), else after it."""
        if hold.held and getattr(self.memory, "write_and_unlock", None) is not None:
            hold.held = False  # released whether the write succeeds or not
            await write_and_unlock(self.memory, event.subject, record, prev)
        else:
            await self.memory.write(event.subject, record, prev)

    async def _lock(self, event: ArvoEvent) -> None:
        try:
            acquired = await self.memory.lock(event.subject)
        except Exception as exc:
            raise TransactionViolation(
                TransactionViolationCause.LOCK_FAILURE,
                f"Error acquiring lock for event (subject={event.subject}): {exc}",
                initiating_event=event.to_dict(),
            ) from exc
        if not acquired:
            raise _lock_denied(event)

    async def _unlock(self, event: ArvoEvent) -> None:
        try:
            await self.memory.unlock(event.subject)
        except Exception as exc:
            log_to_span("ERROR", f"Lock release failed (the lock will expire): {exc}")
            _logger.warning(
                "Lock release failed for a workflow step; the lock expires by its TTL: %s",
                exc,
                extra={"arvo": {"event_id": event.id, "subject": event.subject}},
            )

    async def _lock_and_read(self, event: ArvoEvent, hold: _Hold) -> dict[str, Any] | None:
        """Lock (when the workflow needs it) and read the record: one memory call where the
        memory fuses the two (:func:`arvo_ray.memory.lock_and_read`)."""
        if not self.requires_resource_locking:
            return await self._read(event)
        if getattr(self.memory, "lock_and_read", None) is None:
            await self._lock(event)
            hold.held = True
            return await self._read(event)
        try:
            acquired, record = await lock_and_read(self.memory, event.subject)
        except Exception as exc:  # a failed read has released the lock again
            if getattr(exc, "operation", None) == "read":
                cause, what = TransactionViolationCause.READ_FAILURE, "reading state"
            else:
                cause, what = TransactionViolationCause.LOCK_FAILURE, "acquiring lock"
            raise TransactionViolation(
                cause,
                f"Error {what} for event (subject={event.subject}): {exc}",
                initiating_event=event.to_dict(),
            ) from exc
        if not acquired:
            raise _lock_denied(event)
        hold.held = True
        return record

    async def _read(self, event: ArvoEvent) -> dict[str, Any] | None:
        try:
            return await self.memory.read(event.subject)
        except Exception as exc:
            raise TransactionViolation(
                TransactionViolationCause.READ_FAILURE,
                f"Error reading state for event (subject={event.subject}): {exc}",
                initiating_event=event.to_dict(),
            ) from exc

    async def _write(
        self,
        event: ArvoEvent,
        record: Mapping[str, Any],
        prev: Mapping[str, Any] | None,
        hold: _Hold,
    ) -> None:
        try:
            await self._commit(event, record, prev, hold)
        except Exception as exc:
            raise TransactionViolation(
                TransactionViolationCause.WRITE_FAILURE,
                f"Error writing state for event (subject={event.subject}): {exc}",
                initiating_event=event.to_dict(),
            ) from exc

    # -- the step ----------------------------------------------------------------------------

    @observed_execution
    async def execute(
        self,
        event: ArvoEvent,
        *,
        otel_inherit: OtelInherit = "event",
        acknowledged: Collection[str] = (),
    ) -> ExecutionResult:
        """Process one event of a workflow instance (the instance is named by the subject).

        ``acknowledged`` lists ids of earlier emitted events the caller has handed on; they
        leave the outbox with this step's write (only with :attr:`track_outbox`).

        Returns no events for events of other orchestrators and non-init events of unknown
        instances (``orphan`` says why), for finished instances (``late``) and for events
        already consumed (``duplicate``: the unacknowledged events of that step again); the
        last two also return the stored ``answer``. A non-violation error in the workflow logic
        persists a terminal failure record and returns ``sys.<source>.error`` events to the
        instance's initiator (as the original, even when that write fails; with
        :attr:`track_outbox` such a failed write raises, so the events leave only once stored).

        Raises:
            ExecutionViolation: the subject is not an orchestration subject, or a child
                workflow call carries an invalid ``parentSubject$$``.
            ContractViolation: the init event's ``parentSubject$$`` is not a subject.
            TransactionViolation: the memory lock was denied or memory failed (nothing was
                committed; retry).
            ConfigViolation: no machine/handler for the subject's version, or the event
                belongs to no contract of the workflow.
            ContractViolation: the event or an emitted event does not fit its contract.
        """
        with execution_span(
            self._span_name(event),
            kind=SpanKind.PRODUCER,
            attributes={
                ATTR_ARVO_SPAN_KIND: self.span_kind_value,
                "arvo.handler.execution.type": self.handler_type,
                "arvo.handler.execution.status": "normal",
            },
            event=event,
            otel_inherit=otel_inherit,
        ) as span:
            if not ArvoOrchestrationSubject.is_valid(event.subject):
                raise ExecutionViolation(
                    f"Invalid event (id={quote(event.id)}) subject format. Expected an "
                    f"ArvoOrchestrationSubject but received '{quote(event.subject)}'. The "
                    "subject must follow the format specified by ArvoOrchestrationSubject schema",
                    metadata={"event_id": event.id},
                )
            subject = ArvoOrchestrationSubject.parse(event.subject)
            orchestrator = subject["orchestrator"]
            if span is not None:
                span.set_attributes(
                    {
                        "arvo.parsed.subject.orchestrator.name": orchestrator["name"],
                        "arvo.parsed.subject.orchestrator.version": orchestrator["version"],
                    }
                )
            if orchestrator["name"] != self.source:
                reason = (
                    f"the subject names orchestrator {quote(orchestrator['name'])!r}, not "
                    f"{self.source!r}"
                )
                log_to_span("WARNING", f"Event ignored: {reason}")
                return ExecutionResult(events=[], orphan=reason)
            if event.type == self.source:
                _check_parent_subject(event)
            hold = _Hold()
            try:
                record = await self._lock_and_read(event, hold)
                return await self._locked_step(event, subject, span, acknowledged, record, hold)
            finally:
                if hold.held:
                    await self._unlock(event)

    async def _locked_step(
        self,
        event: ArvoEvent,
        subject: Mapping[str, Any],
        span: Span | None,
        acknowledged: Collection[str],
        record: dict[str, Any] | None,
        hold: _Hold,
    ) -> ExecutionResult:
        consumed_ids: list[str] = list((record or {}).get("consumedEventIds") or [])
        if event.id in consumed_ids:
            log_to_span("INFO", f"Event id={quote(event.id)} was already consumed; ignored")
            return ExecutionResult(
                events=self._replay(record, event.id, acknowledged),
                duplicate=True,
                answer=stored_answer(record),
            )
        if is_failed(record):
            if span is not None:
                span.set_attribute("arvo.handler.execution.status", "failure")
            log_to_span("WARNING", "The workflow has failed before; the event is ignored")
            return await self._late(event, record, acknowledged, hold)
        if record is None and event.type != self.source:
            reason = "no workflow instance is stored for the subject, and the event is not its init"
            log_to_span("WARNING", f"Event ignored: {reason}")
            return ExecutionResult(events=[], orphan=reason)
        parent_subject = (record or {}).get("parentSubject")
        init_event_id = (record or {}).get("initEventId") or event.id
        if event.type == self.source:
            parent_subject = event.data.get("parentSubject$$")
        consumed_ids = [*consumed_ids, event.id][-CONSUMED_IDS_KEPT:]
        headers = span_headers(span)
        step = StepInput(
            event=event,
            subject=subject,
            record=record,
            parent_subject=parent_subject,
            init_event_id=init_event_id,
            span=span,
        )
        try:
            output = await self._run(step)
            if is_done(record):
                # Validated by the run above (as the original does); otherwise it changes nothing.
                log_to_span("INFO", "The workflow is done; the late event is ignored")
                return await self._late(event, record, acknowledged, hold)
            emitted = build_emittables(
                self._raw_events(output, subject), self._emit_context(step, output, headers)
            )
            new_record = output.finish(emitted)
        except Exception as error:
            if is_violation_error(error):
                raise
            return await self._fail(step, error, record, consumed_ids, headers, acknowledged, hold)
        if span is not None and output.attributes:
            span.set_attributes(output.attributes)
        if new_record is not None:
            new_record["consumedEventIds"] = consumed_ids
            self._add_history(new_record, record, event, emitted)
            answer: list[dict[str, Any]] = []
            if is_done(new_record):
                complete_type = output.self_contract.metadata["completeEventType"]
                produced = new_record["events"]["produced"]  # the emitted events, as dicts
                answer = new_record["answer"] = [e for e in produced if e["type"] == complete_type]
            if self.track_outbox:
                tracked = self._tracked(emitted, answer)
                new_record["outbox"] = _outbox(record, event.id, tracked, acknowledged)
            await self._write(event, new_record, record, hold)
            _record_commit(self, record, new_record)  # metrics
        record_emittables(span, emitted)
        return ExecutionResult(events=emitted, committed=new_record is not None)

    def _raw_events(self, output: StepOutput, subject: Mapping[str, Any]) -> list[dict[str, Any]]:
        services_default = self.default_event_emission_domains["services"]
        raw_events = [
            raw if raw.get("domain") else {**raw, "domain": services_default}
            for raw in output.raw_events
        ]
        if output.completion:
            completion = output.completion
            raw_events.append(
                {
                    "type": output.self_contract.metadata["completeEventType"],
                    "id": completion.get("__id"),
                    "data": strip_completion_extras(completion),
                    "to": subject["meta"].get("redirectto") or subject["execution"]["initiator"],
                    "domain": completion.get("__domain")
                    or self.default_event_emission_domains["complete"],
                    "executionunits": completion.get("__executionunits"),
                }
            )
        return raw_events

    def _emit_context(
        self, step: StepInput, output: StepOutput, headers: dict[str, str | None]
    ) -> EmitContext:
        return EmitContext(
            source=self.source,
            source_event=step.event,
            self_contract=output.self_contract,
            services=output.services,
            executionunits=self.executionunits,
            init_event_id=step.init_event_id,
            parent_subject=step.parent_subject,
            headers=headers,
        )

    async def _fail(
        self,
        step: StepInput,
        error: Exception,
        record: Mapping[str, Any] | None,
        consumed_ids: list[str],
        headers: dict[str, str | None],
        acknowledged: Collection[str],
        hold: _Hold,
    ) -> ExecutionResult:
        """Persist a terminal failure record and report the error as ``sys.*.error`` events."""
        event = step.event
        mark_failure(step.span, error)
        error_type = self.system_error_contract.system_error.type
        initiator = step.subject["execution"].get("initiator") or event.source
        events = create_system_error_events(
            error=error,
            event=event,
            contract=self.system_error_contract,
            source=self.source,
            to=initiator,
            subject=step.parent_subject or event.subject,
            parentid=step.init_event_id,
            executionunits=self.executionunits,
            domains=self.default_event_emission_domains["system_error"],
            headers=headers,
            parent_subject=step.parent_subject,
            id_for=lambda index, domain: derived_event_id(event, error_type, index, domain),
        )
        failure: dict[str, Any] = {
            "executionStatus": "failure",
            "subject": event.subject,
            "initEventId": step.init_event_id,
            "parentSubject": step.parent_subject,
            "error": {
                "name": type(error).__name__,
                "message": str(error),
                "stack": _stack(error),
            },
            "consumedEventIds": consumed_ids,
            "events": {"consumed": event.to_dict(), "produced": [e.to_dict() for e in events]},
        }
        failure["answer"] = [e.to_dict() for e in events]
        if self.track_outbox:
            tracked = self._tracked(events, failure["answer"])
            failure["outbox"] = _outbox(record, event.id, tracked, acknowledged)
        self._add_history(failure, record, event, events)
        committed = False
        try:
            # Unlike the original (prev=null), the record read at the start is passed, so a
            # failure record never overwrites a step committed concurrently.
            await self._write(event, failure, record, hold)
        except TransactionViolation as violation:
            if self.track_outbox:
                # A runtime hands on only what the record keeps: an error answer sent with no
                # failure stored would let the redelivered event run the workflow again.
                raise
            _logger.error(
                "Could not persist the failure record: %s",
                violation.__cause__,
                extra={"arvo": {"event_id": event.id, "subject": event.subject}},
            )
        else:
            committed = True
            _record_commit(self, record, failure)  # metrics
        record_emittables(step.span, events)
        return ExecutionResult(events=events, committed=committed)

    async def _late(
        self,
        event: ArvoEvent,
        record: Mapping[str, Any],
        acknowledged: Collection[str],
        hold: _Hold,
    ) -> ExecutionResult:
        """An event for a finished workflow: nothing changes but the outbox acknowledgements."""
        committed = False
        outbox = record.get("outbox") or []
        kept = [item for item in outbox if item["event"]["id"] not in acknowledged]
        if self.track_outbox and len(kept) != len(outbox):
            await self._write(event, {**record, "outbox": kept}, record, hold)
            committed = True
        return ExecutionResult(
            events=[], committed=committed, late=True, answer=stored_answer(record)
        )

    def _tracked(
        self, emitted: Sequence[ArvoEvent], answer: Sequence[Mapping[str, Any]]
    ) -> Sequence[ArvoEvent]:
        """The emitted events the outbox keeps: all, but for the answer to a caller the
        runtime does not deliver to (see :attr:`routed`)."""
        if self.routed is None or not answer:
            return emitted
        routed, answered = self.routed, {item["id"] for item in answer}
        return [e for e in emitted if e.id not in answered or e.domain or routed(e.to or "")]

    def _add_history(
        self,
        new_record: WorkflowRecordData | dict[str, Any],
        record: Mapping[str, Any] | None,
        event: ArvoEvent,
        emitted: Sequence[ArvoEvent],
    ) -> None:
        """Carry the history over to the new record, with this step (see :attr:`keep_history`)."""
        if not self.keep_history:
            return
        # The entries carried over are the read record's, unchanged (the memory re-uses their
        # encodings, see CarriedHistory): never edit one here.
        history = CarriedHistory.of((record or {}).get("history") or ())
        dropped = int((record or {}).get("historyDropped") or 0)
        if len(history) < self.keep_history:
            history.append(
                {
                    "consumed": event.to_dict(),
                    "produced": [e.to_dict() for e in emitted],
                    "state": step_state(new_record),
                }
            )
        else:
            dropped += 1
        new_record["history"] = history
        if dropped:
            new_record["historyDropped"] = dropped

    def _replay(
        self, record: Mapping[str, Any] | None, event_id: str, acknowledged: Collection[str]
    ) -> list[ArvoEvent]:
        """What the step that consumed ``event_id`` emitted and nobody acknowledged yet."""
        if not self.track_outbox or record is None:
            return []
        return [
            ArvoEvent.from_dict(item["event"])
            for item in record.get("outbox") or ()
            if item["cause"] == event_id and item["event"]["id"] not in acknowledged
        ]


def _check_parent_subject(event: ArvoEvent) -> None:
    """An init's ``parentSubject$$`` names the parent instance: it must be a subject or null."""
    parent = event.data.get("parentSubject$$")
    if parent is None or (isinstance(parent, str) and ArvoOrchestrationSubject.is_valid(parent)):
        return
    raise ContractViolation(
        f"Invalid parentSubject$$ in the init event (id={quote(event.id)}): expected null or an "
        f"ArvoOrchestrationSubject, got {quote(parent)!r} ({type(parent).__name__}). Make child "
        "init events with the orchestrator's event factory and the parent's subject.",
        metadata={"event_id": event.id, "field": "data.parentSubject$$"},
    )


def _outbox(
    record: Mapping[str, Any] | None,
    cause: str,
    emitted: Sequence[ArvoEvent],
    acknowledged: Collection[str],
) -> list[dict[str, Any]]:
    """The outbox after a step: earlier unacknowledged events, then this step's."""
    kept = [
        item
        for item in (record or {}).get("outbox") or ()
        if item["event"]["id"] not in acknowledged
    ]
    return [*kept, *({"cause": cause, "event": e.to_dict()} for e in emitted)]


def _stack(error: BaseException) -> str | None:
    import traceback

    if error.__traceback__ is None:
        return None
    return "".join(traceback.format_exception(error)).rstrip()


def _record_commit(
    handler: Any, previous: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> None:
    """Count what the committed write ``previous`` → ``new`` means for the workflow instance.

    - **started**: the step created the record (there was none before, so it consumed the
      init event), whether it then runs on or fails at once;
    - **completed**: the record reached status ``done`` in this step;
    - **failed**: the step wrote a failure record.

    ``new`` is ``None`` when nothing was written (no metric).
    """
    if new is None or not metrics_enabled():
        return
    source, kind = handler.source, getattr(handler, "handler_type", "orchestrator")
    before = previous or {}
    if previous is None:
        record_workflow(source, "started", kind)
    if is_failed(new):
        if not is_failed(before):
            record_workflow(source, "failed", kind)
    elif is_done(new) and not is_done(before):
        record_workflow(source, "completed", kind)


def _lock_denied(event: ArvoEvent) -> TransactionViolation:
    return TransactionViolation(
        TransactionViolationCause.LOCK_UNACQUIRED,
        "Lock acquisition denied - Unable to obtain exclusive access to event processing",
        initiating_event=event.to_dict(),
    )
