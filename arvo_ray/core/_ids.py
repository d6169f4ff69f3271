"""Deterministic event ids: the same step, replayed, emits events with the same ids.

A handler task retried after a worker crash, or a workflow step re-run after its actor died,
must not produce "new" events: downstream workflows recognise an event id they have already
consumed and ignore it. So an emitted event's id is derived (name-based, UUID version 5 layout)
from the id of the event that caused it, the emitter and the event's position in the output.
"""

from __future__ import annotations

import hashlib

__all__ = ["derived_event_id"]


def derived_event_id(cause_id: str, emitter: str, *position: object) -> str:
    """A UUID-shaped id, stable for the same cause, emitter and position (and unique otherwise)."""
    key = "\x1f".join((cause_id, emitter, *(str(part) for part in position)))
    digest = bytearray(hashlib.sha1(key.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
