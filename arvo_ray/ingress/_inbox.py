"""``Inbox``: what an ingress has acknowledged, kept in the runtime's memory.

A ``202 Accepted`` is a promise: the event will have its effect even if every process that
saw it dies a moment later. So an event is written to the memory *before* the answer goes
out, under a key of its ``source`` and ``id`` (a CloudEvent's identity). The write is a
compare-and-set insert, which also makes the inbox the de-duplicator: a second event with the
same identity finds the key taken and is acknowledged without a second effect.

When its chain ends the entry is marked done, with the final event, so a repeated request
(or a ``?wait``) gets the same answer. An entry still "accepted" long after its acceptance
belongs to a chain that a crash cut short: :meth:`Inbox.sweep` lists them for re-sending
(at least once; workflows ignore event ids they consumed), and deletes the done entries past
their keeping time, so the inbox, and each sweep over it, holds only recent events. Nothing
here imports Ray.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from arvo_ray.core import ArvoEvent
from arvo_ray.memory import IMachineMemory, StaleRecordError

__all__ = ["INBOX_PREFIX", "Inbox", "inbox_key"]

INBOX_PREFIX = "arvo-ingress:"


def inbox_key(event: ArvoEvent) -> str:
    """The memory key of ``event``'s entry: a CloudEvent is identified by source and id."""
    return f"{INBOX_PREFIX}{len(event.source)}:{event.source}:{event.id}"


class Inbox:
    """Acceptances, outcomes and de-duplication of ingress events, in ``memory``.

    Args:
        memory: The runtime's memory (any backend: its compare-and-set does the work).
        clock: Seconds since the epoch (injectable for tests).
    """

    def __init__(self, memory: IMachineMemory, clock: Callable[[], float] = time.time) -> None:
        self.memory = memory
        self.clock = clock

    async def accept(self, event: ArvoEvent) -> bool:
        """Record ``event`` as accepted; ``False`` when an event of the same identity was
        accepted before (a duplicate: it must have no second effect).

        Raises:
            Exception: the memory failed; the event is not accepted.
        """
        entry = {"status": "accepted", "acceptedAt": self.clock(), "event": event.to_dict()}
        try:
            await self.memory.write(inbox_key(event), entry, None)
        except StaleRecordError:
            return False
        return True

    async def entry(self, event: ArvoEvent) -> dict[str, Any] | None:
        return await self.memory.read(inbox_key(event))

    async def finish(
        self, event: ArvoEvent, final: ArvoEvent | None, error: str | None = None
    ) -> None:
        """Mark ``event``'s entry done with the chain's final event (or the error that ended
        it). Tolerant: an entry already done is left as it is."""
        key = inbox_key(event)
        for _ in range(3):
            entry = await self.memory.read(key)
            if entry is None or entry.get("status") == "done":
                return
            done: dict[str, Any] = {
                **entry,
                "status": "done",
                "finishedAt": self.clock(),
                "final": None if final is None else final.to_dict(),
                "error": error,
            }
            try:
                await self.memory.write(key, done, entry)
                return
            except StaleRecordError:
                continue

    async def sweep(self, stalled_after: float, keep_done: float) -> list[ArvoEvent]:
        """One pass over the inbox: the accepted events whose chain has not ended
        ``stalled_after`` seconds after acceptance (to send again). Done entries that finished
        more than ``keep_done`` seconds ago are deleted: a repeat of such an event is then
        accepted as a new one.

        Needs a memory that can list its keys (every built-in one can; others return none), and
        one that can ``delete`` to drop done entries (every built-in one can).
        """
        list_ids = getattr(self.memory, "list_ids", None)
        if list_ids is None:
            return []
        delete = getattr(self.memory, "delete", None)
        now = self.clock()
        found = []
        for key in await list_ids(INBOX_PREFIX):
            entry = await self.memory.read(key)
            if not entry:
                continue
            status = entry.get("status")
            if status == "accepted" and entry["acceptedAt"] <= now - stalled_after:
                found.append(ArvoEvent.from_dict(entry["event"]))
            elif status == "done" and delete and entry["finishedAt"] <= now - keep_done:
                await delete(key, entry)  # False: another sweep was first
        return found
