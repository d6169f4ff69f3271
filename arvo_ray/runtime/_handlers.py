"""How a broker calls its stateless handlers: a Ray task per batch, or an executor actor.

Blocking handlers (``def`` functions) and handlers given ``num_cpus`` run as tasks, one CPU
slot per batch, retried by Ray if the worker dies. Async handlers run in executor actors
(:mod:`~arvo_ray.runtime._executor`), where any number of calls wait at once. Handlers with
the same Ray options share an executor; each broker shard has its own, next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import ray

from arvo_ray.core import ArvoEvent
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.runtime._actors import HandlerCall, run_handler_batch
from arvo_ray.runtime._batcher import Batcher
from arvo_ray.runtime._config import BrokerConfig
from arvo_ray.runtime._executor import awaits_only, executor_sender, start_executor
from arvo_ray.runtime._outcome import StepOutcome
from arvo_ray.runtime._spawn import near

__all__ = ["HandlerCalls"]


def _task_sender(
    box: list[Any], options: dict[str, Any], telemetry: Any, defer_retries: bool
) -> Callable[[list[HandlerCall]], Awaitable[list[StepOutcome]]]:
    """Send a batch of calls to a task of the handler ``box`` holds (shipped once)."""

    task = run_handler_batch.options(**options)  # once: options() builds a new wrapper

    def send(calls: list[HandlerCall]) -> Awaitable[list[StepOutcome]]:
        return task.remote(box, calls, telemetry, defer_retries)  # type: ignore[no-any-return]

    return send


class HandlerCalls:
    """The batchers of a broker shard's handlers, by topic.

    With ``defer_retries`` (the runtime has timers) a handler's retry policy does not wait in
    the worker: the outcome says when, and the broker sets a durable timer for the next
    attempt.
    """

    def __init__(
        self, config: BrokerConfig, shard: int, node: str | None, defer_retries: bool = False
    ) -> None:
        self.config = config
        self.handlers = {handler.source: handler for handler in config.handlers}
        self.batchers: dict[str, Batcher[HandlerCall, StepOutcome]] = {}
        groups: dict[str, tuple[dict[str, Any], list[IArvoEventHandler]]] = {}
        for handler in config.handlers:
            options = config.handler_options_for(handler.source)
            if awaits_only(handler, options):
                groups.setdefault(repr(sorted(options.items())), (options, []))[1].append(handler)
                continue
            options = {"num_cpus": 1, **options}
            concurrency = options.pop("max_concurrency", 4)
            self.batchers[handler.source] = Batcher(
                _task_sender([ray.put(handler)], options, config.telemetry, defer_retries),
                max_batch=config.max_batch,
                max_inflight=concurrency,
            )
        self.executors: list[Any] = []
        for number, (options, handlers) in enumerate(groups.values()):
            executor = start_executor(
                f"{config.name}-handlers-{shard}-{number}",
                config.namespace,
                handlers,
                near(node, options),
                config.telemetry,
                defer_retries,
            )
            self.executors.append(executor)
            for handler in handlers:
                self.batchers[handler.source] = Batcher(
                    executor_sender(executor, handler.source),
                    max_batch=config.max_batch,
                    max_inflight=None,
                )

    def __contains__(self, topic: str) -> bool:
        return topic in self.batchers

    def submit(self, topic: str, event: ArvoEvent, attempt: int = 1) -> Awaitable[StepOutcome]:
        return self.batchers[topic].submit((event, attempt))

    @property
    def batches(self) -> int:
        return sum(batcher.batches for batcher in self.batchers.values())

    async def executor_stats(self) -> list[dict[str, int]]:
        stats: list[dict[str, int]] = await asyncio.gather(
            *(executor.stats.remote() for executor in self.executors)
        )
        return stats

    async def shutdown(self) -> None:
        if self.config.telemetry is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*(e.flush.remote() for e in self.executors)), 10.0
                )
        for executor in self.executors:
            ray.kill(executor, no_restart=True)
