"""``SQLiteMachineMemory``: the embedded, durable default, shared by all processes of one machine.

One SQLite file in WAL mode holds two tables: ``arvo_machine_records`` (id, JSON text, version,
digest of the canonical JSON, updated_at) and ``arvo_machine_locks`` (id, owner, expires_at).
Every write checks the lock (fencing) and the digest (compare-and-set) and then writes, inside
a ``BEGIN IMMEDIATE`` transaction, so concurrent writers in any number of processes serialise on
SQLite's write lock and exactly one wins per version.

Writes, lock acquisitions and unlocks issued during one turn of the event loop share that
transaction (a group commit): a host stepping a batch of workflows pays for one ``BEGIN`` and
one ``COMMIT`` (and one set of WAL pages) per batch instead of per step. Each call still
succeeds or fails on its own, because a call that is refused (stale, fenced, lock taken) is
refused before it changes anything; only a failure of SQLite itself fails the whole group.

Why the async methods call ``sqlite3`` directly instead of hopping to a thread: each call is a
single short transaction on a local file (well under a millisecond), and a thread hop would cost
more than the work while giving up the "no ``await`` inside a transaction" guarantee that lets
asyncio tasks share one connection. The only long wait is SQLite's busy handler when another
process holds the write lock, bounded by ``busy_timeout``.

Connections are opened lazily, one per thread and process (kept in thread-local storage), so the object pickles as its path
and settings and reconnects wherever it is unpickled (Ray ships it to worker processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from arvo_ray.memory import _json
from arvo_ray.memory._base import (
    DEFAULT_LOCK_TTL,
    BaseMachineMemory,
    Clock,
    check_fencing,
    stale_error,
)
from arvo_ray.memory._errors import MemoryBackendError, short_id
from arvo_ray.memory._protocol import LockInfo, RecordMeta

__all__ = ["SQLiteMachineMemory"]

_T = TypeVar("_T")

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS arvo_machine_records (
    id TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL,
    version INTEGER NOT NULL,
    digest TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS arvo_machine_locks (
    id TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""

# Read retries: three attempts, about 150 ms of back-off in all (the spec asks for under 1 s).
_READ_BACKOFF = (0.05, 0.1)

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]


class _Connections:
    """One ``sqlite3`` connection per thread (and per process), opened on first use.

    Shared by an instance and all of its :meth:`~SQLiteMachineMemory.for_owner` views. asyncio
    tasks on one thread share that thread's connection safely because no method awaits while a
    transaction is open. A connection lives in thread-local storage only, so it is closed in
    its own thread when that thread ends; nothing ever closes a connection another thread may
    be using (that can crash the interpreter).
    """

    def __init__(self, opener: Callable[[], sqlite3.Connection]) -> None:
        self._opener = opener
        self._local = threading.local()
        self._pid = os.getpid()

    def get(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            # Forked: the parent's connections must not be used (or closed) here.
            self._local = threading.local()
            self._pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._opener()
            self._local.conn = conn
        return conn

    def group(self, loop: asyncio.AbstractEventLoop) -> tuple[_Group, bool]:
        """The calling thread's group still open on ``loop``, and whether it is new."""
        self.get()  # resets the thread-local state after a fork
        group: _Group | None = getattr(self._local, "group", None)
        if group is not None and group.loop is loop:
            return group, False
        # None, or left behind by a loop that closed before it ran: its callers are gone.
        group = self._local.group = _Group(loop)
        return group, True

    def take(self, group: _Group) -> None:
        """Close ``group`` to newcomers: later calls start the next one."""
        if getattr(self._local, "group", None) is group:
            self._local.group = None

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and self._pid == os.getpid():
            conn.close()


@dataclass(slots=True)
class _Call:
    operation: str
    id: str | None
    work: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _Group:
    """Calls issued during one turn of ``loop``, to run in one transaction when it ends."""

    loop: asyncio.AbstractEventLoop
    calls: list[_Call] = field(default_factory=list)


class SQLiteMachineMemory(BaseMachineMemory):
    """Machine memory in one SQLite file (WAL mode), safe across the processes of one machine.

    The constructor opens the file right away, so a bad path or a corrupt file fails here with
    :class:`~arvo_ray.memory.MemoryBackendError` rather than at the first workflow step. An
    unpickled copy reconnects lazily on first use.

    Args:
        path: The database file; missing parent directories are created. ``":memory:"`` is
            refused (it would be a different database per connection); use
            :class:`~arvo_ray.memory.SimpleMachineMemory` instead.
        lock_ttl: Seconds before a lock lapses (mandatory TTL).
        owner: The owner token; a random UUID by default.
        busy_timeout: Seconds a call waits for another process's write transaction.
        synchronous: SQLite's ``synchronous`` pragma. ``"NORMAL"`` (the default) cannot corrupt
            the file in WAL mode but may lose the last commits on power loss; ``"FULL"`` trades
            write speed for surviving that too.
        clock: Returns Unix time in seconds; lock expiry is compared across processes, so it
            must be the wall clock (tests may inject a fake one).

    Raises:
        MemoryBackendError: the path is a directory, cannot be created or written, or is not
            a SQLite database.
        ValueError: a setting is out of range.

    Example:
        >>> import asyncio, tempfile, os
        >>> memory = SQLiteMachineMemory(os.path.join(tempfile.mkdtemp(), "memory.db"))
        >>> asyncio.run(memory.write("subject", {"n": 1}, None))
        >>> asyncio.run(memory.read_meta("subject"))["version"]
        1
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        owner: str | None = None,
        busy_timeout: float = 5.0,
        synchronous: Synchronous = "NORMAL",
        clock: Clock = time.time,
    ) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError(
                f"SQLiteMachineMemory needs a file path, got {str(path)!r}; an in-memory "
                "database is per-connection, so use SimpleMachineMemory for in-process memory"
            )
        if not busy_timeout >= 0:
            raise ValueError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(
                f"synchronous must be one of 'OFF', 'NORMAL', 'FULL', 'EXTRA', got {synchronous!r}"
            )
        self._init_owner(owner, lock_ttl)
        self._path = Path(path).expanduser().absolute()
        self._busy_timeout = float(busy_timeout)
        self._synchronous: Synchronous = synchronous
        self._clock = clock
        self._conns = _Connections(self._open)
        self._conns.get()  # fail now, not at the first workflow step

    @property
    def path(self) -> Path:
        """The absolute path of the database file."""
        return self._path

    # -- the contract ----------------------------------------------------------------------

    async def read(self, id: str) -> dict[str, Any] | None:
        """Return a fresh copy of the record under ``id``, or ``None``."""
        _json.check_id(id, "read")
        row = await self._retrying(
            "read",
            id,
            lambda conn: conn.execute(
                "SELECT data FROM arvo_machine_records WHERE id = ?", (id,)
            ).fetchone(),
        )
        return self._decode(id, None if row is None else row[0])

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        """Store ``data`` if the stored record equals ``prev``; see :class:`IMachineMemory`."""
        await self._grouped("write", id, self._compare_and_set(id, data, prev, release=False))

    async def write_and_unlock(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None
    ) -> bool:
        """``write`` and ``unlock`` in one transaction (one commit); see
        :func:`arvo_ray.memory.write_and_unlock`."""
        held = id in self._held
        try:
            await self._grouped("write", id, self._compare_and_set(id, data, prev, release=True))
        except BaseException:
            with contextlib.suppress(Exception):  # the TTL bounds a lock that cannot be released
                await self.unlock(id)
            raise
        self._held.discard(id)
        return held

    def _compare_and_set(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None, *, release: bool
    ) -> Callable[[sqlite3.Connection], None]:
        """The fenced compare-and-set write, to run inside a transaction; with ``release``, it
        also drops this owner's lock row. A refused write raises before changing anything."""
        _json.check_id(id, "write")
        text, new_digest, prev_digest = _json.for_write(id, data, prev)
        expects_lock = id in self._held

        def write(conn: sqlite3.Connection) -> None:
            now = self._clock()
            lock_row = conn.execute(
                "SELECT owner, expires_at FROM arvo_machine_locks WHERE id = ?", (id,)
            ).fetchone()
            check_fencing(
                id,
                owner=self._owner,
                expects_lock=expects_lock,
                holder=None if lock_row is None else lock_row[0],
                holder_expires_at=None if lock_row is None else lock_row[1],
                now=now,
                lock_ttl=self._lock_ttl,
            )
            if prev_digest is None:
                changed = conn.execute(
                    "INSERT INTO arvo_machine_records (id, data, version, digest, updated_at)"
                    " VALUES (?, ?, 1, ?, ?) ON CONFLICT (id) DO NOTHING",
                    (id, text, new_digest, now),
                ).rowcount
            else:
                changed = conn.execute(
                    "UPDATE arvo_machine_records SET data = ?, version = version + 1,"
                    " digest = ?, updated_at = ? WHERE id = ? AND digest = ?",
                    (text, new_digest, now, id, prev_digest),
                ).rowcount
            if changed != 1:
                row = conn.execute(
                    "SELECT version FROM arvo_machine_records WHERE id = ?", (id,)
                ).fetchone()
                raise stale_error(
                    id,
                    prev_given=prev is not None,
                    current_version=None if row is None else row[0],
                )
            if release:
                conn.execute(
                    "DELETE FROM arvo_machine_locks WHERE id = ? AND owner = ?", (id, self._owner)
                )

        return write

    async def lock(self, id: str) -> bool:
        """Lock ``id`` for :attr:`lock_ttl` seconds unless any live lock exists (not re-entrant)."""
        _json.check_id(id, "lock")

        acquired = await self._grouped("lock", id, lambda conn: self._acquire(conn, id))
        if acquired:
            self._held.add(id)
        return acquired

    async def lock_and_read(self, id: str) -> tuple[bool, dict[str, Any] | None]:
        """``lock`` and, if acquired, ``read`` in one transaction; see
        :func:`arvo_ray.memory.lock_and_read`."""
        _json.check_id(id, "lock")

        def acquire_and_read(conn: sqlite3.Connection) -> tuple[bool, str | None]:
            if not self._acquire(conn, id):
                return False, None
            row = conn.execute(
                "SELECT data FROM arvo_machine_records WHERE id = ?", (id,)
            ).fetchone()
            return True, None if row is None else row[0]

        acquired, text = await self._grouped("lock", id, acquire_and_read)
        if not acquired:
            return False, None
        return await self._locked_and_decoded(id, lambda: self._decode(id, text))

    def _acquire(self, conn: sqlite3.Connection, id: str) -> bool:
        now = self._clock()
        # Insert, or take over a lapsed lock; a live lock (ours included) leaves the row alone
        # and changes nothing.
        return (
            conn.execute(
                "INSERT INTO arvo_machine_locks (id, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET owner = excluded.owner,"
                " expires_at = excluded.expires_at WHERE arvo_machine_locks.expires_at <= ?",
                (id, self._owner, now + self._lock_ttl, now),
            ).rowcount
            == 1
        )

    def _decode(self, id: str, text: str | None) -> dict[str, Any] | None:
        if text is None:
            return None
        try:
            return _json.loads(text)
        except ValueError as exc:
            raise self._error("read", id, f"the stored JSON is corrupt ({exc})") from exc

    async def unlock(self, id: str) -> bool:
        """Release this owner's live lock on ``id``; ``False`` (never an error) otherwise."""
        _json.check_id(id, "unlock")
        self._held.discard(id)

        def release(conn: sqlite3.Connection) -> bool:
            released = conn.execute(
                "DELETE FROM arvo_machine_locks WHERE id = ? AND owner = ? AND expires_at > ?",
                (id, self._owner, self._clock()),
            ).rowcount
            if not released:  # tidy up our own lapsed row, if any; someone else's stays
                conn.execute(
                    "DELETE FROM arvo_machine_locks WHERE id = ? AND owner = ?", (id, self._owner)
                )
            return released == 1

        return await self._retrying("unlock", id, release, grouped=True)

    # -- inspection ------------------------------------------------------------------------

    async def list_ids(self, prefix: str = "") -> list[str]:
        """Ids of the stored records starting with ``prefix``, sorted."""
        rows = await self._retrying(
            "list_ids",
            None,
            lambda conn: conn.execute(
                "SELECT id FROM arvo_machine_records WHERE substr(id, 1, ?) = ? ORDER BY id",
                (len(prefix), prefix),
            ).fetchall(),
        )
        return [row[0] for row in rows]

    async def list_outboxes(self) -> dict[str, list[dict[str, Any]]]:
        """Id → outbox items of every record whose outbox is not empty, in one query: what a
        recovery sweep needs, without reading (and decoding) every record."""
        rows = await self._retrying(
            "list_outboxes",
            None,
            lambda conn: conn.execute(
                "SELECT id, json_extract(data, '$.outbox') FROM arvo_machine_records"
                " WHERE json_type(data, '$.outbox') = 'array'"
                " AND json_array_length(data, '$.outbox') > 0 ORDER BY id"
            ).fetchall(),
        )
        return {id: json.loads(items) for id, items in rows}

    async def locks(self) -> list[LockInfo]:
        """Every recorded lock, sorted by id; lapsed ones are flagged ``expired``."""
        rows = await self._retrying(
            "locks",
            None,
            lambda conn: conn.execute(
                "SELECT id, owner, expires_at FROM arvo_machine_locks ORDER BY id"
            ).fetchall(),
        )
        now = self._clock()
        return [
            LockInfo(id=i, owner=owner, expires_at=expires_at, expired=expires_at <= now)
            for i, owner, expires_at in rows
        ]

    async def delete(self, id: str, prev: Mapping[str, Any]) -> bool:
        """Remove the record under ``id`` if it still equals ``prev`` (compared as ``write``
        compares); ``False`` when it changed or is gone. Locks are left alone."""
        _json.check_id(id, "delete")
        expected = _json.digest_of_prev(id, _json.check_data(id, prev))
        removed = await self._once(
            "delete",
            id,
            lambda conn: (
                conn.execute(
                    "DELETE FROM arvo_machine_records WHERE id = ? AND digest = ?", (id, expected)
                ).rowcount
            ),
        )
        return removed == 1

    async def force_unlock(self, id: str) -> bool:
        """Remove the lock on ``id`` whoever holds it; ``True`` if it was live."""
        _json.check_id(id, "force_unlock")

        def remove(conn: sqlite3.Connection) -> bool:
            live = conn.execute(
                "DELETE FROM arvo_machine_locks WHERE id = ? AND expires_at > ?",
                (id, self._clock()),
            ).rowcount
            conn.execute("DELETE FROM arvo_machine_locks WHERE id = ?", (id,))
            return live == 1

        return await self._once("force_unlock", id, remove)

    async def read_meta(self, id: str) -> RecordMeta | None:
        """Version, update time and digest of the record under ``id``, or ``None``."""
        _json.check_id(id, "read_meta")
        row = await self._retrying(
            "read_meta",
            id,
            lambda conn: conn.execute(
                "SELECT version, updated_at, digest FROM arvo_machine_records WHERE id = ?", (id,)
            ).fetchone(),
        )
        if row is None:
            return None
        return RecordMeta(version=row[0], updated_at=row[1], digest=row[2])

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the calling thread's connection (shared with the views); reopened on next use.

        Other threads' connections close when those threads end.
        """
        self._conns.close()

    async def aclose(self) -> None:
        """Async spelling of :meth:`close`, for symmetry with the Redis backend."""
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self._state_for_pickle()
        del state["_conns"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._conns = _Connections(self._open)  # connects on first use, in that process

    def _describe(self) -> str:
        return repr(str(self._path))

    # -- plumbing --------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        path = self._path
        if path.is_dir():
            raise self._error("open", None, "the path is a directory; give a file path inside it")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(
                "open", None, f"cannot create its directory ({exc.strerror or exc})"
            ) from exc
        try:
            conn = sqlite3.connect(
                path,
                timeout=self._busy_timeout,
                isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
            )
        except sqlite3.Error as exc:
            raise self._error("open", None, _explain(exc)) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._ensure_schema(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self._error("open", None, _explain(exc)) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == _SCHEMA_VERSION:
            return
        if version > _SCHEMA_VERSION:
            raise self._error(
                "open",
                None,
                f"the file has schema version {version}, newer than this arvo_ray supports "
                f"({_SCHEMA_VERSION}); upgrade arvo_ray",
            )
        # Several processes may open a fresh file at once: the write lock makes this run once.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    async def _grouped(
        self, operation: str, id: str | None, work: Callable[[sqlite3.Connection], _T]
    ) -> _T:
        """Run ``work`` in the transaction shared by the calls of this turn of the loop."""
        loop = asyncio.get_running_loop()
        group, new = self._conns.group(loop)
        if new:
            loop.call_soon(self._commit, group)
        future: asyncio.Future[_T] = loop.create_future()
        group.calls.append(_Call(operation, id, work, future))
        return await future

    def _commit(self, group: _Group) -> None:
        """Run a group's calls in one transaction and settle each call's future.

        A call that raises anything but a SQLite error is refused alone (it raised before
        changing anything); a SQLite error rolls the whole group back and fails every call.
        """
        self._conns.take(group)
        calls = [call for call in group.calls if not call.future.cancelled()]
        if not calls:
            return
        outcomes: list[tuple[bool, Any]] = []
        conn: sqlite3.Connection | None = None
        try:
            conn = self._conns.get()
            conn.execute("BEGIN IMMEDIATE")
            for call in calls:
                try:
                    outcomes.append((True, call.work(conn)))
                except sqlite3.Error:
                    raise
                except Exception as refused:
                    outcomes.append((False, refused))
            conn.execute("COMMIT")
        except Exception as exc:
            if conn is not None and conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            for call in calls:
                if isinstance(exc, sqlite3.Error):
                    error: Exception = self._error(
                        call.operation, call.id, _explain(exc, self._busy_timeout)
                    )
                    error.__cause__ = exc
                else:
                    error = exc
                if not call.future.done():
                    call.future.set_exception(error)
            return
        for call, (ok, outcome) in zip(calls, outcomes, strict=True):
            if call.future.done():
                continue
            if ok:
                call.future.set_result(outcome)
            else:
                call.future.set_exception(outcome)

    async def _once(
        self, operation: str, id: str | None, call: Callable[[sqlite3.Connection], _T]
    ) -> _T:
        try:
            return call(self._conns.get())
        except sqlite3.Error as exc:
            raise self._error(operation, id, _explain(exc, self._busy_timeout)) from exc

    async def _retrying(
        self,
        operation: str,
        id: str | None,
        call: Callable[[sqlite3.Connection], _T],
        *,
        grouped: bool = False,
    ) -> _T:
        """``_once`` (or ``_grouped``), tried again while another process holds the file's
        write lock."""
        for delay in (*_READ_BACKOFF, None):
            try:
                if grouped:
                    return await self._grouped(operation, id, call)
                return await self._once(operation, id, call)
            except MemoryBackendError as exc:
                busy = isinstance(exc.__cause__, sqlite3.OperationalError) and _is_transient(
                    exc.__cause__
                )
                if delay is None or not busy:
                    raise
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, operation: str, id: str | None, why: str) -> MemoryBackendError:
        target = f" {short_id(id)!r}" if id is not None else ""
        verb = "open" if operation == "open" else f"{operation}{target}"
        return MemoryBackendError(
            f"SQLite machine memory at '{self._path}' could not {verb}: {why}.",
            operation=operation,
            backend=f"SQLite '{self._path}'",
            id=id,
        )


def _is_transient(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _explain(exc: sqlite3.Error, busy_timeout: float | None = None) -> str:
    text = str(exc)
    lower = text.lower()
    if "not a database" in lower or "malformed" in lower or "corrupt" in lower:
        hint = "the file is corrupt or is not a SQLite database; move it aside or use another path"
    elif "unable to open" in lower:
        hint = "check that the path is a file in an existing, writable directory"
    elif "readonly" in lower or "read-only" in lower:
        hint = "the file or its directory is read-only; fix the permissions or use another path"
    elif ("locked" in lower or "busy" in lower) and busy_timeout is not None:
        hint = (
            f"another process held the write lock for longer than busy_timeout={busy_timeout:g} s; "
            "retry, or raise busy_timeout"
        )
    elif "disk" in lower or "full" in lower:
        hint = "the disk is full or failing"
    else:
        hint = "see the SQLite error"
    return f"{text} ({hint})"
