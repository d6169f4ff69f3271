"""The memory contract against ``SimpleMachineMemory``, plus what only it has (``clear``)."""

from __future__ import annotations

import pickle

import pytest

from arvo_ray.memory import SimpleMachineMemory

from .contract_suite import *  # noqa: F403
from .contract_suite import MemoryFactory

# Per-process storage: the cross-process behaviours do not apply.
del TestCrossProcess  # noqa: F821


@pytest.fixture
def memory_factory() -> MemoryFactory:
    return MemoryFactory(lambda ttl: SimpleMachineMemory(lock_ttl=ttl), cross_process=False)


class TestSimpleOnly:
    """Behaviour specific to the in-process backend."""

    async def test_clear_one_id_removes_its_record_and_lock(self) -> None:
        """clear(id) forgets one record and its lock, and nothing else."""
        memory = SimpleMachineMemory()
        await memory.write("a", {"n": 1}, None)
        await memory.write("b", {"n": 2}, None)
        await memory.lock("a")
        memory.clear("a")
        assert await memory.read("a") is None
        assert await memory.read("b") == {"n": 2}
        assert await memory.for_owner("other").lock("a") is True

    async def test_clear_everything(self) -> None:
        """clear() empties records and locks, like the original."""
        memory = SimpleMachineMemory()
        await memory.write("a", {"n": 1}, None)
        await memory.lock("b")
        memory.clear()
        assert await memory.read("a") is None
        assert await memory.list_ids() == []
        assert await memory.locks() == []

    async def test_an_injected_clock_drives_lock_expiry(self) -> None:
        """Lock expiry follows the injected clock, so tests need not sleep."""
        now = [1000.0]
        memory = SimpleMachineMemory(lock_ttl=10, clock=lambda: now[0])
        other = memory.for_owner("other")
        assert await memory.lock("s") is True
        now[0] += 9.9
        assert await other.lock("s") is False
        now[0] += 0.2
        assert await other.lock("s") is True
        assert (await memory.locks())[0]["expires_at"] == pytest.approx(1020.1)

    async def test_pickling_copies_the_records(self) -> None:
        """A pickled copy has the same records but its own storage (in-process only)."""
        memory = SimpleMachineMemory(owner="me")
        await memory.write("a", {"n": 1}, None)
        copy = pickle.loads(pickle.dumps(memory))
        assert copy.owner == "me"
        assert await copy.read("a") == {"n": 1}
        await copy.write("a", {"n": 2}, {"n": 1})
        assert await memory.read("a") == {"n": 1}

    def test_repr_names_the_owner_and_ttl(self) -> None:
        """The repr helps when a memory shows up in a log."""
        assert repr(SimpleMachineMemory(owner="me", lock_ttl=5)) == (
            "SimpleMachineMemory(0 records, owner='me', lock_ttl=5)"
        )
