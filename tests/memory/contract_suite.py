"""The machine-memory contract, written once and run against every backend.

A backend's test module supplies one fixture, ``memory_factory``, returning a
:class:`MemoryFactory`, and star-imports this module; pytest then collects every ``Test*`` class
below as part of that module. Each call of the factory gives a memory on fresh, empty storage;
tests that need a second owner on the *same* storage use ``memory.for_owner(...)``, and the
cross-process tests pickle the memory into spawned processes.

Tests are ``async def``; ``tests/memory/conftest.py`` runs them on a fresh event loop.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from arvo_ray.memory import (
    IMachineMemory,
    InspectableMachineMemory,
    LockExpiredError,
    LockNotHeldError,
    StaleRecordError,
    lock_and_read,
    write_and_unlock,
)

from ._workers import (
    cas_increments,
    cas_increments_in_own_loop,
    cas_process,
    close_memory,
    lock_once,
)

__all__ = [
    "MemoryFactory",
    "TestConcurrency",
    "TestCopies",
    "TestCrossProcess",
    "TestDelete",
    "TestFencing",
    "TestFusedOperations",
    "TestInspection",
    "TestLocks",
    "TestOwners",
    "TestReadWrite",
    "TestValidation",
    "TestWriteCompareAndSet",
    "fusing",
    "memory",
]

SHORT_TTL = 0.2
"""Seconds; short enough to keep the expiry tests fast, long enough not to lapse mid-call."""
PAST_TTL = 0.35
"""How long the expiry tests sleep so that a ``SHORT_TTL`` lock has certainly lapsed."""


class MemoryFactory:
    """Makes memories of one backend for the contract suite.

    Args:
        make: Builds a memory on fresh, empty storage with the given lock TTL (seconds).
        cross_process: The backend's storage is shared by processes that unpickle the memory,
            so the multi-process tests apply (SQLite, Redis; not the in-process backend).
    """

    def __init__(self, make: Callable[[float], IMachineMemory], *, cross_process: bool) -> None:
        self._make = make
        self.cross_process = cross_process
        self.created: list[IMachineMemory] = []

    def __call__(self, *, lock_ttl: float = 30.0) -> IMachineMemory:
        memory = self._make(lock_ttl)
        self.created.append(memory)
        return memory

    async def aclose(self) -> None:
        """Close what the memories opened on the running loop (the test runner calls this)."""
        for memory in self.created:
            await close_memory(memory)


@pytest.fixture
def memory(memory_factory: MemoryFactory) -> IMachineMemory:
    """A memory with the default (long) lock TTL on fresh storage."""
    return memory_factory()


def long_subject(seed: int = 0, size: int = 3000) -> str:
    """A base64 subject of a few KB with ``+``, ``/`` and ``=`` in it, like real ones."""
    raw = bytes((seed * 31 + n * 7) % 256 for n in range(size * 3 // 4))
    return base64.b64encode(raw + b"\xfb\xff").decode() + "="


RECORDS: dict[str, dict[str, Any]] = {
    "flat": {"status": "active", "n": 1},
    "nested": {
        "status": "active",
        "state": {"value": {"a": "b"}, "context": {"xs": [1, 2.5, None, True, {"k": []}]}},
        "events": {"consumed": [], "produced": [{"id": "e-1", "data": {"amount": 10}}]},
        "empty": {},
    },
    "unicode": {"name": "Zoë 👩‍🔬", "cjk": "漢字かな", "rtl": "שלום", "escapes": 'tab\tnl\n"q"\\'},
    "large": {"items": [{"i": i, "text": "x" * 50} for i in range(500)]},
}


class TestReadWrite:
    """Reading and writing records."""

    async def test_read_of_a_missing_id_returns_none(self, memory: IMachineMemory) -> None:
        """Reading an id that was never written gives None, not an error."""
        assert await memory.read("nobody-wrote-this") is None

    @pytest.mark.parametrize("name", sorted(RECORDS))
    async def test_a_written_record_reads_back_equal(
        self, memory: IMachineMemory, name: str
    ) -> None:
        """What was written is what is read: nested JSON, unicode, big records."""
        await memory.write("subject", RECORDS[name], None)
        assert await memory.read("subject") == RECORDS[name]

    async def test_key_order_survives_the_round_trip(self, memory: IMachineMemory) -> None:
        """A record reads back with its keys in the order they were written."""
        record = {"z": 1, "a": {"y": 2, "b": 3}, "m": 4}
        await memory.write("subject", record, None)
        stored = await memory.read("subject")
        assert stored is not None
        assert list(stored) == ["z", "a", "m"]
        assert list(stored["a"]) == ["y", "b"]

    async def test_long_base64_subjects_are_distinct_keys(self, memory: IMachineMemory) -> None:
        """Subjects of a few KB of base64 (with + / =) work, and differ by their last char."""
        first, second = long_subject(1), long_subject(1)[:-1] + "A"
        assert len(first) > 2000 and {"+", "/", "="} <= set(first)
        await memory.write(first, {"which": 1}, None)
        await memory.write(second, {"which": 2}, None)
        assert await memory.read(first) == {"which": 1}
        assert await memory.read(second) == {"which": 2}

    @pytest.mark.parametrize(
        "id", ["a{b}c", "{x}", "}{", "*?[]^\\", "with space", "ünï:cødé", "a:rec:{b}", "%_"]
    )
    async def test_ids_with_special_characters_are_kept_apart(
        self, memory: IMachineMemory, id: str
    ) -> None:
        """Ids with braces, glob or LIKE characters do not collide with similar ids."""
        await memory.write(id, {"id": id}, None)
        await memory.write(id + "x", {"id": id + "x"}, None)
        assert await memory.read(id) == {"id": id}
        assert await memory.read(id + "x") == {"id": id + "x"}
        assert await memory.read(id[:-1] or "-") is None

    async def test_a_chain_of_writes_each_passing_the_previous_record(
        self, memory: IMachineMemory
    ) -> None:
        """Each write passes the record it replaces as prev; every step lands."""
        prev = None
        for step in range(5):
            record = {"step": step, "history": list(range(step))}
            await memory.write("subject", record, prev)
            prev = await memory.read("subject")
            assert prev == record


class TestCopies:
    """Memories hand out and keep deep copies, unlike the original."""

    async def test_mutating_the_written_dict_does_not_change_the_stored_record(
        self, memory: IMachineMemory
    ) -> None:
        """Changing (even deep inside) a dict after writing it leaves the stored record alone."""
        record: dict[str, Any] = {"events": {"expected": {"a": [1]}}, "n": 1}
        await memory.write("subject", record, None)
        record["n"] = 2
        record["events"]["expected"]["a"].append(2)
        record["events"]["new"] = True
        assert await memory.read("subject") == {"events": {"expected": {"a": [1]}}, "n": 1}

    async def test_mutating_a_read_record_does_not_change_the_stored_record(
        self, memory: IMachineMemory
    ) -> None:
        """The resumable mutates what it read; the stored record and later reads stay intact."""
        await memory.write("subject", {"events": {"expected": {"a": [1]}}}, None)
        first = await memory.read("subject")
        assert first is not None
        first["events"]["expected"]["a"].append(99)
        first["events"]["expected"]["b"] = []
        second = await memory.read("subject")
        assert second == {"events": {"expected": {"a": [1]}}}
        assert second is not first

    async def test_an_unmutated_read_works_as_prev_after_mutating_a_copy(
        self, memory: IMachineMemory
    ) -> None:
        """Mutating one read copy does not spoil another copy for use as prev."""
        await memory.write("subject", {"n": 1}, None)
        prev = await memory.read("subject")
        working = await memory.read("subject")
        assert prev is not None and working is not None
        working["n"] = 2
        await memory.write("subject", working, prev)
        assert await memory.read("subject") == {"n": 2}


class TestWriteCompareAndSet:
    """``write(id, data, prev)`` is an optimistic compare-and-set."""

    async def test_a_stale_prev_is_rejected_and_nothing_is_stored(
        self, memory: IMachineMemory
    ) -> None:
        """Writing with a prev that is no longer the stored record raises StaleRecordError."""
        await memory.write("subject", {"v": 1}, None)
        await memory.write("subject", {"v": 2}, {"v": 1})
        with pytest.raises(StaleRecordError) as caught:
            await memory.write("subject", {"v": 3}, {"v": 1})
        assert caught.value.id == "subject"
        assert caught.value.current_version == 2
        assert "subject" in str(caught.value) and "re-read" in str(caught.value)
        assert await memory.read("subject") == {"v": 2}

    async def test_prev_none_is_rejected_when_a_record_exists(self, memory: IMachineMemory) -> None:
        """prev=None means "create"; it fails if a record is already there."""
        await memory.write("subject", {"v": 1}, None)
        with pytest.raises(StaleRecordError) as caught:
            await memory.write("subject", {"v": 2}, None)
        assert caught.value.current_version == 1
        assert "prev=None" in str(caught.value)
        assert await memory.read("subject") == {"v": 1}

    async def test_a_prev_for_a_missing_record_is_rejected(self, memory: IMachineMemory) -> None:
        """Passing a prev when nothing is stored fails rather than creating the record."""
        with pytest.raises(StaleRecordError) as caught:
            await memory.write("subject", {"v": 2}, {"v": 1})
        assert caught.value.current_version is None
        assert await memory.read("subject") is None

    async def test_prev_is_compared_as_a_json_value(self, memory: IMachineMemory) -> None:
        """Key order does not matter to the comparison; values, and int vs float, do."""
        await memory.write("subject", {"a": 1, "b": [1, 2], "c": {"x": None, "y": "z"}}, None)
        with pytest.raises(StaleRecordError):
            await memory.write(
                "subject", {"v": 0}, {"a": 1.0, "b": [1, 2], "c": {"x": None, "y": "z"}}
            )
        with pytest.raises(StaleRecordError):
            await memory.write(
                "subject", {"v": 0}, {"a": 1, "b": [2, 1], "c": {"x": None, "y": "z"}}
            )
        await memory.write("subject", {"v": 1}, {"c": {"y": "z", "x": None}, "b": [1, 2], "a": 1})
        assert await memory.read("subject") == {"v": 1}

    async def test_a_tuple_prev_matches_the_list_it_was_stored_as(
        self, memory: IMachineMemory
    ) -> None:
        """Records are JSON: a tuple is stored (and compared) as a list."""
        await memory.write("subject", {"xs": (1, 2)}, None)
        assert await memory.read("subject") == {"xs": [1, 2]}
        await memory.write("subject", {"xs": []}, {"xs": (1, 2)})

    @pytest.mark.parametrize(
        "data", [{"s": {1, 2}}, {"n": float("nan")}, {"o": object()}, {"b": b"bytes"}]
    )
    async def test_data_that_is_not_json_is_rejected(
        self, memory: IMachineMemory, data: Any
    ) -> None:
        """Sets, NaN, bytes and arbitrary objects raise TypeError and store nothing."""
        with pytest.raises(TypeError, match="not JSON-serialisable"):
            await memory.write("subject", data, None)
        assert await memory.read("subject") is None

    @pytest.mark.parametrize("data", [[1, 2], "text", 3])
    async def test_a_record_must_be_a_json_object(self, memory: IMachineMemory, data: Any) -> None:
        """A list, string or number is not a record: TypeError."""
        with pytest.raises(TypeError, match="must be a JSON object"):
            await memory.write("subject", data, None)


class TestValidation:
    """Misuse raises the original's messages."""

    @pytest.mark.parametrize("id", ["", None])
    @pytest.mark.parametrize("operation", ["read", "write", "lock", "unlock"])
    async def test_an_empty_id_is_rejected(
        self, memory: IMachineMemory, operation: str, id: Any
    ) -> None:
        """Every operation requires an id, with the original's message."""
        call = {
            "read": lambda: memory.read(id),
            "write": lambda: memory.write(id, {"a": 1}, None),
            "lock": lambda: memory.lock(id),
            "unlock": lambda: memory.unlock(id),
        }[operation]
        with pytest.raises(ValueError) as caught:
            await call()
        assert str(caught.value) == f"Machine ID is required for {operation} operation"

    async def test_writing_none_data_is_rejected(self, memory: IMachineMemory) -> None:
        """write(id, None, prev) raises the original's message and stores nothing."""
        with pytest.raises(ValueError) as caught:
            await memory.write("subject", None, None)  # type: ignore[arg-type]
        assert str(caught.value) == "Data is required for write operation"
        assert await memory.read("subject") is None

    async def test_a_non_string_id_is_a_type_error(self, memory: IMachineMemory) -> None:
        """Ids are subjects, i.e. strings."""
        with pytest.raises(TypeError, match="must be a str"):
            await memory.read(42)  # type: ignore[arg-type]


class TestOwners:
    """Every memory acts as an owner; ``for_owner`` gives views on the same storage."""

    def test_every_backend_satisfies_the_protocol(self, memory: IMachineMemory) -> None:
        """The backend is an IMachineMemory (runtime-checkable protocol)."""
        assert isinstance(memory, IMachineMemory)

    def test_owners_default_to_distinct_random_tokens(self, memory_factory: MemoryFactory) -> None:
        """Two memories built without an owner get different, non-empty owners."""
        first, second = memory_factory(), memory_factory()
        assert first.owner and second.owner and first.owner != second.owner

    async def test_a_view_shares_storage_but_has_its_own_owner(
        self, memory: IMachineMemory
    ) -> None:
        """for_owner keeps the type, the TTL and the data, and changes only the owner."""
        view = memory.for_owner("worker-7")
        assert type(view) is type(memory)
        assert view.owner == "worker-7" and memory.owner != "worker-7"
        assert view.lock_ttl == memory.lock_ttl
        await view.write("subject", {"by": "view"}, None)
        assert await memory.read("subject") == {"by": "view"}
        assert view.for_owner("again").owner == "again"

    @pytest.mark.parametrize("owner", ["", None, 3])
    def test_a_view_needs_a_non_empty_owner(self, memory: IMachineMemory, owner: Any) -> None:
        """for_owner rejects empty or non-string owners."""
        with pytest.raises(ValueError, match="owner"):
            memory.for_owner(owner)

    def test_the_lock_ttl_is_mandatory_and_positive(self, memory_factory: MemoryFactory) -> None:
        """A zero, negative or infinite TTL is refused: a crashed owner must not block forever."""
        assert memory_factory(lock_ttl=1.5).lock_ttl == 1.5
        for ttl in (0, -1, float("inf")):
            with pytest.raises(ValueError, match="lock_ttl"):
                memory_factory(lock_ttl=ttl)


class TestLocks:
    """Owner + TTL locks: exclusive, not re-entrant, lapsing, tolerant on release."""

    async def test_a_free_id_locks(self, memory: IMachineMemory) -> None:
        """Locking an id nobody holds returns True."""
        assert await memory.lock("subject") is True

    async def test_locks_are_not_re_entrant(self, memory: IMachineMemory) -> None:
        """Locking an id this owner already holds returns False, as in the original."""
        assert await memory.lock("subject") is True
        assert await memory.lock("subject") is False
        assert await memory.for_owner(memory.owner).lock("subject") is False

    async def test_a_lock_excludes_other_owners(self, memory: IMachineMemory) -> None:
        """While one owner holds the lock, another owner's lock returns False."""
        other = memory.for_owner("other")
        assert await memory.lock("subject") is True
        assert await other.lock("subject") is False
        assert await other.lock("another-subject") is True

    async def test_unlock_releases_for_the_next_owner(self, memory: IMachineMemory) -> None:
        """After the holder unlocks (True), another owner can lock."""
        other = memory.for_owner("other")
        assert await memory.lock("subject") is True
        assert await memory.unlock("subject") is True
        assert await other.lock("subject") is True

    async def test_unlocking_a_free_id_is_tolerated(self, memory: IMachineMemory) -> None:
        """Unlocking an id nobody locked returns False instead of raising."""
        assert await memory.unlock("subject") is False

    async def test_unlocking_another_owners_lock_is_tolerated_and_keeps_it(
        self, memory: IMachineMemory
    ) -> None:
        """An owner cannot release someone else's lock; it gets False and the lock stays."""
        holder, intruder = memory.for_owner("holder"), memory.for_owner("intruder")
        assert await holder.lock("subject") is True
        assert await intruder.unlock("subject") is False
        assert await intruder.lock("subject") is False
        assert await holder.unlock("subject") is True

    async def test_a_lapsed_lock_can_be_taken_by_anyone(
        self, memory_factory: MemoryFactory
    ) -> None:
        """After the TTL, another owner, or the same one, locks successfully."""
        memory = memory_factory(lock_ttl=SHORT_TTL)
        other = memory.for_owner("other")
        assert await memory.lock("subject") is True
        assert await other.lock("subject") is False
        await asyncio.sleep(PAST_TTL)
        assert await other.lock("subject") is True
        await asyncio.sleep(PAST_TTL)
        assert await memory.lock("subject") is True

    async def test_unlocking_a_lapsed_lock_reports_false(
        self, memory_factory: MemoryFactory
    ) -> None:
        """A lock that lapsed was not released by unlock: False, and no error."""
        memory = memory_factory(lock_ttl=SHORT_TTL)
        assert await memory.lock("subject") is True
        await asyncio.sleep(PAST_TTL)
        assert await memory.unlock("subject") is False
        assert await memory.for_owner("other").lock("subject") is True

    async def test_the_full_cycle(self, memory: IMachineMemory) -> None:
        """lock → read → write → unlock, twice in a row, as the workflow wrapper does."""
        for step in range(2):
            assert await memory.lock("subject") is True
            prev = await memory.read("subject")
            await memory.write("subject", {"step": step}, prev)
            assert await memory.unlock("subject") is True
        assert await memory.read("subject") == {"step": 1}


class TestFencing:
    """Writes are fenced by the lock: only the live holder (or anyone, when unlocked)."""

    async def test_the_holder_writes(self, memory: IMachineMemory) -> None:
        """The owner holding a live lock may write."""
        assert await memory.lock("subject") is True
        await memory.write("subject", {"v": 1}, None)
        assert await memory.read("subject") == {"v": 1}

    async def test_a_write_while_another_owner_holds_the_lock_is_rejected(
        self, memory: IMachineMemory
    ) -> None:
        """A writer that does not hold the live lock is refused, even with a correct prev."""
        await memory.write("subject", {"v": 1}, None)
        holder = memory.for_owner("holder")
        assert await holder.lock("subject") is True
        with pytest.raises(LockNotHeldError) as caught:
            await memory.write("subject", {"v": 2}, {"v": 1})
        assert not isinstance(caught.value, LockExpiredError)
        assert caught.value.holder == "holder" and caught.value.owner == memory.owner
        assert "'holder'" in str(caught.value) and "subject" in str(caught.value)
        assert await memory.read("subject") == {"v": 1}

    async def test_a_write_after_the_writers_own_lock_lapsed_is_rejected(
        self, memory_factory: MemoryFactory
    ) -> None:
        """An owner that locked, then outlived its TTL, may not write, even if nobody else came."""
        memory = memory_factory(lock_ttl=SHORT_TTL)
        await memory.write("subject", {"v": 1}, None)
        assert await memory.lock("subject") is True
        prev = await memory.read("subject")
        await asyncio.sleep(PAST_TTL)
        with pytest.raises(LockExpiredError) as caught:
            await memory.write("subject", {"v": 2}, prev)
        assert caught.value.holder is None
        assert "lapsed" in str(caught.value) and "lock_ttl" in str(caught.value)
        assert await memory.read("subject") == {"v": 1}

    async def test_a_write_after_the_lock_lapsed_and_was_taken_over_is_rejected(
        self, memory_factory: MemoryFactory
    ) -> None:
        """The stalled owner is fenced off while the new holder works, even with a good prev."""
        memory = memory_factory(lock_ttl=SHORT_TTL)
        await memory.write("subject", {"v": 1}, None)
        stalled, successor = memory.for_owner("stalled"), memory.for_owner("successor")
        assert await stalled.lock("subject") is True
        prev = await stalled.read("subject")
        await asyncio.sleep(PAST_TTL)
        assert await successor.lock("subject") is True
        with pytest.raises(LockExpiredError) as caught:
            await stalled.write("subject", {"v": "stalled"}, prev)
        assert isinstance(caught.value, LockNotHeldError)
        assert caught.value.holder == "successor"
        await successor.write("subject", {"v": "successor"}, prev)
        assert await memory.read("subject") == {"v": "successor"}

    async def test_relocking_after_a_lapse_allows_writing_again(
        self, memory_factory: MemoryFactory
    ) -> None:
        """An owner whose lock lapsed can lock again and then write."""
        memory = memory_factory(lock_ttl=SHORT_TTL)
        assert await memory.lock("subject") is True
        await asyncio.sleep(PAST_TTL)
        assert await memory.lock("subject") is True
        await memory.write("subject", {"v": 1}, None)

    async def test_writes_without_any_lock_are_allowed(self, memory: IMachineMemory) -> None:
        """Workflows that do not lock still write, protected by the compare-and-set."""
        other = memory.for_owner("other")
        await memory.write("subject", {"v": 1}, None)
        await other.write("subject", {"v": 2}, {"v": 1})
        assert await memory.read("subject") == {"v": 2}

    async def test_after_unlock_the_owner_writes_without_a_lock(
        self, memory: IMachineMemory
    ) -> None:
        """Unlocking ends the fencing obligation: a later unlocked write is fine."""
        assert await memory.lock("subject") is True
        assert await memory.unlock("subject") is True
        await memory.write("subject", {"v": 1}, None)

    async def test_anyone_writes_once_a_foreign_lock_lapsed(
        self, memory_factory: MemoryFactory
    ) -> None:
        """A lapsed lock of another owner no longer fences off writers that never locked."""
        memory = memory_factory(lock_ttl=SHORT_TTL)
        assert await memory.for_owner("crashed").lock("subject") is True
        await asyncio.sleep(PAST_TTL)
        await memory.write("subject", {"v": 1}, None)
        assert await memory.read("subject") == {"v": 1}


class OnlyTheFourCalls:
    """A memory with nothing but the four calls, as a custom memory may be: the fused helpers
    compose them."""

    def __init__(self, inner: IMachineMemory) -> None:
        self.inner = inner
        self.owner, self.lock_ttl = inner.owner, inner.lock_ttl

    def for_owner(self, owner: str) -> OnlyTheFourCalls:
        return OnlyTheFourCalls(self.inner.for_owner(owner))

    async def read(self, id: str) -> dict[str, Any] | None:
        return await self.inner.read(id)

    async def write(self, id: str, data: Any, prev: Any) -> None:
        await self.inner.write(id, data, prev)

    async def lock(self, id: str) -> bool:
        return await self.inner.lock(id)

    async def unlock(self, id: str) -> bool:
        return await self.inner.unlock(id)


@pytest.fixture(params=["own", "composed"])
def fusing(request: pytest.FixtureRequest) -> Callable[[IMachineMemory], IMachineMemory]:
    """The backend's own fused operations (where it has them), or the composed defaults."""
    if request.param == "own":
        return lambda memory: memory
    return lambda memory: OnlyTheFourCalls(memory)  # type: ignore[return-value]


class TestFusedOperations:
    """``lock_and_read`` and ``write_and_unlock``: one round trip each where the backend fuses
    them, with exactly the guarantees of the calls they replace."""

    async def test_a_step_locks_reads_writes_and_unlocks(
        self, memory: IMachineMemory, fusing: Callable[[IMachineMemory], IMachineMemory]
    ) -> None:
        """A free id: locked with its record; the write lands and the lock is released."""
        step = fusing(memory)
        assert await lock_and_read(step, "subject") == (True, None)
        assert await write_and_unlock(step, "subject", {"v": 1}, None) is True
        assert await lock_and_read(step, "subject") == (True, {"v": 1})
        assert await write_and_unlock(step, "subject", {"v": 2}, {"v": 1}) is True
        assert await memory.for_owner("next").lock("subject") is True
        assert await memory.read("subject") == {"v": 2}

    async def test_a_live_lock_denies_and_nothing_is_read(
        self, memory: IMachineMemory, fusing: Callable[[IMachineMemory], IMachineMemory]
    ) -> None:
        """Another owner's live lock (or this owner's own: not re-entrant) denies the step."""
        await memory.write("subject", {"v": 1}, None)
        assert await memory.for_owner("holder").lock("subject") is True
        assert await lock_and_read(fusing(memory), "subject") == (False, None)
        mine = fusing(memory.for_owner("mine"))
        assert await lock_and_read(mine, "other") == (True, None)
        assert await lock_and_read(mine, "other") == (False, None)

    async def test_a_stale_write_stores_nothing_and_still_releases_the_lock(
        self, memory: IMachineMemory, fusing: Callable[[IMachineMemory], IMachineMemory]
    ) -> None:
        """Compare-and-set holds; the lock is released although the write failed."""
        await memory.write("subject", {"v": 1}, None)
        step = fusing(memory)
        assert (await lock_and_read(step, "subject"))[0] is True
        with pytest.raises(StaleRecordError):
            await write_and_unlock(step, "subject", {"v": 2}, {"v": 0})
        assert await memory.read("subject") == {"v": 1}
        assert await memory.for_owner("next").lock("subject") is True

    async def test_a_write_under_another_owners_lock_is_refused_and_that_lock_kept(
        self, memory: IMachineMemory, fusing: Callable[[IMachineMemory], IMachineMemory]
    ) -> None:
        """Fencing holds: the holder's lock survives the refused write and unlock."""
        await memory.write("subject", {"v": 1}, None)
        assert await memory.for_owner("holder").lock("subject") is True
        with pytest.raises(LockNotHeldError):
            await write_and_unlock(fusing(memory), "subject", {"v": 2}, {"v": 1})
        assert await memory.read("subject") == {"v": 1}
        assert await memory.for_owner("third").lock("subject") is False

    async def test_a_lapsed_and_taken_over_lock_fences_the_stalled_step(
        self, memory_factory: MemoryFactory, fusing: Callable[[IMachineMemory], IMachineMemory]
    ) -> None:
        """The stalled owner's write fails with LockExpiredError; the successor keeps its lock."""
        memory = memory_factory(lock_ttl=SHORT_TTL)
        await memory.write("subject", {"v": 1}, None)
        stalled = fusing(memory.for_owner("stalled"))
        locked, prev = await lock_and_read(stalled, "subject")
        assert locked and prev == {"v": 1}
        await asyncio.sleep(PAST_TTL)
        successor = memory.for_owner("successor")
        assert await successor.lock("subject") is True
        with pytest.raises(LockExpiredError):
            await write_and_unlock(stalled, "subject", {"v": "stalled"}, prev)
        assert await memory.for_owner("third").lock("subject") is False
        await successor.write("subject", {"v": "successor"}, prev)
        assert await memory.read("subject") == {"v": "successor"}

    async def test_a_write_without_a_lock_reports_nothing_released(
        self, memory: IMachineMemory, fusing: Callable[[IMachineMemory], IMachineMemory]
    ) -> None:
        """Workflows that do not lock: the write lands and no lock was released."""
        assert await write_and_unlock(fusing(memory), "subject", {"v": 1}, None) is False
        assert await memory.read("subject") == {"v": 1}

    async def test_the_fused_calls_hand_out_copies(
        self, memory: IMachineMemory, fusing: Callable[[IMachineMemory], IMachineMemory]
    ) -> None:
        """Mutating what was written or read changes nothing stored."""
        step = fusing(memory)
        data = {"items": [1, 2]}
        await lock_and_read(step, "subject")
        await write_and_unlock(step, "subject", data, None)
        data["items"].append(3)
        _, record = await lock_and_read(step, "subject")
        assert record == {"items": [1, 2]}
        record["items"].append(4)  # type: ignore[index]
        assert await memory.read("subject") == {"items": [1, 2]}


class TestInspection:
    """The operator helpers (``arvo-ray inspect`` / ``unlock``), where a backend has them."""

    @pytest.fixture
    def inspectable(self, memory: IMachineMemory) -> InspectableMachineMemory:
        if not isinstance(memory, InspectableMachineMemory):
            pytest.skip(f"{type(memory).__name__} has no inspection helpers")
        return memory

    async def test_list_ids_filters_by_prefix_and_sorts(
        self, inspectable: InspectableMachineMemory
    ) -> None:
        """list_ids returns record ids (not lock-only ids) starting with the prefix, sorted."""
        for id in ["b/2", "a+1", "b/1", "b*", "c=", long_subject(3)]:
            await inspectable.write(id, {"id": id}, None)
        await inspectable.lock("b/0-only-locked")
        assert await inspectable.list_ids("b") == ["b*", "b/1", "b/2"]
        assert await inspectable.list_ids("b/") == ["b/1", "b/2"]
        assert await inspectable.list_ids("zzz") == []
        everything = await inspectable.list_ids()
        assert len(everything) == 6 and everything == sorted(everything)
        assert long_subject(3) in everything

    async def test_locks_reports_owner_and_expiry(
        self, inspectable: InspectableMachineMemory
    ) -> None:
        """locks() lists each live lock with its owner and when it lapses."""
        before = time.time()
        await inspectable.for_owner("o-1").lock("s-1")
        await inspectable.for_owner("o-2").lock("s-2")
        locks = await inspectable.locks()
        assert [(lock["id"], lock["owner"], lock["expired"]) for lock in locks] == [
            ("s-1", "o-1", False),
            ("s-2", "o-2", False),
        ]
        ttl = inspectable.lock_ttl
        for lock in locks:
            assert before + ttl - 1 <= lock["expires_at"] <= time.time() + ttl + 1

    async def test_a_lapsed_lock_is_absent_or_flagged_expired(
        self, memory_factory: MemoryFactory
    ) -> None:
        """After the TTL a lock is either gone from locks() or marked expired."""
        memory = memory_factory(lock_ttl=SHORT_TTL)
        if not isinstance(memory, InspectableMachineMemory):
            pytest.skip(f"{type(memory).__name__} has no inspection helpers")
        await memory.lock("subject")
        await asyncio.sleep(PAST_TTL)
        assert all(lock["expired"] for lock in await memory.locks())

    async def test_force_unlock_opens_any_lock_and_fences_the_old_holder(
        self, inspectable: InspectableMachineMemory
    ) -> None:
        """force_unlock removes a live lock (True), after which the old holder cannot write."""
        holder = inspectable.for_owner("holder")
        assert await holder.lock("subject") is True
        assert await inspectable.force_unlock("subject") is True
        assert await inspectable.force_unlock("subject") is False
        assert await inspectable.locks() == []
        with pytest.raises(LockExpiredError):
            await holder.write("subject", {"v": 1}, None)
        assert await inspectable.for_owner("next").lock("subject") is True

    async def test_read_meta_tracks_version_time_and_digest(
        self, inspectable: InspectableMachineMemory
    ) -> None:
        """Version starts at 1 and counts writes; the digest ignores key order."""
        assert await inspectable.read_meta("subject") is None
        before = time.time()
        await inspectable.write("subject", {"a": 1, "b": 2}, None)
        first = await inspectable.read_meta("subject")
        assert first is not None and first["version"] == 1
        assert before - 1 <= first["updated_at"] <= time.time() + 1
        await inspectable.write("subject", {"b": 2, "a": 1}, {"a": 1, "b": 2})
        second = await inspectable.read_meta("subject")
        assert second is not None and second["version"] == 2
        assert second["digest"] == first["digest"] and len(first["digest"]) == 64


class TestDelete:
    """``delete(id, prev)``: compare-and-delete, for retention (every built-in memory has it)."""

    async def test_a_record_equal_to_prev_is_removed(self, memory: IMachineMemory) -> None:
        """Compared as a JSON value (key order aside); the id can then be written afresh."""
        await memory.write("subject", {"a": 1, "b": [2]}, None)
        assert await memory.delete("subject", {"b": [2], "a": 1}) is True  # type: ignore[attr-defined]
        assert await memory.read("subject") is None
        if isinstance(memory, InspectableMachineMemory):
            assert await memory.list_ids() == []
        await memory.write("subject", {"a": 2}, None)  # a new record, not a stale write
        assert await memory.read("subject") == {"a": 2}

    async def test_a_record_that_changed_or_is_gone_stays_as_it_is(
        self, memory: IMachineMemory
    ) -> None:
        await memory.write("subject", {"n": 1}, None)
        assert await memory.delete("subject", {"n": 1.0}) is False  # type: ignore[attr-defined]
        assert await memory.delete("subject", {"n": 2}) is False  # type: ignore[attr-defined]
        assert await memory.read("subject") == {"n": 1}
        assert await memory.delete("other", {"n": 1}) is False  # type: ignore[attr-defined]

    async def test_the_record_a_read_returned_can_be_deleted_by_another_owner(
        self, memory: IMachineMemory
    ) -> None:
        """Locks are left alone: a sweeper deletes what it read, whoever wrote it."""
        await memory.write("subject", {"n": 1}, None)
        sweeper = memory.for_owner("sweeper")
        read = await sweeper.read("subject")
        assert read is not None
        assert await sweeper.delete("subject", read) is True  # type: ignore[attr-defined]
        assert await memory.read("subject") is None


WRITERS = 4
INCREMENTS = 20


def _assert_every_increment_landed_once(record: dict[str, Any] | None) -> None:
    assert record is not None
    total = WRITERS * INCREMENTS
    assert record["counter"] == total
    assert len(record["items"]) == total, "an increment was lost or applied twice"
    assert sorted(record["items"]) == sorted(
        f"w{w}:{i}" for w in range(WRITERS) for i in range(INCREMENTS)
    )
    for w in range(WRITERS):  # each writer's increments landed in its own order
        mine = [item for item in record["items"] if item.startswith(f"w{w}:")]
        assert mine == [f"w{w}:{i}" for i in range(INCREMENTS)]


async def _assert_one_version_per_write(memory: IMachineMemory) -> None:
    if isinstance(memory, InspectableMachineMemory):
        meta = await memory.read_meta("counter")
        assert meta is not None and meta["version"] == WRITERS * INCREMENTS + 1


class TestConcurrency:
    """Racing writers through compare-and-set: one winner per version, nothing lost."""

    async def test_cas_writers_as_asyncio_tasks(self, memory: IMachineMemory) -> None:
        """Tasks interleaving read and write each retry on stale; every increment lands once."""
        await memory.write("counter", {"counter": 0, "items": []}, None)
        stale = await asyncio.gather(
            *(
                cas_increments(
                    memory.for_owner(f"w{w}"), "counter", f"w{w}", INCREMENTS, yield_between=True
                )
                for w in range(WRITERS)
            )
        )
        assert sum(stale) > 0  # the tasks really did collide
        _assert_every_increment_landed_once(await memory.read("counter"))
        await _assert_one_version_per_write(memory)

    async def test_calls_issued_together_succeed_or_fail_each_on_its_own(
        self, memory: IMachineMemory
    ) -> None:
        """Gathered at once (one transaction or pipeline where the backend groups them), a
        stale write and a taken lock fail alone; the other calls take effect."""
        other = memory.for_owner("other")
        await memory.write("stale", {"n": 1}, None)
        assert await other.lock("taken")
        outcomes = await asyncio.gather(
            memory.write("stale", {"n": 3}, {"n": 2}),
            memory.write("fresh", {"n": 1}, None),
            memory.lock("taken"),
            lock_and_read(memory, "stale"),
            return_exceptions=True,
        )
        assert isinstance(outcomes[0], StaleRecordError)
        assert outcomes[1:] == [None, False, (True, {"n": 1})]
        assert await memory.read("fresh") == {"n": 1}
        assert await memory.read("stale") == {"n": 1}

    async def test_cas_writers_in_threads(self, memory: IMachineMemory) -> None:
        """Threads, each with its own event loop, race on one record without losing a write."""
        await memory.write("counter", {"counter": 0, "items": []}, None)
        errors: list[BaseException] = []

        def writer(w: int) -> None:
            try:
                cas_increments_in_own_loop(memory, "counter", f"w{w}", INCREMENTS)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        await asyncio.to_thread(_start_and_join, threads)
        assert errors == []
        _assert_every_increment_landed_once(await memory.read("counter"))
        await _assert_one_version_per_write(memory)

    async def test_thousands_of_steps_in_flight_all_complete(self, memory: IMachineMemory) -> None:
        """2,000 lock → read → write → unlock cycles on distinct ids at once: none fails
        (a backend with a connection pool makes them wait for a connection)."""

        async def step(n: int) -> None:
            owner = memory.for_owner(f"step-{n}")
            assert await owner.lock(f"wf-{n}")
            assert await owner.read(f"wf-{n}") is None
            await owner.write(f"wf-{n}", {"n": n}, None)
            assert await owner.unlock(f"wf-{n}")

        await asyncio.gather(*(step(n) for n in range(2000)))
        assert [await memory.read(f"wf-{n}") for n in (0, 999, 1999)] == [
            {"n": 0},
            {"n": 999},
            {"n": 1999},
        ]

    async def test_exactly_one_of_many_tasks_gets_the_lock(self, memory: IMachineMemory) -> None:
        """Concurrent lock attempts by different owners: one True, the rest False."""
        results = await asyncio.gather(
            *(memory.for_owner(f"o{n}").lock("subject") for n in range(8))
        )
        assert sorted(results) == [False] * 7 + [True]

    async def test_exactly_one_of_many_threads_gets_the_lock(self, memory: IMachineMemory) -> None:
        """Threads released together by a barrier: exactly one acquires."""
        barrier = threading.Barrier(WRITERS)
        results: Any = _ListQueue()
        threads = [
            threading.Thread(target=lock_once, args=(memory, "subject", f"o{n}", barrier, results))
            for n in range(WRITERS)
        ]
        await asyncio.to_thread(_start_and_join, threads)
        assert sorted(value for _, value in results.items) == [False] * (WRITERS - 1) + [True]


class TestCrossProcess:
    """Backends whose storage processes share by unpickling the memory (SQLite, Redis).

    Backend modules whose storage is per-process (``SimpleMachineMemory``) do not collect it.
    """

    async def test_cas_writers_in_spawned_processes(self, memory: IMachineMemory) -> None:
        """Processes (spawn) sharing the store by unpickling the memory lose no write."""
        await memory.write("counter", {"counter": 0, "items": []}, None)
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        processes = [
            context.Process(
                target=cas_process, args=(memory, "counter", f"w{w}", INCREMENTS, results)
            )
            for w in range(WRITERS)
        ]
        outcome = await asyncio.to_thread(_run_processes, processes, results)
        assert all(isinstance(value, int) for value in outcome.values()), outcome
        _assert_every_increment_landed_once(await memory.read("counter"))
        await _assert_one_version_per_write(memory)

    async def test_exactly_one_of_many_processes_gets_the_lock(
        self, memory: IMachineMemory
    ) -> None:
        """Spawned processes released together by a barrier: exactly one acquires."""
        await memory.write("warm-up", {}, None)  # create the store before the children open it
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(WRITERS), context.Queue()
        processes = [
            context.Process(target=lock_once, args=(memory, "subject", f"o{n}", barrier, results))
            for n in range(WRITERS)
        ]
        outcome = await asyncio.to_thread(_run_processes, processes, results)
        assert sorted(outcome.values()) == [False] * (WRITERS - 1) + [True], outcome

    def test_a_memory_pickles_into_a_view_of_the_same_owner(self, memory: IMachineMemory) -> None:
        """Cross-process backends travel by pickle and keep their owner and TTL."""
        view = memory.for_owner("traveller")
        copy = pickle.loads(pickle.dumps(view))
        assert type(copy) is type(memory)
        assert (copy.owner, copy.lock_ttl) == ("traveller", memory.lock_ttl)


class _ListQueue:
    """The ``put`` side of a queue, for thread workers that share the process."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._mutex = threading.Lock()

    def put(self, item: Any) -> None:
        with self._mutex:
            self.items.append(item)


def _start_and_join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def _run_processes(processes: list[Any], results: Any) -> dict[str, Any]:
    for process in processes:
        process.start()
    outcome = dict(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    return outcome
