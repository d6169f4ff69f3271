"""``Batcher`` on its own (no Ray): batching under load, streamed results, unbounded calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from arvo_ray.runtime._batcher import Batcher


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_items_wait_for_a_free_call_and_leave_together() -> None:
    sizes: list[int] = []
    release = asyncio.Event()

    async def send(items: list[int]) -> list[int]:
        sizes.append(len(items))
        await release.wait()
        return [item * 2 for item in items]

    async def scenario() -> list[int]:
        batcher = Batcher(send, max_batch=10, max_inflight=1)
        calls = [asyncio.ensure_future(batcher.submit(i)) for i in range(25)]
        await asyncio.sleep(0)
        release.set()
        return list(await asyncio.gather(*calls))

    assert run(scenario()) == [i * 2 for i in range(25)]
    assert sizes == [1, 10, 10, 4]


def test_streamed_results_resolve_before_the_slowest_of_their_batch() -> None:
    """A call that streams (index, result) pairs: the fast items of a batch are answered while
    its slow item still waits."""
    first_may_finish = asyncio.Event()
    slow_may_finish = asyncio.Event()
    batches: list[list[str]] = []

    async def send(items: list[str]) -> AsyncIterator[tuple[int, str]]:
        batches.append(items)
        for index in sorted(range(len(items)), key=lambda i: items[i] == "slow"):
            if items[index] == "first":
                await first_may_finish.wait()
            if items[index] == "slow":
                await slow_may_finish.wait()
            yield index, items[index].upper()

    async def scenario() -> tuple[list[str], str]:
        batcher = Batcher(send, max_batch=8, max_inflight=1)
        first = asyncio.ensure_future(batcher.submit("first"))  # keeps the one call busy
        await asyncio.sleep(0)
        slow = asyncio.ensure_future(batcher.submit("slow"))
        fast = [asyncio.ensure_future(batcher.submit(f"f{i}")) for i in range(3)]
        await asyncio.sleep(0)
        first_may_finish.set()
        await first
        answered = list(await asyncio.gather(*fast))
        assert batches[1] == ["slow", "f0", "f1", "f2"]
        assert not slow.done()
        slow_may_finish.set()
        return answered, await slow

    answered, slow = run(scenario())
    assert answered == ["F0", "F1", "F2"] and slow == "SLOW"


def test_a_stream_that_skips_an_item_fails_that_item() -> None:
    async def send(items: list[int]) -> AsyncIterator[tuple[int, int]]:
        yield 0, items[0]

    async def scenario() -> None:
        batcher = Batcher(send, max_batch=4, max_inflight=None)
        first, second = batcher.submit(1), batcher.submit(2)
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert results[0] == 1
        assert isinstance(results[1], RuntimeError) and "no result for 1" in str(results[1])

    run(scenario())


def test_without_a_bound_items_of_one_loop_turn_leave_in_one_call() -> None:
    sizes: list[int] = []

    async def send(items: list[int]) -> list[int]:
        sizes.append(len(items))
        await asyncio.sleep(0.01)
        return items

    async def scenario() -> None:
        batcher = Batcher(send, max_batch=50, max_inflight=None)
        first = [batcher.submit(i) for i in range(120)]
        await asyncio.gather(*first)
        await asyncio.gather(*(batcher.submit(i) for i in range(3)))

    run(scenario())
    assert sizes == [50, 50, 20, 3]


def test_bad_bounds_are_refused() -> None:
    async def send(items: list[int]) -> list[int]:
        return items

    with pytest.raises(ValueError, match="at least 1"):
        Batcher(send, max_batch=0)
    with pytest.raises(ValueError, match="at least 1"):
        Batcher(send, max_inflight=0)
