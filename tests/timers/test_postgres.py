"""``PostgresTimerStore`` beyond the shared contract (``test_stores.py``): how it is built,
shipped and placed beside a memory, and how it fails."""

from __future__ import annotations

import asyncio
import doctest
import pickle
import subprocess
import sys
import uuid

import psycopg
import pytest
from postgres_server import free_port

import arvo_ray.timers
from arvo_ray.memory import MemoryBackendError, PostgresMachineMemory, SimpleMachineMemory
from arvo_ray.timers import PendingTimer, PostgresTimerStore


def fresh_prefix() -> str:
    return f"t_{uuid.uuid4().hex}"


def timer(due_at: float, id: str) -> PendingTimer:
    return PendingTimer(due_at, id, {"id": id})


async def tables(dsn: str, prefix: str) -> list[str]:
    """The tables and indexes under ``prefix``, looked up behind the stores' backs."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT relname FROM pg_class WHERE starts_with(relname, %s) ORDER BY relname",
            (f"{prefix}_",),
        )
        return [row[0] for row in await cursor.fetchall()]


class TestPostgresTimerStore:
    """Settings, pickling, the table beside a memory, and failures."""

    async def test_it_pickles_by_its_settings_and_works_after_unpickling(
        self, postgres_dsn: str
    ) -> None:
        """Only the DSN and settings travel (not the open pool); the copy reconnects and sees
        what the original added, and the original sees what the copy added."""
        prefix = fresh_prefix()
        store = PostgresTimerStore(
            postgres_dsn, table_prefix=prefix, max_connections=2, connect_timeout=3
        )
        await store.add(timer(1.0, "kept"))  # opens a pool, which must not travel
        settings = {
            "dsn": postgres_dsn,
            "table_prefix": prefix,
            "max_connections": 2,
            "pool_timeout": 30.0,
            "connect_timeout": 3.0,
            "statement_timeout": 10.0,
        }
        assert store.__getstate__() == settings
        copy = pickle.loads(pickle.dumps(store))
        assert copy.__getstate__() == settings and repr(copy) == repr(store)
        assert [t.id for t in await copy.due(now=2.0, limit=5)] == ["kept"]
        assert await copy.add(timer(3.0, "from-copy")) is True
        assert await store.next_due() == 1.0 and await store.pending() == 2
        await copy.aclose()
        await store.aclose()

    async def test_a_refused_connection_is_a_clear_backend_error(self) -> None:
        """Nothing listening: every call raises MemoryBackendError naming the operation, the
        server (without its password) and what to check, caused by psycopg's error."""
        port = free_port()
        store = PostgresTimerStore(f"postgresql://arvo:s3cret@127.0.0.1:{port}/db")
        calls = {
            "add": lambda: store.add(timer(1.0, "t1")),
            "cancel": lambda: store.cancel("t1"),
            "due": lambda: store.due(now=1.0, limit=5),
            "remove": lambda: store.remove(["t1"]),
            "pending": store.pending,
            "next_due": store.next_due,
        }
        for operation, call in calls.items():
            with pytest.raises(MemoryBackendError) as caught:
                await call()
            error = caught.value
            target = " timer 't1'" if operation in ("add", "cancel") else ""
            assert str(error).startswith(
                f"PostgreSQL timer store at postgresql://arvo:***@127.0.0.1:{port}/db "
                f"(table 'arvo_timers') could not {operation}{target}: "
            )
            assert str(error).endswith("(is the server running and reachable at that address?).")
            assert "s3cret" not in str(error) and "s3cret" not in error.backend
            assert error.operation == operation
            assert error.id == ("t1" if target else None)
            assert isinstance(error.__cause__, psycopg.OperationalError)
        await store.aclose()

    async def test_concurrent_adds_of_one_id_keep_exactly_one(self, postgres_dsn: str) -> None:
        """Re-sent requests racing on several connections: one add wins, the rest see it."""
        store = PostgresTimerStore(postgres_dsn, table_prefix=fresh_prefix(), max_connections=3)
        results = await asyncio.gather(
            *(store.add(PendingTimer(float(n), "same", {"n": n})) for n in range(30))
        )
        assert results.count(True) == 1 and await store.pending() == 1
        await store.aclose()

    async def test_beside_a_memory_shares_its_database_prefix_and_timeouts(
        self, postgres_dsn: str
    ) -> None:
        """The timers table sits next to the memory's tables, under the same prefix."""
        prefix = fresh_prefix()
        memory = PostgresMachineMemory(
            postgres_dsn,
            table_prefix=prefix,
            pool_timeout=4,
            connect_timeout=2,
            statement_timeout=3,
        )
        store = PostgresTimerStore.beside(memory)
        assert store.__getstate__() == {
            "dsn": postgres_dsn,
            "table_prefix": prefix,
            "max_connections": 4,
            "pool_timeout": 4.0,
            "connect_timeout": 2.0,
            "statement_timeout": 3.0,
        }
        await memory.write("order-1", {"n": 1}, None)
        await store.add(timer(1.0, "t1"))
        assert await tables(postgres_dsn, prefix) == sorted(
            [
                *(f"{prefix}_machine_{name}" for name in ("locks", "meta", "records")),
                *(f"{prefix}_machine_{name}_pkey" for name in ("locks", "meta", "records")),
                f"{prefix}_machine_outboxes",
                f"{prefix}_timers",
                f"{prefix}_timers_due",
                f"{prefix}_timers_pkey",
            ]
        )
        assert await memory.read("order-1") == {"n": 1}
        await store.aclose()
        await memory.aclose()

    def test_beside_refuses_another_kind_of_memory(self) -> None:
        """Only a PostgreSQL memory has a database to sit beside."""
        with pytest.raises(
            TypeError, match="needs a PostgresMachineMemory, got SimpleMachineMemory"
        ):
            PostgresTimerStore.beside(SimpleMachineMemory())  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("arguments", "error", "match"),
        [
            ({"dsn": 5432}, TypeError, "PostgresTimerStore needs a libpq connection string"),
            ({"dsn": "host=x port"}, ValueError, "malformed"),
            ({"table_prefix": "drop table; --"}, ValueError, "table_prefix"),
            ({"max_connections": 0}, ValueError, "max_connections"),
            ({"connect_timeout": -1}, ValueError, "connect_timeout"),
        ],
    )
    def test_bad_settings_are_refused_at_construction(
        self, arguments: dict[str, object], error: type[Exception], match: str
    ) -> None:
        """A malformed DSN, an unsafe table prefix or an out-of-range setting fails early."""
        settings = {"dsn": "host=localhost", **arguments}
        with pytest.raises(error, match=match):
            PostgresTimerStore(**settings)  # type: ignore[arg-type]

    def test_the_example_runs(self) -> None:
        """The class docstring's example runs without a server."""
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
        finder = doctest.DocTestFinder(recurse=False)
        globs = dict(vars(arvo_ray.timers))
        for test in finder.find(PostgresTimerStore, "PostgresTimerStore", globs=globs):
            runner.run(test)
        results = runner.summarize(verbose=False)
        assert results.failed == 0 and results.attempted > 0

    def test_the_package_imports_without_psycopg(self) -> None:
        """psycopg is optional: arvo_ray.timers imports without it, and only the store asks
        for it, by name."""
        code = (
            "import sys\n"
            "sys.modules['psycopg'] = None\n"
            "import arvo_ray.timers\n"
            "assert 'PostgresTimerStore' in arvo_ray.timers.__all__\n"
            "try:\n"
            "    arvo_ray.timers.PostgresTimerStore\n"
            "except ImportError as error:\n"
            "    print(error)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == (
            "PostgresTimerStore needs the 'psycopg' package (psycopg >= 3.1): "
            "pip install 'arvo-ray[postgres]'"
        )
