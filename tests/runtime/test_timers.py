"""Durable timers on Ray: requests are store writes, one broker shard fires them, and timers
survive the runtime. The clock is a file every process reads: tests move it, never sleep."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import ray
from redis_server import redis_url  # noqa: F401  (the session redis-server fixture)

from arvo_ray.core import create_arvo_event_factory
from arvo_ray.egress import JsonlSink
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    approval_init,
    approval_reply,
    build_number_domain,
)
from arvo_ray.handler import RetryPolicy
from arvo_ray.memory import (
    IMachineMemory,
    PostgresMachineMemory,
    RedisMachineMemory,
    SimpleMachineMemory,
)
from arvo_ray.runtime import ArvoRuntime, Sharded, Timers
from arvo_ray.runtime._timers import resolved_timers
from arvo_ray.timers import SimpleTimerStore, TimerService, timer_contract

from . import sleeper as sleeper_module
from .sleeper import CALLER, FileClock, ask, flaky_handler, sleep_init, sleeper

# Ray workers cannot import the test packages: ship this module's workflow, handler and
# clock by value.
ray.cloudpickle.register_pickle_by_value(sleeper_module)


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """``check()`` once it is truthy (a condition, not a duration, is awaited)."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)
    return value


def start(tmp_path: Path, clock: FileClock, name: str | None = None, **options: Any) -> ArvoRuntime:
    return ArvoRuntime(
        workflows=options.pop("workflows", [sleeper()]),
        placement=Sharded(num_hosts=1),
        brokers=options.pop("brokers", 2),
        name=name or f"timers-{uuid.uuid4().hex[:6]}",
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
        timers=Timers(clock=clock, poll=0.05),
        **options,
    )


@pytest.fixture
def clock(tmp_path: Path) -> FileClock:
    return FileClock(tmp_path / "clock")


def done(runtime: ArvoRuntime, subject: str) -> dict[str, Any] | None:
    """The completion's data once the workflow is done."""
    record = runtime.record(subject)
    if record is None or record.status != "done":
        return None
    [completion] = record.answer
    return completion.data  # type: ignore[no-any-return]


def timer_counts(runtime: ArvoRuntime) -> tuple[int, int, int]:
    """(requests, fired, pending); a fired timer leaves the store just after its reply was
    handed on, so a test waits for these rather than reading them once."""
    stats = runtime.stats()
    return stats["timer_requests"], stats["timers_fired"], stats["timers_pending"]


def test_a_workflow_waits_on_a_timer_and_completes_when_it_is_due(
    ray_session: None, tmp_path: Path, clock: FileClock
) -> None:
    with start(tmp_path, clock) as runtime:
        init = sleep_init(3600)
        result = runtime.run(init, timeout=60)
        assert result.final is None and result.errors == []  # the chain ends at the timer
        assert runtime.stats()["timers_pending"] == 1
        clock.advance(3599)
        time.sleep(0.3)  # several polls of the firing loop: not due yet
        assert done(runtime, init.subject) is None
        clock.advance(1)
        eventually(lambda: done(runtime, init.subject))
        again = runtime.run(init, timeout=60)  # the stored answer
        assert again.final is not None and again.final.type == "arvo.orc.sleep.done"
        assert again.final.to == CALLER and again.final.data["name"] == "t0"
        eventually(lambda: timer_counts(runtime) == (1, 1, 0))


def test_a_reply_to_a_finished_workflow_is_ignored_and_counted(
    ray_session: None, tmp_path: Path, clock: FileClock
) -> None:
    with start(tmp_path, clock) as runtime:
        init = sleep_init(10, 20)
        runtime.run(init, timeout=60)
        clock.advance(15)
        eventually(lambda: done(runtime, init.subject))
        clock.advance(10)
        eventually(lambda: timer_counts(runtime) == (2, 2, 0))
        assert runtime.stats()["timers_late"] == 1
        assert done(runtime, init.subject)["name"] == "t0"


def test_timers_due_while_the_runtime_was_down_fire_when_it_comes_back(
    ray_session: None, tmp_path: Path, clock: FileClock
) -> None:
    name = f"timers-{uuid.uuid4().hex[:6]}"
    inits = [sleep_init(60 + n) for n in range(20)]
    with start(tmp_path, clock, name) as runtime:
        runtime.run_many(inits, timeout=120)
        assert runtime.stats()["timers_pending"] == 20
    clock.advance(600)  # the runtime is gone: every timer falls due
    with start(tmp_path, clock, name) as runtime:
        eventually(lambda: all(done(runtime, init.subject) for init in inits))
        eventually(lambda: timer_counts(runtime)[1:] == (20, 0))


def test_a_handler_in_backoff_holds_no_cpu_slot_and_answers_after_three_attempts(
    ray_session: None, tmp_path: Path, clock: FileClock
) -> None:
    """A blocking handler that fails twice: between attempts its event waits on a durable
    timer, every CPU of the cluster is free, and the run gets the one success at the end."""
    calls = tmp_path / "calls"
    retry = RetryPolicy(max_attempts=3, initial_interval=600, jitter=False)
    runtime = ArvoRuntime(
        handlers=[flaky_handler(calls, failures=2, retry=retry)],
        name=f"retries-{uuid.uuid4().hex[:6]}",
        namespace="arvo-tests",
        brokers=1,
        sqlite_path=tmp_path / "memory.sqlite3",
        timers=Timers(clock=clock, poll=0.05),
    )
    with runtime:
        cpus = ray.cluster_resources()["CPU"]
        answer = runtime.submit(ask())
        for attempt, wait in ((1, 600), (2, 1200)):
            eventually(lambda n=attempt: runtime.stats()["retries_deferred"] == n)
            assert len(calls.read_text().splitlines()) == attempt
            assert ray.wait([answer], timeout=0)[0] == []  # still waiting for its answer
            eventually(lambda: ray.available_resources().get("CPU") == cpus)  # no slot held
            assert runtime.stats()["timers_pending"] == 1
            clock.advance(wait)
        result = ray.get(answer, timeout=60)
        assert result.final is not None and result.final.type == "evt.test.flaky.ask.success"
        assert result.final.data == {"answer": "yes", "calls": 3}
        assert [e.type for e in result.outputs] == ["evt.test.flaky.ask.success"]
        eventually(lambda: runtime.stats()["timers_pending"] == 0)


def test_bad_timer_requests_are_violations_kept_as_dead_letters(
    ray_session: None, tmp_path: Path, clock: FileClock
) -> None:
    with start(tmp_path, clock) as runtime:
        factory = create_arvo_event_factory(timer_contract.version("1.0.0"))
        good = factory.accepts(source=CALLER, data={"delay": 5})
        result = runtime.run(good.model_copy(update={"data": {"delay": -5}}), timeout=60)
        assert [type(letter.error).__name__ for letter in result.errors] == ["ContractViolation"]
        assert "greater than or equal to 0" in str(result.errors[0].error)
        assert runtime.stats()["timers_pending"] == 0


@pytest.mark.parametrize("backend", ["redis", "postgres"])
def test_timers_wait_beside_a_redis_or_postgres_memory(
    ray_session: None,
    tmp_path: Path,
    clock: FileClock,
    request: pytest.FixtureRequest,
    backend: str,
) -> None:
    memory: IMachineMemory
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        memory = RedisMachineMemory(url, prefix=f"timers-{uuid.uuid4().hex[:6]}")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        memory = PostgresMachineMemory(dsn, table_prefix=f"timers_{uuid.uuid4().hex[:6]}")
    with start(tmp_path, clock, memory=memory, brokers=1) as runtime:
        init = sleep_init(5)
        runtime.run(init, timeout=60)
        kind = "RedisTimerStore" if backend == "redis" else "PostgresTimerStore"
        assert repr(runtime.timers.store).startswith(kind)
        clock.advance(5)
        eventually(lambda: done(runtime, init.subject))


def test_a_memory_without_a_timer_store_needs_one_given() -> None:
    with pytest.raises(ValueError, match="Timers need a store"):
        resolved_timers(True, SimpleMachineMemory())
    store = SimpleTimerStore()
    given = resolved_timers(Timers(store=store), SimpleMachineMemory())
    assert given is not None and given.store is store
    assert resolved_timers(False, SimpleMachineMemory()) is None


@pytest.mark.slow
def test_every_timer_fires_once_while_brokers_hosts_and_the_memory_are_killed(
    ray_session: None, tmp_path: Path, clock: FileClock
) -> None:
    """2,000 workflows each wait on a timer; broker shards, hosts and the memory actor are
    SIGKILLed while all 2,000 are pending and then falling due: every workflow completes
    once, no timer is left."""
    from .test_chaos import Killer

    completions = tmp_path / "completions.jsonl"
    runtime = ArvoRuntime(
        workflows=[sleeper()],
        placement=Sharded(num_hosts=1),
        brokers=2,
        name=f"timer-chaos-{uuid.uuid4().hex[:6]}",
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
        timers=Timers(clock=clock, poll=0.05),
        sinks={CALLER: JsonlSink(completions)},
        recovery_interval=2.0,
        recovery_age=1.0,
    )
    rng = random.Random(7)
    # Due in ten minutes: none falls due while they are being set, whatever the machine.
    inits = [sleep_init(rng.uniform(600.0, 610.0)) for _ in range(2000)]
    killer = Killer(
        [runtime],
        [runtime.memory.actor],
        seed=11,
        plan=["broker"] * 3 + ["workflow"] * 3 + ["memory"] * 2,
    )  # type: ignore[attr-defined]
    try:
        runtime.run_many(inits, timeout=300)
        pending = runtime.stats()["timers_pending"]
        killer.start()
        clock.advance(598)  # they fall due over the next 2-12 s, while the kills go on
        subjects = {init.subject for init in inits}

        def completed() -> dict[str, set[str]]:
            ids: dict[str, set[str]] = {}
            if completions.exists():
                for line in completions.read_text().splitlines():
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue  # the line a sink is writing right now
                    ids.setdefault(event["subject"], set()).add(event["id"])
            return ids

        eventually(lambda: set(completed()) == subjects, timeout=300)
        killer.stop.set()
        killer.join()
        assert {len(ids) for ids in completed().values()} == {1}  # one completion each
        eventually(lambda: runtime.stats()["timers_pending"] == 0, timeout=60)
        kills = Counter(kind for _, kind in killer.kills)
        assert {"broker", "workflow actor", "memory actor"} <= set(kills), kills
        print(f"timer chaos: {pending} pending when the kills began; kills {dict(kills)}")
        assert pending == 2000
    finally:
        killer.stop.set()
        runtime.shutdown()


def test_the_approval_with_a_deadline_on_ray_whichever_comes_first_wins(
    ray_session: None, tmp_path: Path, clock: FileClock
) -> None:
    """The number domain's approval workflow, its in-process timer service handed over: one
    approval answered in time, one left to its deadline."""
    values = SQLiteKeyValueStore(str(tmp_path / "values.sqlite3"))
    domain = build_number_domain(store=values, timers=TimerService())
    with start(tmp_path, clock, handlers=domain.handlers, workflows=domain.workflows) as runtime:
        approved, expired = approval_init("apples", 7, deadline=60), approval_init("pears", 9, 60)
        for init in (approved, expired):
            asked = runtime.run(init, timeout=60)
            assert [e.type for e in asked.outputs] == ["com.number.approval"]  # to the approver
        answer = runtime.run(approval_reply(approved, approved=True, by="ada"), timeout=60)
        assert [e.data["outcome"] for e in answer.outputs] == ["approved"]
        assert values["apples"] == 7 and runtime.stats()["timers_pending"] == 1  # cancelled
        clock.advance(60)
        eventually(lambda: done(runtime, expired.subject))
        assert done(runtime, expired.subject) == {"outcome": "expired", "value": None}
        assert "pears" not in values
        late = runtime.run(approval_reply(expired, approved=True), timeout=60)
        assert late.outputs == [] and len(late.late) == 1
