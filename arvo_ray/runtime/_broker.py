"""The broker actor: routes every event of every chain across the cluster.

It owns the routing table (an event's ``to`` → a handler task or a workflow placement), moves
events until each chain ends, and returns to the caller what no one subscribes to. Calls are
batched per target (:class:`~arvo_ray.runtime._batcher.Batcher`) and the number of events in
flight is bounded (backpressure). Errors and violations are reported with their event and kept
as dead letters; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Literal

import ray

from arvo_ray.core import ArvoEvent, is_violation_error
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory
from arvo_ray.runtime._actors import WorkflowHostActor, run_handler_batch
from arvo_ray.runtime._batcher import Batcher
from arvo_ray.runtime._outcome import DeadLetter, RunResult, StepOutcome
from arvo_ray.workflow import WorkflowHandler

__all__ = ["BrokerActor", "BrokerConfig"]

_logger = logging.getLogger("arvo_ray.runtime")

Placement = Literal["instance", "sharded"]


@dataclass
class BrokerConfig:
    """Everything the broker needs to build its routing table (shipped once, at creation)."""

    name: str
    namespace: str
    handlers: list[IArvoEventHandler]
    workflows: list[WorkflowHandler]
    memory: IMachineMemory
    placement: Placement = "instance"
    num_hosts: int = 2
    max_live_instances: int = 16
    idle_timeout: float = 30.0
    max_in_flight: int = 4096
    max_batch: int = 64
    handler_options: dict[str, Any] = field(default_factory=dict)
    host_options: list[dict[str, Any]] = field(default_factory=list)
    instance_options: dict[str, Any] = field(default_factory=dict)
    keep_last: int = 10_000


def _host_actor(
    config: BrokerConfig, name: str, options: dict[str, Any], cache_entries: int
) -> Any:
    return (
        ray.remote(WorkflowHostActor)
        .options(
            name=name,
            namespace=config.namespace,
            get_if_exists=True,
            lifetime="detached",
            num_cpus=0,
            max_concurrency=1000,
            max_restarts=-1,
            max_task_retries=3,
            **options,
        )
        .remote(config.workflows, config.memory, name, cache_entries)
    )


class _ShardedPlacement:
    """N host actors; an instance lives in the host its subject hashes to."""

    def __init__(self, config: BrokerConfig) -> None:
        self.names = [f"{config.name}-host-{index}" for index in range(config.num_hosts)]
        self.hosts = [
            _host_actor(
                config,
                name,
                config.host_options[index % len(config.host_options)]
                if config.host_options
                else {},
                cache_entries=4096,
            )
            for index, name in enumerate(self.names)
        ]
        self.batchers = [
            Batcher(
                lambda events, host=host: host.handle_batch.remote(events),
                max_batch=config.max_batch * 2,
                max_inflight=4,
            )
            for host in self.hosts
        ]

    async def submit(self, event: ArvoEvent) -> StepOutcome:
        index = zlib.crc32(event.subject.encode("utf-8")) % len(self.hosts)
        return await self.batchers[index].submit(event)

    def stats(self) -> dict[str, Any]:
        return {"hosts": len(self.hosts), "host_batches": sum(b.batches for b in self.batchers)}

    def actor_names(self) -> list[str]:
        return list(self.names)


@dataclass
class _Instance:
    name: str
    handle: Any
    batcher: Batcher[ArvoEvent, StepOutcome]
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)

    @property
    def idle(self) -> bool:
        return self.users == 0 and not self.batcher.busy


class _InstancePlacement:
    """One named actor per workflow instance, at most ``max_live_instances`` alive at once.

    An instance actor is retired (killed; its state is already in memory) when its workflow
    finishes, when it has been idle for ``idle_timeout``, or to make room for another instance
    (least recently used first). The next event for it re-activates it from memory.
    """

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.cap = config.max_live_instances
        self.live: OrderedDict[str, _Instance] = OrderedDict()
        self.changed = asyncio.Condition()
        self.created = 0
        self.retired = 0
        self.peak = 0

    def name_for(self, event: ArvoEvent) -> str:
        digest = hashlib.sha1(f"{event.to}\x1f{event.subject}".encode()).hexdigest()[:24]
        return f"{self.config.name}-wf-{digest}"

    async def submit(self, event: ArvoEvent) -> StepOutcome:
        name = self.name_for(event)
        for attempt in range(3):
            instance = await self._acquire(name)
            instance.users += 1
            try:
                outcome = await instance.batcher.submit(event)
            except ray.exceptions.RayActorError as error:
                # Retired concurrently or died: its state is in memory, start it again.
                await self._retire(name, instance)
                if attempt == 2:
                    return StepOutcome(error=error)
                continue
            finally:
                instance.users -= 1
                instance.last_used = time.monotonic()
                async with self.changed:
                    self.changed.notify_all()
            if outcome.finished and instance.idle:
                await self._retire(name, instance)
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    async def _acquire(self, name: str) -> _Instance:
        while True:
            instance = self.live.get(name)
            if instance is not None:
                self.live.move_to_end(name)
                return instance
            if len(self.live) < self.cap:
                return self._create(name)
            victim = next((i for i in self.live.values() if i.idle), None)
            if victim is not None:
                await self._retire(victim.name, victim)
                continue
            async with self.changed:
                await self.changed.wait()

    def _create(self, name: str) -> _Instance:
        handle = _host_actor(self.config, name, self.config.instance_options, cache_entries=8)
        instance = _Instance(
            name=name,
            handle=handle,
            batcher=Batcher(
                lambda events: handle.handle_batch.remote(events),
                max_batch=self.config.max_batch,
                max_inflight=1,
            ),
        )
        self.live[name] = instance
        self.created += 1
        self.peak = max(self.peak, len(self.live))
        return instance

    async def _retire(self, name: str, instance: _Instance) -> None:
        if self.live.get(name) is not instance:
            return
        del self.live[name]
        self.retired += 1
        ray.kill(instance.handle, no_restart=True)
        # Wait until the process is gone, so live actors never exceed the cap.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(
                    instance.handle.ping.options(max_task_retries=0).remote(), timeout=1.0
                )
            except (TimeoutError, ray.exceptions.RayActorError):
                break
            await asyncio.sleep(0.01)
        async with self.changed:
            self.changed.notify_all()

    async def reap_idle(self) -> None:
        now = time.monotonic()
        for instance in list(self.live.values()):
            if instance.idle and now - instance.last_used > self.config.idle_timeout:
                await self._retire(instance.name, instance)

    def stats(self) -> dict[str, Any]:
        return {
            "live_instances": len(self.live),
            "peak_live_instances": self.peak,
            "instances_created": self.created,
            "instances_retired": self.retired,
            "max_live_instances": self.cap,
        }

    def actor_names(self) -> list[str]:
        return list(self.live)


class BrokerActor:
    """Async Ray actor that routes events and drives chains to their end."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.handler_sources = [h.source for h in config.handlers]
        self.workflow_sources = [w.source for w in config.workflows]
        clash = set(self.handler_sources) & set(self.workflow_sources)
        duplicates = {s for s in self.handler_sources if self.handler_sources.count(s) > 1}
        if clash or duplicates:
            raise ValueError(
                f"Each topic needs exactly one handler; repeated: {sorted(clash | duplicates)}"
            )
        self.handler_batchers: dict[str, Batcher[ArvoEvent, StepOutcome]] = {}
        for handler in config.handlers:
            box = [ray.put(handler)]
            options = {"num_cpus": 1, **config.handler_options}
            self.handler_batchers[handler.source] = Batcher(
                lambda events, box=box, options=options: run_handler_batch.options(
                    **options
                ).remote(box, events),
                max_batch=config.max_batch,
                max_inflight=4,
            )
        self.placement: _ShardedPlacement | _InstancePlacement = (
            _ShardedPlacement(config)
            if config.placement == "sharded"
            else _InstancePlacement(config)
        )
        self.slots = asyncio.Semaphore(config.max_in_flight)
        self.dead_letters: deque[DeadLetter] = deque(maxlen=config.keep_last)
        self.unrouted: deque[ArvoEvent] = deque(maxlen=config.keep_last)
        self.counters: dict[str, int] = {
            "runs": 0,
            "runs_active": 0,
            "events_routed": 0,
            "handler_events": 0,
            "workflow_events": 0,
            "outputs": 0,
            "errors": 0,
            "violations": 0,
            "domained": 0,
            "workflows_finished": 0,
        }
        self._reaper: asyncio.Task[None] | None = None

    def ready(self) -> dict[str, Any]:
        return {"handlers": self.handler_sources, "workflows": self.workflow_sources}

    async def _reap_forever(self) -> None:
        period = max(0.5, min(self.config.idle_timeout / 2, 5.0))
        while True:
            await asyncio.sleep(period)
            if isinstance(self.placement, _InstancePlacement):
                await self.placement.reap_idle()

    async def run(self, event: ArvoEvent, trace: bool = False) -> RunResult:
        """Route ``event`` and everything it causes; return when the chain has ended."""
        if self._reaper is None and isinstance(self.placement, _InstancePlacement):
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())
        started = time.perf_counter()
        result = RunResult(trace=[] if trace else None)
        self.counters["runs"] += 1
        self.counters["runs_active"] += 1
        try:
            await self._route(event, result)
        finally:
            self.counters["runs_active"] -= 1
        answers = [e for e in result.outputs if e.to == event.source]
        result.final = answers[-1] if answers else None
        result.seconds = time.perf_counter() - started
        return result

    async def _route(self, event: ArvoEvent, result: RunResult) -> None:
        if result.trace is not None:
            result.trace.append(event)
        if event.domain:
            result.domained.append(event)
            self.counters["domained"] += 1
            return
        to = event.to or ""
        if to in self.handler_batchers:
            target: Any = self.handler_batchers[to]
            self.counters["handler_events"] += 1
        elif to in self.workflow_sources:
            target = self.placement
            self.counters["workflow_events"] += 1
        else:
            result.outputs.append(event)
            self.unrouted.append(event)
            self.counters["outputs"] += 1
            return
        result.hops += 1
        self.counters["events_routed"] += 1
        async with self.slots:
            try:
                outcome: StepOutcome = await target.submit(event)
            except Exception as error:
                outcome = StepOutcome(error=error)
        if outcome.error is not None:
            letter = DeadLetter(error=outcome.error, event=event)
            result.errors.append(letter)
            self.dead_letters.append(letter)
            self.counters["errors"] += 1
            if is_violation_error(outcome.error):
                self.counters["violations"] += 1
            _logger.warning(
                "Event could not be processed: %s",
                outcome.error,
                extra={
                    "arvo": {
                        "event_id": event.id,
                        "event_type": event.type,
                        "subject": event.subject,
                    }
                },
            )
        if outcome.finished:
            self.counters["workflows_finished"] += 1
        if len(outcome.events) == 1:
            await self._route(outcome.events[0], result)
        elif outcome.events:
            await asyncio.gather(*(self._route(produced, result) for produced in outcome.events))

    def stats(self) -> dict[str, Any]:
        batches = sum(b.batches for b in self.handler_batchers.values())
        return {
            **self.counters,
            "handler_batches": batches,
            "dead_letters": len(self.dead_letters),
            "placement": self.config.placement,
            **self.placement.stats(),
        }

    def get_dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        letters = list(self.dead_letters)
        return letters[-limit:] if limit else letters

    def get_unrouted(self, limit: int | None = None) -> list[ArvoEvent]:
        events = list(self.unrouted)
        return events[-limit:] if limit else events

    def actor_names(self) -> list[str]:
        return self.placement.actor_names()

    async def shutdown(self) -> None:
        """Kill every workflow actor this broker started."""
        if self._reaper is not None:
            self._reaper.cancel()
        if isinstance(self.placement, _InstancePlacement):
            for name, instance in list(self.placement.live.items()):
                await self.placement._retire(name, instance)
        else:
            for host in self.placement.hosts:
                ray.kill(host, no_restart=True)
