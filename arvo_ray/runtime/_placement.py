"""Where workflow steps run: the sharded placement (N host actors) or one actor per instance.

Both offer the broker the same four calls: ``submit`` a step, ``acknowledge`` handed-on events
(they leave their instances' outboxes), ``stats`` and ``shutdown``. Sharded hosts write the
acknowledgements themselves, so their warm records never fall behind the memory; instance
actors are retired when their workflow ends, so the broker writes those directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import ray

from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject
from arvo_ray.core.otel import actor_activated, actor_passivated
from arvo_ray.memory import IMachineMemory
from arvo_ray.runtime._actors import WorkflowHostActor
from arvo_ray.runtime._batcher import Batcher
from arvo_ray.runtime._config import BrokerConfig, Instance, Sharded
from arvo_ray.runtime._host import WorkflowHost, acknowledge_all
from arvo_ray.runtime._outcome import StepOutcome
from arvo_ray.runtime._spawn import named_actor, near
from arvo_ray.workflow import is_finished

__all__ = ["InstancePlacement", "ShardedPlacement", "WorkflowPlacement"]

Acknowledgements = dict[str, list[str]]
"""Producer subject → ids of its emitted events that have been handed on."""


def _host_actor(
    config: BrokerConfig, name: str, options: dict[str, Any], cache_entries: int
) -> Any:
    return named_actor(
        WorkflowHostActor,
        name,
        config.namespace,
        max_concurrency=1000,
        max_task_retries=3,
        **options,
    ).remote(
        config.workflows,
        config.memory,
        name,
        cache_entries,
        config.telemetry,
        config.outbox,
        config.history,
        config.routed(),
    )


def _host_sender(host: Any) -> Any:
    def send(items: list[tuple[ArvoEvent, list[str]]]) -> Any:
        return host.handle_batch.remote([event for event, _ in items], [acks for _, acks in items])

    return send


async def _sent(actor: Any, group: Acknowledgements) -> tuple[int, Acknowledgements]:
    """Acknowledgements written by the workflow actor hosting them: (written, not written)."""
    try:
        written: tuple[int, Acknowledgements] = await actor.acknowledge.remote(group)
    except Exception:
        return 0, group
    return written


def _merged(outcomes: list[tuple[int, Acknowledgements]]) -> tuple[int, Acknowledgements]:
    return sum(n for n, _ in outcomes), {s: ids for _, left in outcomes for s, ids in left.items()}


async def _flush_telemetry(handles: list[Any]) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*(h.flush.remote() for h in handles)), 10.0)


class ShardedPlacement:
    """A broker shard's N host actors; an instance lives in the host its subject hashes to.

    Hosts are numbered across shards (shard ``s`` has hosts ``s·N … s·N+N-1``) and, unless
    ``host_options`` say otherwise, placed on their shard's node.
    """

    def __init__(
        self, config: BrokerConfig, placement: Sharded, shard: int = 0, node: str | None = None
    ) -> None:
        self.config = config
        first = shard * placement.num_hosts
        numbers = range(first, first + placement.num_hosts)
        self.names = [f"{config.name}-host-{number}" for number in numbers]
        options = placement.host_options
        self.hosts = [
            _host_actor(
                config,
                name,
                near(node, dict(options[number % len(options)]) if options else {}),
                cache_entries=4096,
            )
            for number, name in zip(numbers, self.names, strict=True)
        ]
        self.batchers: list[Batcher[tuple[ArvoEvent, list[str]], StepOutcome]] = [
            Batcher(_host_sender(host), max_batch=config.max_batch * 2, max_inflight=4)
            for host in self.hosts
        ]

    def _index(self, subject: str) -> int:
        # The shard was chosen by crc32 % brokers: divide that out, or a shard's subjects
        # would all land on the same few hosts.
        return (zlib.crc32(subject.encode("utf-8")) // self.config.brokers) % len(self.hosts)

    async def submit(self, event: ArvoEvent, acknowledged: list[str]) -> StepOutcome:
        batcher = self.batchers[self._index(event.subject)]
        return await batcher.submit((event, acknowledged))

    async def acknowledge(self, due: Acknowledgements) -> tuple[int, Acknowledgements]:
        """Send each host the acknowledgements of its instances.

        Returns how many records were written, and what could not be.
        """
        groups: dict[int, Acknowledgements] = {}
        for subject, ids in due.items():
            groups.setdefault(self._index(subject), {})[subject] = ids

        return _merged(
            await asyncio.gather(*(_sent(self.hosts[i], group) for i, group in groups.items()))
        )

    def stats(self) -> dict[str, Any]:
        return {"hosts": len(self.hosts), "host_batches": sum(b.batches for b in self.batchers)}

    def actor_names(self) -> list[str]:
        return list(self.names)

    async def reap_idle(self) -> None:
        """Hosts live as long as the runtime."""

    async def shutdown(self) -> None:
        if self.config.telemetry is not None:
            await _flush_telemetry(self.hosts)
        for host in self.hosts:
            ray.kill(host, no_restart=True)


@dataclass
class _Instance:
    name: str
    handle: Any
    batcher: Batcher[tuple[ArvoEvent, list[str]], StepOutcome]
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)

    @property
    def idle(self) -> bool:
        return self.users == 0 and not self.batcher.busy


class InstancePlacement:
    """One named actor per workflow instance, at most ``max_live_instances`` alive at once.

    An instance actor is retired (killed; its state is already in memory) when its workflow
    finishes, when it has been idle for ``idle_timeout``, or to make room for another instance
    (least recently used first). The next event for it re-activates it from memory.
    """

    def __init__(
        self,
        config: BrokerConfig,
        placement: Instance,
        memory: IMachineMemory,
        node: str | None = None,
    ) -> None:
        self.config = config
        self.options = placement
        self.actor_options = near(node, dict(placement.actor_options))
        # Events for finished instances (late ones, repeated inits) are answered here from the
        # record, without starting an actor for them: finished records never change.
        self.finished = WorkflowHost(
            config.workflows,
            memory,
            cache_entries=64,
            outbox=config.outbox,
            history=config.history,
            routed=config.routed(),
        )
        self.cap = placement.max_live
        self.live: OrderedDict[str, _Instance] = OrderedDict()
        self.stopping: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Condition()
        self.created = 0
        self.retired = 0
        self.answered_here = 0
        self.peak = 0

    def name_for(self, event: ArvoEvent) -> str:
        return self._name(event.to or "", event.subject)

    def _name(self, workflow: str, subject: str) -> str:
        digest = hashlib.sha1(f"{workflow}\x1f{subject}".encode()).hexdigest()[:24]
        return f"{self.config.name}-wf-{digest}"

    async def submit(self, event: ArvoEvent, acknowledged: list[str]) -> StepOutcome:
        name = self.name_for(event)
        if name not in self.live and await self._is_finished(event.subject):
            self.answered_here += 1
            return await self.finished.handle(event, acknowledged)
        for attempt in range(3):
            instance = await self._acquire(name)
            instance.users += 1
            try:
                outcome = await instance.batcher.submit((event, acknowledged))
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
                self._retire_soon(name, instance)
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    async def _is_finished(self, subject: str) -> bool:
        try:
            record = await self.finished.memory.read(subject)
        except Exception:
            return False  # let an instance actor find out (and report the memory's failure)
        finished = is_finished(record)
        if not finished:
            self.finished.forget(subject)  # only finished records stay warm: they never change
        return finished

    async def acknowledge(self, due: Acknowledgements) -> tuple[int, Acknowledgements]:
        """A live instance's actor writes its own acknowledgements (its warm record stays
        current); those of retired instances, most of them, are written here."""
        by_actor: dict[str, Acknowledgements] = {}
        here: Acknowledgements = {}
        for subject, ids in due.items():
            name = self._name(
                ArvoOrchestrationSubject.parse(subject)["orchestrator"]["name"], subject
            )
            if name in self.live:
                by_actor.setdefault(name, {})[subject] = ids
            else:
                here[subject] = ids

        return _merged(
            await asyncio.gather(
                acknowledge_all(self.finished.memory, here),
                *(_sent(self.live[name].handle, group) for name, group in by_actor.items()),
            )
        )

    async def _acquire(self, name: str) -> _Instance:
        while True:
            instance = self.live.get(name)
            if instance is not None:
                self.live.move_to_end(name)
                return instance
            if len(self.live) + len(self.stopping) < self.cap:
                return self._create(name)
            victim = next((i for i in self.live.values() if i.idle), None)
            if victim is not None:
                self._retire_soon(victim.name, victim)
            async with self.changed:
                # Notified when a slot frees; the timeout covers a notification missed while
                # this waiter was getting here.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), timeout=0.5)

    def _create(self, name: str) -> _Instance:
        handle = _host_actor(self.config, name, self.actor_options, cache_entries=8)
        instance = _Instance(
            name=name,
            handle=handle,
            batcher=Batcher(_host_sender(handle), max_batch=self.config.max_batch, max_inflight=1),
        )
        self.live[name] = instance
        self.created += 1
        actor_activated("instance")
        self.peak = max(self.peak, len(self.live))
        return instance

    def _retire_soon(self, name: str, instance: _Instance) -> None:
        """Retire an instance actor; its process exits in the background (its slot stays
        taken until it has, so live actors never exceed the cap)."""
        if self.live.get(name) is not instance:
            return
        del self.live[name]
        self.retired += 1
        actor_passivated("instance")
        task = asyncio.get_running_loop().create_task(self._stop(instance))
        self.stopping.add(task)  # also keeps the task referenced until done
        task.add_done_callback(self.stopping.discard)

    async def _retire(self, name: str, instance: _Instance) -> None:
        self._retire_soon(name, instance)
        await asyncio.gather(*self.stopping, return_exceptions=True)

    async def _stop(self, instance: _Instance) -> None:
        try:
            if self.config.telemetry is not None:
                await _flush_telemetry([instance.handle])
            ray.kill(instance.handle, no_restart=True)
            # Wait until the process is gone before the slot is given to another actor.
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(
                        instance.handle.ping.options(max_task_retries=0).remote(), timeout=1.0
                    )
                except (TimeoutError, ray.exceptions.RayActorError):
                    break
                await asyncio.sleep(0.01)
        finally:
            async with self.changed:
                self.changed.notify_all()

    async def reap_idle(self) -> None:
        now = time.monotonic()
        for instance in list(self.live.values()):
            if instance.idle and now - instance.last_used > self.options.idle_timeout:
                self._retire_soon(instance.name, instance)

    def stats(self) -> dict[str, Any]:
        return {
            "live_instances": len(self.live),
            "peak_live_instances": self.peak,
            "instances_created": self.created,
            "instances_retired": self.retired,
            "answered_without_actor": self.answered_here,
            "max_live_instances": self.cap,
        }

    def actor_names(self) -> list[str]:
        return list(self.live)

    async def shutdown(self) -> None:
        for name, instance in list(self.live.items()):
            await self._retire(name, instance)


WorkflowPlacement = ShardedPlacement | InstancePlacement
