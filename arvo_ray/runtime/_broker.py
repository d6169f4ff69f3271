"""The broker actor: routes every event of every chain across the cluster.

It owns the routing table (an event's ``to`` → a handler task or a workflow placement), moves
events until each chain ends, and returns to the caller what no one subscribes to. Calls are
batched per target (:class:`~arvo_ray.runtime._batcher.Batcher`) and the number of events in
flight is bounded (backpressure). Errors and violations are reported with their event and kept
as dead letters; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import ray

from arvo_ray.core import ArvoEvent, is_transaction_violation_error, is_violation_error
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory
from arvo_ray.runtime._actors import WorkflowHostActor, run_handler_batch
from arvo_ray.runtime._batcher import Batcher
from arvo_ray.runtime._outcome import DeadLetter, RunResult, StepOutcome
from arvo_ray.telemetry import (
    TelemetryConfig,
    actor_activated,
    actor_passivated,
    collect_metrics,
    flush_telemetry,
    install_telemetry,
    log_event_failure,
    merge_metrics,
    routing_span,
    summarize_metrics,
)
from arvo_ray.workflow import WorkflowHandler

__all__ = ["BrokerActor", "BrokerConfig"]


def _retryable(errors: list[DeadLetter]) -> bool:
    """Failures the recovery sweep heals: memory transactions and infrastructure (dead workers).

    Other violations (contract, config, execution) are final: retrying cannot change them.
    """
    return any(
        is_transaction_violation_error(letter.error) or not is_violation_error(letter.error)
        for letter in errors
    )


def _event_age_origin(time_text: Any) -> float:
    """The event's time as epoch seconds (0 when missing or unparseable: treated as old)."""
    try:
        return datetime.fromisoformat(str(time_text)).timestamp()
    except ValueError:
        return 0.0


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
    ack_delay: float = 2.0
    recovery_interval: float = 30.0
    recovery_age: float = 10.0
    completion_timeout: float = 600.0
    telemetry: TelemetryConfig | None = None
    outbox: bool = True


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
        .remote(
            config.workflows, config.memory, name, cache_entries, config.telemetry, config.outbox
        )
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
            Batcher(_host_sender(host), max_batch=config.max_batch * 2, max_inflight=4)
            for host in self.hosts
        ]

    async def submit(self, event: ArvoEvent, acknowledged: list[str]) -> StepOutcome:
        index = zlib.crc32(event.subject.encode("utf-8")) % len(self.hosts)
        return await self.batchers[index].submit((event, acknowledged))

    def stats(self) -> dict[str, Any]:
        return {"hosts": len(self.hosts), "host_batches": sum(b.batches for b in self.batchers)}

    def actor_names(self) -> list[str]:
        return list(self.names)


def _host_sender(host: Any) -> Any:
    def send(items: list[tuple[ArvoEvent, list[str]]]) -> Any:
        return host.handle_batch.remote([event for event, _ in items], [acks for _, acks in items])

    return send


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

    async def submit(self, event: ArvoEvent, acknowledged: list[str]) -> StepOutcome:
        name = self.name_for(event)
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
            batcher=Batcher(_host_sender(handle), max_batch=self.config.max_batch, max_inflight=1),
        )
        self.live[name] = instance
        self.created += 1
        actor_activated("instance")
        self.peak = max(self.peak, len(self.live))
        return instance

    async def _retire(self, name: str, instance: _Instance) -> None:
        if self.live.get(name) is not instance:
            return
        del self.live[name]
        self.retired += 1
        actor_passivated("instance")
        if self.config.telemetry is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(instance.handle.flush.remote(), timeout=5.0)
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
        if config.telemetry is not None:
            install_telemetry(config.telemetry)
        self.metrics_total: dict[str, Any] = {}
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
                ).remote(box, events, config.telemetry),
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
        self.counters["recovered_events"] = 0
        self.counters["acks_flushed"] = 0
        # Producer subject -> (ids handed on, when the first of them was): acknowledgements
        # ride along with the producer's next step, or are written after ``ack_delay``.
        self.pending_acks: dict[str, tuple[set[str], float]] = {}
        self.inflight: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()
        # (caller, subject) -> futures of retried runs waiting for the workflow's answer.
        self.waiters: dict[tuple[str, str], list[asyncio.Future[ArvoEvent]]] = {}
        self.memory = config.memory.for_owner(f"{config.name}-broker-{uuid.uuid4().hex[:8]}")
        # Async actors construct inside their event loop: start maintenance (and a recovery
        # sweep, which matters after a restart) right away.
        self._maintenance = asyncio.get_running_loop().create_task(self._maintain())

    def ready(self) -> dict[str, Any]:
        return {"handlers": self.handler_sources, "workflows": self.workflow_sources}

    # -- maintenance: idle instances, leftover acknowledgements, outbox recovery -----------------

    async def _maintain(self) -> None:
        await self._guarded(self.recover(min_age=0.0))
        last_recovery = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            if isinstance(self.placement, _InstancePlacement):
                await self._guarded(self.placement.reap_idle())
            await self._guarded(self.flush_acks(self.config.ack_delay))
            if time.monotonic() - last_recovery >= self.config.recovery_interval:
                await self._guarded(self.recover(min_age=self.config.recovery_age))
                last_recovery = time.monotonic()

    def _spawn(self, work: Any) -> None:
        # Keep a reference until done: the loop only holds tasks weakly.
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _guarded(work: Any) -> None:
        try:
            await work
        except Exception:
            _logger.exception("Broker maintenance step failed")

    def _acknowledge(self, producer: str, event_id: str) -> None:
        ids, since = self.pending_acks.get(producer, (set(), time.monotonic()))
        ids.add(event_id)
        self.pending_acks[producer] = (ids, since)

    def _take_acks(self, subject: str) -> list[str]:
        entry = self.pending_acks.pop(subject, None)
        return sorted(entry[0]) if entry else []

    def _restore_acks(self, subject: str, ids: list[str]) -> None:
        for event_id in ids:
            self._acknowledge(subject, event_id)

    async def flush_acks(self, older_than: float = 0.0) -> int:
        """Write acknowledgements that no later step of their workflow carried (finished ones)."""
        now = time.monotonic()
        flushed = 0
        for subject, (ids, since) in list(self.pending_acks.items()):
            if now - since < older_than or self.pending_acks.get(subject, (None,))[0] is not ids:
                continue
            del self.pending_acks[subject]
            try:
                record = await self.memory.read(subject)
                outbox = (record or {}).get("outbox") or []
                kept = [item for item in outbox if item["event"]["id"] not in ids]
                if record is not None and len(kept) != len(outbox):
                    await self.memory.write(subject, {**record, "outbox": kept}, record)
                    flushed += 1
            except Exception:
                self._restore_acks(subject, sorted(ids))
        self.counters["acks_flushed"] += flushed
        return flushed

    async def recover(self, min_age: float = 0.0) -> int:
        """Re-publish outbox events nobody acknowledged (lost in a crash): idempotent by id."""
        list_ids = getattr(self.memory, "list_ids", None)
        if list_ids is None:
            return 0
        now = time.time()
        lost: list[tuple[str, ArvoEvent]] = []
        for subject in await list_ids():
            record = await self.memory.read(subject)
            pending = self.pending_acks.get(subject, (set(), 0.0))[0]
            for item in (record or {}).get("outbox") or []:
                data = item["event"]
                if data["id"] in pending or data["id"] in self.inflight:
                    continue
                if now - _event_age_origin(data.get("time")) < min_age:
                    continue
                lost.append((subject, ArvoEvent.from_dict(data)))
        for subject, event in lost:
            self.counters["recovered_events"] += 1
            self._spawn(self._guarded(self._route(event, RunResult(), subject)))
        if lost:
            _logger.warning("Re-publishing %d unacknowledged outbox events", len(lost))
        return len(lost)

    # -- routing ------------------------------------------------------------------------------

    async def run(self, event: ArvoEvent, trace: bool = False) -> RunResult:
        """Route ``event`` and everything it causes; return when the chain has ended."""
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
        if result.final is None and (result.redelivered or _retryable(result.errors)):
            # The chain was cut (a retried run, or a transient failure that the recovery sweep
            # will deliver again): wait for the workflow's own answer.
            result.final = await self._answer_of(event)
        result.seconds = time.perf_counter() - started
        return result

    async def _answer_of(self, event: ArvoEvent) -> ArvoEvent | None:
        """The answer to a workflow's initial event after a retried run: from its record once
        the workflow has ended, or as its recovered chain delivers it."""
        key = (event.source, event.subject)
        future: asyncio.Future[ArvoEvent] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(key, []).append(future)
        deadline = time.monotonic() + self.config.completion_timeout
        try:
            while time.monotonic() < deadline:
                record = await self.memory.read(event.subject)
                if record is not None and (
                    record.get("status") == "done" or record.get("executionStatus") == "failure"
                ):
                    produced = (record.get("events") or {}).get("produced") or []
                    answers = [e for e in produced if e.get("to") == event.source]
                    return ArvoEvent.from_dict(answers[-1]) if answers else None
                with contextlib.suppress(asyncio.TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(future), timeout=1.0)
            return None
        finally:
            waiting = self.waiters.get(key, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self.waiters.pop(key, None)

    async def _route(
        self, event: ArvoEvent, result: RunResult, producer: str | None = None
    ) -> bool:
        """Deliver ``event`` and its consequences; then acknowledge it to its ``producer``.

        An event that failed stays unacknowledged in its producer's outbox, so the recovery
        sweep delivers it again (after a lock expired, a worker came back...).
        """
        self.inflight.add(event.id)
        try:
            delivered = await self._deliver(event, result)
        finally:
            self.inflight.discard(event.id)
        if producer is not None and delivered and self.config.outbox:
            self._acknowledge(producer, event.id)
        return delivered

    async def _deliver(self, event: ArvoEvent, result: RunResult) -> bool:
        if result.trace is not None:
            result.trace.append(event)
        if event.domain:
            result.domained.append(event)
            self.counters["domained"] += 1
            return True
        to = event.to or ""
        acks: list[str] = []
        if to in self.handler_batchers:
            self.counters["handler_events"] += 1
            submit: Any = self.handler_batchers[to].submit(event)
        elif to in self.workflow_sources:
            self.counters["workflow_events"] += 1
            acks = self._take_acks(event.subject)
            submit = self.placement.submit(event, acks)
        else:
            result.outputs.append(event)
            self.unrouted.append(event)
            self.counters["outputs"] += 1
            for future in self.waiters.get((to, event.subject), ()):
                if not future.done():
                    future.set_result(event)
            return True
        result.hops += 1
        self.counters["events_routed"] += 1
        async with self.slots:
            with routing_span(event, attributes={"arvo.runtime.placement": self.config.placement}):
                try:
                    outcome: StepOutcome = await submit
                except Exception as error:  # a dead worker after Ray's retries, etc.
                    outcome = StepOutcome(error=error)
        if outcome.metrics:
            self.metrics_total = merge_metrics([self.metrics_total, outcome.metrics])
        if acks and not outcome.committed:
            # The step wrote nothing (error, redelivery, ignored event): keep them for later.
            self._restore_acks(event.subject, acks)
        if outcome.error is not None:
            letter = DeadLetter(error=outcome.error, event=event)
            result.errors.append(letter)
            self.dead_letters.append(letter)
            self.counters["errors"] += 1
            if is_violation_error(outcome.error):
                self.counters["violations"] += 1
            # The one place a violation raised to the infrastructure is logged, with its event.
            log_event_failure(outcome.error, event, logger=_logger)
        if outcome.finished:
            self.counters["workflows_finished"] += 1
        if outcome.duplicate:
            result.redelivered = True
        # Events a workflow emitted sit in its outbox until handed on: acknowledge them to it.
        producer = event.subject if to in self.workflow_sources else None
        if len(outcome.events) == 1:
            children = [await self._route(outcome.events[0], result, producer)]
        else:
            children = list(
                await asyncio.gather(
                    *(self._route(item, result, producer) for item in outcome.events)
                )
            )
        # A workflow's events wait in its own outbox; a handler's answers exist nowhere else,
        # so the request counts as handed on only once its answers were.
        # A final violation is handed on too: to the dead letters, where retrying cannot help.
        handed_on = outcome.error is None or not _retryable([DeadLetter(outcome.error, event)])
        return handed_on and (producer is not None or all(children))

    def stats(self) -> dict[str, Any]:
        batches = sum(b.batches for b in self.handler_batchers.values())
        if self.config.telemetry is not None and self.config.telemetry.metrics:
            self.metrics_total = merge_metrics([self.metrics_total, collect_metrics(delta=True)])
        metrics = summarize_metrics(self.metrics_total) if self.metrics_total else {}
        return {
            **({"metrics": metrics} if metrics else {}),
            **self.counters,
            "handler_batches": batches,
            "dead_letters": len(self.dead_letters),
            "placement": self.config.placement,
            **self.placement.stats(),
        }

    def waiting(self) -> list[tuple[str, str]]:
        """(caller, subject) of retried runs still waiting for their workflow's answer."""
        return list(self.waiters)

    def get_dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        letters = list(self.dead_letters)
        return letters[-limit:] if limit else letters

    def get_unrouted(self, limit: int | None = None) -> list[ArvoEvent]:
        events = list(self.unrouted)
        return events[-limit:] if limit else events

    def actor_names(self) -> list[str]:
        return self.placement.actor_names()

    async def shutdown(self) -> None:
        """Flush acknowledgements, then kill every workflow actor this broker started."""
        self._maintenance.cancel()
        await self._guarded(self.flush_acks(0.0))
        if isinstance(self.placement, _InstancePlacement):
            for name, instance in list(self.placement.live.items()):
                await self.placement._retire(name, instance)
        else:
            if self.config.telemetry is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        asyncio.gather(*(host.flush.remote() for host in self.placement.hosts)),
                        10.0,
                    )
            for host in self.placement.hosts:
                ray.kill(host, no_restart=True)
        if self.config.telemetry is not None:
            flush_telemetry()
