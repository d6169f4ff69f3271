"""What every PostgreSQL-backed store of the package shares (the machine memory, the timer
store): settings checked when the object is built, a small bounded pool of psycopg connections
per event loop and process, tables made by the first connection, and failures worded for the
person who has to fix them.

An asyncio connection belongs to the loop that opened it, so each running loop (and each
process: a fork starts afresh) gets its own pool, opened on first use; the stores pickle as
their DSN and settings. A pool opens a connection when a call needs one and none is idle, so an
unreachable server fails the call at once instead of after a pool wait.

Importers check for ``psycopg`` first and name themselves in the ``ImportError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

__all__ = [
    "Connection",
    "_NewerSchema",
    "_Pool",
    "_PoolTimeout",
    "_Pools",
    "_Schema",
    "_all",
    "_call",
    "_check_settings",
    "_count",
    "_explain",
    "_lock_schema",
    "_one",
    "_open",
]

_T = TypeVar("_T")

Connection = psycopg.AsyncConnection[TupleRow]

# Read retries: three attempts with ~150 ms back-off, abandoned once a second has passed.
_READ_BACKOFF = (0.05, 0.1)
_READ_BUDGET = 1.0

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


class _PoolTimeout(Exception):
    """Every connection of the pool stayed busy for longer than ``pool_timeout``."""


class _NewerSchema(Exception):
    """The tables were laid out by a newer arvo_ray."""


_FAILURES = (psycopg.Error, OSError, TimeoutError, _PoolTimeout, _NewerSchema)


class _Pool:
    """A bounded set of connections for one event loop.

    A call takes an idle connection, or opens one while fewer than ``max_size`` exist, or
    waits (up to ``timeout`` seconds) for one to come back. A connection that is broken, or
    left inside a transaction, is closed instead of being reused.
    """

    def __init__(
        self, connect: Callable[[], Awaitable[Connection]], max_size: int, timeout: float
    ) -> None:
        self._connect = connect
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(max_size)
        self._timeout = timeout

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout)
        except TimeoutError:
            raise _PoolTimeout(
                f"No connection available within pool_timeout={self._timeout:g} s"
            ) from None
        conn: Connection | None = None
        try:
            conn = self._idle.pop() if self._idle else await self._connect()
            yield conn
        finally:
            if conn is not None:
                if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(Exception):
                        await conn.close()
                else:
                    self._idle.append(conn)
            self._slots.release()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()


class _Pools:
    """One :class:`_Pool` per running event loop and process, shared by an instance and its
    views."""

    def __init__(self, make: Callable[[], _Pool]) -> None:
        self._make = make
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = (
            weakref.WeakKeyDictionary()
        )
        self._mutex = threading.Lock()
        self._pid = os.getpid()

    def get(self) -> _Pool:
        loop = asyncio.get_running_loop()
        with self._mutex:
            if self._pid != os.getpid():  # forked: the parent's connections are not ours
                self._by_loop = weakref.WeakKeyDictionary()
                self._pid = os.getpid()
            pool = self._by_loop.get(loop)
            if pool is None:
                pool = self._make()
                self._by_loop[loop] = pool
        return pool

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._mutex:
            pool = self._by_loop.pop(loop, None) if self._pid == os.getpid() else None
        if pool is not None:
            await pool.aclose()


@dataclass
class _Schema:
    """Whether this process has made sure the tables exist (shared by an object's views)."""

    ready: bool = False


def _check_settings(
    kind: str,
    dsn: object,
    *,
    table_prefix: object,
    max_connections: object,
    pool_timeout: object,
    connect_timeout: object,
    statement_timeout: object,
) -> str:
    """Refuse unusable settings of a ``kind`` store before anything connects; return the
    server as a URI without its password, for messages and reprs.

    Raises:
        TypeError: ``dsn`` is no string, or ``max_connections`` no int.
        ValueError: a malformed DSN, an unusable prefix or an out-of-range setting.
    """
    if not isinstance(dsn, str):
        raise TypeError(f"{kind} needs a libpq connection string, got {type(dsn).__name__}")
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        raise ValueError(f"malformed PostgreSQL connection string: {exc}") from None
    # The prefix is spliced into SQL as an identifier, so it must be a plain one.
    if not isinstance(table_prefix, str) or not _PREFIX.fullmatch(table_prefix):
        raise ValueError(
            "table_prefix must be letters, digits and '_' (not starting with a digit, at "
            f"most 40 characters), got {table_prefix!r}"
        )
    if isinstance(max_connections, bool) or not isinstance(max_connections, int):
        raise TypeError(f"max_connections must be an int, got {max_connections!r}")
    if max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, got {max_connections!r}")
    for name, value in (
        ("pool_timeout", pool_timeout),
        ("connect_timeout", connect_timeout),
        ("statement_timeout", statement_timeout),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return _describe_dsn(params)


async def _open(
    dsn: str,
    *,
    connect_timeout: float,
    statement_timeout: float,
    prepare: Callable[[Connection], Awaitable[None]] | None = None,
) -> Connection:
    """A new autocommit connection with the statement timeout set, ``prepare``d (schema).

    A connection that fails its preparation is closed rather than left to the collector.
    """
    async with asyncio.timeout(connect_timeout):
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    try:
        await conn.execute(f"SET statement_timeout = {max(1, round(statement_timeout * 1000))}")
        if prepare is not None:
            await prepare(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


async def _lock_schema(conn: Connection, name: str) -> None:
    """Queue behind every other process creating the tables ``name`` stands for, until the
    transaction ends.

    ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent twin (both may try to
    create the row type), so creators take an advisory lock named after what they create.
    """
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


async def _call(
    pools: _Pools,
    call: Callable[[Connection], Awaitable[_T]],
    *,
    retry: bool,
    fail: Callable[[BaseException], Exception],
) -> _T:
    """``call`` on a pooled connection; a storage failure is raised as ``fail(exc)``.

    With ``retry`` (reads, and other calls safe to repeat) a lost or refused connection is
    tried again a couple of times within a second; without it (writes) the first failure
    stands, because the write may have landed.
    """
    deadline = time.monotonic() + _READ_BUDGET
    for delay in (*_READ_BACKOFF, None) if retry else (None,):
        try:
            async with pools.get().connection() as conn:
                return await call(conn)
        except _FAILURES as exc:
            if delay is None or not _is_transient(exc) or time.monotonic() + delay >= deadline:
                raise fail(exc) from exc
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def _one(conn: Connection, query: str, params: tuple[Any, ...]) -> TupleRow | None:
    cursor = await conn.execute(query, params)
    return await cursor.fetchone()


async def _all(conn: Connection, query: str, params: tuple[Any, ...]) -> list[TupleRow]:
    cursor = await conn.execute(query, params)
    return await cursor.fetchall()


async def _count(conn: Connection, query: str, params: tuple[Any, ...]) -> int:
    """How many rows the statement inserted, updated or deleted."""
    cursor = await conn.execute(query, params)
    return cursor.rowcount


def _describe_dsn(params: Mapping[str, Any]) -> str:
    """The server as a URI without the password, for messages and reprs."""
    user = params.get("user")
    password = ":***" if params.get("password") else ""
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    dbname = params.get("dbname") or ""
    at = f"{user}{password}@" if user else ""
    return f"postgresql://{at}{host}{port}/{dbname}"


def _is_transient(exc: BaseException) -> bool:
    """A lost or refused connection, or a server shutting down: worth another try."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    # No SQLSTATE: libpq's own connection failure. Class 08: connection exception.
    # 57P01-57P03: the server is shutting down, crashed or not yet accepting connections.
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def _explain(exc: BaseException) -> str:
    """The failure in one line, with what to check."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, _PoolTimeout):
        hint = "every connection stayed busy; raise max_connections or pool_timeout"
    elif isinstance(exc, _NewerSchema):
        return text
    elif isinstance(exc, pg_errors.QueryCanceled):
        hint = "the statement outlived statement_timeout; check the server's load and locks"
    elif _is_transient(exc) and not isinstance(exc, TimeoutError):
        hint = "is the server running and reachable at that address?"
    elif isinstance(exc, TimeoutError):
        text = "timed out"
        hint = "the server did not answer within connect_timeout; check it and the network"
    else:
        hint = "see the PostgreSQL error"
    return f"{text} ({hint})"
