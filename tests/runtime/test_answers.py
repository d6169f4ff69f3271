"""``AnswerWaiters``: runs waiting for a workflow's answer are woken by the answer, and, when
they asked for it, by the workflow stalling (so they read its record again)."""

from __future__ import annotations

import asyncio

from arvo_ray.core import ArvoEvent, create_arvo_event
from arvo_ray.runtime._answers import AnswerWaiters


def answer_to(caller: str, subject: str) -> ArvoEvent:
    return create_arvo_event(
        source="arvo.orc.test", type="arvo.orc.test.done", to=caller, subject=subject, data={}
    )


def test_a_stall_wakes_only_the_runs_watching_for_it() -> None:
    async def scenario() -> tuple[object, bool, int]:
        waiters = AnswerWaiters()
        watching = waiters.wait_for(("caller", "s-1"), or_stall=True)
        answer_only = waiters.wait_for(("caller", "s-1"))
        elsewhere = waiters.wait_for(("caller", "s-2"), or_stall=True)
        waiters.stalled("s-1")
        woken = await asyncio.wait_for(watching, 1)
        left = answer_only.done() or elsewhere.done()
        waiters.forget(("caller", "s-1"), watching)
        return woken, left, len(waiters)

    woken, left, waiting = asyncio.run(scenario())
    assert woken is None and not left
    assert waiting == 2


def test_an_answer_wakes_every_run_waiting_for_it() -> None:
    async def scenario() -> list[object]:
        waiters = AnswerWaiters()
        futures = [
            waiters.wait_for(("caller", "s-1"), or_stall=True),
            waiters.wait_for(("caller", "s-1")),
        ]
        event = answer_to("caller", "s-1")
        waiters.answered(event)
        return [await asyncio.wait_for(f, 1) is event for f in futures]

    assert asyncio.run(scenario()) == [True, True]
