"""Acknowledgements a broker owes workflows: ids of events they emitted that were handed on.

Handed-on events leave their producer's outbox. The ids ride along with the producer's next
step (no extra write), or are written on their own once they have waited ``ack_delay``
(a finished workflow has no next step).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

__all__ = ["PendingAcks"]


class PendingAcks:
    """Producer subject → (ids handed on, when the first of them was).

    A producer enters at the end with the current time and keeps its place while ids join
    it, so the entries are in the order of their times: :meth:`due` reads only those due.
    """

    def __init__(self) -> None:
        self._pending: dict[str, tuple[set[str], float]] = {}

    def add(self, producer: str, event_id: str) -> None:
        ids, since = self._pending.get(producer, (set(), time.monotonic()))
        ids.add(event_id)
        self._pending[producer] = (ids, since)

    def restore(self, producer: str, ids: Iterable[str]) -> None:
        """Give back ids a step took but did not write."""
        for event_id in ids:
            self.add(producer, event_id)

    def take(self, producer: str) -> list[str]:
        """The ids to write with ``producer``'s next step (they leave the pending set)."""
        entry = self._pending.pop(producer, None)
        return sorted(entry[0]) if entry else []

    def ids(self, producer: str) -> set[str]:
        return self._pending.get(producer, (set(), 0.0))[0]

    def due(self, older_than: float) -> dict[str, list[str]]:
        """Take every producer's ids that have waited at least ``older_than`` seconds."""
        now = time.monotonic()
        due: dict[str, list[str]] = {}
        for producer, (ids, since) in self._pending.items():
            if now - since < older_than:
                break
            due[producer] = sorted(ids)
        for producer in due:
            del self._pending[producer]
        return due
