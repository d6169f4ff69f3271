"""``Slots``: a bound on work in flight whose cost does not grow with the queue behind it.

``asyncio.Semaphore`` leaves a woken waiter in its queue until that waiter runs, and each
release looks past all of them for the next one not yet woken. A batch of results frees many
slots in one go, so with hops queued behind a broker's bound those releases cost the square of
the batch. Here a freed slot goes to the first waiter, which leaves the queue with it: a
release costs the same however many wait.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

__all__ = ["Slots"]


class Slots:
    """At most ``limit`` holders at once; the others wait in arrival order.

    Example:
        >>> import asyncio
        >>> async def main() -> int:
        ...     slots, inside, most = Slots(2), 0, 0
        ...     async def work() -> None:
        ...         nonlocal inside, most
        ...         async with slots:
        ...             inside += 1
        ...             most = max(most, inside)
        ...             await asyncio.sleep(0)
        ...             inside -= 1
        ...     await asyncio.gather(*(work() for _ in range(10)))
        ...     return most
        >>> asyncio.run(main())
        2
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"Slots(limit={limit}): the limit must be at least 1")
        self._free = limit
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self._free and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot as it was cancelled: pass it on
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter cancelled while it waited is passed over
                waiter.set_result(None)
                return
        self._free += 1
