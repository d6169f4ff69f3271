"""ArvoResumable: imperative workflows, their records, fan-out/fan-in and error handling.

Mirrors upstream ``tests/ArvoResumable/index.spec.ts`` (spec §7, §10.4, §11). Every test that
uses the ``memory`` fixture runs on the in-process and the SQLite backend.
"""

from __future__ import annotations

from typing import Any

import pytest

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import (
    ArvoEvent,
    ConfigViolation,
    ContractViolation,
    TransactionViolation,
    TransactionViolationCause,
    create_arvo_event,
    create_arvo_event_factory,
)
from arvo_ray.examples.number_domain import (
    NumberDomain,
    decrement_contract,
    decrement_orchestrator_contract,
    decrement_resumable,
    increment_contract,
    value_read_contract,
    value_write_contract,
)
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory
from arvo_ray.testing import TestStep, run_steps
from arvo_ray.workflow import ArvoResumable, ResumableInput, create_arvo_resumable

from .conftest import CALLER, FaultyMemory, dec_init, decode, fanout_init, inc_init


def _handler(domain: NumberDomain, source: str) -> IArvoEventHandler:
    return next(h for h in domain.all if h.source == source)


def _dec(domain: NumberDomain) -> ArvoResumable:
    resumable = _handler(domain, "arvo.orc.dec")
    assert isinstance(resumable, ArvoResumable)
    return resumable


def _services(*names: str) -> dict[str, Any]:
    available = {
        "value_reader": value_read_contract.version("0.0.1"),
        "value_writer": value_write_contract.version("0.0.1"),
        "decrement": decrement_contract.version("0.0.1"),
    }
    return {name: available[name] for name in names}


# -- construction ------------------------------------------------------------------------------


def test_should_make_the_resource_lockable_by_default(memory: IMachineMemory) -> None:
    """The decrement resumable (3 services) locks; one service does not. Departure: the class
    defaults like the factory (the original's raw constructor defaults to True)."""
    assert decrement_resumable(memory).requires_resource_locking is True
    single = create_arvo_resumable(
        self_contract=decrement_orchestrator_contract,
        services=_services("value_reader"),
        handler={"0.0.1": lambda inp: None},
    )
    assert single.requires_resource_locking is False
    assert isinstance(single.memory, SimpleMachineMemory)
    raw = ArvoResumable(
        self_contract=decrement_orchestrator_contract,
        services={},
        memory=memory,
        handler={},
    )
    assert raw.requires_resource_locking is False
    assert raw.executionunits == 0
    forced = decrement_resumable(memory, requires_resource_locking=False)
    assert forced.requires_resource_locking is False


def test_should_take_identity_from_the_self_contract(memory: IMachineMemory) -> None:
    """Source is ``arvo.orc.<name>``; system errors use the latest self version."""
    resumable = decrement_resumable(memory)
    assert resumable.source == "arvo.orc.dec"
    assert resumable.system_error_schema.type == "sys.arvo.orc.dec.error"
    assert resumable.system_error_contract.version == "0.0.2"


def test_should_require_an_unversioned_orchestrator_self_contract() -> None:
    """``self`` is the orchestrator contract itself, not one of its versions."""
    with pytest.raises(ConfigViolation, match="unversioned"):
        create_arvo_resumable(
            self_contract=decrement_orchestrator_contract.version("0.0.1"),
            services={},
            handler={},
        )
    with pytest.raises(ConfigViolation, match="unversioned"):
        create_arvo_resumable(self_contract=decrement_contract, services={}, handler={})


def test_should_validate_services_like_machines() -> None:
    """Duplicate URIs and self references are rejected with "In ArvoResumable, ..." messages."""
    with pytest.raises(ConfigViolation) as info:
        create_arvo_resumable(
            self_contract=decrement_orchestrator_contract,
            services={
                "one": increment_contract.version("0.0.1"),
                "two": increment_contract.version("0.0.2"),
            },
            handler={},
        )
    assert info.value.message == (
        "ViolationError<Config> In ArvoResumable, the service contracts must have unique URIs. "
        "Multiple versions of the same contract are not allow. The contracts 'two' and 'one' "
        "have the same URI '#/test/handler/increment'"
    )
    with pytest.raises(ConfigViolation) as info:
        create_arvo_resumable(
            self_contract=decrement_orchestrator_contract,
            services={"me": decrement_orchestrator_contract.version("0.0.1")},
            handler={},
        )
    assert info.value.message == (
        "ViolationError<Config> In ArvoResumable, Circular dependency detected: Machine with "
        "URI '#/test/orchestrator/decrement' is registered as service 'me'. Self-referential "
        "services create execution loops and are prohibited."
    )


def test_should_reject_a_handler_that_is_not_callable() -> None:
    """Every version's handler must be a function."""
    with pytest.raises(TypeError, match=r"handler\['0.0.1'\] must be callable"):
        create_arvo_resumable(
            self_contract=decrement_orchestrator_contract,
            services={},
            handler={"0.0.1": "not a function"},  # type: ignore[dict-item]
        )


# -- the decrement flow, step by step --------------------------------------------------------


async def test_should_orchestrate_a_valid_init_event(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """Init -> read -> decrement -> write + completion, with the record checked at each step."""
    init = dec_init(
        "test.key", id={"deduplication": "DEVELOPER_MANAGED", "value": "custom-id"},
        domain="test.domain.test",
    )  # fmt: skip
    assert init.id == "custom-id"
    resumables.store["test.key"] = 2
    resumable = _dec(resumables)

    events = (await resumable.execute(init, otel_inherit="event")).events
    record = await memory.read(init.subject)
    assert record is not None
    assert record["subject"] == init.subject
    assert record["parentSubject"] is None
    assert record["status"] == "active"
    assert record["initEventId"] == "custom-id"
    assert record["state$$"] == {
        "key": "test.key",
        "value": 0,
        "modifier": 2,
        "trend": "linear",
        "error": [],
    }
    assert len(events) == 1
    read = events[0]
    assert (read.type, read.to, read.source) == ("com.value.read", "com.value.read", "arvo.orc.dec")
    assert read.data == {"key": "test.key"}
    assert read.parentid == "custom-id"
    assert read.executionunits == 0
    assert read.domain is None
    assert record["events"]["expected"] == {read.id: []}
    assert [e["id"] for e in record["events"]["produced"]] == [read.id]

    replies = (await _handler(resumables, "com.value.read").execute(read)).events
    assert len(replies) == 1
    reply = replies[0]
    assert (reply.type, reply.to, reply.source) == (
        "evt.value.read.success",
        "arvo.orc.dec",
        "com.value.read",
    )
    assert reply.data["value"] == 2
    assert reply.parentid == read.id

    events = (await resumable.execute(reply)).events
    record = await memory.read(init.subject)
    assert record is not None
    assert record["status"] == "active"
    assert record["state$$"]["value"] == 2
    assert len(events) == 1
    call = events[0]
    assert (call.type, call.to, call.source) == (
        "com.decrement.number",
        "com.decrement.number",
        "arvo.orc.dec",
    )
    assert call.data == {"init": 2, "decrement": 2}
    assert record["events"]["consumed"]["id"] == reply.id
    assert record["events"]["expected"] == {call.id: []}

    results = (await _handler(resumables, "com.decrement.number").execute(call)).events
    assert [(e.type, e.to, e.source, e.data) for e in results] == [
        ("evt.decrement.number.success", "arvo.orc.dec", "com.decrement.number", {"result": 0})
    ]

    result = results[0]
    events = (await resumable.execute(result)).events
    record = await memory.read(init.subject)
    assert record is not None
    assert record["status"] == "done"
    assert record["state$$"]["value"] == 0
    assert [e.type for e in events] == ["com.value.write", "arvo.orc.dec.done"]
    write, done = events
    assert (write.to, write.source) == ("com.value.write", "arvo.orc.dec")
    assert write.data == {"key": "test.key", "value": 0}
    assert write.parentid == result.id
    assert (done.to, done.source) == (CALLER, "arvo.orc.dec")
    assert done.data == {"success": True, "error": [], "final": 0}
    assert done.parentid == "custom-id"
    assert done.executionunits == 10
    assert done.subject == init.subject
    assert done.dataschema == "#/test/orchestrator/decrement/0.0.1"
    # Every emitted event is expected, the completion included.
    assert record["events"]["expected"] == {write.id: [], done.id: []}


async def test_should_orchestrate_the_fan_out_fan_in_resumable_through_the_broker(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """The dynamic-branch resumable: 2 reads, 2 increments, 2 writes, 6 external copies."""
    resumables.store.update({"test.1": 3, "test.2": 8})
    external: list[ArvoEvent] = []

    def on_domained_events(*, domain: str, event: ArvoEvent, broker: Any) -> None:
        if domain == "external":
            external.append(event)

    broker = create_simple_event_broker(resumables.all, on_domained_events=on_domained_events)
    init = fanout_init([{"key": "test.1", "value": 1}, {"key": "test.2", "value": 2}])
    done = await broker.resolve(init)

    assert resumables.store == {"test.1": 4, "test.2": 10}
    assert done is not None
    assert done.type == "arvo.orc.inc.done"
    assert done.data["final"] == [{"key": "test.1", "value": 4}, {"key": "test.2", "value": 10}]
    assert done.data["success"] is True
    assert done.parentid == init.id
    assert len(external) == 6
    assert sorted(e.type for e in external) == sorted(
        ["com.value.read"] * 2 + ["com.increment.number"] * 2 + ["com.value.write"] * 2
    )
    assert all(e.subject == init.subject for e in external)
    record = await memory.read(init.subject)
    assert record is not None and record["status"] == "done"


async def test_should_collect_responses_by_the_request_they_answer(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """Responses are filed under their request id; the function waits until all have come."""
    resumables.store.update({"a": 1, "b": 2})
    resumable = next(h for h in resumables.workflows if h.source == "arvo.orc.inc")
    reader = _handler(resumables, "com.value.read")
    init = fanout_init([{"key": "a", "value": 10}, {"key": "b", "value": 20}])

    reads = (await resumable.execute(init)).events
    assert [(e.type, e.domain, e.data["key"]) for e in reads] == [
        ("com.value.read", None, "a"),
        ("com.value.read", "external", "a"),
        ("com.value.read", None, "b"),
        ("com.value.read", "external", "b"),
    ]
    record = await memory.read(init.subject)
    assert record is not None
    assert record["events"]["expected"] == {e.id: [] for e in reads}

    first = (await reader.execute(reads[0])).events[0]
    assert (await resumable.execute(first)).events == []
    record = await memory.read(init.subject)
    assert record is not None
    assert record["events"]["expected"][reads[0].id] == [first.to_dict()]
    assert record["events"]["produced"] == []

    second = (await reader.execute(reads[2])).events[0]
    increments = (await resumable.execute(second)).events
    assert [(e.type, e.domain, e.data) for e in increments] == [
        ("com.increment.number", None, {"init": 1, "increment": 10}),
        ("com.increment.number", "external", {"init": 1, "increment": 10}),
        ("com.increment.number", None, {"init": 2, "increment": 20}),
        ("com.increment.number", "external", {"init": 2, "increment": 20}),
    ]
    assert all(e.parentid == second.id for e in increments)
    record = await memory.read(init.subject)
    assert record is not None
    assert record["events"]["expected"] == {e.id: [] for e in increments}


# -- the function's input ----------------------------------------------------------------------


async def test_should_pass_arvo_events_and_the_record_to_the_function(
    memory: IMachineMemory,
) -> None:
    """``input``/``service``/``collected_events`` hold ArvoEvents; context is the stored one."""
    calls: list[ResumableInput] = []

    async def flow(inp: ResumableInput) -> dict[str, Any] | None:
        calls.append(inp)
        if inp.input is not None:
            return {
                "context": {"n": 1},
                "services": [{"type": "com.value.read", "data": {"key": inp.input.data["key"]}}],
            }
        assert inp.context is not None
        inp.context["n"] = 999  # mutating the input must not leak into the record
        return {"output": {"success": True, "error": [], "final": 1}}

    resumable = create_arvo_resumable(
        self_contract=decrement_orchestrator_contract,
        services=_services("value_reader"),
        handler={"0.0.1": flow},
        memory=memory,
    )
    init = dec_init("k")
    [read] = (await resumable.execute(init)).events
    reply = create_arvo_event_factory(value_read_contract.version("0.0.1")).emits(
        type="evt.value.read.success", source="com.value.read", subject=init.subject,
        data={"key": "k", "value": 5}, parentid=read.id,
    )  # fmt: skip
    [done] = (await resumable.execute(reply)).events

    first, second = calls
    assert isinstance(first.input, ArvoEvent) and first.input.id == init.id
    assert first.service is None
    assert (first.context, first.metadata, first.collected_events) == (None, None, {})
    assert first.domain == {"self": None, "event": None}
    assert first.self_contract.version == "0.0.1"
    assert first.contracts == {"self": first.self_contract, "services": first.services}
    assert second.input is None
    assert isinstance(second.service, ArvoEvent) and second.service.id == reply.id
    assert second.metadata is not None and second.metadata["status"] == "active"
    assert [e.id for e in second.collected_events["evt.value.read.success"]] == [reply.id]
    assert all(isinstance(e, ArvoEvent) for e in second.collected_events["evt.value.read.success"])
    assert done.data == {"success": True, "error": [], "final": 1}
    record = await memory.read(init.subject)
    assert record is not None and record["state$$"] == {"n": 1}


async def test_should_keep_the_context_when_the_function_returns_none(
    memory: IMachineMemory,
) -> None:
    """A ``None`` result emits nothing and keeps ``state$$``."""

    def flow(inp: ResumableInput) -> dict[str, Any] | None:
        return {"context": {"kept": True}} if inp.input is not None else None

    resumable = create_arvo_resumable(
        self_contract=decrement_orchestrator_contract,
        services=_services("value_reader"),
        handler={"0.0.1": flow},
        memory=memory,
    )
    init = dec_init()
    stray = create_arvo_event_factory(value_read_contract.version("0.0.1")).emits(
        type="evt.value.read.success", source="com.value.read", subject=init.subject,
        data={"key": "k", "value": 5},
    )  # fmt: skip
    await run_steps(
        resumable, [TestStep(init, expect=[]), TestStep(stray, expect=[])], memory=memory
    )
    record = await memory.read(init.subject)
    assert record is not None
    assert record["state$$"] == {"kept": True}
    assert record["status"] == "active"
    assert record["events"]["consumed"]["id"] == stray.id


# -- errors ------------------------------------------------------------------------------------


async def test_should_turn_execution_errors_into_system_errors(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """The v0.0.2 function raises: ``sys.arvo.orc.dec.error`` to the caller; the run is dead."""
    broker = create_simple_event_broker(resumables.all)
    init = dec_init("test.key", version="0.0.2")
    resolved = await broker.resolve(init)
    assert resolved is not None
    assert resolved.subject == init.subject
    assert resolved.type == decrement_orchestrator_contract.system_error.type
    assert resolved.data["errorMessage"] == (
        "Version 0.0.2 is not implemented for decrement resumable"
    )
    assert resolved.data["errorName"] == "NotImplementedError"
    assert resolved.parentid == init.id
    assert resolved.to == CALLER
    assert resolved.dataschema == "#/test/orchestrator/decrement/0.0.0"

    record = await memory.read(init.subject)
    assert record is not None
    assert record["executionStatus"] == "failure"
    assert record["error"]["message"] == "Version 0.0.2 is not implemented for decrement resumable"
    again = dec_init("test.key", version="0.0.2", subject=init.subject)
    assert (await _dec(resumables).execute(again)).events == []
    assert await memory.read(init.subject) == record


async def test_should_throw_on_an_unrecognized_event(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """A service's *accepts* event on the resumable's subject matches none of its contracts."""
    init = dec_init("test.key")
    resumable = _dec(resumables)
    await resumable.execute(init, otel_inherit="event")
    before = await memory.read(init.subject)
    faulty = create_arvo_event_factory(value_write_contract.version("0.0.1")).accepts(
        subject=init.subject, source=CALLER, data={"value": 0, "key": "test"}
    )
    with pytest.raises(ConfigViolation) as info:
        await resumable.execute(faulty, otel_inherit="event")
    assert info.value.message == (
        "ViolationError<Config> Contract validation failed - Event does not match any "
        "registered contract schemas in the resumable"
    )
    assert await memory.read(init.subject) == before


async def test_should_throw_when_no_handler_matches_the_subject_version(
    memory: IMachineMemory,
) -> None:
    """Missing versions are found at run time, with the exact ConfigViolation."""
    resumable = create_arvo_resumable(
        self_contract=decrement_orchestrator_contract,
        services={},
        handler={"0.0.1": lambda inp: None},
        memory=memory,
    )
    init = dec_init(version="0.0.2")
    with pytest.raises(ConfigViolation) as info:
        await resumable.execute(init)
    assert info.value.message == (
        "ViolationError<Config> Handler resolution failed: No handler found matching "
        "orchestrator name='arvo.orc.dec' and version='0.0.2'."
    )
    assert await memory.read(init.subject) is None


async def test_should_persist_nothing_on_invalid_input(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """A ContractViolation on the init event leaves no record."""
    init = dec_init()
    bad = create_arvo_event(
        source=CALLER,
        type="arvo.orc.dec",
        subject=init.subject,
        data={"parentSubject$$": None, "key": 1, "modifier": 2, "trend": "linear"},
        dataschema=init.dataschema,
    )
    with pytest.raises(ContractViolation, match="Input validation failed"):
        await _dec(resumables).execute(bad)
    assert await memory.read(init.subject) is None


async def test_should_report_a_malformed_result_as_a_system_error(memory: IMachineMemory) -> None:
    """A function returning something other than a dict is a (non-violation) error."""
    resumable = create_arvo_resumable(
        self_contract=decrement_orchestrator_contract,
        services={},
        handler={"0.0.1": lambda inp: ["not", "a", "dict"]},
        memory=memory,
    )
    init = dec_init()
    [error] = (await resumable.execute(init)).events
    assert error.type == "sys.arvo.orc.dec.error"
    assert error.data["errorName"] == "TypeError"
    assert "must return None or a dict" in error.data["errorMessage"]
    assert (await memory.read(init.subject) or {})["executionStatus"] == "failure"


async def test_should_ignore_events_of_another_orchestrator() -> None:
    """A subject naming another orchestrator gives no events and touches no memory."""
    faulty = FaultyMemory(fail_on="lock", message="must not be called")
    assert (await decrement_resumable(faulty).execute(inc_init())).events == []
    assert faulty.calls == []


async def test_should_throw_if_the_lock_is_held_by_another_owner(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """A subject locked by another owner is a LOCK_UNACQUIRED violation."""
    init = dec_init()
    other = memory.for_owner("other")
    assert await other.lock(init.subject) is True
    with pytest.raises(TransactionViolation) as info:
        await _dec(resumables).execute(init)
    assert info.value.cause == TransactionViolationCause.LOCK_UNACQUIRED
    assert await memory.read(init.subject) is None
    assert await other.unlock(init.subject) is True
    assert len((await _dec(resumables).execute(init)).events) == 1


@pytest.mark.parametrize("operation", ["lock", "read", "write"])
async def test_should_throw_a_transaction_violation_on_a_faulty_memory(operation: str) -> None:
    """Memory failures surface with the same causes and texts as for orchestrators."""
    faulty = FaultyMemory(fail_on=operation, message="memory down")
    init = dec_init()
    with pytest.raises(TransactionViolation) as info:
        await decrement_resumable(faulty).execute(init)
    verb = {"lock": "acquiring lock", "read": "reading state", "write": "writing state"}[operation]
    assert info.value.message.endswith(
        f"Error {verb} for event (subject={init.subject}): memory down"
    )


# -- duplicates and late events ------------------------------------------------------------------


async def test_should_ignore_a_duplicate_event_id(resumables: NumberDomain, memory: Any) -> None:
    """A redelivered event gives no events and no write."""
    resumables.store["k1"] = 2
    init = dec_init()
    resumable = _dec(resumables)
    await resumable.execute(init)
    meta = await memory.read_meta(init.subject)
    assert (await resumable.execute(init)).events == []
    assert await memory.read_meta(init.subject) == meta


async def test_should_not_rewrite_a_finished_resumable(
    resumables: NumberDomain, memory: Any
) -> None:
    """After completion, late events give nothing and leave the record untouched."""
    resumables.store["k1"] = 2
    broker = create_simple_event_broker(resumables.all)
    init = dec_init()
    done = await broker.resolve(init)
    assert done is not None and done.type == "arvo.orc.dec.done"
    record = await memory.read(init.subject)
    meta = await memory.read_meta(init.subject)

    late = create_arvo_event_factory(decrement_contract.version("0.0.1")).emits(
        type="evt.decrement.number.success", source="com.decrement.number",
        subject=init.subject, data={"result": 42},
    )  # fmt: skip
    assert (await _dec(resumables).execute(late)).events == []
    assert await memory.read(init.subject) == record
    assert await memory.read_meta(init.subject) == meta

    # Validation still runs first, so an invalid late event is still a violation.
    invalid = create_arvo_event(
        type="evt.decrement.number.success",
        source="com.decrement.number",
        subject=init.subject,
        data={"result": "many"},
        dataschema="#/test/handler/decrement/0.0.1",
    )
    with pytest.raises(ContractViolation):
        await _dec(resumables).execute(invalid)


async def test_should_complete_child_resumables_on_the_parent_subject(
    memory: IMachineMemory,
) -> None:
    """A resumable started with ``parentSubject$$`` completes on the parent's subject."""
    parent = inc_init()
    child_init = dec_init(subject=None)
    child = create_arvo_event_factory(decrement_orchestrator_contract.version("0.0.1")).accepts(
        source="arvo.orc.inc",
        data={**child_init.data, "parentSubject$$": parent.subject},
        subject=child_init.subject,
    )

    def flow(inp: ResumableInput) -> dict[str, Any]:
        return {"output": {"success": True, "error": [], "final": 7}}

    resumable = create_arvo_resumable(
        self_contract=decrement_orchestrator_contract,
        services={},
        handler={"0.0.1": flow},
        memory=memory,
    )
    [done] = (await resumable.execute(child)).events
    assert done.subject == parent.subject
    assert done.parentid == child.id
    assert done.to == decode(child.subject)["execution"]["initiator"]
    record = await memory.read(child.subject)
    assert record is not None and record["parentSubject"] == parent.subject


# -- typed input and output ----------------------------------------------------------------------


async def test_should_hand_the_function_contract_models_and_take_models_back(
    memory: IMachineMemory,
) -> None:
    """``inp.data`` is the call's event as its contract model, ``inp.collected`` gives the
    collected responses as models, and services and output may be models."""
    from arvo_ray.examples.number_domain.contracts import Completion, Key, KeyValue

    seen: list[Any] = []

    def flow(inp: ResumableInput) -> dict[str, Any]:
        seen.append(inp.data)
        if inp.input is not None:
            return {"context": {}, "services": [Key(key=inp.data.key)]}
        [read] = inp.collected(KeyValue)
        assert inp.collected("evt.value.read.success") == [read]
        return {"output": Completion(success=True, error=[], final=read.value)}

    resumable = create_arvo_resumable(
        self_contract=decrement_orchestrator_contract,
        services=_services("value_reader"),
        handler={"0.0.1": flow},
        memory=memory,
    )
    broker = create_simple_event_broker([resumable, _reader({"k1": 7})])
    run = await broker.run(dec_init("k1"), trace=True)
    assert run.final is not None and run.final.data == {"success": True, "error": [], "final": 7}
    assert [type(data).__name__ for data in seen] == ["LinearInit", "KeyValue"]
    assert seen[0].key == "k1" and seen[0].parent_subject is None
    request = (run.trace or [])[1]
    assert (request.type, request.data) == ("com.value.read", {"key": "k1"})


def _reader(store: dict[str, float]) -> IArvoEventHandler:
    from arvo_ray.examples.number_domain import value_read_handler

    return value_read_handler(store)
