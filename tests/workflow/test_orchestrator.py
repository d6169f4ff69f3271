"""ArvoOrchestrator: the step sequence, memory failures, violations and failure records.

Mirrors upstream ``tests/ArvoOrchestrator/index.spec.ts`` except the nested-orchestration
cases, which are in ``test_orchestrator_nested.py`` (spec §5, §11, §13). Every test that uses
the ``memory`` fixture runs on the in-process and the SQLite backend.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

import pytest
from pydantic import BaseModel

from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    ConfigViolation,
    ContractViolation,
    ExecutionViolation,
    TransactionViolation,
    TransactionViolationCause,
    create_arvo_event,
    create_arvo_event_factory,
    create_arvo_orchestrator_contract,
    is_transaction_violation_error,
)
from arvo_ray.examples.number_domain import (
    NumberDomain,
    arithmetic_machine,
    increment_contract,
    increment_orchestrator,
    increment_orchestrator_contract,
    value_read_contract,
)
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.machine import setup_arvo_machine
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory
from arvo_ray.testing import TestStep, run_steps
from arvo_ray.workflow import ArvoOrchestrator, create_arvo_orchestrator

from .conftest import CALLER, FaultyMemory, dec_init, inc_init


def _handler(domain: NumberDomain, source: str) -> IArvoEventHandler:
    return next(h for h in domain.all if h.source == source)


def _inc(domain: NumberDomain) -> ArvoOrchestrator:
    orchestrator = _handler(domain, "arvo.orc.inc")
    assert isinstance(orchestrator, ArvoOrchestrator)
    return orchestrator


def _increment_steps(init: ArvoEvent, version: str = "0.0.1") -> list[TestStep]:
    """The 5 steps of an increment run (for ``run_steps`` over ``domain.all``), each fed the
    first event the step before emitted. Version 0.0.2's service answers twice."""
    follow = itemgetter(0)
    answers = ["evt.increment.number.success"]
    if version == "0.0.2":
        answers.append("evt.multiplier.number.success")
    call = {"to": "com.increment.number", "dataschema": f"#/test/handler/increment/{version}"}
    done = {"type": "arvo.orc.inc.done", "parentid": init.id}
    return [
        TestStep(init, name="init", expect=[{"type": "com.value.read", "parentid": init.id}]),
        TestStep(follow, name="read", expect=[{"type": "evt.value.read.success"}]),
        TestStep(follow, name="value", expect=[call]),
        TestStep(follow, name="increment", expect=[{"type": answer} for answer in answers]),
        TestStep(follow, name="answer", expect=[done]),
    ]


# -- the increment flow, step by step --------------------------------------------------------


async def test_should_orchestrate_a_valid_init_event_through_the_complete_flow(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """Init -> read -> increment -> completion, with the stored record checked at each step."""
    init = inc_init("test.key")
    domain.store["test.key"] = 2
    orchestrator = _inc(domain)
    reader = _handler(domain, "com.value.read")
    incrementer = _handler(domain, "com.increment.number")

    step1 = (await orchestrator.execute(init)).events
    record = await memory.read(init.subject)
    assert record is not None
    assert record["subject"] == init.subject
    assert record["parentSubject"] is None
    assert record["status"] == "active"
    assert record["value"] == "fetch_value"
    assert record["state"]["context"] == {
        "key": "test.key",
        "value": 0,
        "modifier": 2,
        "trend": "linear",
        "error": [],
    }
    assert len(step1) == 1
    read = step1[0]
    assert (read.type, read.to, read.source) == ("com.value.read", "com.value.read", "arvo.orc.inc")
    assert read.data == {"key": "test.key"}
    assert read.parentid == init.id
    assert read.redirectto == "arvo.orc.inc"
    assert read.subject == init.subject

    replies = (await reader.execute(read)).events
    assert len(replies) == 1
    reply = replies[0]
    assert (reply.type, reply.to, reply.source) == (
        "evt.value.read.success",
        "arvo.orc.inc",
        "com.value.read",
    )
    assert reply.data["value"] == 2

    step2 = (await orchestrator.execute(reply)).events
    record = await memory.read(init.subject)
    assert record is not None
    assert record["status"] == "active"
    # v0.0.1's "increment" state is a parallel state without regions.
    assert record["value"] == {"increment": {}}
    assert record["state"]["context"]["value"] == 2
    assert len(step2) == 1
    call = step2[0]
    assert (call.type, call.to, call.source) == (
        "com.increment.number",
        "com.increment.number",
        "arvo.orc.inc",
    )
    assert call.data == {"init": 2, "increment": 2}
    assert call.parentid == reply.id

    result = (await incrementer.execute(call)).events
    assert [(e.type, e.to, e.source, e.data) for e in result] == [
        ("evt.increment.number.success", "arvo.orc.inc", "com.increment.number", {"result": 4})
    ]

    step3 = (await orchestrator.execute(result[0])).events
    record = await memory.read(init.subject)
    assert record is not None
    assert (record["status"], record["value"]) == ("done", "done")
    assert record["state"]["context"]["value"] == 4
    assert record["state"]["output"] == {"success": True, "error": [], "final": 4}
    assert len(step3) == 1
    done = step3[0]
    assert (done.type, done.to, done.source) == ("arvo.orc.inc.done", CALLER, "arvo.orc.inc")
    assert done.data == {"success": True, "error": [], "final": 4}
    assert done.parentid == init.id
    assert done.subject == init.subject
    assert done.dataschema == "#/test/orchestrator/increment/0.0.1"


async def test_should_set_parentid_for_orchestrator_emitted_events(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """Service calls answer the event that triggered them (not the init event); the read and
    the completion answer the init event (checked by the steps)."""
    domain.store["test.key.parentid"] = 5
    init = inc_init("test.key.parentid")
    [read], [reply], [call], _, _ = await run_steps(
        domain.all, _increment_steps(init), memory=memory
    )
    assert reply.parentid == read.id
    assert call.parentid == reply.id


async def test_should_run_version_0_0_2_selected_by_the_subject(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """A v0.0.2 init runs the v0.0.2 machine (multiplier), which ignores the second reply."""
    domain.store["k2"] = 3
    init = inc_init("k2", version="0.0.2")
    outputs = await run_steps(domain.all, _increment_steps(init, "0.0.2"), memory=memory)
    assert outputs[2][0].data == {"init": 3, "multiplier": 2}
    assert outputs[4][0].data["final"] == 6
    assert (await _inc(domain).execute(outputs[3][1])).events == []


# -- locking -----------------------------------------------------------------------------------


@pytest.mark.parametrize("holder", ["same memory", "other owner"])
async def test_should_throw_if_the_lock_is_not_acquired(
    domain: NumberDomain, memory: IMachineMemory, holder: str
) -> None:
    """A subject locked by anyone else is a LOCK_UNACQUIRED violation; nothing is written."""
    init = inc_init("test.key")
    locker = memory if holder == "same memory" else memory.for_owner("other")
    assert await locker.lock(init.subject) is True

    with pytest.raises(TransactionViolation) as info:
        await _inc(domain).execute(init)
    assert info.value.cause == TransactionViolationCause.LOCK_UNACQUIRED
    assert info.value.message == (
        "ViolationError<OrchestratorTransaction> [LOCK_UNACQUIRED] Lock acquisition denied - "
        "Unable to obtain exclusive access to event processing"
    )
    assert info.value.initiating_event == init.to_dict()
    assert is_transaction_violation_error(info.value, TransactionViolationCause.LOCK_UNACQUIRED)

    # The orchestrator did not take (or release) a lock it never had.
    assert await locker.lock(init.subject) is False
    assert await memory.read(init.subject) is None


async def test_should_lock_only_when_the_machines_require_it() -> None:
    """The decrement orchestrator needs no lock; an explicit flag overrides the analysis."""
    no_lock = FaultyMemory(fail_on="lock", message="must not lock")
    decrement = create_arvo_orchestrator(
        machines=[arithmetic_machine("decrement", "0.0.1")], memory=no_lock
    )
    assert decrement.requires_resource_locking is False
    assert len((await decrement.execute(dec_init())).events) == 1
    assert "lock" not in no_lock.calls

    forced = FaultyMemory(fail_on="lock", message="must not lock")
    increment = increment_orchestrator(forced, requires_resource_locking=False)
    assert increment.requires_resource_locking is False
    assert len((await increment.execute(inc_init())).events) == 1
    assert forced.calls == ["read", "write"]


# -- contract validation -----------------------------------------------------------------------


async def test_should_throw_if_the_contract_is_unresolved(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """The orchestrator's own service call fed back to it matches none of its contracts."""
    init = inc_init("test.key")
    orchestrator = _inc(domain)
    events = (await orchestrator.execute(init)).events
    before = await memory.read(init.subject)

    with pytest.raises(ConfigViolation) as info:
        await orchestrator.execute(events[0])
    assert info.value.message == (
        "ViolationError<Config> Contract validation failed - Event does not match any "
        "registered contract schemas in the machine"
    )
    # The lock was released and nothing was persisted.
    assert await memory.lock(init.subject) is True
    assert await memory.unlock(init.subject) is True
    assert await memory.read(init.subject) == before

    fetch = create_arvo_event(
        subject=init.subject,
        source=CALLER,
        type="evt.value.read.success",
        data={"value": "saad"},
        dataschema="#/test/handler/value/read/0.0.1",
    )
    with pytest.raises(ContractViolation) as contract_info:
        await orchestrator.execute(fetch)
    assert contract_info.value.message.startswith(
        "ViolationError<Contract> Input validation failed - Event data does not meet contract "
        "requirements: "
    )
    assert await memory.read(init.subject) == before


async def test_should_require_a_dataschema_on_every_event(domain: NumberDomain) -> None:
    """Unlike plain handlers, workflows reject events without a dataschema."""
    init = inc_init()
    bare = create_arvo_event(
        id=init.id, source=init.source, type=init.type, subject=init.subject, data=init.data
    )
    with pytest.raises(ContractViolation) as info:
        await _inc(domain).execute(bare)
    assert info.value.message == (
        "ViolationError<Contract> Input validation failed - Event data does not meet contract "
        "requirements: Event dataschema resolution failed: Unable to parse dataschema='null' "
        f"for event(id='{init.id}', type='arvo.orc.inc'). This makes the event opaque and does "
        "not allow contract resolution"
    )


async def test_should_persist_nothing_when_an_init_event_violates_the_contract(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """A violation on the first event leaves the memory empty, so a retry starts afresh."""
    init = inc_init()
    bad = create_arvo_event(
        source=CALLER,
        type="arvo.orc.inc",
        subject=init.subject,
        data={"parentSubject$$": None, "key": "k1", "modifier": "two", "trend": "linear"},
        dataschema=init.dataschema,
    )
    with pytest.raises(ContractViolation):
        await _inc(domain).execute(bad)
    assert await memory.read(init.subject) is None
    assert len((await _inc(domain).execute(init)).events) == 1


# -- construction ------------------------------------------------------------------------------


def test_should_throw_on_machines_of_different_orchestrators(domain: NumberDomain) -> None:
    """All machines of an orchestrator share its init type (exact message)."""
    decrement = _handler(domain, "arvo.orc.dec")
    assert isinstance(decrement, ArvoOrchestrator)
    with pytest.raises(ConfigViolation) as info:
        create_arvo_orchestrator(
            executionunits=0.1,
            memory=SimpleMachineMemory(),
            machines=[*_inc(domain).registry.machines, *decrement.registry.machines],
        )
    assert info.value.message == (
        "ViolationError<Config> All the machines in the orchestrator must have type 'arvo.orc.inc'"
    )


def test_should_throw_on_duplicate_machine_versions(domain: NumberDomain) -> None:
    """Machine versions are unique (exact message, naming the machine id)."""
    machines = _inc(domain).registry.machines
    with pytest.raises(ConfigViolation) as info:
        create_arvo_orchestrator(
            executionunits=0.1, memory=SimpleMachineMemory(), machines=[*machines, *machines]
        )
    assert info.value.message == (
        "ViolationError<Config> An orchestrator must have unique machine versions. Machine "
        "ID:machineV001 has duplicate version 0.0.1."
    )


def test_should_throw_without_machines() -> None:
    """An orchestrator needs at least one machine."""
    with pytest.raises(ValueError, match=r"^At least one machine must be provided$"):
        create_arvo_orchestrator(machines=[])


def test_should_take_identity_from_the_first_machine(domain: NumberDomain) -> None:
    """Source, system error schema and locking default come from the machines."""
    orchestrator = _inc(domain)
    assert orchestrator.source == "arvo.orc.inc"
    assert orchestrator.system_error_schema.type == "sys.arvo.orc.inc.error"
    assert orchestrator.requires_resource_locking is True
    assert [m.version for m in orchestrator.machines] == ["0.0.1", "0.0.2"]
    assert isinstance(create_arvo_orchestrator(machines=orchestrator.machines).memory,
                      SimpleMachineMemory)  # fmt: skip


def test_should_have_the_standard_system_error_schema(domain: NumberDomain) -> None:
    """``system_error_schema.type`` is ``sys.<source>.error``."""
    assert _handler(domain, "arvo.orc.dec").system_error_schema.type == "sys.arvo.orc.dec.error"


# -- faulty memory -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "message", "cause", "text"),
    [
        (
            "lock",
            "Locking system failure!",
            TransactionViolationCause.LOCK_FAILURE,
            "Error acquiring lock for event (subject={subject}): Locking system failure!",
        ),
        (
            "read",
            "Failed to acquire memory",
            TransactionViolationCause.READ_FAILURE,
            "Error reading state for event (subject={subject}): Failed to acquire memory",
        ),
        (
            "write",
            "Failed to write memory",
            TransactionViolationCause.WRITE_FAILURE,
            "Error writing state for event (subject={subject}): Failed to write memory",
        ),
    ],
    ids=["lock", "read", "write"],
)
async def test_should_throw_a_transaction_violation_on_a_faulty_memory(
    operation: str, message: str, cause: TransactionViolationCause, text: str
) -> None:
    """Memory exceptions become TransactionViolations with the cause and the full subject."""
    faulty = FaultyMemory(fail_on=operation, message=message)
    orchestrator = increment_orchestrator(faulty)
    init = inc_init("test")
    with pytest.raises(TransactionViolation) as info:
        await orchestrator.execute(init)
    assert info.value.cause == cause
    assert info.value.message == (
        f"ViolationError<OrchestratorTransaction> [{cause.value}] "
        + text.format(subject=init.subject)
    )
    assert info.value.initiating_event == init.to_dict()
    assert isinstance(info.value.__cause__, RuntimeError)
    # A lock that was taken is released, even when the step fails.
    if operation != "lock":
        assert faulty.calls[-1] == "unlock"


async def test_should_tolerate_a_failing_unlock() -> None:
    """Unlock errors are logged and swallowed: the step's events are still returned."""
    faulty = FaultyMemory(fail_on="unlock", message="cannot unlock")
    events = (await increment_orchestrator(faulty).execute(inc_init())).events
    assert [e.type for e in events] == ["com.value.read"]
    assert faulty.calls == ["lock", "read", "write", "unlock"]


# -- silent no-ops -----------------------------------------------------------------------------


async def test_should_not_emit_on_a_non_init_event_with_no_state(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """A service reply for an unknown instance gives no events and writes nothing."""
    subject = ArvoOrchestrationSubject.new(
        initiator=CALLER, orchestrator="arvo.orc.inc", version="0.0.1"
    )
    event = create_arvo_event_factory(increment_contract.version("0.0.1")).emits(
        subject=subject, source=CALLER, type="evt.increment.number.success", data={"result": 12}
    )
    assert (await _inc(domain).execute(event, otel_inherit="event")).events == []
    assert await memory.read(subject) is None


async def test_should_ignore_events_of_another_orchestrator_without_touching_memory() -> None:
    """A foreign subject gives no events, and no lock, read or write happens."""
    faulty = FaultyMemory(fail_on="lock", message="must not be called")
    assert (await increment_orchestrator(faulty).execute(dec_init())).events == []
    assert faulty.calls == []


async def test_should_throw_on_an_invalid_subject(domain: NumberDomain) -> None:
    """A subject that is not an orchestration subject is an ExecutionViolation (exact text)."""
    bad = create_arvo_event(source=CALLER, subject="test", data={}, type="arvo.orc.inc")
    with pytest.raises(ExecutionViolation) as info:
        await _inc(domain).execute(bad)
    assert info.value.message == (
        f"ViolationError<Execution> Invalid event (id={bad.id}) subject format. Expected an "
        "ArvoOrchestrationSubject but received 'test'. The subject must follow the format "
        "specified by ArvoOrchestrationSubject schema"
    )


async def test_should_throw_if_no_machine_matches_the_subject_version(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """A subject naming version 1.0.0 finds no machine (exact message); nothing is written."""
    corrupt = ArvoOrchestrationSubject.new(
        orchestrator="arvo.orc.inc", initiator=CALLER, version="1.0.0"
    )
    event = inc_init("string", subject=corrupt)
    with pytest.raises(ConfigViolation) as info:
        await _inc(domain).execute(event, otel_inherit="event")
    assert info.value.message == (
        "ViolationError<Config> Machine resolution failed: No machine found matching "
        "orchestrator name='arvo.orc.inc' and version='1.0.0'."
    )
    assert await memory.read(corrupt) is None


# -- duplicates and late events (deliberate departure: event-id de-duplication) ---------------


async def test_should_ignore_an_event_id_already_consumed(
    domain: NumberDomain, memory: Any
) -> None:
    """Re-delivering a consumed event returns no events and does not rewrite the record."""
    domain.store["k1"] = 2
    init = inc_init()
    orchestrator = _inc(domain)
    step1 = (await orchestrator.execute(init)).events
    meta = await memory.read_meta(init.subject)
    record = await memory.read(init.subject)
    assert record is not None and record["consumedEventIds"] == [init.id]

    assert (await orchestrator.execute(init)).events == []
    assert await memory.read_meta(init.subject) == meta

    reply = (await _handler(domain, "com.value.read").execute(step1[0])).events[0]
    assert len((await orchestrator.execute(reply)).events) == 1
    assert (await orchestrator.execute(reply)).events == []
    record = await memory.read(init.subject)
    assert record is not None and record["consumedEventIds"] == [init.id, reply.id]


async def test_should_emit_no_second_completion_for_late_events(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """After completion: a resent reply, a resent init and a fresh reply give no events."""
    domain.store["k1"] = 2
    init = inc_init()
    outputs = await run_steps(domain.all, _increment_steps(init), memory=memory)
    orchestrator = _inc(domain)
    finished = await memory.read(init.subject)
    assert finished is not None

    again = await orchestrator.execute(init)
    assert (again.events, again.duplicate, again.late) == ([], True, False)
    assert again.answer == outputs[4]

    late = create_arvo_event_factory(increment_contract.version("0.0.1")).emits(
        subject=init.subject,
        source="com.increment.number",
        type="evt.increment.number.success",
        data={"result": 99},
    )
    result = await orchestrator.execute(late)
    assert (result.events, result.late, result.duplicate, result.committed) == (
        [],
        True,
        False,
        False,
    )
    assert result.answer == outputs[4]
    # Departure: a late event leaves the finished record as it was, answer included.
    assert await memory.read(init.subject) == finished
    assert finished["answer"] == [outputs[4][0].to_dict()]
    assert finished["state"]["output"] == {"success": True, "error": [], "final": 4}

    fresh_init = inc_init(subject=init.subject)
    assert fresh_init.id != init.id
    result = await orchestrator.execute(fresh_init)
    assert (result.events, result.late, result.answer) == ([], True, outputs[4])


async def test_should_keep_the_answer_when_a_second_answer_arrives_after_completion(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """Version 0.0.2's increment service answers twice; the second answer is late and the
    record's events, status and answer stay those of the completing step."""
    domain.store["k1"] = 3
    init = inc_init("k1", version="0.0.2")
    outputs = await run_steps(domain.all, _increment_steps(init, "0.0.2"), memory=memory)
    [done] = outputs[4]
    assert done.data == {"success": True, "error": [], "final": 6}
    finished = await memory.read(init.subject)

    result = await _inc(domain).execute(outputs[3][1])
    assert (result.events, result.late, result.answer) == ([], True, [done])
    assert await memory.read(init.subject) == finished
    assert finished is not None and finished["events"]["produced"] == [done.to_dict()]


async def test_should_bound_the_remembered_event_ids(domain: NumberDomain, memory: Any) -> None:
    """Only the last ``CONSUMED_IDS_KEPT`` ids are kept in the record."""
    from arvo_ray.workflow import CONSUMED_IDS_KEPT

    init = inc_init()
    orchestrator = _inc(domain)
    await orchestrator.execute(init)
    record = await memory.read(init.subject)
    assert record is not None
    record["consumedEventIds"] = [f"old-{n}" for n in range(CONSUMED_IDS_KEPT)]
    await memory.write(init.subject, record, await memory.read(init.subject))
    reply = create_arvo_event_factory(value_read_contract.version("0.0.1")).emits(
        subject=init.subject,
        source="com.value.read",
        type="evt.value.read.success",
        data={"key": "k1", "value": 1},
    )
    await orchestrator.execute(reply)
    ids = (await memory.read(init.subject) or {})["consumedEventIds"]
    assert len(ids) == CONSUMED_IDS_KEPT
    assert ids[0] == "old-1"
    assert ids[-1] == reply.id


# -- the error path ------------------------------------------------------------------------------


async def test_should_complete_with_failure_when_a_service_reports_an_error(
    broker: Any, domain: NumberDomain, memory: IMachineMemory
) -> None:
    """A service's sys error is an ordinary event: the machine completes with success false."""
    init = inc_init("missing")
    run = await broker.run(init, trace=True)
    assert [e.type for e in run.trace] == [
        "arvo.orc.inc",
        "com.value.read",
        "sys.com.value.read.error",
        "arvo.orc.inc.done",
    ]
    error_event = run.trace[2]
    assert error_event.to == "arvo.orc.inc"
    assert error_event.parentid == run.trace[1].id
    assert error_event.dataschema == "#/test/handler/value/read/0.0.0"
    done = run.final
    assert done is not None
    assert done.type == "arvo.orc.inc.done"
    assert done.to == CALLER
    assert done.parentid == init.id
    assert done.data["success"] is False
    assert done.data["final"] == 0
    [error] = done.data["error"]
    assert error["errorMessage"] == "No value to find at key=missing"
    assert set(error) == {"errorName", "errorMessage", "errorStack"}
    record = await memory.read(init.subject)
    assert record is not None
    assert (record["executionStatus"], record["status"], record["value"]) == (
        "normal",
        "done",
        "error",
    )
    assert run.errors == []


class ErrorTypeInit(BaseModel):
    error_type: str


class Empty(BaseModel):
    pass


dumb_contract = create_arvo_orchestrator_contract(
    uri="#/test/dumb",
    name="dumb",
    versions={"1.0.0": {"init": ErrorTypeInit, "complete": Empty}},
)


def _dumb_orchestrator(memory: IMachineMemory) -> ArvoOrchestrator:
    def throw_normal(_args: Any) -> None:
        raise RuntimeError("Normal error")

    def throw_violation(_args: Any) -> None:
        raise ExecutionViolation("Violation error")

    machine = setup_arvo_machine(
        self_contract=dumb_contract.version("1.0.0"),
        services={},
        actions={"throwNormalError": throw_normal, "throwViolationError": throw_violation},
    ).create_machine(
        {
            "id": "machineV100",
            "initial": "router",
            "context": lambda a: {"error_type": a.input["data"]["error_type"]},
            "states": {
                "router": {
                    "always": [
                        {
                            "target": "normal_error",
                            "guard": lambda a: a.context["error_type"] == "normal",
                        },
                        {
                            "target": "violation_error",
                            "guard": lambda a: a.context["error_type"] == "violation",
                        },
                        {"target": "waiting"},
                    ]
                },
                "waiting": {"on": {"arvo.orc.dumb": {"target": "normal_error"}}},
                "normal_error": {
                    "entry": {"type": "throwNormalError"},
                    "always": {"target": "error"},
                },
                "violation_error": {
                    "entry": {"type": "throwViolationError"},
                    "always": {"target": "error"},
                },
                "done": {"type": "final"},
                "error": {"type": "final"},
            },
        }
    )
    return create_arvo_orchestrator(executionunits=1, memory=memory, machines=[machine])


def _dumb_init(error_type: str, **options: Any) -> ArvoEvent:
    return create_arvo_event_factory(dumb_contract.version("1.0.0")).accepts(
        source=CALLER, data={"parentSubject$$": None, "error_type": error_type}, **options
    )


async def test_should_emit_a_system_error_on_non_violation_errors(memory: IMachineMemory) -> None:
    """An exception in a machine action becomes one ``sys.*.error`` event to the initiator."""
    init = _dumb_init("normal")
    error = {
        "type": dumb_contract.system_error.type, "source": "arvo.orc.dumb", "to": CALLER,
        "subject": init.subject, "parentid": init.id, "dataschema": "#/test/dumb/0.0.0",
        "executionunits": 1, "domain": None,
        "data": {"errorName": "RuntimeError", "errorMessage": "Normal error",
                 "errorStack": lambda stack: "Normal error" in stack},
    }  # fmt: skip
    assert dumb_contract.system_error.type == "sys.arvo.orc.dumb.error"
    await run_steps(_dumb_orchestrator(memory), [TestStep(init, expect=[error])], memory=memory)

    record = await memory.read(init.subject)
    assert record is not None
    assert record["executionStatus"] == "failure"
    assert record["subject"] == init.subject
    assert record["error"]["name"] == "RuntimeError"
    assert record["error"]["message"] == "Normal error"
    assert "Normal error" in record["error"]["stack"]


async def test_should_ignore_every_event_after_a_failure(memory: IMachineMemory) -> None:
    """A failed instance is dead: later events give no events and leave the record alone."""
    orchestrator = _dumb_orchestrator(memory)
    init = _dumb_init("normal")
    await orchestrator.execute(init)
    failed = await memory.read(init.subject)
    again = _dumb_init("none", subject=init.subject)
    assert (await orchestrator.execute(again)).events == []
    assert await memory.read(init.subject) == failed


async def test_should_answer_a_failure_after_init_with_the_init_id(
    memory: IMachineMemory,
) -> None:
    """An error in a later step answers the init event and persists over the stored record."""
    orchestrator = _dumb_orchestrator(memory)
    init = _dumb_init("none")
    assert (await orchestrator.execute(init)).events == []
    assert (await memory.read(init.subject) or {})["value"] == "waiting"
    poke = _dumb_init("normal", subject=init.subject)
    events = (await orchestrator.execute(poke)).events
    assert [(e.type, e.parentid, e.subject) for e in events] == [
        ("sys.arvo.orc.dumb.error", init.id, init.subject)
    ]
    record = await memory.read(init.subject)
    assert record is not None and record["executionStatus"] == "failure"
    assert record["initEventId"] == init.id


async def test_should_throw_violations_from_machine_actions_and_persist_nothing(
    memory: IMachineMemory,
) -> None:
    """A violation raised in an action is re-raised and no state is written."""
    orchestrator = _dumb_orchestrator(memory)
    init = _dumb_init("violation")
    with pytest.raises(ExecutionViolation) as info:
        await orchestrator.execute(init)
    assert info.value.message == "ViolationError<Execution> Violation error"
    assert await memory.read(init.subject) is None


async def test_should_emit_deterministic_ids_for_the_same_step() -> None:
    """Replaying a step on a fresh memory emits events with the same ids."""
    init = inc_init()
    first = (await increment_orchestrator(SimpleMachineMemory()).execute(init)).events
    second = (await increment_orchestrator(SimpleMachineMemory()).execute(init)).events
    assert [e.id for e in first] == [e.id for e in second]
    assert first[0].id != init.id


# -- typed emits ----------------------------------------------------------------------------------


async def test_should_emit_a_service_request_given_as_its_accepts_model(
    memory: IMachineMemory,
) -> None:
    """A machine may emit a service's accepts model: its event type is the service's."""
    from arvo_ray.examples.number_domain.contracts import Key
    from arvo_ray.machine import emit

    machine = setup_arvo_machine(
        self_contract=increment_orchestrator_contract.version("0.0.1"),
        services={"reader": value_read_contract.version("0.0.1")},
    ).create_machine(
        {
            "id": "typed",
            "context": lambda a: {"key": a.input["data"]["key"]},
            "initial": "reading",
            "states": {
                "reading": {"entry": emit(lambda a: Key(key=a.context["key"]))},
            },
        }
    )
    orchestrator = create_arvo_orchestrator(machines=[machine], memory=memory)
    (request,) = (await orchestrator.execute(inc_init("apples"))).events
    assert (request.type, request.data, request.to) == (
        "com.value.read",
        {"key": "apples"},
        "com.value.read",
    )
