"""Events one broker shard hands to another, batched: one actor call carries many.

A child workflow's chain runs on the child's shard and its completion goes back to the
parent's, so most nested workflows cross between shards twice, and a timer's reply goes from
the shard that fires timers to the one that owns its chain. An actor call costs the two shards
CPU whatever it carries, so hand-offs to the same shard issued in one turn of the event loop
leave together, and each result streams back as soon as its chain is done: a long chain holds
up none of the others.

When the stream breaks (the shard died and Ray did not carry the call over to its next
incarnation), the hand-offs that gave no result are sent again one call each, as before the
batching, with Ray's retries on the restarted shard; deliveries already under way there are
joined, not repeated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from arvo_ray._results import DeadLetter, RunResult
from arvo_ray.core import ArvoEvent
from arvo_ray.runtime._batcher import Batcher

__all__ = ["Handoff", "ShardHandoffs", "ShardPart", "as_completed_parts"]

_logger = logging.getLogger("arvo_ray.runtime")

Handoff = tuple[ArvoEvent, bool, int]
"""An event handed to the shard that owns its chain: (event, whether to trace the run, attempt
of its handler's retry policy)."""

ShardPart = tuple[bool, tuple[DeadLetter, ...], RunResult, list[ArvoEvent], bool]
"""What a shard returns for an event of its chains another shard handed it: (handed on,
dead letters, the part of the run it routed, stored answers it found, whether a handler's
retry in it was deferred)."""

Deliver = Callable[[ArvoEvent, bool, int], Awaitable[ShardPart]]


async def as_completed_parts(
    deliver: Deliver, handoffs: list[Handoff], keep: set[asyncio.Task[Any]]
) -> AsyncIterator[tuple[int, ShardPart | Exception]]:
    """``deliver`` every hand-off at once; ``(index, part or the error it raised)`` as each
    ends. The deliveries are kept in ``keep``: they finish even if nobody reads on."""

    async def one(index: int, handoff: Handoff) -> tuple[int, ShardPart | Exception]:
        try:
            return index, await deliver(*handoff)
        except Exception as error:
            return index, error

    tasks = [asyncio.ensure_future(one(i, handoff)) for i, handoff in enumerate(handoffs)]
    for task in tasks:
        keep.add(task)
        task.add_done_callback(keep.discard)
    for next_done in asyncio.as_completed(tasks):
        yield await next_done


class ShardHandoffs:
    """The hand-offs of one shard to its peers, batched per peer.

    Args:
        peer: The actor handle of shard ``i``.
        max_batch: Most hand-offs in one call.
        keep: Where the fallback's deliveries are kept until done.
    """

    def __init__(
        self, peer: Callable[[int], Any], max_batch: int, keep: set[asyncio.Task[Any]]
    ) -> None:
        self._peer = peer
        self._max_batch = max_batch
        self._keep = keep
        self._batchers: dict[int, Batcher[Handoff, ShardPart | Exception]] = {}

    @property
    def calls(self) -> int:
        """Actor calls that carried hand-offs so far."""
        return sum(batcher.batches for batcher in self._batchers.values())

    async def hand(self, owner: int, handoff: Handoff) -> ShardPart:
        """Deliver ``handoff`` through shard ``owner``; what it routed.

        Raises:
            Exception: the delivery failed (the shard stayed unreachable, or it raised).
        """
        batcher = self._batchers.get(owner)
        if batcher is None:
            batcher = self._batchers[owner] = Batcher(
                self._sender(owner), max_batch=self._max_batch, max_inflight=None
            )
        part = await batcher.submit(handoff)
        if isinstance(part, Exception):
            raise part
        return part

    def _one(self, owner: int) -> Deliver:
        def deliver(event: ArvoEvent, trace: bool, attempt: int) -> Awaitable[ShardPart]:
            return self._peer(owner).deliver.remote(event, trace, attempt)  # type: ignore[no-any-return]

        return deliver

    def _sender(
        self, owner: int
    ) -> Callable[[list[Handoff]], AsyncIterator[tuple[int, ShardPart | Exception]]]:
        async def send(handoffs: list[Handoff]) -> AsyncIterator[tuple[int, ShardPart | Exception]]:
            left = dict(enumerate(handoffs))
            if len(handoffs) > 1:
                try:
                    async for ref in self._peer(owner).deliver_batch.remote(handoffs):
                        index, part = await ref
                        if left.pop(index, None) is not None:
                            yield index, part
                except Exception as error:
                    _logger.warning(
                        "Hand-offs to broker shard %d broke off (%r); sending the %d left one "
                        "by one",
                        owner,
                        error,
                        len(left),
                    )
            indices = list(left)
            async for position, part in as_completed_parts(
                self._one(owner), [left[index] for index in indices], self._keep
            ):
                yield indices[position], part

        return send
