"""``SimpleMachineMemory``: the in-process backend, for tests, notebooks and single processes.

It follows the contract exactly (CAS, owner + TTL locks, fencing) so code tested against it
behaves the same on SQLite or Redis. It is not shared between processes: on Ray each worker
would get its own copy, which is why the runtime puts memory behind an actor or uses SQLite or
Redis instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arvo_ray.memory import _json
from arvo_ray.memory._base import (
    DEFAULT_LOCK_TTL,
    BaseMachineMemory,
    Clock,
    check_fencing,
    stale_error,
)
from arvo_ray.memory._protocol import LockInfo, RecordMeta

__all__ = ["SimpleMachineMemory"]


@dataclass(slots=True)
class _Entry:
    text: str
    version: int
    updated_at: float
    _digest: str | None = None

    @property
    def digest(self) -> str:
        # Computed on demand: the common compare-and-set matches on the stored text alone.
        if self._digest is None:
            self._digest = _json.digest("", _json.loads(self.text))
        return self._digest

    def matches(self, id: str, prev: Mapping[str, Any]) -> bool:
        """Whether ``prev`` is this record as a JSON value (text first, canonical form if needed)."""
        if type(prev) is _json.KnownRecord:
            return prev.digest == self.digest
        return _json.dumps(id, prev) == self.text or _json.digest(id, prev) == self.digest


@dataclass(slots=True)
class _Store:
    # One mutex for records and locks: every operation is a short, await-free critical section,
    # which makes each one atomic for asyncio tasks and for threads alike.
    mutex: threading.Lock = field(default_factory=threading.Lock)
    records: dict[str, _Entry] = field(default_factory=dict)
    locks: dict[str, tuple[str, float]] = field(default_factory=dict)


class SimpleMachineMemory(BaseMachineMemory):
    """An in-process dict of JSON records with owner + TTL locks.

    Unlike the original (which stores a shallow copy and hands out live references), records are
    stored as JSON text and every ``read`` decodes a fresh object, so nothing a caller does to a
    dict it wrote or read can change the stored record. Safe for asyncio tasks and threads.

    Pickling copies the records (it does not share them), as pickling a dict would.

    Args:
        lock_ttl: Seconds before a lock lapses (mandatory TTL).
        owner: The owner token; a random UUID by default.
        clock: Returns Unix time in seconds; injected by tests to step time.

    Example:
        >>> import asyncio
        >>> memory = SimpleMachineMemory()
        >>> asyncio.run(memory.write("subject", {"n": 1}, None))
        >>> asyncio.run(memory.read("subject"))
        {'n': 1}
    """

    def __init__(
        self,
        *,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        owner: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._init_owner(owner, lock_ttl)
        self._clock = clock
        self._store = _Store()

    async def read(self, id: str) -> dict[str, Any] | None:
        """Return a fresh copy of the record under ``id``, or ``None``."""
        _json.check_id(id, "read")
        entry = self._store.records.get(id)  # a single dict lookup is atomic under the GIL
        return None if entry is None else _json.loads(entry.text)

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        """Store ``data`` if the stored record equals ``prev``; see :class:`IMachineMemory`."""
        _json.check_id(id, "write")
        _json.check_data(id, data)
        text = _json.dumps(id, data)
        store = self._store
        with store.mutex:
            now = self._clock()
            holder, expires_at = store.locks.get(id, (None, None))
            check_fencing(
                id,
                owner=self._owner,
                expects_lock=id in self._held,
                holder=holder,
                holder_expires_at=expires_at,
                now=now,
                lock_ttl=self._lock_ttl,
            )
            current = store.records.get(id)
            if prev is None:
                if current is not None:
                    raise stale_error(id, prev_given=False, current_version=current.version)
                version = 1
            else:
                if current is None or not current.matches(id, prev):
                    raise stale_error(
                        id,
                        prev_given=True,
                        current_version=None if current is None else current.version,
                    )
                version = current.version + 1
            store.records[id] = _Entry(text, version, now)

    async def lock(self, id: str) -> bool:
        """Lock ``id`` for :attr:`lock_ttl` seconds unless any live lock exists (not re-entrant)."""
        _json.check_id(id, "lock")
        store = self._store
        with store.mutex:
            now = self._clock()
            current = store.locks.get(id)
            if current is not None and current[1] > now:
                return False
            store.locks[id] = (self._owner, now + self._lock_ttl)
            self._held.add(id)
            return True

    async def unlock(self, id: str) -> bool:
        """Release this owner's live lock on ``id``; ``False`` (never an error) otherwise."""
        _json.check_id(id, "unlock")
        self._held.discard(id)
        store = self._store
        with store.mutex:
            current = store.locks.get(id)
            if current is None or current[0] != self._owner:
                return False
            del store.locks[id]
            return current[1] > self._clock()

    def clear(self, id: str | None = None) -> None:
        """Delete one record and its lock, or (with no id) everything; as in the original."""
        store = self._store
        with store.mutex:
            if id is None:
                store.records.clear()
                store.locks.clear()
            else:
                store.records.pop(id, None)
                store.locks.pop(id, None)

    async def list_ids(self, prefix: str = "") -> list[str]:
        """Ids of the stored records starting with ``prefix``, sorted."""
        with self._store.mutex:
            return sorted(i for i in self._store.records if i.startswith(prefix))

    async def list_outboxes(self) -> dict[str, list[dict[str, Any]]]:
        """Id → outbox items of every record whose outbox is not empty, sorted by id."""
        with self._store.mutex:
            texts = sorted((i, entry.text) for i, entry in self._store.records.items())
        found = {i: _json.loads(text).get("outbox") for i, text in texts if '"outbox"' in text}
        return {i: items for i, items in found.items() if isinstance(items, list) and items}

    async def locks(self) -> list[LockInfo]:
        """Every recorded lock, sorted by id; lapsed ones are flagged ``expired``."""
        with self._store.mutex:
            now = self._clock()
            items = sorted(self._store.locks.items())
        return [
            LockInfo(id=i, owner=owner, expires_at=expires_at, expired=expires_at <= now)
            for i, (owner, expires_at) in items
        ]

    async def delete(self, id: str, prev: Mapping[str, Any]) -> bool:
        """Remove the record under ``id`` if it still equals ``prev`` (compared as ``write``
        compares); ``False`` when it changed or is gone. Locks are left alone."""
        _json.check_id(id, "delete")
        _json.check_data(id, prev)
        with self._store.mutex:
            current = self._store.records.get(id)
            if current is None or not current.matches(id, prev):
                return False
            del self._store.records[id]
            return True

    async def force_unlock(self, id: str) -> bool:
        """Remove the lock on ``id`` whoever holds it; ``True`` if it was live."""
        _json.check_id(id, "force_unlock")
        with self._store.mutex:
            current = self._store.locks.pop(id, None)
            return current is not None and current[1] > self._clock()

    async def read_meta(self, id: str) -> RecordMeta | None:
        """Version, update time and digest of the record under ``id``, or ``None``."""
        _json.check_id(id, "read_meta")
        entry = self._store.records.get(id)
        if entry is None:
            return None
        return RecordMeta(version=entry.version, updated_at=entry.updated_at, digest=entry.digest)

    def __getstate__(self) -> dict[str, Any]:
        state = self._state_for_pickle()
        store: _Store = state.pop("_store")
        with store.mutex:
            state["_records"] = dict(store.records)
            state["_locks"] = dict(store.locks)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        records = state.pop("_records")
        locks = state.pop("_locks")
        self.__dict__.update(state)
        self._store = _Store(records=records, locks=locks)

    def _describe(self) -> str:
        return f"{len(self._store.records)} records"
