"""One contract for every timer store (in-process, SQLite, Redis, PostgreSQL): ids are unique, due is by
time then id and leaves timers pending until removed, cancel and remove count what was there,
and stores that persist survive being reopened (a new process) and pickled (a Ray worker)."""

from __future__ import annotations

import asyncio
import pickle
import uuid
from pathlib import Path
from typing import Any

import pytest

from arvo_ray.timers import ITimerStore, PendingTimer, SimpleTimerStore, SQLiteTimerStore


@pytest.fixture(params=["simple", "sqlite", "redis", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ITimerStore:
    if request.param == "simple":
        return SimpleTimerStore()
    if request.param == "sqlite":
        return SQLiteTimerStore(tmp_path / "timers.sqlite3")
    if request.param == "postgres":
        from arvo_ray.timers import PostgresTimerStore

        # A fresh table prefix is fresh, empty storage on the session's shared server.
        return PostgresTimerStore(
            request.getfixturevalue("postgres_dsn"), table_prefix=f"t_{uuid.uuid4().hex}"
        )
    from arvo_ray.timers import RedisTimerStore

    return RedisTimerStore(request.getfixturevalue("redis_url"), prefix=f"test:{uuid.uuid4().hex}")


def timer(due_at: float, id: str) -> PendingTimer:
    return PendingTimer(due_at, id, {"id": id, "data": {"n": 1.5, "text": "ünï"}})


async def test_ids_are_unique_and_due_is_ordered(store: ITimerStore) -> None:
    assert isinstance(store, ITimerStore)
    assert await store.add(timer(20.0, "b")) is True
    assert await store.add(timer(10.0, "c")) is True
    assert await store.add(timer(10.0, "a")) is True
    assert await store.add(timer(5.0, "a")) is False  # a re-sent request keeps the first
    assert await store.pending() == 3
    assert [t.id for t in await store.due(now=15.0, limit=10)] == ["a", "c"]
    assert [t.id for t in await store.due(now=15.0, limit=1)] == ["a"]
    [first] = await store.due(now=10.0, limit=1)
    assert first == timer(10.0, "a") and first.request == timer(10.0, "a").request
    assert await store.pending() == 3  # due() does not remove


async def test_cancel_and_remove_count_what_was_pending(store: ITimerStore) -> None:
    for index in range(5):
        await store.add(timer(float(index), f"t{index}"))
    assert await store.cancel("t1") is True
    assert await store.cancel("t1") is False
    assert await store.remove(["t0", "t1", "t2", "missing"]) == 2
    assert await store.remove([]) == 0
    assert [t.id for t in await store.due(now=100.0, limit=10)] == ["t3", "t4"]
    assert await store.pending() == 2


async def test_a_cancelled_timer_is_never_due(store: ITimerStore) -> None:
    await store.add(timer(1.0, "x"))
    await store.cancel("x")
    await store.add(timer(2.0, "y"))
    assert [t.id for t in await store.due(now=5.0, limit=10)] == ["y"]


async def test_next_due_is_the_earliest_pending(store: ITimerStore) -> None:
    assert await store.next_due() is None
    await store.add(timer(30.0, "late"))
    await store.add(timer(10.5, "early"))
    assert await store.next_due() == 10.5
    await store.cancel("early")
    assert await store.next_due() == 30.0
    await store.remove(["late"])
    assert await store.next_due() is None


async def test_persistent_stores_survive_reopening_and_pickling(
    tmp_path: Path, redis_url: Any, postgres_dsn: str
) -> None:
    from arvo_ray.timers import PostgresTimerStore, RedisTimerStore

    prefix = f"test:{uuid.uuid4().hex[:8]}"
    table_prefix = f"t_{uuid.uuid4().hex}"
    for make in (
        lambda: SQLiteTimerStore(tmp_path / "t.sqlite3"),
        lambda: RedisTimerStore(redis_url, prefix=prefix),
        lambda: PostgresTimerStore(postgres_dsn, table_prefix=table_prefix),
    ):
        first = make()
        await first.add(timer(1.0, "kept"))
        for again in (make(), pickle.loads(pickle.dumps(first)), first):
            assert [t.id for t in await again.due(now=2.0, limit=5)] == ["kept"]
            if isinstance(again, PostgresTimerStore | RedisTimerStore):
                await again.aclose()  # on the loop that opened its connections


async def test_ten_thousand_pending_timers(tmp_path: Path) -> None:
    """SQLite: 10,000 pending, added latest first; what is due comes earliest first."""
    store = SQLiteTimerStore(tmp_path / "many.sqlite3")
    for index in reversed(range(0, 10_000, 1000)):
        await asyncio.gather(
            *(
                store.add(PendingTimer(float(i), f"t{i:06d}", {}))
                for i in range(index, index + 1000)
            )
        )
    assert await store.pending() == 10_000
    due = await store.due(now=9.0, limit=1000)
    assert [t.id for t in due] == [f"t{i:06d}" for i in range(10)]
