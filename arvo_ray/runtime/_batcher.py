"""Adaptive batching of calls to one Ray target (a task, a host actor, an instance actor).

A Ray call costs about a millisecond whatever it carries, so events bound for the same target
are sent together: the first event goes out at once, and while calls are in flight (up to
``max_inflight``), new events accumulate and leave as one batch when a slot frees. Under light
load this adds no latency; under heavy load it amortises the per-call cost.

With no bound on calls in flight (``max_inflight=None``, for targets where waiting costs
nothing), the items submitted during one turn of the event loop leave together at its end.

A call may also stream its results, ``(index in the batch, result)`` in any order: each item
then resolves as soon as its result arrives, not when the slowest of its batch is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batcher"]

T = TypeVar("T")
R = TypeVar("R")


Send = Callable[[list[T]], Awaitable[Sequence[R]] | AsyncIterator[tuple[int, R]]]
"""A call with a batch: its results in order, or streamed as (index, result) pairs."""


class Batcher(Generic[T, R]):
    """Send items to ``send(batch)`` (one result per item) in batches."""

    def __init__(
        self,
        send: Send[T, R],
        *,
        max_batch: int = 64,
        max_inflight: int | None = 2,
    ) -> None:
        if max_batch < 1 or (max_inflight is not None and max_inflight < 1):
            raise ValueError("max_batch and max_inflight must be at least 1")
        self._send = send
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._inflight = 0
        self._scheduled = False
        self._calls: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.items = 0

    @property
    def busy(self) -> bool:
        """True while items are queued or calls are in flight."""
        return bool(self._pending) or self._inflight > 0

    async def submit(self, item: T) -> R:
        """Queue one item; resolves with its result (or raises what the call raised)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self.max_inflight is not None:
            self._pump()
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._pump)
        return await future

    def _pump(self) -> None:
        self._scheduled = False
        while self._pending and (self.max_inflight is None or self._inflight < self.max_inflight):
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(self._call(batch))
            self._calls.add(task)  # the loop holds tasks weakly
            task.add_done_callback(self._calls.discard)

    async def _call(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            call = self._send([item for item, _ in batch])
            if isinstance(call, AsyncIterator):
                async for index, result in call:
                    if not batch[index][1].done():
                        batch[index][1].set_result(result)
                missing = [future for _, future in batch if not future.done()]
                if missing:
                    raise RuntimeError(f"The call returned no result for {len(missing)} items")
            else:
                for (_, future), result in zip(batch, await call, strict=True):
                    if not future.done():
                        future.set_result(result)
        except BaseException as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
        finally:
            self._inflight -= 1
            self._pump()
