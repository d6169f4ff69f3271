"""Runs waiting for a workflow's answer after their own chain was cut.

A run whose chain ended early (a redelivery: the rest runs elsewhere; a failure the recovery
sweep heals) still owes its caller the workflow's answer. It reads the stored answer, or waits
here until the recovered chain returns it: nothing polls the memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject

__all__ = ["AnswerWaiters", "answer_key", "answer_subject"]

AnswerKey = tuple[str, str]
"""(caller, subject) of an answer: who it goes back to, and the subject it carries."""


def answer_subject(event: ArvoEvent) -> str:
    """The subject a workflow started by ``event`` answers on: its parent's, when ``event``
    starts a child, else its own."""
    parent = event.data.get("parentSubject$$") if isinstance(event.data, dict) else None
    return parent if isinstance(parent, str) else event.subject


def answer_key(event: ArvoEvent, workflows: Collection[str]) -> AnswerKey | None:
    """(caller, subject) of the answer of the workflow ``event`` starts, or ``None`` when that
    answer does not come back to the caller (not a workflow's init event, or a workflow that
    answers another party)."""
    if event.to not in workflows or event.type != event.to:
        return None
    try:
        subject = ArvoOrchestrationSubject.parse(event.subject)
    except Exception:
        return None
    recipient = subject["meta"].get("redirectto") or subject["execution"]["initiator"]
    if recipient != event.source:
        return None
    return (event.source, answer_subject(event))


class AnswerWaiters:
    """Futures of runs waiting for an answer, keyed by (caller, subject)."""

    def __init__(self) -> None:
        self._futures: dict[AnswerKey, list[asyncio.Future[ArvoEvent | None]]] = {}
        self._stall_watchers: set[asyncio.Future[ArvoEvent | None]] = set()

    def wait_for(
        self, key: AnswerKey, *, or_stall: bool = False
    ) -> asyncio.Future[ArvoEvent | None]:
        """A future of the answer for ``key``; with ``or_stall``, done with ``None`` as soon
        as the workflow whose answer it is stalls instead."""
        future: asyncio.Future[ArvoEvent | None] = asyncio.get_running_loop().create_future()
        self._futures.setdefault(key, []).append(future)
        if or_stall:
            self._stall_watchers.add(future)
        return future

    def forget(self, key: AnswerKey, future: asyncio.Future[ArvoEvent | None]) -> None:
        self._stall_watchers.discard(future)
        waiting = self._futures.get(key, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            self._futures.pop(key, None)

    def answered(self, event: ArvoEvent) -> None:
        """``event`` was returned to its ``to``: it answers the runs waiting for it."""
        for future in self._futures.get((event.to or "", event.subject), ()):
            if not future.done():
                future.set_result(event)

    def stalled(self, subject: str) -> None:
        """The workflow ``subject`` stalled (noted on its record): the runs watching for that
        wake with ``None`` and read the record again."""
        for (_, waited), futures in self._futures.items():
            for future in futures:
                if waited == subject and future in self._stall_watchers and not future.done():
                    future.set_result(None)

    def __len__(self) -> int:
        return sum(len(futures) for futures in self._futures.values())
