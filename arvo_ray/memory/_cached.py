"""``CachedMachineMemory``: keep recently used records warm in front of a slower memory.

A workflow actor processes the events of its instances one at a time and is usually the only
writer, so re-reading the record it just wrote (an actor call or a network round trip) is
wasted time. This wrapper serves reads from the last record it wrote or read. It stays
correct when another process writes too, because writes are compare-and-set: a step that ran
on a stale cached record fails its write, the entry is dropped, and the retried step reads the
fresh record. Terminal states ("failure", "done") never revert, so a stale read can only cause
a rejected write, never a wrong answer.

Each entry keeps the record's stored text and canonical digest, computed once when it was
written (or read from the inner memory), and the encodings of its history entries. A record
read from the cache is a :class:`~arvo_ray.memory._json.KnownRecord`, so the write that names
it as ``prev`` does not encode it again, and the history entries a new record carries over
from it (:class:`~arvo_ray.memory._json.CarriedHistory`) are not encoded again either.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from arvo_ray.memory import _fused, _json
from arvo_ray.memory._protocol import IMachineMemory

__all__ = ["CachedMachineMemory"]


class CachedMachineMemory:
    """An :class:`IMachineMemory` that caches up to ``max_entries`` records (LRU) of ``inner``.

    Args:
        inner: The memory that stays the source of truth.
        max_entries: Records kept warm; the least recently used are dropped first.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = CachedMachineMemory(SimpleMachineMemory(), max_entries=100)
        >>> asyncio.run(memory.write("order-1", {"n": 1}, None))
        >>> asyncio.run(memory.read("order-1"))  # served from the cache, not the inner memory
        {'n': 1}
        >>> memory.hits, memory.misses
        (1, 0)
    """

    def __init__(self, inner: IMachineMemory, *, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.inner = inner
        self.max_entries = max_entries
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def owner(self) -> str:
        return self.inner.owner

    @property
    def lock_ttl(self) -> float:
        return self.inner.lock_ttl

    def for_owner(self, owner: str) -> Self:
        return type(self)(self.inner.for_owner(owner), max_entries=self.max_entries)

    def _remember(self, id: str, record: Mapping[str, Any]) -> _json.KnownRecord:
        """Keep ``record`` warm; the copy returned carries its digest for a later write."""
        encoded = _json.encoded(id, record)
        self._keep(id, encoded)
        return _json.KnownRecord.of(record, encoded.digest)

    def _encoded(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None
    ) -> _json.Encoded:
        """``data`` encoded, with the history encodings of the warm ``prev`` at hand."""
        entry = self._cache.get(id)
        if entry is None or type(prev) is not _json.KnownRecord or prev.digest != entry.digest:
            return _json.encoded(id, data)
        return _json.encoded(id, data, entry.text, entry.history)

    def _keep(self, id: str, encoded: _json.Encoded) -> None:
        marks = tuple((key, encoded[key]) for key in _MARKS if key in encoded)
        outbox = frozenset(item["event"]["id"] for item in encoded.get("outbox") or ())
        self._cache[id] = _Entry(encoded.text, encoded.digest, marks, outbox, encoded.history)
        self._cache.move_to_end(id)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)

    def _issue(self, id: str, entry: _Entry) -> _json.KnownRecord:
        """A fresh copy of a warm record (callers may change it), counted as a hit."""
        self.hits += 1
        if id in self._cache:
            self._cache.move_to_end(id)
        return _json.KnownRecord.of(_json.loads(entry.text), entry.digest)

    def peek(self, id: str) -> dict[str, Any] | None:
        """The warm record's ``status`` and ``executionStatus`` without decoding it (``None``
        when ``id`` is not warm): enough to tell whether a workflow is over."""
        entry = self._cache.get(id)
        return None if entry is None else dict(entry.marks)

    def outbox_ids(self, id: str) -> frozenset[str] | None:
        """Ids of the events in the warm record's outbox (``None`` when ``id`` is not warm)."""
        entry = self._cache.get(id)
        return None if entry is None else entry.outbox

    def forget(self, id: str | None = None) -> None:
        """Drop one cached record (or all), e.g. when an instance is passivated."""
        if id is None:
            self._cache.clear()
        else:
            self._cache.pop(id, None)

    async def read(self, id: str) -> dict[str, Any] | None:
        entry = self._cache.get(id)
        if entry is not None:
            return self._issue(id, entry)
        self.misses += 1
        record = await self.inner.read(id)
        return None if record is None else self._remember(id, record)

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        encoded = self._encoded(id, data, prev)
        try:
            await self.inner.write(id, encoded, prev)
        except BaseException:
            self._cache.pop(id, None)
            raise
        self._keep(id, encoded)

    async def lock(self, id: str) -> bool:
        return await self.inner.lock(id)

    async def lock_and_read(self, id: str) -> tuple[bool, dict[str, Any] | None]:
        """The inner memory's fused lock and read; the record comes from the cache when warm
        (the lock alone is then one call)."""
        entry = self._cache.get(id)
        if entry is not None:
            if not await self.inner.lock(id):
                return False, None
            return True, self._issue(id, entry)
        self.misses += 1
        acquired, record = await _fused.lock_and_read(self.inner, id)
        return acquired, None if record is None else self._remember(id, record)

    async def write_and_unlock(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None
    ) -> bool:
        encoded = self._encoded(id, data, prev)
        try:
            released = await _fused.write_and_unlock(self.inner, id, encoded, prev)
        except BaseException:
            self._cache.pop(id, None)
            raise
        self._keep(id, encoded)
        return released

    async def unlock(self, id: str) -> bool:
        return await self.inner.unlock(id)

    async def delete(self, id: str, prev: Mapping[str, Any]) -> bool:
        """The inner memory's ``delete`` (built-in memories have one); forgets the record."""
        self._cache.pop(id, None)
        delete = getattr(self.inner, "delete", None)
        if delete is None:
            raise TypeError(f"{type(self.inner).__name__} cannot delete records")
        return bool(await delete(id, prev))

    def __repr__(self) -> str:
        return f"CachedMachineMemory({self.inner!r}, cached={len(self._cache)})"


_MARKS = ("status", "executionStatus")


@dataclass(slots=True)
class _Entry:
    text: str
    digest: str
    marks: tuple[tuple[str, Any], ...]
    outbox: frozenset[str]
    history: _json.HistoryText | None
