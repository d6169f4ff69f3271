"""The memory contract against ``PostgresMachineMemory`` on a real PostgreSQL server, plus its
edges: connections, pooling, the schema and pickling."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import uuid

import psycopg
import pytest

from arvo_ray.memory import MemoryBackendError, PostgresMachineMemory

from .conftest import free_port
from .contract_suite import *  # noqa: F403
from .contract_suite import MemoryFactory


def fresh_prefix() -> str:
    return f"t_{uuid.uuid4().hex}"


@pytest.fixture
def memory_factory(postgres_dsn: str) -> MemoryFactory:
    # A fresh table prefix per memory is fresh, empty storage on the shared server.
    return MemoryFactory(
        lambda ttl: PostgresMachineMemory(postgres_dsn, table_prefix=fresh_prefix(), lock_ttl=ttl),
        cross_process=True,
    )


async def sql(dsn: str, query: str) -> list[tuple[object, ...]]:
    """Run one statement on a connection of its own (to look behind the memory's back)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(query)  # type: ignore[arg-type]
        return await cursor.fetchall() if cursor.description else []


class TestPostgresConnection:
    """Connection failures and the ways a PostgreSQL memory is built and shipped."""

    @pytest.mark.parametrize("operation", ["read", "write", "lock", "unlock"])
    async def test_a_refused_connection_is_a_backend_error(self, operation: str) -> None:
        """Nothing listening: every operation raises MemoryBackendError caused by the refused
        connection itself (not by a pool wait or a retry that gave up)."""
        memory = PostgresMachineMemory(f"host=127.0.0.1 port={free_port()} user=nobody")
        call = {
            "read": lambda: memory.read("s"),
            "write": lambda: memory.write("s", {"n": 1}, None),
            "lock": lambda: memory.lock("s"),
            "unlock": lambda: memory.unlock("s"),
        }[operation]
        with pytest.raises(MemoryBackendError) as caught:
            await call()
        assert caught.value.operation == operation and caught.value.id == "s"
        assert "127.0.0.1" in str(caught.value) and "reachable" in str(caught.value)
        assert isinstance(caught.value.__cause__, psycopg.OperationalError)
        await memory.aclose()

    async def test_a_password_never_appears_in_errors_or_the_repr(self) -> None:
        """The DSN is quoted in messages and the repr with its password masked."""
        memory = PostgresMachineMemory(f"postgresql://arvo:s3cret@127.0.0.1:{free_port()}/db")
        with pytest.raises(MemoryBackendError) as caught:
            await memory.read("s")
        assert "s3cret" not in str(caught.value) and "arvo:***@127.0.0.1" in str(caught.value)
        assert "s3cret" not in repr(memory) and "s3cret" not in caught.value.backend
        await memory.aclose()

    async def test_an_unpickled_copy_reconnects_lazily(self, postgres_dsn: str) -> None:
        """Pickling carries DSN, prefix, owner and TTL; the copy reads what the original wrote."""
        memory = PostgresMachineMemory(
            postgres_dsn, table_prefix=fresh_prefix(), owner="me", lock_ttl=7
        )
        await memory.write("s", {"n": 1}, None)
        data = pickle.dumps(memory)
        assert len(data) < 1500
        copy = pickle.loads(data)
        assert (copy.owner, copy.lock_ttl, copy.table_prefix) == ("me", 7, memory.table_prefix)
        assert await copy.read("s") == {"n": 1}
        await copy.aclose()
        await memory.aclose()

    async def test_each_event_loop_gets_its_own_connections(self, postgres_dsn: str) -> None:
        """A memory used from another thread's loop opens connections there, and both work."""
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=fresh_prefix())
        await memory.write("s", {"n": 1}, None)

        def elsewhere() -> dict[str, object] | None:
            async def main() -> dict[str, object] | None:
                try:
                    return await memory.read("s")
                finally:
                    await memory.aclose()

            return asyncio.run(main())

        assert await asyncio.to_thread(elsewhere) == {"n": 1}
        assert await memory.read("s") == {"n": 1}
        await memory.aclose()

    @pytest.mark.parametrize(
        ("arguments", "error", "match"),
        [
            ({"dsn": 5432}, TypeError, "connection string"),
            ({"dsn": "host=x port"}, ValueError, "malformed"),
            ({"table_prefix": ""}, ValueError, "table_prefix"),
            ({"table_prefix": "drop table; --"}, ValueError, "table_prefix"),
            ({"table_prefix": "9lives"}, ValueError, "table_prefix"),
            ({"table_prefix": "x" * 41}, ValueError, "table_prefix"),
            ({"max_connections": 0}, ValueError, "max_connections"),
            ({"max_connections": 2.5}, TypeError, "max_connections"),
            ({"pool_timeout": 0}, ValueError, "pool_timeout"),
            ({"connect_timeout": -1}, ValueError, "connect_timeout"),
            ({"statement_timeout": 0}, ValueError, "statement_timeout"),
        ],
    )
    def test_bad_settings_are_refused_at_construction(
        self, arguments: dict[str, object], error: type[Exception], match: str
    ) -> None:
        """A malformed DSN, an unsafe table prefix or an out-of-range setting fails early."""
        settings = {"dsn": "host=localhost", **arguments}
        with pytest.raises(error, match=match):
            PostgresMachineMemory(**settings)  # type: ignore[arg-type]

    def test_repr_names_the_server_prefix_owner_and_ttl(self) -> None:
        """The repr shows where the memory lives, without credentials."""
        memory = PostgresMachineMemory(
            "host=db.internal port=6543 user=arvo password=x dbname=prod",
            table_prefix="shop",
            owner="me",
            lock_ttl=5,
        )
        assert repr(memory) == (
            "PostgresMachineMemory('postgresql://arvo:***@db.internal:6543/prod', "
            "table_prefix='shop', owner='me', lock_ttl=5)"
        )


class TestPostgresSchema:
    """Tables are created on first use, under the prefix, and a newer layout is refused."""

    async def test_tables_are_created_on_first_use_under_the_prefix(
        self,
        postgres_dsn: str,
    ) -> None:
        """Nothing exists before the first call; then the tables, the index and the functions do."""
        prefix = fresh_prefix()
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=prefix)
        query = f"SELECT relname FROM pg_class WHERE relname LIKE '{prefix}%' ORDER BY relname"
        assert await sql(postgres_dsn, query) == []
        await memory.write("s", {"n": 1}, None)
        await memory.lock("s")
        names = [row[0] for row in await sql(postgres_dsn, query)]
        assert {f"{prefix}_machine_{name}" for name in ("records", "locks", "meta")} <= set(names)
        assert f"{prefix}_machine_outboxes" in names
        rows = await sql(postgres_dsn, f"SELECT id, owner FROM {prefix}_machine_locks")
        assert rows == [("s", memory.owner)]
        functions = await sql(
            postgres_dsn, f"SELECT proname FROM pg_proc WHERE proname LIKE '{prefix}%' ORDER BY 1"
        )
        assert functions == [(f"{prefix}_machine_lock_and_read",), (f"{prefix}_machine_write",)]
        await memory.aclose()

    async def test_two_prefixes_are_separate_stores(self, postgres_dsn: str) -> None:
        """The same id under two prefixes is two records and two locks."""
        first = PostgresMachineMemory(postgres_dsn, table_prefix=fresh_prefix())
        second = PostgresMachineMemory(postgres_dsn, table_prefix=fresh_prefix())
        await first.write("s", {"which": 1}, None)
        assert await second.read("s") is None
        assert await first.lock("s") and await second.lock("s")
        await first.aclose()
        await second.aclose()

    def test_many_processes_creating_the_schema_at_once_all_succeed(
        self,
        postgres_dsn: str,
    ) -> None:
        """Spawned processes racing to create one prefix's tables all get a working store."""
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=fresh_prefix())
        context = multiprocessing.get_context("spawn")
        with context.Pool(4) as pool:
            results = pool.map(_write_one, [(memory, f"s{n}") for n in range(4)])
        assert results == ["ok"] * 4

    async def test_a_newer_schema_is_refused(self, postgres_dsn: str) -> None:
        """Tables laid out by a newer arvo_ray are not silently misread."""
        prefix = fresh_prefix()
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=prefix)
        await memory.write("s", {"n": 1}, None)
        await sql(
            postgres_dsn,
            f"UPDATE {prefix}_machine_meta SET value = '99' WHERE key = 'schema_version'",
        )
        later = PostgresMachineMemory(postgres_dsn, table_prefix=prefix)
        with pytest.raises(MemoryBackendError, match="upgrade arvo_ray") as caught:
            await later.read("s")
        assert caught.value.operation == "read"
        await later.aclose()
        await memory.aclose()

    async def test_a_corrupt_record_is_a_backend_error_on_read(
        self,
        postgres_dsn: str,
    ) -> None:
        """A row whose JSON was damaged by hand raises MemoryBackendError, not a JSON error."""
        prefix = fresh_prefix()
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=prefix)
        await memory.write("s", {"n": 1}, None)
        await sql(postgres_dsn, f"UPDATE {prefix}_machine_records SET data = '{{broken'")
        with pytest.raises(MemoryBackendError, match="corrupt"):
            await memory.read("s")
        await memory.aclose()

    async def test_lock_expiry_follows_the_server_clock(self, postgres_dsn: str) -> None:
        """A lock's expiry is the server's time plus the TTL, whatever the client's clock."""
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=fresh_prefix(), lock_ttl=30)
        await memory.lock("s")
        (server_now,) = (await sql(postgres_dsn, "SELECT extract(epoch FROM clock_timestamp())"))[0]
        (lock,) = await memory.locks()
        assert 29 <= lock["expires_at"] - float(server_now) <= 30  # type: ignore[arg-type]
        await memory.aclose()


class TestPostgresOutboxes:
    """``list_outboxes`` reads only records whose outbox holds events."""

    async def test_only_records_with_events_in_their_outbox_are_listed(
        self, memory: PostgresMachineMemory
    ) -> None:
        """Empty, missing or odd outboxes are left out; clearing the outbox drops the record."""
        item = {"event": {"id": "e-1", "source": "s", "subject": "b", "type": "t"}}
        await memory.write("a-empty", {"status": "active", "outbox": []}, None)
        await memory.write("b-pending", {"status": "active", "outbox": [item, item]}, None)
        await memory.write("c-none", {"status": "done"}, None)
        await memory.write("d-odd", {"status": "done", "outbox": {"not": "a list"}}, None)
        await memory.write("e-tuple", {"outbox": (item,)}, None)
        assert await memory.list_outboxes() == {"b-pending": [item, item], "e-tuple": [item]}
        await memory.write("b-pending", {"outbox": []}, await memory.read("b-pending"))
        assert await memory.list_outboxes() == {"e-tuple": [item]}


class TestConnectionPool:
    """Calls share a bounded pool per process and event loop, and wait for a connection."""

    async def test_more_calls_than_connections_wait_instead_of_failing(
        self,
        postgres_dsn: str,
    ) -> None:
        """Two connections serve 500 concurrent writes: each waits its turn, none fails."""
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=fresh_prefix(), max_connections=2)
        await asyncio.gather(*(memory.write(f"s{n}", {"n": n}, None) for n in range(500)))
        assert await memory.read("s499") == {"n": 499}
        pool = memory._pools.get()
        assert len(pool._idle) <= 2
        await memory.aclose()

    async def test_a_pool_wait_past_its_timeout_is_a_backend_error(
        self,
        postgres_dsn: str,
    ) -> None:
        """With every connection held, a call gives up after ``pool_timeout`` seconds."""
        memory = PostgresMachineMemory(
            postgres_dsn, table_prefix=fresh_prefix(), max_connections=1, pool_timeout=0.2
        )
        await memory.write("s", {"n": 1}, None)
        release = asyncio.Event()

        async def hold() -> None:
            async with memory._pools.get().connection():
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        with pytest.raises(MemoryBackendError, match="No connection available"):
            await memory.write("s", {"n": 2}, {"n": 1})
        release.set()
        await holder
        await memory.write("s", {"n": 2}, {"n": 1})
        await memory.aclose()

    async def test_a_broken_connection_is_replaced_and_reads_retry(
        self,
        postgres_dsn: str,
    ) -> None:
        """A connection the server dropped is discarded; a read retries on a fresh one."""
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=fresh_prefix())
        await memory.write("s", {"n": 1}, None)
        await sql(
            postgres_dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            f" AND query LIKE '%{memory.table_prefix}%'",
        )
        assert await memory.read("s") == {"n": 1}
        await memory.aclose()

    async def test_a_statement_past_its_timeout_is_a_backend_error(
        self,
        postgres_dsn: str,
    ) -> None:
        """A write stuck behind a row another session holds fails after statement_timeout."""
        prefix = fresh_prefix()
        memory = PostgresMachineMemory(postgres_dsn, table_prefix=prefix, statement_timeout=0.2)
        await memory.write("s", {"n": 1}, None)
        async with await psycopg.AsyncConnection.connect(postgres_dsn) as blocker:
            await blocker.execute(
                f"SELECT 1 FROM {prefix}_machine_records WHERE id = 's' FOR UPDATE"  # type: ignore[arg-type]
            )
            with pytest.raises(MemoryBackendError, match="statement_timeout") as caught:
                await memory.write("s", {"n": 2}, {"n": 1})
            assert caught.value.operation == "write"
            await blocker.rollback()
        await memory.write("s", {"n": 2}, {"n": 1})
        await memory.aclose()


def _write_one(job: tuple[PostgresMachineMemory, str]) -> str:
    memory, id = job

    async def main() -> str:
        try:
            await memory.write(id, {"id": id}, None)
            return "ok" if await memory.read(id) == {"id": id} else "lost"
        finally:
            await memory.aclose()

    return asyncio.run(main())
