"""What runs inside Ray workers: handler tasks and workflow host actors.

Both only place the pure core: a handler task calls ``handler.execute``; a host actor runs
:class:`~arvo_ray.runtime._host.WorkflowHost`. Errors come back as values
(:class:`~arvo_ray.runtime._outcome.StepOutcome`), so violations keep their type and are not
logged as task failures by Ray.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import ray

from arvo_ray.core import ArvoEvent
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory
from arvo_ray.runtime._collector import settle_collector
from arvo_ray.runtime._host import WorkflowHost
from arvo_ray.runtime._outcome import StepOutcome
from arvo_ray.telemetry import TelemetryConfig, collect_metrics, flush_telemetry, install_telemetry
from arvo_ray.workflow import WorkflowHandler

__all__ = ["HandlerCall", "WorkflowHostActor", "execute_outcome", "run_handler_batch"]

# Handlers are shipped once per process (by object reference) and kept here afterwards.
_HANDLER_CACHE: dict[str, IArvoEventHandler] = {}


HandlerCall = tuple[ArvoEvent, int]
"""An event for a handler, and which attempt of its retry policy this call is (1: the first)."""


async def execute_outcome(
    handler: IArvoEventHandler, call: HandlerCall, defer_retries: bool = False
) -> StepOutcome:
    """One call of ``handler``: its events, or what it raised (a value: violations keep their
    type, and Ray does not log them as task failures). With ``defer_retries`` a handler with a
    retry policy does not wait between attempts: the outcome says when to call again."""
    event, attempt = call
    try:
        if defer_retries and getattr(handler, "retry", None) is not None:
            result = await handler.execute(  # type: ignore[call-arg]
                event, attempt=attempt, defer_retry=True
            )
        else:
            result = await handler.execute(event)
    except Exception as error:
        return StepOutcome(error=error)
    return StepOutcome(events=result.events, retry_in=result.retry_in)


async def _execute_all(
    handler: IArvoEventHandler, calls: Sequence[HandlerCall], defer_retries: bool
) -> list[StepOutcome]:
    return list(
        await asyncio.gather(*(execute_outcome(handler, call, defer_retries) for call in calls))
    )


def _with_metrics(
    outcomes: list[StepOutcome], telemetry: TelemetryConfig | None
) -> list[StepOutcome]:
    """Attach this process's new metric figures to the batch (its processes are not addressable)."""
    if telemetry is not None and telemetry.metrics and outcomes:
        outcomes[0].metrics = collect_metrics(delta=True) or None
    return outcomes


async def _nothing() -> int:
    return 0


def _handler_from(box: Sequence[Any]) -> IArvoEventHandler:
    # The reference arrives in a list so Ray does not resolve (and deserialise) it per task.
    ref = box[0]
    key = ref.hex()
    handler = _HANDLER_CACHE.get(key)
    if handler is None:
        handler = _HANDLER_CACHE[key] = ray.get(ref)
    return handler


@ray.remote(max_retries=3)
def run_handler_batch(
    box: Sequence[Any],
    calls: Sequence[HandlerCall],
    telemetry: TelemetryConfig | None = None,
    defer_retries: bool = False,
) -> list[StepOutcome]:
    """Run a stateless handler on a batch of events (retried if the worker dies: handlers are pure)."""
    if telemetry is not None:
        install_telemetry(telemetry)  # once per process; later calls compare and return
    outcomes = asyncio.run(_execute_all(_handler_from(box), calls, defer_retries))
    return _with_metrics(outcomes, telemetry)


class WorkflowHostActor:
    """A Ray actor hosting workflow instances: one (instance placement) or many (sharded).

    Restarted actors re-run this constructor and recover everything from memory: the actor
    holds no state that is not in the memory, only a warm cache of it.
    """

    def __init__(
        self,
        workflows: list[WorkflowHandler],
        memory: IMachineMemory,
        name: str,
        cache_entries: int = 4096,
        telemetry: TelemetryConfig | None = None,
        outbox: bool = True,
        history: int = 0,
        routed: Callable[[str], bool] | None = None,
    ) -> None:
        self.name = name
        self.telemetry = telemetry
        if telemetry is not None:
            install_telemetry(telemetry)
        # Every incarnation of this actor locks as "<name>:<pid>:<random>", so a restarted one
        # recognises (and reclaims) what its dead predecessors left locked.
        self.family = f"{name}:"
        owner = f"{self.family}{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.host = WorkflowHost(
            workflows,
            memory.for_owner(owner),
            cache_entries=cache_entries,
            outbox=outbox,
            history=history,
            routed=routed,
        )
        self._ready: asyncio.Task[int] | None = None
        settle_collector()

    async def _started(self) -> None:
        if self._ready is None:
            restarted = ray.get_runtime_context().was_current_actor_reconstructed
            self._ready = asyncio.get_running_loop().create_task(
                self.host.reclaim_locks(self.family) if restarted else _nothing()
            )
        with contextlib.suppress(Exception):  # best effort: the lock TTL covers a failure
            await asyncio.shield(self._ready)

    async def handle_batch(
        self, events: list[ArvoEvent], acknowledged: list[list[str]] | None = None
    ) -> list[StepOutcome]:
        await self._started()
        return _with_metrics(await self.host.handle_batch(events, acknowledged), self.telemetry)

    async def acknowledge(
        self, acknowledged: dict[str, list[str]]
    ) -> tuple[int, dict[str, list[str]]]:
        """Empty handed-on events from outboxes: (records written, what could not be)."""
        await self._started()
        return await self.host.acknowledge(acknowledged)

    def stats(self) -> dict[str, Any]:
        cache = self.host.memory
        return {
            "name": self.name,
            "pid": os.getpid(),
            "node": ray.get_runtime_context().get_node_id(),
            "steps": self.host.steps,
            "retries": self.host.retries,
            "duplicates": self.host.duplicates,
            "acknowledged": self.host.acknowledged,
            "cache_hits": cache.hits,
            "cache_misses": cache.misses,
        }

    def ping(self) -> str:
        return self.name

    def flush(self) -> bool:
        """Flush telemetry exporters (called before the actor is stopped)."""
        return flush_telemetry() if self.telemetry is not None else True
