"""Nested orchestrations through the SimpleEventBroker: number.modifier runs inc/dec as children.

Mirrors the nested cases of upstream ``tests/ArvoOrchestrator/index.spec.ts`` (spec §5.7,
§10.3, §11) and checks the run against the recorded ``broker_order`` of the original. Every
test runs on the in-process and the SQLite memory.
"""

from __future__ import annotations

from typing import Any

import pytest

from arvo_ray.broker import SimpleEventBroker, create_simple_event_broker
from arvo_ray.core import ArvoEvent, ExecutionViolation, create_arvo_event
from arvo_ray.examples.number_domain import (
    NumberDomain,
    build_number_domain,
    decrement_orchestrator_contract,
    value_read_contract,
)
from arvo_ray.machine import setup_arvo_machine
from arvo_ray.memory import IMachineMemory
from arvo_ray.workflow import ArvoOrchestrator, create_arvo_orchestrator

from .conftest import CALLER, VECTORS, catch, decode, nm_init

# Spec §5.7: (type, source, to, subject owner) in publish order; owner "nm" is the
# number.modifier instance, "child" the decrement run it starts.
NESTED_TRACE = [
    ("arvo.orc.number.modifier", CALLER, "arvo.orc.number.modifier", "nm"),
    ("com.value.write", "arvo.orc.number.modifier", "com.value.write", "nm"),
    ("evt.value.write.success", "com.value.write", "arvo.orc.number.modifier", "nm"),
    ("arvo.orc.dec", "arvo.orc.number.modifier", "arvo.orc.dec", "child"),
    ("com.notif.test", "arvo.orc.number.modifier", "com.notif.test", "nm"),
    ("com.value.read", "arvo.orc.dec", "com.value.read", "child"),
    ("evt.value.read.success", "com.value.read", "arvo.orc.dec", "child"),
    ("com.decrement.number", "arvo.orc.dec", "com.decrement.number", "child"),
    ("evt.decrement.number.success", "com.decrement.number", "arvo.orc.dec", "child"),
    ("arvo.orc.dec.done", "arvo.orc.dec", "arvo.orc.number.modifier", "nm"),
    ("arvo.orc.number.modifier.done", "arvo.orc.number.modifier", CALLER, "nm"),
]
# Index of each event's parent event in the trace (None: the init has no parent).
NESTED_PARENTS = [None, 0, 1, 2, 2, 3, 5, 6, 7, 3, 0]


def _nm(domain: NumberDomain) -> ArvoOrchestrator:
    orchestrator = next(h for h in domain.workflows if h.source == "arvo.orc.number.modifier")
    assert isinstance(orchestrator, ArvoOrchestrator)
    return orchestrator


def _symbolic(value: Any, subjects: dict[str, str]) -> Any:
    """``value`` with known subject strings replaced by their names."""
    if isinstance(value, str):
        return subjects.get(value, value)
    if isinstance(value, dict):
        return {k: _symbolic(v, subjects) for k, v in value.items()}
    if isinstance(value, list):
        return [_symbolic(v, subjects) for v in value]
    return value


async def test_should_conduct_nested_orchestrators(
    broker: SimpleEventBroker, domain: NumberDomain
) -> None:
    """The 11-event trace of §5.7: a child run, its completion on the parent subject, and done."""
    final = catch(broker, CALLER)
    init = nm_init("decrement", domain="test.domain")
    await broker.publish(init)

    events = broker.events
    assert [(e.type, e.source, e.to) for e in events] == [t[:3] for t in NESTED_TRACE]
    child_subject = events[3].subject
    owners = {"nm": init.subject, "child": child_subject}
    assert [e.subject for e in events] == [owners[t[3]] for t in NESTED_TRACE]
    ids = [e.id for e in events]
    assert [None if e.parentid is None else ids.index(e.parentid) for e in events] == (
        NESTED_PARENTS
    )
    assert [e.domain for e in events] == ["test.domain", *[None] * 10]

    nm = decode(init.subject)
    assert nm["orchestrator"] == {"name": "arvo.orc.number.modifier", "version": "0.0.1"}
    assert (nm["execution"]["initiator"], nm["execution"]["domain"], nm["meta"]) == (
        CALLER,
        "test.domain",
        {},
    )
    child = decode(child_subject)
    assert child["orchestrator"] == {"name": "arvo.orc.dec", "version": "0.0.1"}
    assert child["execution"]["initiator"] == "arvo.orc.number.modifier"
    # The child inherits the parent's domain although its init event is local.
    assert child["execution"]["domain"] == "test.domain"
    assert child["meta"] == {"redirectto": "arvo.orc.number.modifier"}

    assert events[1].data == {"key": init.subject, "value": 1}
    assert events[3].data == {
        "parentSubject$$": init.subject,
        "key": init.subject,
        "modifier": 4,
        "trend": "linear",
    }
    assert events[4].data == {} and events[4].dataschema is None
    assert events[7].data == {"init": 1, "decrement": 4}
    assert events[9].data == events[10].data == {"success": True, "error": [], "final": -3}

    assert len(final) == 1
    assert final[0] is events[10]
    assert final[0].to == CALLER
    assert final[0].domain is None
    assert [str(error.error) for error in broker.errors] == [
        "No handlers registered for event type: com.notif.test"
    ]


async def test_should_match_the_recorded_broker_order_of_the_original(
    broker: SimpleEventBroker,
) -> None:
    """Types, routes, dataschemas, domains, subject contents, parent chain and data match."""
    recorded = VECTORS["broker_order"]
    recorded_init = VECTORS["nm_init"]
    init = nm_init("decrement", domain="test.domain")
    run = await broker.run(init, trace=True)
    assert len(run.trace) == len(recorded) == 11

    recorded_child = next(r for r in recorded if r["subject_orch"] == "arvo.orc.dec")
    ours_child = next(
        e for e in run.trace if decode(e.subject)["orchestrator"]["name"] == "arvo.orc.dec"
    )
    recorded_ids = [r["id"] for r in recorded]
    ours_ids = [e.id for e in run.trace]
    for ours, theirs in zip(run.trace, recorded, strict=True):
        subject = decode(ours.subject)
        assert ours.type == theirs["type"]
        assert ours.source == theirs["source"]
        assert ours.to == theirs["to"]
        assert ours.domain == theirs["domain"]
        assert ours.dataschema == theirs["dataschema"]
        assert subject["orchestrator"]["name"] == theirs["subject_orch"]
        assert subject["meta"] == theirs["subject_meta"]
        assert {k: v for k, v in subject["execution"].items() if k != "id"} == {
            k: v for k, v in theirs["subject_exec"].items() if k != "id"
        }
        ours_parent = None if ours.parentid is None else ours_ids.index(ours.parentid)
        their_parent = (
            None if theirs["parentid"] is None else recorded_ids.index(theirs["parentid"])
        )
        assert ours_parent == their_parent
        assert _symbolic(ours.data, {init.subject: "<nm>"}) == _symbolic(
            theirs["data"], {recorded_init["subject"]: "<nm>"}
        )
    # Same execution-id sharing: the child's events share one id, distinct from the parent's.
    assert recorded_child["subject_exec"]["id"] != recorded[0]["subject_exec"]["id"]
    assert decode(ours_child.subject)["execution"]["id"] != decode(init.subject)["execution"]["id"]


async def test_should_derive_child_subjects_deterministically() -> None:
    """Replaying a run on fresh memories gives the same child subject and the same event ids."""
    init = nm_init("decrement")
    runs = [
        (await create_simple_event_broker(build_number_domain().all).run(init, trace=True)).trace
        for _ in range(2)
    ]
    assert [e.id for e in runs[0]] == [e.id for e in runs[1]]
    assert runs[0][3].subject == runs[1][3].subject
    assert decode(runs[0][3].subject)["execution"]["id"] != decode(init.subject)["execution"]["id"]


async def test_should_throw_on_an_invalid_subject(domain: NumberDomain) -> None:
    """The number modifier rejects the subject ``test`` with the exact ExecutionViolation."""
    bad = create_arvo_event(source=CALLER, subject="test", data={}, type="arvo.orc.number.modifier")
    with pytest.raises(ExecutionViolation) as info:
        await _nm(domain).execute(bad, otel_inherit="event")
    assert info.value.message == (
        f"ViolationError<Execution> Invalid event (id={bad.id}) subject format. Expected an "
        "ArvoOrchestrationSubject but received 'test'. The subject must follow the format "
        "specified by ArvoOrchestrationSubject schema"
    )


async def test_should_redirect_the_completion_event_to_a_different_location(
    broker: SimpleEventBroker, memory: IMachineMemory
) -> None:
    """``redirectto`` on the init sends the completion there, answering the init event."""
    to_caller = catch(broker, CALLER)
    to_other = catch(broker, "com.test.test.1")
    init = nm_init("decrement", redirectto="com.test.test.1")
    await broker.publish(init)

    assert len(broker.events) == 11
    assert decode(init.subject)["meta"] == {"redirectto": "com.test.test.1"}
    state = await memory.read(init.subject)
    assert state is not None
    assert state["initEventId"] == init.id
    assert broker.events[-1].parentid == init.id
    assert broker.events[-2].parentid != init.id
    assert to_caller == []
    assert len(to_other) == 1
    assert to_other[0].to == "com.test.test.1"
    assert to_other[0].type == "arvo.orc.number.modifier.done"


async def test_should_raise_an_execution_violation_for_a_faulty_parent_subject(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """v0.0.2 decrement emits a child call with ``parentSubject$$='test'``: only 3 events."""
    errors: list[tuple[BaseException, ArvoEvent]] = []
    broker = create_simple_event_broker(
        domain.all, on_error=lambda error, event: errors.append((error, event))
    )
    final = catch(broker, CALLER)
    init = nm_init("decrement", version="0.0.2", redirectto="com.test.test.1")
    await broker.publish(init)

    assert [e.type for e in broker.events] == [
        "arvo.orc.number.modifier",
        "com.value.write",
        "evt.value.write.success",
    ]
    assert final == []
    assert len(errors) == 1
    error, event = errors[0]
    assert isinstance(error, ExecutionViolation)
    assert error.name == "ViolationError<Execution>"
    assert error.message == (
        "ViolationError<Execution> [Emittable Event Creation] Invalid parentSubject$$ for the "
        "event(type='arvo.orc.dec', uri='#/test/orchestrator/decrement/0.0.2'). It must be "
        "follow the ArvoOrchestrationSubject schema. The easiest way is to use the current "
        "orchestration subject by storing the subject via the context block in the machine "
        "definition."
    )
    assert event is broker.events[2]
    # The violation persisted nothing: the instance is still waiting for the write reply.
    record = await memory.read(init.subject)
    assert record is not None
    assert record["value"] == "init_value"
    assert record["events"]["consumed"]["id"] == init.id


async def test_should_run_an_independent_root_orchestration_next_to_a_child(
    broker: SimpleEventBroker, memory: IMachineMemory
) -> None:
    """v0.0.2 increment starts a child and a root ``arvo.orc.inc``: 18 events in all."""
    final = catch(broker, CALLER)
    init = nm_init("increment", version="0.0.2")
    await broker.publish(init)

    events = broker.events
    assert len(events) == 18
    types = [e.type for e in events]
    assert types.count("arvo.orc.inc") == 2
    assert types.count("com.value.read") == 2
    assert types.count("evt.increment.number.success") == 2
    assert types.count("evt.multiplier.number.success") == 2
    assert types.count("arvo.orc.inc.done") == 2
    assert types.count("arvo.orc.number.modifier.done") == 1
    assert "com.notif.test" not in types

    child_call, root_call = [e for e in events if e.type == "arvo.orc.inc"]
    child, root = decode(child_call.subject), decode(root_call.subject)
    assert (
        child["execution"]["initiator"]
        == root["execution"]["initiator"]
        == ("arvo.orc.number.modifier")
    )
    assert child_call.data["parentSubject$$"] == init.subject
    assert root_call.data["parentSubject$$"] is None
    assert child["meta"] == root["meta"] == {"redirectto": "arvo.orc.number.modifier"}

    child_done, root_done = [e for e in events if e.type == "arvo.orc.inc.done"]
    assert child_done.subject == init.subject
    # The independent run completes on its own subject and the parent ignores it.
    assert root_done.subject == root_call.subject
    assert root_done.to == "arvo.orc.number.modifier"
    assert (await memory.read(root_call.subject) or {})["status"] == "done"

    assert len(final) == 1
    assert final[0].to == CALLER
    assert final[0].data == {"success": True, "error": [], "final": 4}
    # The parent owns no instance of the independent run: its completion is an orphan event
    # there (the original ignores it silently).
    [orphan] = broker.errors
    assert orphan.event == root_done
    assert str(orphan.error) == (
        "the subject names orchestrator 'arvo.orc.inc', not 'arvo.orc.number.modifier'"
    )


@pytest.mark.parametrize(
    ("value", "error_name", "message"),
    [
        (-100, "WriteFailure", "Failed to write the value"),
        (-200, "ValueError", "Invalid value is -200."),
    ],
    ids=["reported-failure", "handler-error"],
)
async def test_should_complete_with_failure_when_the_first_write_fails(
    broker: SimpleEventBroker, value: int, error_name: str, message: str
) -> None:
    """A failed or raising value.write routes the parent to ``error``: success false."""
    init = nm_init("decrement", init=value)
    run = await broker.run(init, trace=True)
    done = run.final
    assert done is not None
    assert done.type == "arvo.orc.number.modifier.done"
    assert done.data["success"] is False
    assert done.data["final"] == 0
    [error] = done.data["error"]
    assert (error["errorName"], error["errorMessage"]) == (error_name, message)
    assert "arvo.orc.dec" not in [e.type for e in run.trace]


def _failing_decrement(memory: IMachineMemory) -> ArvoOrchestrator:
    """An ``arvo.orc.dec`` whose machine raises while starting."""

    def explode(_args: Any) -> dict[str, Any]:
        raise RuntimeError("child exploded")

    machine = setup_arvo_machine(
        self_contract=decrement_orchestrator_contract.version("0.0.1"),
        services={"value_reader": value_read_contract.version("0.0.1")},
    ).create_machine({"id": "machineV001", "context": explode, "initial": "a", "states": {"a": {}}})
    return create_arvo_orchestrator(machines=[machine], memory=memory, executionunits=0.1)


async def test_should_route_a_child_system_error_to_the_parent(memory: IMachineMemory) -> None:
    """A child that fails reports ``sys.arvo.orc.dec.error`` on the parent's subject."""
    domain = build_number_domain(memory=memory)
    flows = [_failing_decrement(memory) if h.source == "arvo.orc.dec" else h for h in domain.all]
    init = nm_init("decrement")
    run = await create_simple_event_broker(flows).run(init, trace=True)

    child_call = next(e for e in run.trace if e.type == "arvo.orc.dec")
    [error] = [e for e in run.trace if e.type == "sys.arvo.orc.dec.error"]
    assert error.subject == init.subject
    assert error.to == "arvo.orc.number.modifier"
    # The child's init failed, so the error answers the child's init event.
    assert error.parentid == child_call.id
    assert error.data["errorMessage"] == "child exploded"
    done = run.final
    assert done is not None
    assert done.data["success"] is False
    assert done.data["error"][0]["errorMessage"] == "child exploded"
    child_record = await memory.read(child_call.subject)
    assert child_record is not None and child_record["executionStatus"] == "failure"


async def test_should_ignore_a_late_child_completion_once_the_parent_is_done(
    broker: SimpleEventBroker,
) -> None:
    """A child's completion reaching a finished parent again produces nothing more."""
    init = nm_init("decrement")
    run = await broker.run(init, trace=True)
    child_done = next(e for e in run.trace if e.type == "arvo.orc.dec.done")
    nm = next(h for h in broker.handlers if h.source == "arvo.orc.number.modifier")
    late = create_arvo_event(
        source=child_done.source,
        type=child_done.type,
        subject=child_done.subject,
        data=child_done.data,
        dataschema=child_done.dataschema,
        parentid=child_done.parentid,
    )
    assert (await nm.execute(late)).events == []
    assert (await nm.execute(child_done)).events == []
