"""Recovery sweeps: find events a crash left in workflows' outboxes, to publish them again.

An event stays in its producer's outbox until a broker has handed it on. One that is neither
on its way nor handed on, and old enough, was lost with a process: publishing it again is safe
because workflows ignore event ids they consumed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from arvo_ray.core import ArvoEvent
from arvo_ray.memory import IMachineMemory

__all__ = ["sweep_outboxes"]

OutboxCheck = Callable[[str, dict[str, Any]], bool]
"""(producer subject, outbox event as stored) → whether the check holds."""


def _event_age_origin(time_text: Any) -> float:
    """The event's time as epoch seconds (0 when missing or unparseable: treated as old)."""
    try:
        return datetime.fromisoformat(str(time_text)).timestamp()
    except ValueError:
        return 0.0


async def _outboxes(
    memory: IMachineMemory, owns: Callable[[str], bool]
) -> dict[str, list[dict[str, Any]]]:
    """Producer → outbox items of the non-empty outboxes of ``owns``'d workflows: in one call
    where the memory lists outboxes (SQLite, the memory actor), else a read per record."""
    list_outboxes = getattr(memory, "list_outboxes", None)
    if list_outboxes is not None:
        listed: dict[str, list[dict[str, Any]]] = await list_outboxes()
        return {subject: items for subject, items in listed.items() if owns(subject)}
    list_ids = getattr(memory, "list_ids", None)
    found: dict[str, list[dict[str, Any]]] = {}
    for subject in await list_ids() if list_ids is not None else []:
        if owns(subject):
            items = (await memory.read(subject) or {}).get("outbox") or []
            if items:
                found[subject] = items
    return found


async def sweep_outboxes(
    memory: IMachineMemory,
    *,
    owns: Callable[[str], bool],
    in_hand: OutboxCheck,
    handed_on: OutboxCheck,
    min_age: float,
) -> list[tuple[str, ArvoEvent]]:
    """(producer, event) of the outbox events of ``owns``'d workflows to publish again.

    ``in_hand`` events are on their way (being delivered, or their acknowledgement is
    pending); ``handed_on`` ones were delivered but their acknowledgement was not written
    (the check may acknowledge them). Memories that cannot list their records are not swept.
    """
    now = time.time()
    lost: list[tuple[str, ArvoEvent]] = []
    for subject, outbox in (await _outboxes(memory, owns)).items():
        for item in outbox:
            data = item["event"]
            if in_hand(subject, data) or handed_on(subject, data):
                continue
            if now - _event_age_origin(data.get("time")) < min_age:
                continue
            lost.append((subject, ArvoEvent.from_dict(data)))
    return lost
