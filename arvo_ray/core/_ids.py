"""Deterministic event ids: the same step, replayed, emits events with the same ids.

A handler task retried after a worker crash, or a workflow step re-run after its actor died,
must not produce "new" events: downstream workflows recognise an event id they have already
consumed and ignore it. So an emitted event's id is derived (name-based, UUID version 5 layout)
from the event that caused it (its CloudEvents identity, ``source`` and ``id``, and its
subject), the emitter and the event's position in the output. The subject is part of it
because producers reuse ids across workflows (a developer-managed id, a client that counts):
two workflows started by events with one id must not emit events with one id.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

__all__ = ["derived_event_id"]


class _Cause(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def subject(self) -> str: ...


def derived_event_id(cause: _Cause, emitter: str, *position: object) -> str:
    """A UUID-shaped id, stable for the same cause, emitter and position (and unique otherwise).

    Example:
        >>> from arvo_ray.core import create_arvo_event
        >>> cause = create_arvo_event(source="com.x.client", type="com.x.ask", subject="s1",
        ...     data={}, id="order-42")
        >>> derived_event_id(cause, "com.x.ask", 0, None) == derived_event_id(
        ...     cause, "com.x.ask", 0, None)
        True
        >>> other = cause.model_copy(update={"subject": "s2"})
        >>> derived_event_id(cause, "com.x.ask", 0, None) != derived_event_id(
        ...     other, "com.x.ask", 0, None)
        True
    """
    key = "\x1f".join(
        (cause.id, cause.source, cause.subject, emitter, *(str(part) for part in position))
    )
    # surrogatepass: ids are JSON strings, which may hold lone surrogates (as JavaScript's do).
    digest = bytearray(hashlib.sha1(key.encode("utf-8", "surrogatepass")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
