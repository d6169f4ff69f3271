"""``CachedMachineMemory``: warm reads in front of a memory, never a wrong committed write."""

from __future__ import annotations

import pytest

from arvo_ray.memory import CachedMachineMemory, SimpleMachineMemory, StaleRecordError


class CountingMemory(SimpleMachineMemory):
    """Counts the reads that reach the real memory."""

    reads = 0

    async def read(self, id: str):  # type: ignore[override]
        self.reads += 1
        return await super().read(id)


async def test_reads_after_a_write_are_served_from_the_cache() -> None:
    """The record a step wrote is read back without touching the inner memory."""
    inner = CountingMemory()
    memory = CachedMachineMemory(inner)
    await memory.write("s", {"n": 1}, None)
    assert await memory.read("s") == {"n": 1}
    assert await memory.read("s") == {"n": 1}
    assert inner.reads == 0
    assert memory.hits == 2


async def test_a_miss_reads_through_and_is_then_cached() -> None:
    """A record written elsewhere is read once from the inner memory, then kept."""
    inner = CountingMemory()
    await inner.write("s", {"n": 1}, None)
    memory = CachedMachineMemory(inner)
    assert await memory.read("s") == {"n": 1}
    assert await memory.read("s") == {"n": 1}
    assert inner.reads == 1


async def test_missing_records_are_not_cached() -> None:
    """``None`` is never remembered, so a record created later is seen."""
    inner = CountingMemory()
    memory = CachedMachineMemory(inner)
    assert await memory.read("s") is None
    await inner.write("s", {"n": 1}, None)
    assert await memory.read("s") == {"n": 1}


async def test_reads_are_copies() -> None:
    """Mutating a record read from the cache does not change the cached one."""
    memory = CachedMachineMemory(SimpleMachineMemory())
    await memory.write("s", {"items": [1]}, None)
    record = await memory.read("s")
    assert record is not None
    record["items"].append(2)
    assert await memory.read("s") == {"items": [1]}


async def test_a_stale_cached_record_fails_the_write_and_is_dropped() -> None:
    """Another writer advanced the record: the write on the stale copy fails, the next read is fresh."""
    inner = SimpleMachineMemory()
    memory = CachedMachineMemory(inner)
    await memory.write("s", {"v": 1}, None)
    await inner.for_owner("other").write("s", {"v": 2}, {"v": 1})
    stale = await memory.read("s")
    assert stale == {"v": 1}
    with pytest.raises(StaleRecordError):
        await memory.write("s", {"v": 3}, stale)
    assert await memory.read("s") == {"v": 2}
    await memory.write("s", {"v": 3}, {"v": 2})
    assert await inner.read("s") == {"v": 3}


async def test_the_cache_is_bounded_least_recently_used_first() -> None:
    """Only ``max_entries`` records stay warm; the least recently used goes first."""
    inner = CountingMemory()
    memory = CachedMachineMemory(inner, max_entries=2)
    for name in ("a", "b"):
        await memory.write(name, {"id": name}, None)
    await memory.read("a")
    await memory.write("c", {"id": "c"}, None)
    await memory.read("a")
    assert inner.reads == 0
    await memory.read("b")
    assert inner.reads == 1


async def test_locks_and_owner_pass_through() -> None:
    """Locking is the inner memory's, per owner."""
    memory = CachedMachineMemory(SimpleMachineMemory(owner="me"))
    other = memory.for_owner("other")
    assert memory.owner == "me"
    assert await memory.lock("s") is True
    assert await other.lock("s") is False
    assert await memory.unlock("s") is True
    assert await other.lock("s") is True
