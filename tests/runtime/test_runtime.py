"""The runtime suite: every behaviour runs against both workflow placements.

One runtime per placement is shared by the module (creating actors is slow on small
machines); each test uses its own workflows (subjects), so they do not interfere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from arvo_ray.cli import main
from arvo_ray.core import (
    ContractViolation,
    ExecutionViolation,
    create_arvo_event,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    decrement_orchestrator_contract,
    increment_resumable_contract,
    number_modifier_contract,
)
from arvo_ray.memory import SimpleMachineMemory, SQLiteMachineMemory
from arvo_ray.runtime import ArvoRuntime, Instance, RunResult, Sharded
from arvo_ray.runtime._config import placement_of
from arvo_ray.testing import replay


@pytest.fixture(scope="module", params=["instance", "sharded"])
def runtime(
    request: pytest.FixtureRequest, ray_session: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ArvoRuntime]:
    folder = tmp_path_factory.mktemp(f"runtime-{request.param}")
    domain = build_number_domain(store=SQLiteKeyValueStore(str(folder / "values.sqlite3")))
    runtime = ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        placement=Sharded()
        if request.param == "sharded"
        else Instance(max_live=3, idle_timeout=5.0),
        namespace="arvo-tests",
        sqlite_path=folder / "memory.sqlite3",
    )
    try:
        yield runtime
    finally:
        runtime.shutdown()


def modifier_init(value: int, operation: str = "decrement") -> Any:
    factory = create_arvo_orchestrator_event_factory(number_modifier_contract.version("0.0.1"))
    return factory.init(
        source="com.test.client",
        data={
            "parentSubject$$": None,
            "init": value,
            "modifier": 4,
            "operation": operation,
            "trend": "linear",
        },
    )


def test_a_nested_orchestration_completes_with_the_right_result(runtime: ArvoRuntime) -> None:
    """number.modifier runs a child decrement workflow through handler tasks and returns init - 4."""
    result = runtime.run(modifier_init(10), timeout=120)
    assert isinstance(result, RunResult)
    assert result.errors == []
    assert result.final is not None
    assert result.final.type == "arvo.orc.number.modifier.done"
    assert result.final.data == {"success": True, "error": [], "final": 6}
    assert result.final.to == "com.test.client"


def test_the_trace_lists_every_event_of_the_chain_in_causal_order(runtime: ArvoRuntime) -> None:
    """With trace=True the result holds the chain: init first, completion last, parents before children."""
    init = modifier_init(3)
    result = runtime.run(init, timeout=120, trace=True)
    trace = result.trace or []
    assert trace[0].type == "arvo.orc.number.modifier"
    assert trace[-1].type == "arvo.orc.number.modifier.done"
    seen = {init.id}
    for event in trace[1:]:
        assert event.parentid in seen or event.type.endswith(".done")
        seen.add(event.id)
    assert len(trace) == 11
    assert result.hops == 9


def test_events_addressed_to_nobody_are_returned_not_dropped(runtime: ArvoRuntime) -> None:
    """The notification event no one subscribes to comes back as an output and is kept."""
    result = runtime.run(modifier_init(5), timeout=120)
    types = [e.type for e in result.outputs]
    assert "com.notif.test" in types
    assert types[-1] == "arvo.orc.number.modifier.done"
    assert any(e.type == "com.notif.test" for e in runtime.unrouted())


def test_run_many_runs_every_workflow_to_its_own_result(runtime: ArvoRuntime) -> None:
    """Concurrent workflows each get their own, correct completion."""
    # Instance actors start at about 2-3 a second on a small machine: fewer there.
    values = list(range(12 if runtime.placement.kind == "sharded" else 4))
    events = [modifier_init(v, "increment" if v % 2 else "decrement") for v in values]
    results = runtime.run_many(events, progress=False, timeout=300)
    finals = [r.final.data["final"] if r.final else None for r in results]
    assert finals == [v + 4 if v % 2 else v - 4 for v in values]
    assert all(
        r.final.subject == e.subject for r, e in zip(results, events, strict=True) if r.final
    )


def test_a_service_answer_carries_the_acknowledgement_of_its_request(
    runtime: ArvoRuntime,
) -> None:
    """A workflow that calls one service and finishes on its answer writes its record twice
    (the two steps) and nothing more: the answer's step drops the request from the outbox,
    and the answer to the caller never enters it, so no acknowledgement write is owed."""
    factory = create_arvo_orchestrator_event_factory(
        decrement_orchestrator_contract.version("0.0.1")
    )
    inits = [
        factory.init(
            source="com.test.client",
            data={"parentSubject$$": None, "key": f"no-such-{i}", "modifier": 1, "trend": "linear"},
        )
        for i in range(3)
    ]
    results = runtime.run_many(inits, progress=False, timeout=120)
    assert all(r.final is not None for r in results)
    assert runtime.memory_path is not None
    memory = SQLiteMachineMemory(runtime.memory_path)
    for init in inits:
        record = runtime.record(init.subject)
        assert record is not None and record.get("outbox") == []
        meta = asyncio.run(memory.read_meta(init.subject))
        assert meta is not None and meta["version"] == 2


def test_the_stored_record_is_readable_from_the_driver(runtime: ArvoRuntime) -> None:
    """state(subject) returns the committed workflow record."""
    init = modifier_init(7)
    runtime.run(init, timeout=120)
    record = runtime.record(init.subject)
    assert record is not None
    assert record["status"] == "done"
    assert record["initEventId"] == init.id
    assert record["state"]["context"]["final_value"] == 3
    assert runtime.record("not-a-subject-anyone-wrote") is None


def test_a_history_recorded_on_ray_replays_in_process(
    runtime: ArvoRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runtime keeps each workflow's steps; they replay clean against the same code (the
    parent, and its child whose subject the parent's history names), and ``arvo-ray export``
    writes them from the runtime's memory file for ``arvo-ray replay``."""
    init = modifier_init(9)
    runtime.run(init, timeout=120)
    steps = runtime.history(init.subject)
    assert [step["consumed"]["type"] for step in steps] == [
        "arvo.orc.number.modifier",
        "evt.value.write.success",
        "arvo.orc.dec.done",
    ]
    domain = build_number_domain()
    workflows = {workflow.source: workflow for workflow in domain.workflows}
    report = replay(workflows["arvo.orc.number.modifier"], steps)
    assert report.ok, str(report)
    (child_init,) = [e for e in report.emitted[1] if e.type == "arvo.orc.dec"]
    child = replay(workflows["arvo.orc.dec"], runtime.history(child_init.subject))
    assert child.ok and child.steps == 3, str(child)
    with pytest.raises(KeyError):
        runtime.history("not-a-subject-anyone-wrote")

    history = tmp_path / "history.jsonl"
    memory = str(runtime.memory_path)
    assert main(["export", init.subject, "--memory", memory, "-o", str(history)]) == 0
    spec = "arvo_ray.examples.number_domain:build_number_domain"
    assert main(["replay", spec, str(history)]) == 0
    assert "3 of 3 recorded steps replayed the same" in capsys.readouterr().out


def test_a_violation_is_reported_with_its_event_and_kept_as_a_dead_letter(
    runtime: ArvoRuntime,
) -> None:
    """An orchestrator event with a subject that is not an orchestration subject is an ExecutionViolation."""
    bad = create_arvo_event(
        source="com.test.client",
        type="arvo.orc.dec",
        subject="not-an-orchestration-subject",
        data={"parentSubject$$": None, "key": "k", "modifier": 1, "trend": "linear"},
        dataschema="#/test/orchestrator/decrement/0.0.1",
    )
    result = runtime.run(bad, timeout=60)
    assert result.final is None
    assert len(result.errors) == 1
    assert isinstance(result.errors[0].error, ExecutionViolation)
    assert result.errors[0].event.id == bad.id
    assert any(letter.event.id == bad.id for letter in runtime.dead_letters())


def test_invalid_init_data_is_a_contract_violation(runtime: ArvoRuntime) -> None:
    """Data that breaks the orchestrator contract never reaches the machine."""
    good = create_arvo_orchestrator_event_factory(
        decrement_orchestrator_contract.version("0.0.1")
    ).init(
        source="com.test.client",
        data={"parentSubject$$": None, "key": "k", "modifier": 1, "trend": "linear"},
    )
    bad = good.model_copy(
        update={"data": {"parentSubject$$": None, "key": 5, "modifier": 1, "trend": "linear"}}
    )
    result = runtime.run(bad, timeout=60)
    assert [type(letter.error) for letter in result.errors] == [ContractViolation]


def test_a_handler_error_becomes_a_system_error_event_and_fails_the_workflow(
    runtime: ArvoRuntime,
) -> None:
    """Reading a missing key raises in the handler task: the workflow completes with success false."""
    factory = create_arvo_orchestrator_event_factory(
        decrement_orchestrator_contract.version("0.0.1")
    )
    init = factory.init(
        source="com.test.client",
        data={"parentSubject$$": None, "key": "missing-key", "modifier": 1, "trend": "linear"},
    )
    result = runtime.run(init, timeout=120)
    assert result.final is not None
    assert result.final.data["success"] is False
    assert result.final.data["error"][0]["errorMessage"] == "No value to find at key=missing-key"


@pytest.mark.parametrize("placement", ["instance", "sharded"])
def test_resumables_fan_out_and_in_on_the_cluster(
    ray_session: None, tmp_path: Path, placement: str
) -> None:
    """The increment resumable reads, increments and writes every key, across worker processes."""
    store = SQLiteKeyValueStore(str(tmp_path / "values.sqlite3"))
    store["fan.1"] = 3
    store["fan.2"] = 8
    domain = build_number_domain(store=store, kind="resumables")
    init = create_arvo_orchestrator_event_factory(
        increment_resumable_contract.version("0.0.1")
    ).init(
        source="com.test.client",
        data={
            "parentSubject$$": None,
            "modifications": [{"key": "fan.1", "value": 1}, {"key": "fan.2", "value": 2}],
        },
    )
    with ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        placement=Sharded(num_hosts=1) if placement == "sharded" else Instance(),
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
    ) as runtime:
        result = runtime.run(init, timeout=120)
    assert result.errors == []
    assert result.final is not None
    assert result.final.data["final"] == [
        {"key": "fan.1", "value": 4},
        {"key": "fan.2", "value": 10},
    ]
    assert len(result.domained) == 6
    assert store["fan.1"] == 4 and store["fan.2"] == 10


def test_stats_count_what_happened(runtime: ArvoRuntime) -> None:
    """stats() reports routed events, errors and the placement's figures."""
    before = runtime.stats()
    runtime.run(modifier_init(1), timeout=120)
    after = runtime.stats()
    assert after["events_routed"] - before["events_routed"] == 9
    assert after["placement"] == runtime.placement.kind
    assert after["runs"] == before["runs"] + 1


def test_workflow_actors_stay_bounded(runtime: ArvoRuntime) -> None:
    """Instance actors are passivated (done, idle or evicted) and never exceed the cap;
    the sharded placement only ever uses its host actors."""
    runtime.run_many([modifier_init(v) for v in range(4)], progress=False, timeout=300)
    stats = runtime.stats()
    if runtime.placement.kind == "instance":
        assert stats["peak_live_instances"] <= stats["max_live_instances"] == 3
        assert stats["live_instances"] == 0
        assert stats["instances_retired"] == stats["instances_created"] > 0
    else:
        assert stats["hosts"] == 2
        assert runtime.actor_names() == [f"{runtime.name}-host-0", f"{runtime.name}-host-1"]


def test_simple_machine_memory_is_refused_with_an_explanation(ray_session: None) -> None:
    """An in-process memory cannot be shared by workflow actors: the error says so."""
    with pytest.raises(ValueError, match="inside one Python process"):
        ArvoRuntime(handlers=build_number_domain().handlers, memory=SimpleMachineMemory())


@pytest.mark.parametrize(
    ("placement", "error", "message"),
    [
        ("everywhere", ValueError, "placement must be Sharded"),
        (3, TypeError, "placement must be Sharded"),
    ],
)
def test_a_bad_placement_is_refused_before_ray_starts(
    placement: Any, error: type[Exception], message: str
) -> None:
    """The placement is a value (``Sharded(...)``/``Instance(...)``, or their names)."""
    with pytest.raises(error, match=message):
        ArvoRuntime(handlers=build_number_domain().handlers, placement=placement)


def test_placement_values_check_their_options() -> None:
    """Each placement takes only its own options, and checks them."""
    assert placement_of("sharded") == Sharded() and placement_of("instance") == Instance()
    assert Sharded(num_hosts=3, host_options=[{"num_cpus": 0}]).host_options == ({"num_cpus": 0},)
    with pytest.raises(ValueError, match="num_hosts must be at least 1"):
        Sharded(num_hosts=0)
    with pytest.raises(ValueError, match="max_live must be at least 1"):
        Instance(max_live=0)
    with pytest.raises(ValueError, match="idle_timeout"):
        Instance(idle_timeout=0)
    with pytest.raises(TypeError):
        Sharded(max_live=3)  # type: ignore[call-arg]


def test_workflows_of_the_wrong_kind_are_refused(ray_session: None) -> None:
    """``workflows=`` takes orchestrators and resumables; a handler there is a TypeError."""
    domain = build_number_domain()
    with pytest.raises(TypeError, match="workflows must be WorkflowHandler objects"):
        ArvoRuntime(workflows=domain.handlers)
    with pytest.raises(ValueError, match="at least one handler or workflow"):
        ArvoRuntime()


def test_a_sqlite_memory_is_served_by_the_memory_actor(ray_session: None, tmp_path: Path) -> None:
    """SQLiteMachineMemory(path) works on Ray: records land in that file."""
    domain = build_number_domain(store=SQLiteKeyValueStore(str(tmp_path / "values.sqlite3")))
    path = tmp_path / "mine.sqlite3"
    with ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        memory=SQLiteMachineMemory(path),
        placement=Sharded(num_hosts=1),
        namespace="arvo-tests",
    ) as runtime:
        init = modifier_init(2)
        assert runtime.run(init, timeout=120).final is not None
        assert runtime.memory_path == path.resolve()
    import asyncio

    record = asyncio.run(SQLiteMachineMemory(path).read(init.subject))
    assert record is not None and record["status"] == "done"


def test_non_events_are_rejected_before_reaching_the_cluster(runtime: ArvoRuntime) -> None:
    """submit() takes ArvoEvents only."""
    with pytest.raises(TypeError, match="ArvoEvent"):
        runtime.submit({"type": "com.x.y"})  # type: ignore[arg-type]


def test_a_shut_down_runtime_says_so(ray_session: None, tmp_path: Path) -> None:
    """Using a runtime after shutdown raises a clear error; shutdown is idempotent."""
    runtime = ArvoRuntime(
        handlers=build_number_domain().handlers[:1],
        namespace="arvo-tests",
        sqlite_path=tmp_path / "m.sqlite3",
    )
    runtime.shutdown()
    runtime.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        runtime.run(modifier_init(1))
    assert ray.is_initialized()


def test_the_outbox_keeps_emitted_events_until_handed_on(runtime: ArvoRuntime) -> None:
    """A step's events are stored with its state; once delivered they leave the outbox."""
    import time

    init = modifier_init(5)
    runtime.run(init, timeout=120)
    deadline = time.monotonic() + 30
    record = runtime.record(init.subject)
    assert record is not None and "outbox" in record
    while record["outbox"]:
        assert time.monotonic() < deadline, f"outbox never drained: {record['outbox']}"
        time.sleep(0.5)
        record = runtime.record(init.subject)
        assert record is not None


def _outbox(record: dict[str, Any] | None) -> list[Any]:
    return list((record or {}).get("outbox") or [])


def _number_runtime(tmp_path: Path, **options: Any) -> ArvoRuntime:
    """The number domain on a runtime of its own: one broker, one host, files in ``tmp_path``."""
    domain = build_number_domain(store=SQLiteKeyValueStore(str(tmp_path / "values.sqlite3")))
    return ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        placement=Sharded(num_hosts=1),
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
        **options,
    )


def test_a_parent_writes_the_acknowledgement_of_its_childs_init_with_its_next_step(
    ray_session: None, tmp_path: Path
) -> None:
    """A child consumes its init long before the parent's next step (which consumes the
    child's answer): that step writes the init's acknowledgement, so only the children, whose
    answer is handed on after their last step, need an acknowledgement write of their own."""
    import time

    with _number_runtime(tmp_path) as runtime:
        events = [modifier_init(i) for i in range(20)]
        results = runtime.run_many(events, progress=False, timeout=300)
        assert all(r.final is not None and r.final.type.endswith(".done") for r in results)
        deadline = time.monotonic() + 60
        while runtime.stats()["acks_flushed"] < len(events) or any(
            _outbox(runtime.record(e.subject)) for e in events
        ):
            assert time.monotonic() < deadline, runtime.stats()["acks_flushed"]
            time.sleep(0.5)
        time.sleep(3.0)  # past ack_delay: any write still due has happened
        # One per child; one per parent too if the parents' steps did not carry theirs.
        assert runtime.stats()["acks_flushed"] < 2 * len(events)


def test_without_an_outbox_workflows_still_run_and_records_carry_none(
    ray_session: None, tmp_path: Path
) -> None:
    """outbox=False (for measuring its cost) runs the same workflows and stores no outbox."""
    with _number_runtime(tmp_path, outbox=False) as runtime:
        init = modifier_init(9)
        result = runtime.run(init, timeout=120)
        assert result.final is not None and result.final.data["final"] == 5
        record = runtime.record(init.subject)
        assert record is not None and record["status"] == "done"
        assert "outbox" not in record
