"""Slots: the broker's bound on hops in flight, handed on in arrival order."""

from __future__ import annotations

import asyncio

import pytest

from arvo_ray.runtime._slots import Slots


async def test_never_more_than_the_limit_and_waiters_enter_in_arrival_order() -> None:
    slots, entered, inside, most = Slots(3), [], 0, 0

    async def work(index: int) -> None:
        nonlocal inside, most
        async with slots:
            entered.append(index)
            inside += 1
            most = max(most, inside)
            for _ in range(index % 4):
                await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(work(index) for index in range(50)))
    assert most == 3 and entered == list(range(50))


async def test_a_waiter_cancelled_while_it_waits_takes_no_slot() -> None:
    slots = Slots(1)
    await slots.__aenter__()
    waiter = asyncio.ensure_future(slots.__aenter__())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await slots.__aexit__(None, None, None)
    assert slots._free == 1 and not slots._waiters  # passed over, not handed the slot


async def test_a_waiter_cancelled_just_after_it_was_handed_a_slot_passes_it_on() -> None:
    slots = Slots(1)
    await slots.__aenter__()
    second = asyncio.ensure_future(slots.__aenter__())
    third = asyncio.ensure_future(slots.__aenter__())
    await asyncio.sleep(0)
    await slots.__aexit__(None, None, None)  # hands the slot to the second (no yield)...
    second.cancel()  # ...cancelled before it could run
    with pytest.raises(asyncio.CancelledError):
        await second
    await third  # the third has the slot
    assert slots._free == 0 and not slots._waiters
    await slots.__aexit__(None, None, None)
    assert slots._free == 1


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Slots(0)
