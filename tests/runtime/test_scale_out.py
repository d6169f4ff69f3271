"""Scaling out: broker shards that share the chains, async handlers whose calls wait together.

Counted, never timed: how many calls waited at once, which shard routed what, how many
answers came back right.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import ray

from arvo_ray.core import create_arvo_event_factory
from arvo_ray.examples.number_domain import SQLiteKeyValueStore, build_number_domain
from arvo_ray.examples.number_domain import number_modifier_init as modifier_init
from arvo_ray.examples.slow_service import (
    lookup_contract,
    lookup_handler,
    lookup_init,
    lookup_resumable,
)
from arvo_ray.runtime import ArvoRuntime, Sharded
from arvo_ray.runtime._collector import ACTOR_GC_THRESHOLDS
from arvo_ray.runtime._executor import executor_sender, start_executor
from arvo_ray.runtime._routing import broker_name, shard_of
from tests.runtime.effects import UntilFileExists, UntilWaiting

BATCH = 64


def lookups(count: int, seconds: float = 0.0) -> list[Any]:
    factory = create_arvo_event_factory(lookup_contract.version("0.0.1"))
    return [
        factory.accepts(source="com.scale.client", data={"query": f"q{i}", "seconds": seconds})
        for i in range(count)
    ]


def test_async_handler_calls_all_wait_at_the_same_moment(ray_session: None) -> None:
    """300 calls of an async handler, each waiting until 300 wait at once: more than the CPUs
    times a batch could hold, so only calls that hold no CPU slot get there."""
    company = 300
    assert company > int(ray.cluster_resources()["CPU"]) * BATCH
    with ArvoRuntime(
        handlers=[lookup_handler(UntilWaiting(company))],
        namespace="arvo-tests",
        max_batch=BATCH,
        sqlite_path=Path(tempfile.mkdtemp()) / "memory.sqlite3",
    ) as runtime:
        results = runtime.run_many(lookups(company), progress=False, window=company, timeout=300)
        stats = runtime.stats()
    assert [r.final.data["answer"] if r.final else None for r in results] == [
        f"Q{i}" for i in range(company)
    ]
    assert max(r.final.data["waiting"] for r in results if r.final) == company
    assert stats["async_handler_calls"] == company
    assert stats["async_handler_calls_peak"] == company


def test_each_result_of_a_batch_comes_back_when_it_is_ready(ray_session: None) -> None:
    """One batch sent to an executor: its fast calls are answered while its slow one waits."""
    release = Path(tempfile.mkdtemp()) / "release"
    executor = start_executor(
        f"stream-{uuid.uuid4().hex[:6]}",
        "arvo-tests",
        [lookup_handler(UntilFileExists(str(release)))],
        {},
        None,
    )
    events = lookups(20)
    events[0] = create_arvo_event_factory(lookup_contract.version("0.0.1")).accepts(
        source="com.scale.client", data={"query": "slow"}
    )

    async def scenario() -> tuple[list[int], int]:
        answered: list[int] = []
        send = executor_sender(executor, lookup_contract.type)
        async for index, outcome in send([(event, 1) for event in events]):
            assert outcome.error is None and outcome.events
            if index == 0:
                return answered, index
            answered.append(index)
            if len(answered) == len(events) - 1:
                release.touch()  # every fast call is answered: let the slow one end
        raise AssertionError("the slow call never came back")

    try:
        answered, last = asyncio.run(asyncio.wait_for(scenario(), 120))
    finally:
        ray.kill(executor, no_restart=True)
    assert sorted(answered) == list(range(1, 20)) and last == 0


def test_workflows_with_an_async_service_complete(ray_session: None) -> None:
    """Lookup workflows (a resumable calling the async service) on two broker shards, sent by
    run_many in batches, one broker call per batch and shard."""
    with ArvoRuntime(
        handlers=[lookup_handler()],
        workflows=[lookup_resumable()],
        placement=Sharded(num_hosts=1),
        brokers=2,
        namespace="arvo-tests",
        sqlite_path=Path(tempfile.mkdtemp()) / "memory.sqlite3",
    ) as runtime:
        events = [lookup_init(f"w{i}", seconds=0.05) for i in range(60)]
        results = runtime.run_many(events, progress=False, timeout=300)
        shares = [_shard_stats(runtime, index) for index in (0, 1)]
    assert [r.final.data["answer"] if r.final else None for r in results] == [
        f"W{i}" for i in range(60)
    ]
    # run_many sends groups of three (60 // 20), split by shard: one broker call per part.
    parts = sum(len({shard_of(e.subject, 2) for e in events[i : i + 3]}) for i in range(0, 60, 3))
    assert [s["runs"] for s in shares] == [
        sum(shard_of(e.subject, 2) == index for e in events) for index in (0, 1)
    ]
    assert sum(s["run_batches"] for s in shares) == parts < 60
    assert all(s["run_batches"] > 0 for s in shares), shares


def _expected(index: int) -> int:
    return index + 3 if index % 2 else index - 3


def _shard_pid(runtime: ArvoRuntime, index: int) -> int:
    actor = ray.get_actor(broker_name(runtime.name, index, 2), namespace=runtime.namespace)
    return int(ray.get(actor.__ray_call__.remote(lambda self: os.getpid()), timeout=30))


def _shard_stats(runtime: ArvoRuntime, index: int) -> dict[str, Any]:
    actor = ray.get_actor(broker_name(runtime.name, index, 2), namespace=runtime.namespace)
    stats: dict[str, Any] = ray.get(actor.stats.remote(), timeout=30)
    return stats


@pytest.mark.slow
def test_two_shards_share_the_chains_and_a_killed_shard_loses_nothing(
    ray_session: None, tmp_path: Path
) -> None:
    """Number-modifier workflows (a parent and a child each, often on different shards) on
    two broker shards. Both route chains and hand each other events, several per call; one
    shard SIGKILLed mid-run stalls only until it restarts: every caller gets its one right
    answer, no output shows twice, and every outbox ends empty."""
    domain = build_number_domain(store=SQLiteKeyValueStore(str(tmp_path / "values.sqlite3")))
    with ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        placement=Sharded(num_hosts=1),
        brokers=2,
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
        recovery_interval=2.0,
        recovery_age=1.0,
    ) as runtime:
        warm = runtime.run_many(
            [modifier_init(i, modifier=3, source="com.shard.warm") for i in range(40)],
            progress=False,
            timeout=300,
        )
        assert [r.final.data["final"] for r in warm if r.final] == [_expected(i) for i in range(40)]
        shares = [_shard_stats(runtime, index) for index in (0, 1)]
        assert all(s["runs"] > 0 and s["events_routed"] > 0 for s in shares), shares
        assert all(s["handed_to_shards"] > 0 for s in shares), shares
        # Hand-offs issued together went to the other shard together.
        assert sum(s["shard_calls"] for s in shares) < sum(s["handed_to_shards"] for s in shares)

        events = [modifier_init(i, modifier=3, source="com.shard.kill") for i in range(200)]
        assert {shard_of(e.subject, 2) for e in events} == {0, 1}
        refs = [runtime.submit(event) for event in events]
        ray.wait(refs, num_returns=20, timeout=120)
        killed = _shard_pid(runtime, 1)
        os.kill(killed, signal.SIGKILL)
        results = ray.get(refs, timeout=600)
        answers = [r.final.data["final"] if r.final else None for r in results]
        assert answers == [_expected(i) for i in range(200)]
        assert all(len({e.id for e in r.outputs}) == len(r.outputs) for r in results)
        subjects = [e.subject for e in events]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            records = [runtime.record(subject) for subject in subjects]
            if all(record and not record.get("outbox") for record in records):
                break
            time.sleep(1.0)
        assert all(record and not record.get("outbox") for record in records)
        assert _shard_pid(runtime, 1) != killed  # a new incarnation took over its chains


def _collector(actor: Any) -> tuple[tuple[int, int, int], int]:
    settings: tuple[tuple[int, int, int], int] = ray.get(
        actor.__ray_call__.remote(lambda self: (gc.get_threshold(), gc.get_freeze_count())),
        timeout=30,
    )
    return settings


def test_the_runtime_actors_run_with_a_settled_collector(ray_session: None) -> None:
    """Broker, host, executor and memory actor freeze what they built and collect young
    objects rarely; the driver's collector is left as it was."""
    driver = gc.get_threshold()
    with ArvoRuntime(
        handlers=[lookup_handler()],
        workflows=[lookup_resumable()],
        placement=Sharded(num_hosts=1),
        namespace="arvo-tests",
        sqlite_path=Path(tempfile.mkdtemp()) / "memory.sqlite3",
    ) as runtime:
        [result] = runtime.run_many([lookup_init("w0")], progress=False, timeout=120)
        names = [
            broker_name(runtime.name, 0, 1),
            *runtime.actor_names(),
            f"{runtime.name}-handlers-0-0",
            f"{runtime.name}-memory",
        ]
        settings = [_collector(ray.get_actor(n, namespace=runtime.namespace)) for n in names]
    assert result.final is not None and result.final.data["answer"] == "W0"
    assert len(names) == 4
    assert [thresholds for thresholds, _ in settings] == [ACTOR_GC_THRESHOLDS] * 4
    assert all(frozen > 10_000 for _, frozen in settings), settings
    assert gc.get_threshold() == driver
