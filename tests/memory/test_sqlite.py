"""The memory contract against ``SQLiteMachineMemory``, plus its file handling and pickling."""

from __future__ import annotations

import asyncio
import itertools
import pickle
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from arvo_ray.memory import MemoryBackendError, SQLiteMachineMemory

from .contract_suite import *  # noqa: F403
from .contract_suite import MemoryFactory


@pytest.fixture
def memory_factory(tmp_path: Path) -> Iterator[MemoryFactory]:
    numbers = itertools.count()
    factory = MemoryFactory(
        lambda ttl: SQLiteMachineMemory(tmp_path / f"memory-{next(numbers)}.db", lock_ttl=ttl),
        cross_process=True,
    )
    yield factory
    for memory in factory.created:
        assert isinstance(memory, SQLiteMachineMemory)
        memory.close()


class TestSQLiteFile:
    """Opening the file: WAL mode, directories created, clear errors for bad paths."""

    def test_the_file_is_in_wal_mode_with_the_schema(self, tmp_path: Path) -> None:
        """A new file gets WAL journaling, both tables and a schema version."""
        memory = SQLiteMachineMemory(tmp_path / "m.db")
        with sqlite3.connect(tmp_path / "m.db") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert {"arvo_machine_records", "arvo_machine_locks"} <= tables
        memory.close()

    def test_missing_parent_directories_are_created(self, tmp_path: Path) -> None:
        """A path in directories that do not exist yet just works."""
        SQLiteMachineMemory(tmp_path / "a" / "b" / "m.db").close()
        assert (tmp_path / "a" / "b" / "m.db").is_file()

    def test_a_directory_path_is_a_backend_error(self, tmp_path: Path) -> None:
        """Pointing at a directory fails at construction and says so."""
        with pytest.raises(MemoryBackendError, match="is a directory") as caught:
            SQLiteMachineMemory(tmp_path)
        assert caught.value.operation == "open" and str(tmp_path) in str(caught.value)

    def test_an_unusable_directory_is_a_backend_error(self, tmp_path: Path) -> None:
        """A parent that is a file (so no directory can be made) fails clearly."""
        (tmp_path / "file").write_text("not a directory")
        with pytest.raises(MemoryBackendError, match="cannot create its directory"):
            SQLiteMachineMemory(tmp_path / "file" / "m.db")

    def test_a_corrupt_file_is_a_backend_error(self, tmp_path: Path) -> None:
        """A file that is not SQLite fails at construction with a hint to move it aside."""
        path = tmp_path / "m.db"
        path.write_bytes(b"this is certainly not a sqlite database" * 100)
        with pytest.raises(MemoryBackendError, match="corrupt") as caught:
            SQLiteMachineMemory(path)
        assert "move it aside" in str(caught.value)

    def test_a_corrupt_record_is_a_backend_error_on_read(self, tmp_path: Path) -> None:
        """A row whose JSON was damaged by hand raises MemoryBackendError, not a JSON error."""
        memory = SQLiteMachineMemory(tmp_path / "m.db")
        with sqlite3.connect(tmp_path / "m.db") as conn:
            conn.execute("INSERT INTO arvo_machine_records VALUES ('s', '{broken', 1, 'x', 0)")

        async def read() -> None:
            await memory.read("s")

        import asyncio

        with pytest.raises(MemoryBackendError, match="corrupt"):
            asyncio.run(read())
        memory.close()

    def test_a_newer_schema_is_refused(self, tmp_path: Path) -> None:
        """A file written by a newer arvo_ray is not silently misread."""
        with sqlite3.connect(tmp_path / "m.db") as conn:
            conn.execute("PRAGMA user_version = 99")
        with pytest.raises(MemoryBackendError, match="upgrade arvo_ray"):
            SQLiteMachineMemory(tmp_path / "m.db")

    @pytest.mark.parametrize("path", [":memory:", "", "file::memory:?cache=shared"])
    def test_an_in_memory_database_is_refused(self, path: str) -> None:
        """ ":memory:" would be one database per connection; the error points elsewhere."""
        with pytest.raises(ValueError, match="SimpleMachineMemory"):
            SQLiteMachineMemory(path)


class TestSQLiteSharing:
    """Several instances (as several processes would) on one file."""

    async def test_two_instances_share_records_and_locks(self, tmp_path: Path) -> None:
        """Separate instances on the same path see each other's writes and locks."""
        first = SQLiteMachineMemory(tmp_path / "m.db", owner="first")
        second = SQLiteMachineMemory(tmp_path / "m.db", owner="second")
        await first.write("s", {"n": 1}, None)
        assert await second.read("s") == {"n": 1}
        assert await first.lock("s") is True
        assert await second.lock("s") is False
        first.close()
        second.close()

    async def test_records_survive_reopening(self, tmp_path: Path) -> None:
        """Closing and reopening the file keeps every record and its version."""
        memory = SQLiteMachineMemory(tmp_path / "m.db")
        await memory.write("s", {"n": 1}, None)
        await memory.write("s", {"n": 2}, {"n": 1})
        memory.close()
        reopened = SQLiteMachineMemory(tmp_path / "m.db")
        assert await reopened.read("s") == {"n": 2}
        meta = await reopened.read_meta("s")
        assert meta is not None and meta["version"] == 2
        reopened.close()

    async def test_an_unpickled_copy_reconnects_lazily(self, tmp_path: Path) -> None:
        """Pickling carries the path and settings, not a connection; the copy works."""
        memory = SQLiteMachineMemory(tmp_path / "m.db", owner="me", lock_ttl=12, busy_timeout=2)
        await memory.write("s", {"n": 1}, None)
        data = pickle.dumps(memory)
        assert len(data) < 1000
        copy = pickle.loads(data)
        assert (copy.owner, copy.lock_ttl, copy.path) == ("me", 12, memory.path)
        assert await copy.read("s") == {"n": 1}
        memory.close()
        copy.close()

    async def test_close_then_use_reopens(self, tmp_path: Path) -> None:
        """close() is not final: the next call opens a new connection."""
        memory = SQLiteMachineMemory(tmp_path / "m.db")
        memory.close()
        await memory.write("s", {"n": 1}, None)
        assert await memory.read("s") == {"n": 1}
        await memory.aclose()

    def test_repr_names_the_file(self, tmp_path: Path) -> None:
        """The repr shows the path, owner and TTL."""
        memory = SQLiteMachineMemory(tmp_path / "m.db", owner="me", lock_ttl=5)
        assert repr(memory) == f"SQLiteMachineMemory('{tmp_path / 'm.db'}', owner='me', lock_ttl=5)"
        memory.close()


class TestSQLiteGroupCommit:
    """Writes and locks issued in one turn of the event loop share one transaction."""

    @staticmethod
    def _statements(memory: SQLiteMachineMemory) -> list[str]:
        seen: list[str] = []
        memory._conns.get().set_trace_callback(seen.append)
        return seen

    async def test_a_batch_of_calls_commits_once(self, tmp_path: Path) -> None:
        """Ten writes, ten locks and ten unlocks gathered at once cost one BEGIN and one
        COMMIT each."""
        memory = SQLiteMachineMemory(tmp_path / "m.db")
        seen = self._statements(memory)
        await asyncio.gather(*(memory.write(f"s{i}", {"n": i}, None) for i in range(10)))
        await asyncio.gather(*(memory.lock(f"s{i}") for i in range(10)))
        assert len(await memory.locks()) == 10
        assert await asyncio.gather(*(memory.unlock(f"s{i}") for i in range(10))) == [True] * 10
        assert seen.count("BEGIN IMMEDIATE") == 3 and seen.count("COMMIT") == 3
        assert [await memory.read(f"s{i}") for i in range(10)] == [{"n": i} for i in range(10)]
        assert await memory.locks() == []
        memory.close()

    async def test_a_sqlite_failure_fails_the_whole_group(self, tmp_path: Path) -> None:
        """When the transaction cannot start, every call of the group fails and none is done."""
        memory = SQLiteMachineMemory(tmp_path / "m.db", busy_timeout=0)
        await memory.write("a", {"n": 1}, None)
        blocker = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        outcomes = await asyncio.gather(
            memory.write("a", {"n": 2}, {"n": 1}),
            memory.lock("b"),
            return_exceptions=True,
        )
        blocker.execute("ROLLBACK")
        blocker.close()
        assert [type(o) for o in outcomes] == [MemoryBackendError, MemoryBackendError]
        assert [o.operation for o in outcomes if isinstance(o, MemoryBackendError)] == [
            "write",
            "lock",
        ]
        assert "locked" in str(outcomes[0])
        assert await memory.read("a") == {"n": 1} and await memory.locks() == []
        memory.close()

    async def test_an_unlock_waits_out_a_busy_file(self, tmp_path: Path) -> None:
        """An unlock that finds the file's write lock taken is tried again, not failed."""
        memory = SQLiteMachineMemory(tmp_path / "m.db", busy_timeout=0)
        assert await memory.lock("s")
        blocker = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.02, blocker.execute, "ROLLBACK")
        assert await memory.unlock("s") is True
        blocker.close()
        assert await memory.locks() == []
        memory.close()

    def test_a_group_left_by_a_closed_loop_does_not_block_the_next(self, tmp_path: Path) -> None:
        """A loop that stops before its group commits takes the group with it; a later loop
        on the same thread starts its own."""
        memory = SQLiteMachineMemory(tmp_path / "m.db")
        loop = asyncio.new_event_loop()
        abandoned = loop.create_task(memory.write("left", {"n": 1}, None))
        loop.stop()
        loop.run_forever()  # one turn: the write joins a group whose commit never runs
        abandoned.cancel()
        loop.close()

        async def later() -> dict[str, object] | None:
            await asyncio.wait_for(memory.write("next", {"n": 2}, None), timeout=10)
            return await memory.read("left")

        assert asyncio.run(later()) is None
        memory.close()
