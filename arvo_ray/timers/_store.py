"""Where pending timers wait: ``ITimerStore``, and the in-process ``SimpleTimerStore``.

A timer is the request event that set it plus its due time, keyed by the request's id. The
service asks the store for what is due, emits the replies, and only then removes the timers:
a crash in between fires them again, with the same reply ids, which workflows ignore once
consumed. So each timer has its effect once. Nothing here imports Ray.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["ITimerStore", "PendingTimer", "SimpleTimerStore"]


@dataclass(frozen=True, order=True)
class PendingTimer:
    """A timer waiting: due at ``due_at`` (seconds since the epoch).

    Example:
        >>> early, late = PendingTimer(10.0, "b", {}), PendingTimer(20.0, "a", {})
        >>> min(late, early).id  # ordered by due time, then id
        'b'
    """

    due_at: float
    id: str
    request: dict[str, Any] = field(compare=False, repr=False)
    """The request event (its JSON object): who asked, on which subject, with which tag."""


@runtime_checkable
class ITimerStore(Protocol):
    """Where pending timers wait: what a timer service needs of a store, whatever keeps it.

    Example:
        >>> isinstance(SimpleTimerStore(), ITimerStore)
        True
    """

    async def add(self, timer: PendingTimer) -> bool:
        """Keep ``timer``; ``False`` if one with its id is pending already (a re-sent request)."""
        ...

    async def cancel(self, id: str) -> bool:
        """Drop the pending timer ``id``; ``False`` if there is none."""
        ...

    async def due(self, now: float, limit: int) -> list[PendingTimer]:
        """Up to ``limit`` pending timers due at ``now``, earliest first (they stay pending)."""
        ...

    async def remove(self, ids: list[str]) -> int:
        """Drop fired timers; how many were still there."""
        ...

    async def pending(self) -> int:
        """How many timers wait."""
        ...

    async def next_due(self) -> float | None:
        """When the earliest pending timer is due (``None``: none waits): how long a firing
        loop may sleep."""
        ...


class SimpleTimerStore:
    """Pending timers in this process (for ``SimpleEventBroker``, tests and notebooks): a heap
    by due time, so finding what is due costs O(k log n) for k due timers, however many wait.

    Example:
        >>> import asyncio
        >>> store = SimpleTimerStore()
        >>> asyncio.run(store.add(PendingTimer(10.0, "t1", {})))
        True
        >>> [t.id for t in asyncio.run(store.due(now=12.0, limit=10))]
        ['t1']
    """

    def __init__(self) -> None:
        self._timers: dict[str, PendingTimer] = {}
        self._heap: list[PendingTimer] = []

    async def add(self, timer: PendingTimer) -> bool:
        if timer.id in self._timers:
            return False
        self._timers[timer.id] = timer
        heapq.heappush(self._heap, timer)
        return True

    async def cancel(self, id: str) -> bool:
        return self._timers.pop(id, None) is not None  # its heap entry is skipped later

    async def due(self, now: float, limit: int) -> list[PendingTimer]:
        found: list[PendingTimer] = []
        skipped: list[PendingTimer] = []
        while self._heap and self._heap[0].due_at <= now and len(found) < limit:
            timer = heapq.heappop(self._heap)
            if self._timers.get(timer.id) is timer:
                found.append(timer)
                skipped.append(timer)
        for timer in skipped:  # still pending until removed
            heapq.heappush(self._heap, timer)
        return found

    async def remove(self, ids: list[str]) -> int:
        return sum(self._timers.pop(id, None) is not None for id in ids)

    async def pending(self) -> int:
        return len(self._timers)

    async def next_due(self) -> float | None:
        while self._heap and self._timers.get(self._heap[0].id) is not self._heap[0]:
            heapq.heappop(self._heap)  # cancelled or removed
        return self._heap[0].due_at if self._heap else None
