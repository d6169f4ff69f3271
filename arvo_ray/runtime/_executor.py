"""Where async handlers run on Ray: executor actors in which their calls await I/O together.

A handler whose functions are all ``async def`` (``ArvoEventHandler.is_async``) spends its
time waiting (an LLM, an HTTP API), not computing. A Ray task per batch would hold a CPU slot
for as long as its slowest call waits, so on two CPUs only two batches could wait at once.
An executor actor holds no CPU slot: every call the broker sends it waits at the same time in
one event loop, and each result streams back to the broker as soon as it is ready, not when
its batch is done. Handlers with blocking (``def``) functions, or given ``num_cpus``, keep a
task and a CPU slot per batch (:func:`~arvo_ray.runtime._actors.run_handler_batch`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import ray

from arvo_ray.handler import IArvoEventHandler
from arvo_ray.runtime._actors import HandlerCall, execute_outcome
from arvo_ray.runtime._collector import settle_collector
from arvo_ray.runtime._outcome import StepOutcome
from arvo_ray.runtime._spawn import named_actor
from arvo_ray.telemetry import TelemetryConfig, collect_metrics, flush_telemetry, install_telemetry

__all__ = ["HandlerExecutorActor", "awaits_only", "executor_sender", "start_executor"]

ATTEMPTS = 4
"""How often a batch is sent to an executor that died (Ray restarts it) before it fails."""


def awaits_only(handler: IArvoEventHandler, options: Mapping[str, Any]) -> bool:
    """Whether ``handler`` runs in an executor actor: its calls only await, and it was not
    given CPUs of its own."""
    return getattr(handler, "is_async", False) is True and "num_cpus" not in options


class HandlerExecutorActor:
    """Async Ray actor running the calls of async handlers, all waiting at once.

    Args:
        handlers: The handlers it runs (shipped once, when it starts).
        telemetry: Installed in this process, as in every worker.
        max_calls: Cap on calls waiting at once (``None``: the broker's in-flight bound).
        defer_retries: Handlers do not wait between attempts (the broker does, on a timer).
    """

    def __init__(
        self,
        handlers: Sequence[IArvoEventHandler],
        telemetry: TelemetryConfig | None = None,
        max_calls: int | None = None,
        defer_retries: bool = False,
    ) -> None:
        self.handlers = {handler.source: handler for handler in handlers}
        self.defer_retries = defer_retries
        self.telemetry = telemetry
        if telemetry is not None:
            install_telemetry(telemetry)
        self.gate = asyncio.Semaphore(max_calls) if max_calls else contextlib.nullcontext()
        self.waiting = 0
        self.peak_waiting = 0
        self.calls = 0
        settle_collector()

    async def _call(self, handler: IArvoEventHandler, index: int, call: HandlerCall) -> Any:
        async with self.gate:
            self.waiting += 1
            self.calls += 1
            self.peak_waiting = max(self.peak_waiting, self.waiting)
            try:
                return index, await execute_outcome(handler, call, self.defer_retries)
            finally:
                self.waiting -= 1

    async def run_batch(
        self, source: str, items: list[tuple[int, HandlerCall]]
    ) -> AsyncIterator[tuple[int, StepOutcome]]:
        """Run every call of the batch at once; yield ``(index, outcome)`` as each ends."""
        handler = self.handlers[source]
        calls = [asyncio.ensure_future(self._call(handler, i, call)) for i, call in items]
        left = len(calls)
        for next_done in asyncio.as_completed(calls):
            index, outcome = await next_done
            left -= 1
            if not left and self.telemetry is not None and self.telemetry.metrics:
                outcome.metrics = collect_metrics(delta=True) or None
            yield index, outcome

    def stats(self) -> dict[str, int]:
        return {"calls": self.calls, "waiting": self.waiting, "peak_waiting": self.peak_waiting}

    def flush(self) -> bool:
        """Flush telemetry exporters (called before the actor is stopped)."""
        return flush_telemetry() if self.telemetry is not None else True


def start_executor(
    name: str,
    namespace: str,
    handlers: Sequence[IArvoEventHandler],
    options: Mapping[str, Any],
    telemetry: TelemetryConfig | None,
    defer_retries: bool = False,
) -> Any:
    """An executor actor (found again when one of that name runs); ``options`` are its Ray
    actor options, plus ``max_concurrency``: the cap on calls waiting at once."""
    ray_options = {k: v for k, v in options.items() if k != "max_concurrency"}
    return named_actor(
        HandlerExecutorActor, name, namespace, max_concurrency=100_000, **ray_options
    ).remote(list(handlers), telemetry, options.get("max_concurrency"), defer_retries)


def executor_sender(executor: Any, source: str) -> Any:
    """Send a batch of ``source``'s events to ``executor``; stream ``(index, outcome)`` back.

    When the executor dies (Ray restarts it), the calls that gave no result yet are sent again:
    at least once, as a task's retries would (handlers are meant to be idempotent by event id).
    """

    async def send(calls: list[HandlerCall]) -> AsyncIterator[tuple[int, StepOutcome]]:
        left = dict(enumerate(calls))
        for attempt in range(ATTEMPTS):
            try:
                async for ref in executor.run_batch.remote(source, list(left.items())):
                    index, outcome = await ref
                    left.pop(index, None)
                    yield index, outcome
                return
            except ray.exceptions.RayActorError:
                if attempt == ATTEMPTS - 1:
                    raise

    return send
