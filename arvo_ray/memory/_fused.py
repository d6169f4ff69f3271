"""The two fused steps of a workflow step: *lock and read*, then *write and unlock*.

A step costs four memory calls (lock, read, write, unlock); where each call is a round trip
(a memory actor, Redis) that is most of a step's time. A memory may therefore implement
``lock_and_read(id)`` and ``write_and_unlock(id, data, prev)`` itself, in one round trip each,
with exactly the guarantees of the calls they replace. These functions use a memory's own
fused operations when it has them and otherwise compose the four calls, so every
:class:`~arvo_ray.memory.IMachineMemory` keeps working unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from arvo_ray.memory._protocol import IMachineMemory

__all__ = ["lock_and_read", "write_and_unlock"]


async def lock_and_read(memory: IMachineMemory, id: str) -> tuple[bool, dict[str, Any] | None]:
    """Lock ``id`` and, if the lock was acquired, read its record.

    Returns:
        ``(True, record)`` (``record`` is ``None`` when none is stored), or ``(False, None)``
        when another lock is live: nothing was read.

    Raises:
        MemoryBackendError: the store failed; ``operation`` says whether locking or reading
            did, and a lock taken before a failed read has been released again.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = SimpleMachineMemory()
        >>> asyncio.run(memory.write("order-1", {"n": 1}, None))
        >>> asyncio.run(lock_and_read(memory, "order-1"))
        (True, {'n': 1})
        >>> asyncio.run(lock_and_read(memory.for_owner("someone-else"), "order-1"))
        (False, None)
    """
    fused = getattr(memory, "lock_and_read", None)
    if fused is not None:
        return await fused(id)  # type: ignore[no-any-return]
    if not await memory.lock(id):
        return False, None
    try:
        return True, await memory.read(id)
    except BaseException:
        with contextlib.suppress(Exception):  # the TTL bounds a lock that cannot be released
            await memory.unlock(id)
        raise


async def write_and_unlock(
    memory: IMachineMemory, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None
) -> bool:
    """``write(id, data, prev)``, then release this owner's lock on ``id``, written or not.

    The write has ``write``'s compare-and-set and fencing; the lock is released whether it
    succeeded or failed. A failure to release after a committed write is not raised (the
    write is the commit point, and the lock lapses after its TTL).

    Returns:
        Whether this owner held a live lock on ``id`` that is now released.

    Raises:
        StaleRecordError, LockNotHeldError, LockExpiredError, MemoryBackendError: the write
            failed (see :meth:`~arvo_ray.memory.IMachineMemory.write`).

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = SimpleMachineMemory()
        >>> locked, record = asyncio.run(lock_and_read(memory, "order-1"))
        >>> asyncio.run(write_and_unlock(memory, "order-1", {"n": 1}, record))
        True
        >>> asyncio.run(memory.lock("order-1"))  # released: free for the next step
        True
    """
    fused = getattr(memory, "write_and_unlock", None)
    if fused is not None:
        return await fused(id, data, prev)  # type: ignore[no-any-return]
    try:
        await memory.write(id, data, prev)
    except BaseException:
        with contextlib.suppress(Exception):
            await memory.unlock(id)
        raise
    try:
        return await memory.unlock(id)
    except Exception:
        return False
