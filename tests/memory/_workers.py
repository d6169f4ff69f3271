"""Writer loops run by the concurrency tests in tasks, threads and spawned processes.

Kept apart from the contract suite so that a spawned process imports only this module and
``arvo_ray.memory`` (not pytest) before it starts writing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arvo_ray.memory import IMachineMemory, StaleRecordError


async def close_memory(memory: Any) -> None:
    """Close the connections a backend opened for the running loop, if it has any."""
    aclose = getattr(memory, "aclose", None)
    if aclose is not None:
        await aclose()


async def cas_increments(
    memory: IMachineMemory, id: str, writer: str, count: int, *, yield_between: bool = False
) -> int:
    """Do ``count`` read → modify → compare-and-set writes, retrying each on a stale read.

    Each successful write increments ``counter`` and appends ``"<writer>:<i>"`` to ``items``,
    so the final record shows whether any increment was lost or applied twice.

    Returns:
        How many writes lost the compare-and-set and were retried.
    """
    stale = 0
    for i in range(count):
        while True:
            record = await memory.read(id)
            assert record is not None
            updated = {
                "counter": record["counter"] + 1,
                "items": [*record["items"], f"{writer}:{i}"],
            }
            if yield_between:
                await asyncio.sleep(0)  # let the other tasks read the same version
            try:
                await memory.write(id, updated, record)
                break
            except StaleRecordError:
                stale += 1
    return stale


def cas_increments_in_own_loop(memory: IMachineMemory, id: str, writer: str, count: int) -> int:
    """Run :func:`cas_increments` on a fresh event loop (for a thread or a process)."""

    async def main() -> int:
        view = memory.for_owner(writer)
        try:
            return await cas_increments(view, id, writer, count)
        finally:
            await close_memory(memory)

    return asyncio.run(main())


def cas_process(memory: IMachineMemory, id: str, writer: str, count: int, results: Any) -> None:
    """Process entry point: the result (or the error text) goes back through ``results``."""
    try:
        results.put((writer, cas_increments_in_own_loop(memory, id, writer, count)))
    except BaseException as exc:
        results.put((writer, f"error: {exc!r}"))


def lock_once(memory: IMachineMemory, id: str, owner: str, barrier: Any, results: Any) -> None:
    """Process/thread entry point: wait for everyone, then try the lock exactly once."""

    async def main() -> bool:
        view = memory.for_owner(owner)
        try:
            await view.read(id)  # connect first, so the race is on the lock and not on startup
            barrier.wait(timeout=20)
            return await view.lock(id)
        finally:
            await close_memory(memory)

    try:
        results.put((owner, asyncio.run(main())))
    except BaseException as exc:
        results.put((owner, f"error: {exc!r}"))
