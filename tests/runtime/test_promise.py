"""The runtime's promise to callers, without faults: every caller gets its answer once, no
chain runs twice, and every input gets a definite outcome quickly.

Handlers are wrapped so that each execution is written to a ledger (a side effect counted
across processes). One runtime per placement is shared by the module.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    ContractViolation,
    ExecutionViolation,
    TransactionViolation,
    create_arvo_event_factory,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    decrement_orchestrator_contract,
    increment_orchestrator_contract,
    number_modifier_contract,
    value_read_contract,
)
from arvo_ray.memory import RedisMachineMemory, SQLiteMachineMemory
from arvo_ray.runtime import ArvoRuntime, Instance, OrphanEventError, Sharded, WorkflowStalledError

from .effects import EffectLedger, SlowCommits, counted

CALLER = "com.promise.client"


class Setup:
    def __init__(self, runtime: ArvoRuntime, ledger: EffectLedger, store: Any, path: Path) -> None:
        self.runtime = runtime
        self.ledger = ledger
        self.store = store
        self.memory_path = path


@pytest.fixture(scope="module", params=["instance", "sharded"])
def setup(
    request: pytest.FixtureRequest, ray_session: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp(f"promise-{request.param}")
    store = SQLiteKeyValueStore(str(folder / "values.sqlite3"))
    ledger = EffectLedger(str(folder / "effects.sqlite3"))
    domain = build_number_domain(store=store)
    runtime = ArvoRuntime(
        handlers=counted(domain.handlers, ledger),
        workflows=domain.workflows,
        placement=Sharded()
        if request.param == "sharded"
        else Instance(max_live=4, idle_timeout=5.0),
        namespace="arvo-tests",
        sqlite_path=folder / "memory.sqlite3",
    )
    try:
        yield Setup(runtime, ledger, store, folder / "memory.sqlite3")
    finally:
        runtime.shutdown()


def inc_init(key: str, version: str = "0.0.1", subject: str | None = None) -> ArvoEvent:
    factory = create_arvo_orchestrator_event_factory(
        increment_orchestrator_contract.version(version)
    )
    trend = "linear" if version == "0.0.1" else "exponential"
    data = {"parentSubject$$": None, "key": key, "modifier": 3, "trend": trend}
    return factory.init(source=CALLER, data=data, **({"subject": subject} if subject else {}))


def wait_until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def test_a_finished_workflow_answers_a_repeated_init_with_its_stored_completion(
    setup: Setup,
) -> None:
    """The two-event increment (v0.0.2) finishes; its second answer is late. Sending the init
    again, or a new init for the same subject, returns the stored completion at once and runs
    no handler again."""
    key = f"k-{uuid.uuid4().hex[:6]}"
    setup.store[key] = 2
    init = inc_init(key, "0.0.2")
    first = setup.runtime.run(init, timeout=120)
    assert first.errors == [] and first.final is not None
    assert first.final.data == {"success": True, "error": [], "final": 6}
    # The second increment answer reaches the finished workflow: counted as late, not an error.
    assert [e.type for e in first.late] == ["evt.multiplier.number.success"]
    effects = setup.ledger.executions(init.subject)
    assert sorted(effects.values()) == [1, 1]  # one read, one multiply
    # Every emitted event is acknowledged (its outbox written empty) a moment later.
    wait_until(lambda: (setup.runtime.record(init.subject) or {}).get("outbox") == [])

    again = setup.runtime.run(init, timeout=120)
    assert again.final == first.final and again.redelivered and again.errors == []
    assert again.outputs == []
    fresh = setup.runtime.run(inc_init(key, "0.0.2", subject=init.subject), timeout=120)
    assert fresh.final == first.final and fresh.errors == []
    assert [e.type for e in fresh.late] == ["arvo.orc.inc"]
    assert setup.ledger.executions(init.subject) == effects
    record = setup.runtime.record(init.subject)
    assert record is not None and record.answer == [first.final]


def test_concurrent_runs_of_one_init_share_one_chain(setup: Setup) -> None:
    """The same init sent three times at once: one chain runs, each caller gets the answer."""
    key = f"k-{uuid.uuid4().hex[:6]}"
    setup.store[key] = 5
    init = inc_init(key)
    results = ray.get([setup.runtime.submit(init) for _ in range(3)], timeout=120)
    assert {r.final.id if r.final else None for r in results} != {None}
    assert all(r.final is not None and r.final.data["final"] == 8 for r in results)
    assert all(r.errors == [] for r in results)
    assert set(setup.ledger.executions(init.subject).values()) == {1}
    # Each result shows the completion once.
    for result in results:
        ids = [e.id for e in result.outputs]
        assert len(ids) == len(set(ids))


def test_events_for_no_workflow_instance_are_dead_letters_with_the_reason(setup: Setup) -> None:
    """A reply to a workflow that never started, and an init whose subject names another
    orchestrator, are reported (RunResult, dead letters, stats), not silently dropped."""
    before = setup.runtime.stats()["orphans"]
    never = inc_init("never").subject
    reply = create_arvo_event_factory(value_read_contract.version("0.0.1")).emits(
        subject=never,
        source="com.value.read",
        type="evt.value.read.success",
        to="arvo.orc.inc",
        data={"key": "never", "value": 1},
    )
    foreign_subject = ArvoOrchestrationSubject.new(
        orchestrator="arvo.orc.dec", version="0.0.1", initiator=CALLER
    )
    foreign = inc_init("never", subject=foreign_subject)
    for event, reason in (
        (reply, "no workflow instance is stored for the subject"),
        (foreign, "the subject names orchestrator 'arvo.orc.dec', not 'arvo.orc.inc'"),
    ):
        result = setup.runtime.run(event, timeout=60)
        [letter] = result.errors
        assert isinstance(letter.error, OrphanEventError) and reason in letter.error.reason
        assert letter.event == event and result.final is None
        assert any(d.event.id == event.id for d in setup.runtime.dead_letters(limit=20))
    assert setup.runtime.stats()["orphans"] == before + 2
    assert setup.runtime.record(never) is None


@pytest.mark.parametrize(
    "broken",
    [
        {"data": None},
        {"data": "text"},
        {"data": [1, 2]},
        {"id": None},
        {"executionunits": math.nan},
        {"time": "garbage"},
        {"subject": None},
        {"to": ""},
    ],
    ids=["data-none", "data-str", "data-list", "id-none", "units-nan", "time", "subject", "to"],
)
def test_unvalidated_events_are_refused_at_the_boundary(
    setup: Setup, broken: dict[str, Any]
) -> None:
    """Events made with model_construct get no pass: a ContractViolation naming the field,
    with a bounded message, before anything reaches the cluster."""
    valid = inc_init("boundary")
    bad = ArvoEvent.model_construct(**{**valid.__dict__, **broken})
    runs = setup.runtime.stats()["runs"]
    field = next(iter(broken))
    for call in (setup.runtime.submit, setup.runtime.run):
        with pytest.raises(ContractViolation) as info:
            call(bad)
        assert f"'event.{field}'" in info.value.message and len(info.value.message) < 600
    with pytest.raises(ContractViolation, match="run_many\\(\\) event 1"):
        setup.runtime.run_many([valid, bad, valid])
    assert setup.runtime.stats()["runs"] == runs  # nothing was half-accepted


def test_a_workflow_stalled_by_a_violation_says_so_to_a_repeated_init(setup: Setup) -> None:
    """Version 0.0.2 of number.modifier makes a child call with an invalid parent subject: the
    step raises ExecutionViolation and the workflow waits for ever. Its record notes why, so
    sending the init again answers at once with that reason instead of waiting."""
    factory = create_arvo_orchestrator_event_factory(number_modifier_contract.version("0.0.2"))
    init = factory.init(
        source=CALLER,
        data={
            "parentSubject$$": None,
            "init": 8,
            "modifier": 2,
            "operation": "decrement",
            "trend": "exponential",
        },
    )
    first = setup.runtime.run(init, timeout=120)
    [letter] = first.errors
    assert isinstance(letter.error, ExecutionViolation) and first.final is None
    record = setup.runtime.record(init.subject)
    assert record is not None and record.status == "active"
    assert record["stalled"]["error"] == "ExecutionViolation"
    assert record["stalled"]["eventType"] == "evt.value.write.success"

    again = setup.runtime.run(init, timeout=120)
    assert again.final is None and again.redelivered
    [letter] = again.errors
    assert isinstance(letter.error, WorkflowStalledError)
    assert "evt.value.write.success" in str(letter.error) and "ExecutionViolation" in str(
        letter.error
    )
    assert setup.runtime.stats()["answer_timeouts"] == 0


def test_an_init_whose_parent_subject_is_no_subject_is_a_violation(setup: Setup) -> None:
    """``parentSubject$$`` must name a workflow instance: the init is refused as a contract
    violation (the event factory would have refused it too), and nothing is stored."""
    valid = inc_init("orphaned-child")
    data = {**valid.data, "parentSubject$$": "not-a-subject"}
    bad = ArvoEvent.from_dict({**valid.to_dict(), "data": data})
    result = setup.runtime.run(bad, timeout=60)
    [letter] = result.errors
    assert isinstance(letter.error, ContractViolation) and "parentSubject$$" in str(letter.error)
    assert result.final is None and setup.runtime.record(bad.subject) is None


def test_a_huge_subject_is_quoted_by_a_bounded_prefix(setup: Setup) -> None:
    """A 5 MB subject that is no orchestration subject: a violation whose message (kept among
    the dead letters) quotes a bounded prefix and the length, not the subject."""
    valid = inc_init("huge")
    huge = ArvoEvent.from_dict({**valid.to_dict(), "subject": "s" * 5_000_000})
    result = setup.runtime.run(huge, timeout=120)
    [letter] = result.errors
    assert "(5000000 characters)" in str(letter.error) and len(str(letter.error)) < 1000
    kept = [d for d in setup.runtime.dead_letters(limit=20) if d.event.id == huge.id]
    assert kept and len(str(kept[0].error)) < 1000


def test_an_init_step_blocked_by_a_lock_is_retried_until_it_runs(setup: Setup) -> None:
    """A lock another owner left on the subject (a crashed process) fails the first steps; the
    broker retries the step until the lock lapses, and the caller gets the answer."""
    key = f"k-{uuid.uuid4().hex[:6]}"
    setup.store[key] = 1
    init = inc_init(key)  # version 0.0.1 of arvo.orc.inc locks its instance for every step
    # Held until a retry is seen (a short TTL could lapse before a slow first attempt).
    intruder = SQLiteMachineMemory(setup.memory_path, lock_ttl=60.0, owner="crashed-process")
    assert asyncio.run(intruder.lock(init.subject))
    retries = setup.runtime.stats()["step_retries"]
    answer = setup.runtime.submit(init)
    for _ in range(600):
        if setup.runtime.stats()["step_retries"] > retries:
            break
        time.sleep(0.1)
    blocked = setup.runtime.stats()["step_retries"] > retries
    asyncio.run(intruder.unlock(init.subject))  # the lock lapses
    assert blocked, "the blocked step was never retried"
    result = ray.get(answer, timeout=120)
    assert result.errors == [] and result.final is not None and result.final.data["final"] == 4


def test_a_memory_that_keeps_failing_gives_the_caller_its_error_promptly(
    ray_session: None, tmp_path: Path
) -> None:
    """Nothing listens where the memory should be: the init step fails transiently, is retried
    for retry_window, and then the caller gets the TransactionViolation, not a wait of
    completion_timeout (an hour here)."""
    from redis_server import free_port

    domain = build_number_domain(store=SQLiteKeyValueStore(str(tmp_path / "values.sqlite3")))
    runtime = ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        memory=RedisMachineMemory(f"redis://127.0.0.1:{free_port()}/0", lock_ttl=5),
        placement=Sharded(num_hosts=1),
        namespace="arvo-tests",
        retry_window=1.0,
        completion_timeout=3600,
    )
    try:
        factory = create_arvo_orchestrator_event_factory(
            decrement_orchestrator_contract.version("0.0.1")
        )
        init = factory.init(
            source=CALLER,
            data={"parentSubject$$": None, "key": "x", "modifier": 1, "trend": "linear"},
        )
        result = runtime.run(init, timeout=300)
        stats = runtime.stats()
    finally:
        runtime.shutdown()
    assert result.final is None
    [letter] = result.errors
    assert isinstance(letter.error, TransactionViolation)
    assert "could not" in str(letter.error) and "reachable" in str(letter.error)
    assert stats["answer_timeouts"] == 0 and stats["waiting_runs"] == 0


def test_a_sweep_leaves_alone_what_a_step_result_on_its_way_hands_on(
    ray_session: None, tmp_path: Path
) -> None:
    """A step committed its outbox but its result has not reached the broker yet: sweeps
    running meanwhile (every 0.25 s, any age) re-publish none of it, and every handler runs
    once."""
    store = SQLiteKeyValueStore(str(tmp_path / "values.sqlite3"))
    store["k"] = 1
    ledger = EffectLedger(str(tmp_path / "effects.sqlite3"))
    domain = build_number_domain(store=store)
    memory = SlowCommits(SQLiteMachineMemory(tmp_path / "memory.sqlite3"), pause=1.5)
    runtime = ArvoRuntime(
        handlers=counted(domain.handlers, ledger),
        workflows=domain.workflows,
        placement=Sharded(),
        namespace="arvo-tests",
        memory=memory,  # type: ignore[arg-type]
        recovery_interval=0.25,
        recovery_age=0.0,
    )
    try:
        result = runtime.run(inc_init("k"), timeout=120)
        stats = runtime.stats()
    finally:
        runtime.shutdown()
    assert result.errors == [] and result.final is not None and result.final.data["final"] == 4
    assert stats["recovered_events"] == 0
    executions = ledger.executions()
    assert executions and set(executions.values()) == {1}
