"""The machine-memory contract (:class:`IMachineMemory`) and the optional inspection protocol.

This module only declares shapes; the backends live in ``_simple.py``, ``_sqlite.py`` and
``_redis.py``, and ``tests/memory/contract_suite.py`` is the executable form of the contract
written here. A backend that does not pass that suite is not a backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, Self, TypedDict, runtime_checkable

__all__ = ["IMachineMemory", "InspectableMachineMemory", "LockInfo", "RecordMeta"]


@runtime_checkable
class IMachineMemory(Protocol):
    """Where workflow (orchestration) state lives between events, keyed by the workflow subject.

    The workflow layer runs each step as *lock → read → execute → compare-and-set write →
    unlock*; the write is the commit point. Records are JSON objects; every method hands out
    and stores deep copies, so a caller mutating a record it read (or wrote) never changes the
    stored one.

    Semantics every backend shares (and the contract suite checks):

    * **Compare-and-set.** ``write(id, data, prev)`` succeeds only when the stored record equals
      ``prev`` *as a JSON value* (key order ignored; ``1`` and ``1.0`` differ); ``prev=None``
      means "no record may exist yet". Otherwise it raises
      :class:`~arvo_ray.memory.StaleRecordError` and stores nothing.
    * **Locks have an owner and a TTL.** Each instance acts as one :attr:`owner`;
      :meth:`for_owner` gives a view on the same storage acting as another. A lock lapses after
      :attr:`lock_ttl` seconds and can then be taken by anyone. Locks are **not re-entrant**:
      ``lock`` on an id this owner already holds returns ``False`` (as in the original), so
      two callers sharing one owner still exclude each other.
    * **Fencing.** A write is refused with :class:`~arvo_ray.memory.LockNotHeldError` while
      another owner holds an unexpired lock on the id, and with
      :class:`~arvo_ray.memory.LockExpiredError` when this instance locked the id (and has not
      unlocked it) but no longer holds that lock: it lapsed, or was forced open. Writes by an
      owner that never locked the id are allowed when nobody else holds it (workflows that do
      not need locking) and are protected by the compare-and-set alone.
    * **Fused steps (optional).** A memory may also implement ``lock_and_read(id)`` and
      ``write_and_unlock(id, data, prev)``, each in one round trip with the guarantees of the
      calls it replaces; the workflow layer uses them through
      :func:`~arvo_ray.memory.lock_and_read` and :func:`~arvo_ray.memory.write_and_unlock`,
      which compose the four calls for memories without them.
    * **Errors.** An empty id raises ``ValueError("Machine ID is required for <op>
      operation")`` and ``write`` with ``None`` data raises ``ValueError("Data is required for
      write operation")``. Storage failures raise :class:`~arvo_ray.memory.MemoryBackendError`.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> async def step(memory: IMachineMemory, id: str) -> bool:
        ...     if not await memory.lock(id):
        ...         return False  # another step holds the lock: try again later
        ...     record = await memory.read(id)
        ...     await memory.write(id, {"n": (record or {"n": 0})["n"] + 1}, record)
        ...     return await memory.unlock(id)
        >>> memory = SimpleMachineMemory()
        >>> asyncio.run(step(memory, "order-1")), asyncio.run(step(memory, "order-1"))
        (True, True)
        >>> asyncio.run(memory.read("order-1"))
        {'n': 2}
    """

    @property
    def owner(self) -> str:
        """The owner token this instance locks and writes as."""
        ...

    @property
    def lock_ttl(self) -> float:
        """Seconds after which a lock taken by this instance lapses."""
        ...

    def for_owner(self, owner: str) -> Self:
        """A view on the same storage (and connection) that acts as ``owner``.

        A Ray actor serving many callers gives each caller its own view, so each caller gets
        its own lock ownership and fencing. Views do not share "which ids I locked".
        """
        ...

    async def read(self, id: str) -> dict[str, Any] | None:
        """Return a copy of the record stored under ``id``, or ``None`` when there is none.

        Transient storage errors are retried a few times (well under a second in total)
        before :class:`~arvo_ray.memory.MemoryBackendError` is raised.
        """
        ...

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        """Store ``data`` under ``id`` if the stored record still equals ``prev``.

        Fails fast, with no retries: a failed write is a failed step.

        Raises:
            StaleRecordError: the stored record is not ``prev``.
            LockNotHeldError: another owner holds the lock on ``id``.
            LockExpiredError: this instance's own lock on ``id`` lapsed before the write.
            MemoryBackendError: the store failed.
        """
        ...

    async def lock(self, id: str) -> bool:
        """Try once to lock ``id`` for :attr:`lock_ttl` seconds; never polls.

        Returns:
            ``True`` if acquired; ``False`` if any unexpired lock exists (including this
            owner's own: locks are not re-entrant).

        Raises:
            MemoryBackendError: the store failed (a denial is ``False``, never an error).
        """
        ...

    async def unlock(self, id: str) -> bool:
        """Release this owner's lock on ``id``; tolerant of locks that are absent or not ours.

        Returns:
            ``True`` if this owner held an unexpired lock that is now released, ``False``
            otherwise (not locked, expired, or held by another owner, which is left alone).

        Raises:
            MemoryBackendError: the store failed (the lock TTL bounds the damage).
        """
        ...


class LockInfo(TypedDict):
    """One lock as reported by :meth:`InspectableMachineMemory.locks`.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = SimpleMachineMemory(owner="worker-a", lock_ttl=30, clock=lambda: 1000.0)
        >>> asyncio.run(memory.lock("order-1"))
        True
        >>> asyncio.run(memory.locks())
        [{'id': 'order-1', 'owner': 'worker-a', 'expires_at': 1030.0, 'expired': False}]
    """

    id: str
    owner: str
    expires_at: float
    """Unix time (seconds) when the lock lapses."""
    expired: bool


class RecordMeta(TypedDict):
    """Bookkeeping kept beside a record, from :meth:`InspectableMachineMemory.read_meta`.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = SimpleMachineMemory(clock=lambda: 1000.0)
        >>> asyncio.run(memory.write("order-1", {"n": 1}, None))
        >>> asyncio.run(memory.write("order-1", {"n": 2}, {"n": 1}))
        >>> meta = asyncio.run(memory.read_meta("order-1"))
        >>> meta["version"], meta["updated_at"], len(meta["digest"])
        (2, 1000.0, 64)
    """

    version: int
    """1 for the first write, incremented by every successful write."""
    updated_at: float
    """Unix time (seconds) of the last successful write."""
    digest: str
    """SHA-256 of the record's canonical JSON, the value compare-and-set compares."""


@runtime_checkable
class InspectableMachineMemory(IMachineMemory, Protocol):
    """A memory that operators can look into (``arvo-ray inspect`` / ``arvo-ray unlock``).

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = SimpleMachineMemory(owner="worker-a")
        >>> isinstance(memory, InspectableMachineMemory)
        True
        >>> asyncio.run(memory.write("order-1", {"n": 1}, None))
        >>> asyncio.run(memory.lock("order-1")), asyncio.run(memory.list_ids("order-"))
        (True, ['order-1'])
        >>> asyncio.run(memory.force_unlock("order-1")), asyncio.run(memory.locks())
        (True, [])
    """

    async def list_ids(self, prefix: str = "") -> list[str]:
        """Ids of all stored records that start with ``prefix``, sorted."""
        ...

    async def locks(self) -> list[LockInfo]:
        """Every lock currently recorded, sorted by id (lapsed ones flagged ``expired``)."""
        ...

    async def force_unlock(self, id: str) -> bool:
        """Remove the lock on ``id`` whoever holds it; ``True`` if a live lock was removed.

        The owner that held it gets :class:`~arvo_ray.memory.LockExpiredError` on its next
        write, so forcing a lock open never lets two steps both commit.
        """
        ...

    async def read_meta(self, id: str) -> RecordMeta | None:
        """Version, update time and digest of the record under ``id``, or ``None``."""
        ...
