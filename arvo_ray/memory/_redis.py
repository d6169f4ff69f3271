"""``RedisMachineMemory``: machine memory for many nodes, on Redis (``redis.asyncio``).

Layout, for a machine id ``<id>`` under prefix ``arvo``:

* ``arvo:rec:{<id>}`` is a hash with ``data`` (JSON text), ``version`` (incremented by every
  write), ``digest`` (SHA-256 of the canonical JSON) and ``updated_at`` (server time).
* ``arvo:lock:{<id>}`` is a string holding the owner token, set with ``SET NX PX`` so Redis
  expires it after the TTL.

The braces are a Redis Cluster hash tag: both keys of one id land in the same slot, which the
write script needs (for any id without ``}``, which includes every base64 subject). A write is
ONE Lua script that checks the lock (fencing) and the digest (compare-and-set) and then writes,
so no other command can slip in between. Unlock is a Lua compare-and-delete, so an owner never
deletes a lock that lapsed and was taken by another. Locks, writes and unlocks issued during
one turn of the event loop go to the server as one pipeline (each still succeeds or fails on
its own).

A redis-py asyncio client belongs to the event loop it was first used on, so the backend keeps
one client per running loop (threads with their own loops, a fresh loop per ``asyncio.run``)
and pickles as its URL: an unpickled copy connects lazily in its new process.

This module imports ``redis``; ``arvo_ray.memory`` imports it only when ``RedisMachineMemory``
is first used, so the package works without the optional dependency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "RedisMachineMemory needs the 'redis' package (redis-py >= 5): "
        "pip install 'arvo-ray[redis]'"
    ) from _exc
from redis.exceptions import ConnectionError as RedisConnectionError

from arvo_ray._redis_clients import Command, _Clients, _Lua
from arvo_ray.memory import _json
from arvo_ray.memory._base import (
    DEFAULT_LOCK_TTL,
    BaseMachineMemory,
    expired_error,
    not_held_error,
    stale_error,
)
from arvo_ray.memory._errors import MemoryBackendError, short_id
from arvo_ray.memory._protocol import LockInfo, RecordMeta

__all__ = ["RedisMachineMemory"]

_T = TypeVar("_T")

# Read retries: three attempts with ~150 ms back-off, abandoned once a second has passed.
_READ_BACKOFF = (0.05, 0.1)
_READ_BUDGET = 1.0

_TRANSIENT = (RedisConnectionError, RedisTimeoutError)


# KEYS: record, lock. ARGV: owner, expects_lock ("1"/"0"), prev digest ("" = must not exist),
# data, digest, release ("1": then drop this owner's lock, written or not). Mirrors
# arvo_ray.memory._base.check_fencing, then compare-and-set by digest. The last element of the
# reply says whether this owner's lock was released.
_WRITE = _Lua(
    """
local holder = redis.call('GET', KEYS[2])
local function done(reply)
  local released = 0
  if ARGV[6] == '1' and holder == ARGV[1] then
    released = redis.call('DEL', KEYS[2])
  end
  table.insert(reply, released)
  return reply
end
if ARGV[2] == '1' then
  if holder ~= ARGV[1] then
    return done({'expired', holder or '', 0})
  end
elseif holder and holder ~= ARGV[1] then
  return done({'locked', holder, redis.call('PTTL', KEYS[2])})
end
local current = redis.call('HMGET', KEYS[1], 'digest', 'version')
if ARGV[3] == '' then
  if current[1] then
    return done({'stale', current[2], 0})
  end
elseif current[1] ~= ARGV[3] then
  return done({'stale', current[2] or '', 0})
end
local now = redis.call('TIME')
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'data', ARGV[4], 'digest', ARGV[5],
  'updated_at', now[1] .. '.' .. string.format('%06d', tonumber(now[2])))
return done({'ok', version, 0})
"""
)

# KEYS: record. ARGV: digest. Deletes the record only if it still has that digest.
_DELETE = _Lua(
    """
if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
)

# KEYS: lock, record. ARGV: owner, TTL in ms. Takes a free lock and reads the record at once.
_LOCK_AND_READ = _Lua(
    """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('HGET', KEYS[2], 'data')}
end
return {0, false}
"""
)

# KEYS: lock. ARGV: owner. Deletes the lock only if this owner still holds it.
_UNLOCK = _Lua(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
)


class RedisMachineMemory(BaseMachineMemory):
    """Machine memory on Redis: Lua compare-and-set with fencing, ``SET NX PX`` owner locks.

    Args:
        url_or_client: A Redis URL (``redis://host:6379/0``, ``rediss://...``,
            ``unix:///path``), or a ready ``redis.asyncio.Redis`` client. Only a URL-built
            memory pickles (and so travels to Ray workers); a given client is used as is, on
            whatever loop the caller uses, and is never closed by this object.
        prefix: Namespace for the keys, so several applications can share one Redis.
        lock_ttl: Seconds before a lock lapses (mandatory TTL; Redis expires the key).
        owner: The owner token; a random UUID by default.
        socket_timeout: Seconds a command may wait for its reply.
        connect_timeout: Seconds a connection attempt may take.
        max_connections: Connections per process and event loop. When all are busy, a
            command waits for one (up to ``pool_timeout`` seconds) rather than failing.
        pool_timeout: Seconds a command may wait for a free connection; then it fails with
            :class:`~arvo_ray.memory.MemoryBackendError` (a step retries it).

    Raises:
        ValueError: an empty prefix or an out-of-range setting.

    Storage failures (refused connection, timeouts, server errors) surface from the methods as
    :class:`~arvo_ray.memory.MemoryBackendError`.

    Example:
        >>> import asyncio, pickle
        >>> memory = RedisMachineMemory("redis://localhost:6379/0", prefix="shop", lock_ttl=30)
        >>> memory.prefix, memory.lock_ttl  # nothing connects until the first command
        ('shop', 30.0)
        >>> pickle.loads(pickle.dumps(memory)).prefix  # travels to Ray workers as its URL
        'shop'
        >>> asyncio.run(memory.write("order-1", {"n": 1}, None))  # doctest: +SKIP
        >>> asyncio.run(memory.read("order-1"))  # doctest: +SKIP
        {'n': 1}
    """

    def __init__(
        self,
        url_or_client: str | aioredis.Redis,
        *,
        prefix: str = "arvo",
        lock_ttl: float = DEFAULT_LOCK_TTL,
        owner: str | None = None,
        socket_timeout: float = 5.0,
        connect_timeout: float = 1.0,
        max_connections: int = 64,
        pool_timeout: float = 30.0,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, got {prefix!r}")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise TypeError(f"max_connections must be an int, got {max_connections!r}")
        if max_connections < 1 or not pool_timeout > 0:
            raise ValueError(
                "max_connections must be at least 1 and pool_timeout positive, got "
                f"{max_connections!r} and {pool_timeout!r}"
            )
        self._init_owner(owner, lock_ttl)
        self._prefix = prefix
        self._ttl_ms = max(1, round(self._lock_ttl * 1000))
        self._options = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
            "max_connections": max_connections,
            "timeout": pool_timeout,
        }
        if isinstance(url_or_client, str):
            self._url: str | None = url_or_client
            self._clients = _Clients(url_or_client, None, self._options)
        elif isinstance(url_or_client, aioredis.Redis):
            self._url = None
            self._clients = _Clients(None, url_or_client, self._options)
        else:
            raise TypeError(
                "RedisMachineMemory needs a Redis URL or a redis.asyncio.Redis client, got "
                f"{type(url_or_client).__name__}"
            )

    @property
    def prefix(self) -> str:
        """The key namespace."""
        return self._prefix

    @property
    def url(self) -> str | None:
        """The server's URL (``None`` when built from a client)."""
        return self._url

    # -- keys ------------------------------------------------------------------------------

    def _record_key(self, id: str) -> str:
        return f"{self._prefix}:rec:{{{id}}}"

    def _lock_key(self, id: str) -> str:
        return f"{self._prefix}:lock:{{{id}}}"

    # -- the contract ----------------------------------------------------------------------

    async def read(self, id: str) -> dict[str, Any] | None:
        """Return a fresh copy of the record under ``id``, or ``None``."""
        _json.check_id(id, "read")
        key = self._record_key(id)
        raw = await self._retrying("read", id, lambda client: client.hget(key, "data"))
        return self._decode(id, raw)

    def _decode(self, id: str, raw: Any) -> dict[str, Any] | None:
        if raw is None:
            return None
        try:
            return _json.loads(raw)
        except ValueError as exc:
            raise self._error("read", id, f"the stored JSON is corrupt ({exc})") from exc

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        """Store ``data`` if the stored record equals ``prev``; see :class:`IMachineMemory`."""
        await self._write(id, data, prev, release=False)

    async def write_and_unlock(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None
    ) -> bool:
        """``write`` and ``unlock`` in one Lua script; see
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
        keys = [self._record_key(id), self._lock_key(id)]
        values = [
            self._owner,
            "1" if id in self._held else "0",
            prev_digest or "",
            text,
            new_digest,
            "1" if release else "0",
        ]
        command: Command = (_WRITE, (keys, values))
        result = await self._once("write", id, lambda _: self._clients.in_turn(command))
        status = _text(result[0])
        if status == "ok":
            return int(result[-1]) == 1
        if status == "expired":
            holder = _text(result[1]) or None
            raise expired_error(id, owner=self._owner, holder=holder, lock_ttl=self._lock_ttl)
        if status == "locked":
            pttl = int(result[2])
            expires_at = time.time() + pttl / 1000 if pttl >= 0 else None
            raise not_held_error(
                id, owner=self._owner, holder=_text(result[1]), expires_at=expires_at
            )
        version = _text(result[1])
        raise stale_error(
            id, prev_given=prev is not None, current_version=int(version) if version else None
        )

    async def lock(self, id: str) -> bool:
        """Lock ``id`` for :attr:`lock_ttl` seconds unless any live lock exists (not re-entrant)."""
        _json.check_id(id, "lock")
        key = self._lock_key(id)
        command: Command = ("SET", (key, self._owner, "NX", "PX", self._ttl_ms))
        acquired = await self._once("lock", id, lambda _: self._clients.in_turn(command))
        if acquired:
            self._held.add(id)
        return bool(acquired)

    async def lock_and_read(self, id: str) -> tuple[bool, dict[str, Any] | None]:
        """``lock`` and, if acquired, ``read`` in one Lua script; see
        :func:`arvo_ray.memory.lock_and_read`."""
        _json.check_id(id, "lock")
        keys = [self._lock_key(id), self._record_key(id)]
        command: Command = (_LOCK_AND_READ, (keys, [self._owner, self._ttl_ms]))
        acquired, raw = await self._once("lock", id, lambda _: self._clients.in_turn(command))
        if not int(acquired):
            return False, None
        return await self._locked_and_decoded(id, lambda: self._decode(id, raw))

    async def unlock(self, id: str) -> bool:
        """Release this owner's live lock on ``id``; ``False`` (never an error) otherwise."""
        _json.check_id(id, "unlock")
        self._held.discard(id)
        key = self._lock_key(id)
        command: Command = (_UNLOCK, ([key], [self._owner]))
        released = await self._retrying("unlock", id, lambda _: self._clients.in_turn(command))
        return int(released) == 1

    # -- inspection ------------------------------------------------------------------------

    async def list_ids(self, prefix: str = "") -> list[str]:
        """Ids of the stored records starting with ``prefix``, sorted (uses ``SCAN``)."""
        head = f"{self._prefix}:rec:{{"
        pattern = _glob_escape(head + prefix) + "*"
        keys = await self._retrying("list_ids", None, lambda client: _scan(client, pattern))
        ids = (_text(key)[len(head) : -1] for key in keys)
        return sorted(i for i in ids if i.startswith(prefix))

    async def locks(self) -> list[LockInfo]:
        """Every live lock, sorted by id (Redis drops lapsed ones, so none is ``expired``)."""
        head = f"{self._prefix}:lock:{{"
        pattern = _glob_escape(head) + "*"

        async def collect(client: aioredis.Redis) -> list[tuple[Any, Any, Any]]:
            keys = await _scan(client, pattern)
            if not keys:
                return []
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.get(key)
                pipe.pttl(key)
            values = await pipe.execute()
            return [(key, values[2 * n], values[2 * n + 1]) for n, key in enumerate(keys)]

        rows = await self._retrying("locks", None, collect)
        now = time.time()
        found: list[LockInfo] = []
        for key, owner, pttl in rows:
            if owner is None or pttl == -2:  # lapsed between SCAN and GET
                continue
            expires_at = now + pttl / 1000 if pttl >= 0 else float("inf")
            found.append(
                LockInfo(
                    id=_text(key)[len(head) : -1],
                    owner=_text(owner),
                    expires_at=expires_at,
                    expired=False,
                )
            )
        return sorted(found, key=lambda lock: lock["id"])

    async def delete(self, id: str, prev: Mapping[str, Any]) -> bool:
        """Remove the record under ``id`` if it still equals ``prev`` (compared as ``write``
        compares); ``False`` when it changed or is gone. Locks are left alone."""
        _json.check_id(id, "delete")
        keys, expected = (
            [self._record_key(id)],
            _json.digest_of_prev(id, _json.check_data(id, prev)),
        )
        removed = await self._once("delete", id, lambda client: _DELETE(client, keys, [expected]))
        return int(removed) == 1

    async def force_unlock(self, id: str) -> bool:
        """Remove the lock on ``id`` whoever holds it; ``True`` if it was live."""
        _json.check_id(id, "force_unlock")
        key = self._lock_key(id)
        return int(await self._once("force_unlock", id, lambda client: client.delete(key))) == 1

    async def read_meta(self, id: str) -> RecordMeta | None:
        """Version, update time (server clock) and digest of the record under ``id``, or ``None``."""
        _json.check_id(id, "read_meta")
        key = self._record_key(id)
        version, updated_at, digest = await self._retrying(
            "read_meta", id, lambda client: client.hmget(key, ["version", "updated_at", "digest"])
        )
        if version is None:
            return None
        return RecordMeta(
            version=int(version), updated_at=float(_text(updated_at) or 0), digest=_text(digest)
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the client this object opened for the running event loop (reopened on use).

        Call it before a loop you used ends (e.g. at the end of the ``asyncio.run``), so the
        connections close cleanly. A client passed to the constructor is left open.
        """
        await self._clients.aclose()

    def __getstate__(self) -> dict[str, Any]:
        if self._url is None:
            raise TypeError(
                "RedisMachineMemory built from a client object cannot be pickled (a live "
                "connection cannot travel between processes); build it from a Redis URL instead"
            )
        state = self._state_for_pickle()
        del state["_clients"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._clients = _Clients(self._url, None, self._options)  # connects on first use

    def _describe(self) -> str:
        return f"{self._url_for_messages()!r}, prefix={self._prefix!r}"

    # -- plumbing --------------------------------------------------------------------------

    async def _once(
        self, operation: str, id: str | None, call: Callable[[aioredis.Redis], Awaitable[_T]]
    ) -> _T:
        try:
            return await call(self._clients.get())
        except RedisError as exc:
            raise self._error(operation, id, _explain(exc)) from exc
        except OSError as exc:
            raise self._error(operation, id, _explain(exc)) from exc

    async def _retrying(
        self, operation: str, id: str | None, call: Callable[[aioredis.Redis], Awaitable[_T]]
    ) -> _T:
        deadline = time.monotonic() + _READ_BUDGET
        for delay in (*_READ_BACKOFF, None):
            try:
                return await call(self._clients.get())
            except (*_TRANSIENT, OSError) as exc:
                if delay is None or time.monotonic() + delay >= deadline:
                    raise self._error(operation, id, _explain(exc)) from exc
            except RedisError as exc:
                raise self._error(operation, id, _explain(exc)) from exc
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _url_for_messages(self) -> str:
        if self._url is None:
            return "<client>"
        # Never echo a password into logs.
        head, sep, tail = self._url.rpartition("@")
        if not sep:
            return self._url
        scheme, _, _ = head.partition("://")
        return f"{scheme}://***@{tail}"

    def _error(self, operation: str, id: str | None, why: str) -> MemoryBackendError:
        target = f" {short_id(id)!r}" if id is not None else ""
        where = self._url_for_messages()
        return MemoryBackendError(
            f"Redis machine memory at {where} (prefix {self._prefix!r}) could not "
            f"{operation}{target}: {why}.",
            operation=operation,
            backend=f"Redis {where}",
            id=id,
        )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return "" if value is None else str(value)


def _glob_escape(text: str) -> str:
    """Escape Redis ``MATCH`` glob characters so a literal prefix matches only itself."""
    return "".join("\\" + ch if ch in "*?[]\\^" else ch for ch in text)


async def _scan(client: aioredis.Redis, pattern: str) -> list[Any]:
    return [key async for key in client.scan_iter(match=pattern, count=500)]


def _explain(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, RedisConnectionError | OSError):
        hint = "is the server running and reachable at that address?"
    elif isinstance(exc, RedisTimeoutError):
        hint = "the server did not answer in time; check its load and the network"
    else:
        hint = "see the Redis error"
    return f"{text} ({hint})"
