"""``PostgresMachineMemory``: machine memory for many nodes, on PostgreSQL (psycopg 3, async).

Three tables and two functions per prefix, created on first use (``arvo`` is the default prefix):

* ``arvo_machine_records``: key, id, data (JSON text, in the caller's key order), version
  (incremented by every write), digest (SHA-256 of the canonical JSON), updated_at, and
  ``has_outbox`` (the record's ``outbox`` holds events; a partial index on it lets the recovery
  sweep find those records without reading every record);
* ``arvo_machine_locks``: key, id, owner, expires_at;
* ``arvo_machine_meta``: the schema version, so an older arvo_ray never misreads a newer layout.

Rows are keyed by the SHA-256 of the id rather than by the id: subjects are base64 text of a
few KB, longer than a B-tree index entry may be.

Data is ``text`` rather than ``jsonb``: ``jsonb`` reorders keys (records must read back as
written) and rejects JSON that Python accepts (escaped lone surrogates).

**Time is the server's.** Lock expiry and ``updated_at`` use ``clock_timestamp()`` on the
server, so workers whose clocks disagree still agree on when a lock lapses (Redis does the same
with its key TTLs). Times are stored as Unix seconds (``double precision``).

**Writes are one function call** (``arvo_machine_write``, created with the tables; one round
trip and one transaction, as the Redis backend's Lua script is). It row-locks the id's lock
row, then its record row (``FOR UPDATE``), applies the fencing rules of
:func:`~arvo_ray.memory._base.check_fencing`, compares the digest of ``prev`` and then writes
with ``UPDATE … WHERE version = <the version it locked>``. A lock taken (or taken over) by
another owner has to wait for that row lock, so it lands either wholly before the write (and
fences it) or wholly after it. Every transaction takes the lock row before the record row, so
they cannot deadlock. ``arvo_machine_lock_and_read`` likewise takes a lock and reads the record
in one call. The messages of refused writes are worded in Python, from what the function
returns.

**Connections.** An asyncio connection belongs to the loop that opened it, so each running
loop (and each process: a fork starts afresh) gets its own small bounded pool, opened on first
use; the object pickles as its DSN and settings. The pool opens a connection when a call needs
one and none is idle, so an unreachable server fails the call at once instead of after a pool
wait, as the Redis backend does. This handling lives in ``arvo_ray._postgres_clients``, so the
timer store beside the memory (``arvo_ray.timers.PostgresTimerStore``) behaves alike.

This module imports ``psycopg``; ``arvo_ray.memory`` imports it only when
``PostgresMachineMemory`` is first used, so the package works without the optional dependency.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

try:
    import psycopg  # noqa: F401  (checked here, so the message names this class)
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "PostgresMachineMemory needs the 'psycopg' package (psycopg >= 3.1): "
        "pip install 'arvo-ray[postgres]'"
    ) from _exc

from arvo_ray._postgres_clients import (
    Connection,
    _all,
    _call,
    _check_settings,
    _explain,
    _lock_schema,
    _NewerSchema,
    _one,
    _open,
    _Pool,
    _Pools,
    _Schema,
)
from arvo_ray.memory import _json
from arvo_ray.memory._base import (
    DEFAULT_LOCK_TTL,
    BaseMachineMemory,
    check_fencing,
    stale_error,
)
from arvo_ray.memory._errors import MemoryBackendError, short_id
from arvo_ray.memory._protocol import LockInfo, RecordMeta

__all__ = ["PostgresMachineMemory"]

_T = TypeVar("_T")

_SCHEMA_VERSION = 1

_NOW = "extract(epoch FROM clock_timestamp())"


# The write, as one function call (one round trip, one transaction). It row-locks the lock row,
# then the record row; mirrors arvo_ray.memory._base.check_fencing, then compares the digest
# of prev and writes with ``WHERE version = <the version it locked>``. A refused write changes
# nothing; with p_release this owner's lock row is deleted either way. It returns what Python
# needs to word the refusal.
_WRITE_FUNCTION = """
CREATE OR REPLACE FUNCTION {write}(
  p_key bytea, p_id text, p_owner text, p_expects_lock boolean, p_prev text,
  p_data text, p_digest text, p_outbox boolean, p_release boolean)
RETURNS TABLE (o_written boolean, o_released boolean, o_now double precision,
  o_holder text, o_holder_expires_at double precision, o_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_now double precision := extract(epoch FROM clock_timestamp());
  v_holder text; v_expires double precision; v_version bigint; v_digest text;
  v_live boolean; v_ok boolean; v_released boolean := false;
BEGIN
  SELECT l.owner, l.expires_at INTO v_holder, v_expires
    FROM {locks} AS l WHERE l.key = p_key FOR UPDATE;
  SELECT r.version, r.digest INTO v_version, v_digest
    FROM {records} AS r WHERE r.key = p_key FOR UPDATE;
  v_live := v_holder IS NOT NULL AND v_expires > v_now;
  IF p_expects_lock THEN
    v_ok := v_live AND v_holder = p_owner;
  ELSE
    v_ok := NOT v_live OR v_holder = p_owner;
  END IF;
  v_ok := v_ok AND v_digest IS NOT DISTINCT FROM p_prev;
  IF v_ok AND v_version IS NULL THEN
    INSERT INTO {records} AS r (key, id, data, version, digest, updated_at, has_outbox)
      VALUES (p_key, p_id, p_data, 1, p_digest, v_now, p_outbox)
      ON CONFLICT (key) DO NOTHING;
    IF NOT FOUND THEN  -- created by a concurrent writer since we looked
      v_ok := false;
      SELECT r.version INTO v_version FROM {records} AS r WHERE r.key = p_key;
    END IF;
  ELSIF v_ok THEN
    UPDATE {records} AS r SET data = p_data, version = r.version + 1, digest = p_digest,
      updated_at = v_now, has_outbox = p_outbox
      WHERE r.key = p_key AND r.version = v_version;
  END IF;
  IF p_release AND v_holder = p_owner THEN
    DELETE FROM {locks} AS l WHERE l.key = p_key AND l.owner = p_owner;
    v_released := FOUND AND v_live;
  END IF;
  RETURN QUERY SELECT v_ok, v_released, v_now, v_holder, v_expires, v_version;
END $$
"""

# Take a free or lapsed lock and, if taken, read the record (each statement of a function sees
# what was committed before it ran, so the read sees any write committed before the lock).
_LOCK_AND_READ_FUNCTION = """
CREATE OR REPLACE FUNCTION {lock_and_read}(
  p_key bytea, p_id text, p_owner text, p_ttl double precision)
RETURNS TABLE (o_acquired boolean, o_data text)
LANGUAGE plpgsql AS $$
DECLARE
  v_now double precision := extract(epoch FROM clock_timestamp());
BEGIN
  INSERT INTO {locks} AS l (key, id, owner, expires_at) VALUES (p_key, p_id, p_owner, v_now + p_ttl)
    ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
    WHERE l.expires_at <= v_now;
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, NULL::text;
  ELSE
    RETURN QUERY SELECT true, (SELECT r.data FROM {records} AS r WHERE r.key = p_key);
  END IF;
END $$
"""


@dataclass(frozen=True)
class _Statements:
    """The SQL of one table prefix, built once."""

    meta: str
    schema: tuple[str, ...]
    read: str
    write: str
    lock: str
    lock_and_read: str
    unlock: str
    list_ids: str
    list_outboxes: str
    locks: str
    force_unlock: str
    read_meta: str
    delete: str

    @classmethod
    def for_prefix(cls, prefix: str) -> _Statements:
        names = {
            name: f"{prefix}_machine_{name}"
            for name in ("records", "locks", "meta", "write", "lock_and_read")
        }
        records, locks, meta = names["records"], names["locks"], names["meta"]
        return cls(
            meta=f"CREATE TABLE IF NOT EXISTS {meta} (key text PRIMARY KEY, value text NOT NULL)",
            schema=(
                f"CREATE TABLE IF NOT EXISTS {records} (key bytea PRIMARY KEY, id text NOT NULL,"
                " data text NOT NULL, version bigint NOT NULL, digest text NOT NULL,"
                " updated_at double precision NOT NULL, has_outbox boolean NOT NULL)",
                f"CREATE TABLE IF NOT EXISTS {locks} (key bytea PRIMARY KEY, id text NOT NULL,"
                " owner text NOT NULL, expires_at double precision NOT NULL)",
                f"CREATE INDEX IF NOT EXISTS {prefix}_machine_outboxes ON {records} (key)"
                " WHERE has_outbox",
                _WRITE_FUNCTION.format(**names),
                _LOCK_AND_READ_FUNCTION.format(**names),
            ),
            read=f"SELECT data FROM {records} WHERE key = %s",
            write=f"SELECT * FROM {names['write']}(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            # Insert, or take over a lapsed lock; a live lock (ours too) is left alone.
            lock=(
                f"INSERT INTO {locks} AS l (key, id, owner, expires_at)"
                f" VALUES (%s, %s, %s, {_NOW} + %s) ON CONFLICT (key) DO UPDATE"
                " SET owner = excluded.owner, expires_at = excluded.expires_at"
                f" WHERE l.expires_at <= {_NOW} RETURNING true"
            ),
            lock_and_read=f"SELECT * FROM {names['lock_and_read']}(%s, %s, %s, %s)",
            unlock=(
                f"DELETE FROM {locks} WHERE key = %s AND owner = %s RETURNING expires_at > {_NOW}"
            ),
            list_ids=(
                f"SELECT id FROM {records} WHERE left(id, char_length(%s)) = %s"
                ' ORDER BY id COLLATE "C"'
            ),
            list_outboxes=f'SELECT id, data FROM {records} WHERE has_outbox ORDER BY id COLLATE "C"',
            locks=(
                f"SELECT id, owner, expires_at, expires_at <= {_NOW} FROM {locks}"
                ' ORDER BY id COLLATE "C"'
            ),
            force_unlock=f"DELETE FROM {locks} WHERE key = %s RETURNING expires_at > {_NOW}",
            read_meta=f"SELECT version, updated_at, digest FROM {records} WHERE key = %s",
            delete=f"DELETE FROM {records} WHERE key = %s AND digest = %s RETURNING true",
        )


class PostgresMachineMemory(BaseMachineMemory):
    """Machine memory in PostgreSQL: row-locked compare-and-set with fencing, owner + TTL locks.

    Nothing connects until the first call; then the tables are created if they do not exist
    yet (any number of processes may race to do it).

    Args:
        dsn: A libpq connection string, as a URI (``postgresql://user@host:5432/db``) or as
            ``key=value`` pairs. Credentials are never echoed into messages or reprs.
        table_prefix: Prefix of the three table names (letters, digits and ``_``, at most 40
            characters), so several applications can share one database.
        lock_ttl: Seconds before a lock lapses (mandatory TTL), on the server's clock.
        owner: The owner token; a random UUID by default.
        max_connections: Connections per process and event loop. When all are busy, a call
            waits for one (up to ``pool_timeout`` seconds) rather than failing.
        pool_timeout: Seconds a call may wait for a free connection; then it fails with
            :class:`~arvo_ray.memory.MemoryBackendError` (a step retries it).
        connect_timeout: Seconds opening a connection may take.
        statement_timeout: Seconds the server lets one statement run (including a wait for a
            row another transaction holds) before it aborts it.

    Raises:
        ValueError: a malformed DSN, an unusable prefix or an out-of-range setting.

    Storage failures (refused connection, timeouts, server errors) surface from the methods as
    :class:`~arvo_ray.memory.MemoryBackendError`.

    Example:
        >>> import asyncio, pickle
        >>> memory = PostgresMachineMemory(
        ...     "postgresql://arvo:secret@localhost:5432/arvo", table_prefix="shop", lock_ttl=30
        ... )
        >>> memory  # nothing connects until the first call, and the password stays hidden
        PostgresMachineMemory('postgresql://arvo:***@localhost:5432/arvo', table_prefix='shop', ...)
        >>> pickle.loads(pickle.dumps(memory)).table_prefix  # travels to Ray workers as its DSN
        'shop'
        >>> asyncio.run(memory.write("order-1", {"n": 1}, None))  # doctest: +SKIP
        >>> asyncio.run(memory.read("order-1"))  # doctest: +SKIP
        {'n': 1}
    """

    def __init__(
        self,
        dsn: str,
        *,
        table_prefix: str = "arvo",
        lock_ttl: float = DEFAULT_LOCK_TTL,
        owner: str | None = None,
        max_connections: int = 16,
        pool_timeout: float = 30.0,
        connect_timeout: float = 5.0,
        statement_timeout: float = 10.0,
    ) -> None:
        where = _check_settings(
            "PostgresMachineMemory",
            dsn,
            table_prefix=table_prefix,
            max_connections=max_connections,
            pool_timeout=pool_timeout,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
        )
        self._init_owner(owner, lock_ttl)
        self._dsn = dsn
        self._where = where
        self._table_prefix = table_prefix
        self._max_connections = max_connections
        self._pool_timeout = float(pool_timeout)
        self._connect_timeout = float(connect_timeout)
        self._statement_timeout = float(statement_timeout)
        self._sql = _Statements.for_prefix(table_prefix)
        self._schema = _Schema()
        self._pools = _Pools(self._new_pool)

    @property
    def table_prefix(self) -> str:
        """The prefix of the table names."""
        return self._table_prefix

    @property
    def dsn(self) -> str:
        """The connection string, as given (it may hold a password: do not log it)."""
        return self._dsn

    # -- the contract ----------------------------------------------------------------------

    async def read(self, id: str) -> dict[str, Any] | None:
        """Return a fresh copy of the record under ``id``, or ``None``."""
        _json.check_id(id, "read")
        row = await self._retrying("read", id, lambda conn: _one(conn, self._sql.read, (_key(id),)))
        return self._decode(id, None if row is None else row[0])

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        """Store ``data`` if the stored record equals ``prev``; see :class:`IMachineMemory`."""
        await self._write(id, data, prev, release=False)

    async def write_and_unlock(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None
    ) -> bool:
        """``write`` and ``unlock`` in one transaction; see
        :func:`arvo_ray.memory.write_and_unlock`."""
        try:
            return await self._write(id, data, prev, release=True)
        finally:
            self._held.discard(id)

    async def _write(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None, *, release: bool
    ) -> bool:
        _json.check_id(id, "write")
        text, new_digest, prev_digest = _json.for_write(id, data, prev)
        expects_lock = id in self._held
        params = (
            *(_key(id), id, self._owner, expects_lock, prev_digest),
            *(text, new_digest, _has_outbox(data), release),
        )
        row = await self._once("write", id, lambda conn: _one(conn, self._sql.write, params))
        assert row is not None
        written, released, now, holder, holder_expires_at, version = row
        if written:
            return bool(released)
        check_fencing(
            id,
            owner=self._owner,
            expects_lock=expects_lock,
            holder=holder,
            holder_expires_at=holder_expires_at,
            now=now,
            lock_ttl=self._lock_ttl,
        )
        raise stale_error(id, prev_given=prev is not None, current_version=version)

    async def lock(self, id: str) -> bool:
        """Lock ``id`` for :attr:`lock_ttl` seconds unless any live lock exists (not re-entrant)."""
        _json.check_id(id, "lock")
        row = await self._once(
            "lock",
            id,
            lambda conn: _one(conn, self._sql.lock, (_key(id), id, self._owner, self._lock_ttl)),
        )
        if row is None:
            return False
        self._held.add(id)
        return True

    async def lock_and_read(self, id: str) -> tuple[bool, dict[str, Any] | None]:
        """``lock`` and, if acquired, ``read`` in one transaction (one round trip); see
        :func:`arvo_ray.memory.lock_and_read`."""
        _json.check_id(id, "lock")
        params = (_key(id), id, self._owner, self._lock_ttl)
        row = await self._once("lock", id, lambda conn: _one(conn, self._sql.lock_and_read, params))
        assert row is not None
        acquired, text = row
        if not acquired:
            return False, None
        return await self._locked_and_decoded(id, lambda: self._decode(id, text))

    async def unlock(self, id: str) -> bool:
        """Release this owner's live lock on ``id``; ``False`` (never an error) otherwise."""
        _json.check_id(id, "unlock")
        self._held.discard(id)
        # Deletes this owner's row whether live or lapsed (tidying up); reports whether it was live.
        row = await self._retrying(
            "unlock", id, lambda conn: _one(conn, self._sql.unlock, (_key(id), self._owner))
        )
        return bool(row is not None and row[0])

    # -- inspection ------------------------------------------------------------------------

    async def list_ids(self, prefix: str = "") -> list[str]:
        """Ids of the stored records starting with ``prefix``, sorted by code point."""
        rows = await self._retrying(
            "list_ids", None, lambda conn: _all(conn, self._sql.list_ids, (prefix, prefix))
        )
        return [row[0] for row in rows]

    async def list_outboxes(self) -> dict[str, list[dict[str, Any]]]:
        """Id → outbox items of every record whose outbox is not empty: what a recovery sweep
        needs, read through an index instead of decoding every record."""
        rows = await self._retrying(
            "list_outboxes", None, lambda conn: _all(conn, self._sql.list_outboxes, ())
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for id, text in rows:
            record = self._decode(id, text)
            items = None if record is None else record.get("outbox")
            if isinstance(items, list) and items:
                found[id] = items
        return found

    async def locks(self) -> list[LockInfo]:
        """Every recorded lock, sorted by id; lapsed ones (server clock) are flagged ``expired``."""
        rows = await self._retrying("locks", None, lambda conn: _all(conn, self._sql.locks, ()))
        return [
            LockInfo(id=i, owner=owner, expires_at=expires_at, expired=expired)
            for i, owner, expires_at, expired in rows
        ]

    async def delete(self, id: str, prev: Mapping[str, Any]) -> bool:
        """Remove the record under ``id`` if it still equals ``prev`` (compared as ``write``
        compares); ``False`` when it changed or is gone. Locks are left alone."""
        _json.check_id(id, "delete")
        params = (_key(id), _json.digest_of_prev(id, _json.check_data(id, prev)))
        row = await self._once("delete", id, lambda conn: _one(conn, self._sql.delete, params))
        return row is not None

    async def force_unlock(self, id: str) -> bool:
        """Remove the lock on ``id`` whoever holds it; ``True`` if it was live."""
        _json.check_id(id, "force_unlock")
        row = await self._once(
            "force_unlock", id, lambda conn: _one(conn, self._sql.force_unlock, (_key(id),))
        )
        return bool(row is not None and row[0])

    async def read_meta(self, id: str) -> RecordMeta | None:
        """Version, update time (server clock) and digest of the record under ``id``, or ``None``."""
        _json.check_id(id, "read_meta")
        row = await self._retrying(
            "read_meta", id, lambda conn: _one(conn, self._sql.read_meta, (_key(id),))
        )
        if row is None:
            return None
        return RecordMeta(version=row[0], updated_at=row[1], digest=row[2])

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections opened for the running event loop (reopened on next use).

        Call it before a loop you used ends (e.g. at the end of the ``asyncio.run``), so the
        connections close cleanly rather than when they are garbage-collected.
        """
        await self._pools.aclose()

    def __getstate__(self) -> dict[str, Any]:
        state = self._state_for_pickle()
        del state["_pools"], state["_schema"], state["_sql"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sql = _Statements.for_prefix(self._table_prefix)
        self._schema = _Schema()
        self._pools = _Pools(self._new_pool)  # connects on first use, in that process

    def _describe(self) -> str:
        return f"{self._where!r}, table_prefix={self._table_prefix!r}"

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
        meta = f"{self._table_prefix}_machine_meta"
        async with conn.transaction():
            await _lock_schema(conn, f"arvo_ray memory {self._table_prefix}")
            await conn.execute(self._sql.meta)
            await conn.execute(
                f"INSERT INTO {meta} (key, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO NOTHING",
                (str(_SCHEMA_VERSION),),
            )
            row = await _one(conn, f"SELECT value FROM {meta} WHERE key = 'schema_version'", ())
            version = int(row[0]) if row is not None else _SCHEMA_VERSION
            if version > _SCHEMA_VERSION:  # checked before replacing the newer functions
                raise _NewerSchema(
                    f"the tables have schema version {version}, newer than this arvo_ray "
                    f"supports ({_SCHEMA_VERSION}); upgrade arvo_ray"
                )
            for statement in self._sql.schema:
                await conn.execute(statement)
        self._schema.ready = True

    def _decode(self, id: str, text: str | None) -> dict[str, Any] | None:
        if text is None:
            return None
        try:
            return _json.loads(text)
        except ValueError as exc:
            raise self._error("read", id, f"the stored JSON is corrupt ({exc})") from exc

    async def _once(
        self, operation: str, id: str | None, call: Callable[[Connection], Awaitable[_T]]
    ) -> _T:
        return await _call(
            self._pools,
            call,
            retry=False,
            fail=lambda exc: self._error(operation, id, _explain(exc)),
        )

    async def _retrying(
        self, operation: str, id: str | None, call: Callable[[Connection], Awaitable[_T]]
    ) -> _T:
        return await _call(
            self._pools,
            call,
            retry=True,
            fail=lambda exc: self._error(operation, id, _explain(exc)),
        )

    def _error(self, operation: str, id: str | None, why: str) -> MemoryBackendError:
        target = f" {short_id(id)!r}" if id is not None else ""
        return MemoryBackendError(
            f"PostgreSQL machine memory at {self._where} (table prefix "
            f"{self._table_prefix!r}) could not {operation}{target}: {why}.",
            operation=operation,
            backend=f"PostgreSQL {self._where}",
            id=id,
        )


def _key(id: str) -> bytes:
    """The primary key of ``id``: subjects can be longer than a B-tree entry may be."""
    return hashlib.sha256(id.encode("utf-8", "surrogatepass")).digest()


def _has_outbox(data: Mapping[str, Any]) -> bool:
    items = data.get("outbox")
    return isinstance(items, list | tuple) and len(items) > 0
