"""``PostgresTimerStore``: pending timers in a PostgreSQL table, indexed by due time.

For runtimes whose machine memory is PostgreSQL: the timers then live (and are backed up) in
the database that holds the workflows that set them, in ``{prefix}_timers`` beside the
memory's ``{prefix}_machine_*`` tables. Finding what is due is an index range scan on
``(due_at, id)``; ids sort bytewise (``COLLATE "C"``), as SQLite and Redis order them.

Connections are the memory's (``arvo_ray._postgres_clients``): a small bounded pool per event
loop and process, a connect timeout, the table created on first use, and storage failures
raised as :class:`~arvo_ray.memory.MemoryBackendError`. Reads are retried briefly when the
connection was lost; ``add``, ``cancel`` and ``remove`` are not, since they may have landed.

This module imports ``psycopg``; ``arvo_ray.timers`` imports it only when
``PostgresTimerStore`` is first used, so the package works without the optional dependency.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

try:
    import psycopg  # noqa: F401  (checked here, so the message names this class)
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "PostgresTimerStore needs the 'psycopg' package (psycopg >= 3.1): "
        "pip install 'arvo-ray[postgres]'"
    ) from _exc

from arvo_ray._postgres_clients import (
    Connection,
    _all,
    _call,
    _check_settings,
    _count,
    _explain,
    _lock_schema,
    _one,
    _open,
    _Pool,
    _Pools,
    _Schema,
)
from arvo_ray.memory import MemoryBackendError
from arvo_ray.timers._store import PendingTimer

if TYPE_CHECKING:
    from arvo_ray.memory import PostgresMachineMemory

__all__ = ["PostgresTimerStore"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Statements:
    """The SQL of one table, built once."""

    schema: tuple[str, ...]
    add: str
    cancel: str
    due: str
    remove: str
    pending: str
    next_due: str

    @classmethod
    def for_table(cls, table: str) -> _Statements:
        return cls(
            schema=(
                f'CREATE TABLE IF NOT EXISTS {table} (id text COLLATE "C" PRIMARY KEY,'
                " due_at double precision NOT NULL, request text NOT NULL)",
                f"CREATE INDEX IF NOT EXISTS {table}_due ON {table} (due_at, id)",
            ),
            add=(
                f"INSERT INTO {table} (id, due_at, request) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO NOTHING"
            ),
            cancel=f"DELETE FROM {table} WHERE id = %s",
            due=(
                f"SELECT due_at, id, request FROM {table} WHERE due_at <= %s"
                " ORDER BY due_at, id LIMIT %s"
            ),
            remove=f"DELETE FROM {table} WHERE id = ANY(%s)",
            pending=f"SELECT count(*) FROM {table}",
            next_due=f"SELECT min(due_at) FROM {table}",
        )


class PostgresTimerStore:
    """Pending timers in the table ``{table_prefix}_timers`` of the PostgreSQL at ``dsn``.

    Nothing connects until the first call; then the table is created if it does not exist
    yet (any number of processes may race to do it). :meth:`beside` gives the store that
    shares a :class:`~arvo_ray.memory.PostgresMachineMemory`'s database and prefix.

    Args:
        dsn: A libpq connection string, as a URI (``postgresql://user@host:5432/db``) or as
            ``key=value`` pairs. Credentials are never echoed into messages or reprs.
        table_prefix: Prefix of the table name (letters, digits and ``_``, at most 40
            characters), so several applications can share one database.
        max_connections: Connections per process and event loop; fewer than a memory's,
            since each call is one short statement. When all are busy a call waits for one.
        pool_timeout: Seconds a call may wait for a free connection.
        connect_timeout: Seconds opening a connection may take.
        statement_timeout: Seconds the server lets one statement run.

    Raises:
        ValueError: a malformed DSN, an unusable prefix or an out-of-range setting.

    Storage failures (refused connection, timeouts, server errors) surface from the methods as
    :class:`~arvo_ray.memory.MemoryBackendError`.

    Example:
        >>> import asyncio, pickle
        >>> store = PostgresTimerStore(
        ...     "postgresql://arvo:secret@localhost:5432/arvo", table_prefix="shop"
        ... )
        >>> store.table
        'shop_timers'
        >>> store  # nothing connects until the first call, and the password stays hidden
        PostgresTimerStore('postgresql://arvo:***@localhost:5432/arvo', table_prefix='shop')
        >>> pickle.loads(pickle.dumps(store)).table  # travels to Ray actors as its settings
        'shop_timers'
        >>> asyncio.run(store.add(PendingTimer(10.0, "t1", {"id": "t1"})))  # doctest: +SKIP
        True
        >>> [t.id for t in asyncio.run(store.due(now=12.0, limit=10))]  # doctest: +SKIP
        ['t1']
    """

    def __init__(
        self,
        dsn: str,
        *,
        table_prefix: str = "arvo",
        max_connections: int = 4,
        pool_timeout: float = 30.0,
        connect_timeout: float = 5.0,
        statement_timeout: float = 10.0,
    ) -> None:
        self._where = _check_settings(
            "PostgresTimerStore",
            dsn,
            table_prefix=table_prefix,
            max_connections=max_connections,
            pool_timeout=pool_timeout,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
        )
        self._dsn = dsn
        self._table_prefix = table_prefix
        self._max_connections = max_connections
        self._pool_timeout = float(pool_timeout)
        self._connect_timeout = float(connect_timeout)
        self._statement_timeout = float(statement_timeout)
        self.table = f"{table_prefix}_timers"
        self._sql = _Statements.for_table(self.table)
        self._schema = _Schema()
        self._pools = _Pools(self._new_pool)

    @classmethod
    def beside(
        cls, memory: PostgresMachineMemory, *, max_connections: int = 4
    ) -> PostgresTimerStore:
        """The store in ``memory``'s database under its table prefix, with its timeouts: a
        runtime's timers then live, and are backed up, with the workflows that set them.

        Raises:
            TypeError: ``memory`` is not a :class:`~arvo_ray.memory.PostgresMachineMemory`.
        """
        from arvo_ray.memory import PostgresMachineMemory

        if not isinstance(memory, PostgresMachineMemory):
            raise TypeError(
                "PostgresTimerStore.beside needs a PostgresMachineMemory, got "
                f"{type(memory).__name__}; build PostgresTimerStore(dsn, ...) for another memory"
            )
        # The memory keeps its timeouts private; the store on the same server shares them.
        return cls(
            memory.dsn,
            table_prefix=memory.table_prefix,
            max_connections=max_connections,
            pool_timeout=memory._pool_timeout,
            connect_timeout=memory._connect_timeout,
            statement_timeout=memory._statement_timeout,
        )

    @property
    def dsn(self) -> str:
        """The connection string, as given (it may hold a password: do not log it)."""
        return self._dsn

    @property
    def table_prefix(self) -> str:
        """The prefix of the table name."""
        return self._table_prefix

    def __getstate__(self) -> dict[str, Any]:
        return {
            "dsn": self._dsn,
            "table_prefix": self._table_prefix,
            "max_connections": self._max_connections,
            "pool_timeout": self._pool_timeout,
            "connect_timeout": self._connect_timeout,
            "statement_timeout": self._statement_timeout,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state.pop("dsn"), **state)  # type: ignore[misc]

    # -- ITimerStore -----------------------------------------------------------------------

    async def add(self, timer: PendingTimer) -> bool:
        text = json.dumps(timer.request, separators=(",", ":"))
        params = (timer.id, timer.due_at, text)
        added = await self._once("add", timer.id, lambda c: _count(c, self._sql.add, params))
        return added == 1

    async def cancel(self, id: str) -> bool:
        removed = await self._once("cancel", id, lambda c: _count(c, self._sql.cancel, (id,)))
        return removed == 1

    async def due(self, now: float, limit: int) -> list[PendingTimer]:
        if limit < 1:  # PostgreSQL refuses a negative LIMIT
            return []
        rows = await self._retrying("due", lambda c: _all(c, self._sql.due, (now, limit)))
        return [PendingTimer(due_at, id, json.loads(request)) for due_at, id, request in rows]

    async def remove(self, ids: list[str]) -> int:
        if not ids:
            return 0
        return await self._once("remove", None, lambda c: _count(c, self._sql.remove, (ids,)))

    async def pending(self) -> int:
        row = await self._retrying("pending", lambda c: _one(c, self._sql.pending, ()))
        assert row is not None
        return int(row[0])

    async def next_due(self) -> float | None:
        row = await self._retrying("next_due", lambda c: _one(c, self._sql.next_due, ()))
        return None if row is None or row[0] is None else float(row[0])

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections opened for the running event loop (reopened on next use).

        Call it before a loop you used ends, so the connections close cleanly rather than
        when they are garbage-collected.
        """
        await self._pools.aclose()

    def __repr__(self) -> str:
        return f"PostgresTimerStore({self._where!r}, table_prefix={self._table_prefix!r})"

    # -- plumbing --------------------------------------------------------------------------

    def _new_pool(self) -> _Pool:
        return _Pool(self._connect, self._max_connections, self._pool_timeout)

    async def _connect(self) -> Connection:
        return await _open(
            self._dsn,
            connect_timeout=self._connect_timeout,
            statement_timeout=self._statement_timeout,
            prepare=self._ensure_schema,
        )

    async def _ensure_schema(self, conn: Connection) -> None:
        if self._schema.ready:
            return
        async with conn.transaction():
            await _lock_schema(conn, f"arvo_ray timers {self._table_prefix}")
            for statement in self._sql.schema:
                await conn.execute(statement)
        self._schema.ready = True

    async def _once(
        self, operation: str, id: str | None, call: Callable[[Connection], Awaitable[_T]]
    ) -> _T:
        return await _call(
            self._pools, call, retry=False, fail=lambda exc: self._error(operation, id, exc)
        )

    async def _retrying(self, operation: str, call: Callable[[Connection], Awaitable[_T]]) -> _T:
        return await _call(
            self._pools, call, retry=True, fail=lambda exc: self._error(operation, None, exc)
        )

    def _error(self, operation: str, id: str | None, exc: BaseException) -> MemoryBackendError:
        target = f" timer {id!r}" if id is not None else ""
        return MemoryBackendError(
            f"PostgreSQL timer store at {self._where} (table {self.table!r}) could not "
            f"{operation}{target}: {_explain(exc)}.",
            operation=operation,
            backend=f"PostgreSQL {self._where}",
            id=id,
        )
