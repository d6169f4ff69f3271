"""``ShardHandoffs`` on its own (no Ray): hand-offs to one shard share a call, each result
comes back when its chain is done, and a broken stream falls back to one call per hand-off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest

from arvo_ray import RunResult
from arvo_ray.core import ArvoEvent, create_arvo_event
from arvo_ray.runtime._handoffs import Handoff, ShardHandoffs, ShardPart, as_completed_parts


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def event(number: int) -> ArvoEvent:
    return create_arvo_event(
        source="com.test.shard", type="com.test.step", subject=f"s-{number}", data={}
    )


def part(number: int) -> ShardPart:
    return True, (), RunResult(hops=number), [], False


class Remote:
    """What ``handle.method.remote(...)`` gives: an awaitable (or a stream of them)."""

    def __init__(self, call: Any) -> None:
        self.remote = call


class FakeShard:
    """A peer shard: each event's delivery takes as long as its number says (in turns), and
    the stream may break after ``break_after`` results."""

    def __init__(self, break_after: int | None = None) -> None:
        self.batches: list[int] = []
        self.singles: list[str] = []
        self.break_after = break_after
        self.deliver = Remote(self._deliver)
        self.deliver_batch = Remote(self._deliver_batch)

    async def _delivered(self, event: ArvoEvent, trace: bool, attempt: int) -> ShardPart:
        number = int(event.subject.removeprefix("s-"))
        for _ in range(number):
            await asyncio.sleep(0)
        if number < 0:
            raise LookupError(f"no chain for {event.subject}")
        return part(number)

    def _deliver(self, event: ArvoEvent, trace: bool, attempt: int) -> Awaitable[ShardPart]:
        self.singles.append(event.subject)
        return self._delivered(event, trace, attempt)

    def _deliver_batch(self, handoffs: list[Handoff]) -> AsyncIterator[Awaitable[Any]]:
        self.batches.append(len(handoffs))
        shard = self

        async def stream() -> AsyncIterator[Awaitable[Any]]:
            sent = 0
            async for item in as_completed_parts(self._delivered, handoffs, set()):
                if shard.break_after is not None and sent == shard.break_after:
                    raise ConnectionError("the shard died")
                sent += 1
                yield asyncio.sleep(0, item)  # Ray yields refs to await

        return stream()


def test_handoffs_issued_together_share_one_call_and_come_back_in_the_order_they_end() -> None:
    shard = FakeShard()
    ended: list[int] = []

    async def scenario() -> list[ShardPart]:
        handoffs = ShardHandoffs(lambda index: shard, max_batch=64, keep=set())

        async def one(number: int) -> ShardPart:
            result = await handoffs.hand(1, (event(number), False, 1))
            ended.append(number)
            return result

        parts = await asyncio.gather(*(one(n) for n in (30, 1, 5)))
        assert handoffs.calls == 1
        return parts

    assert [p[2].hops for p in run(scenario())] == [30, 1, 5]
    assert shard.batches == [3] and shard.singles == []
    assert ended == [1, 5, 30]  # the long chain held up neither of the others


def test_a_lone_handoff_is_one_plain_call_and_its_error_is_raised() -> None:
    shard = FakeShard()

    async def scenario() -> None:
        handoffs = ShardHandoffs(lambda index: shard, max_batch=64, keep=set())
        assert (await handoffs.hand(0, (event(2), False, 1)))[2].hops == 2
        with pytest.raises(LookupError, match="no chain for s--1"):
            await handoffs.hand(0, (event(-1), False, 1))

    run(scenario())
    assert shard.batches == [] and shard.singles == ["s-2", "s--1"]


def test_a_broken_stream_sends_what_gave_no_result_one_call_each() -> None:
    shard = FakeShard(break_after=2)

    async def scenario() -> list[int]:
        handoffs = ShardHandoffs(lambda index: shard, max_batch=64, keep=set())
        parts = await asyncio.gather(
            *(handoffs.hand(1, (event(n), False, 1)) for n in (1, 2, 3, 4))
        )
        return [p[2].hops for p in parts]

    assert run(scenario()) == [1, 2, 3, 4]
    assert shard.batches == [4]
    assert sorted(shard.singles) == ["s-3", "s-4"]  # only those, each once
