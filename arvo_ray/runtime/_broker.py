"""The broker actor: routes the events of the chains it owns across the cluster.

A runtime has one broker actor, or ``k`` of them (shards), each owning the chains whose
subject hashes to it (:mod:`~arvo_ray.runtime._routing`); an event of another shard's chain
is handed to that shard. A broker sends each event to a handler task or to the workflow
placement by its ``to``, moves events until each chain ends, and returns to the caller what
no one subscribes to. Calls are
batched per target (:class:`~arvo_ray.runtime._batcher.Batcher`) and the number of events in
flight is bounded (backpressure). Errors and violations are reported with their event and kept
as dead letters; nothing is dropped.

What it promises the caller of :meth:`BrokerActor.run`, whatever crashes or retries happen
inside the chain:

* **an answer, once.** A workflow's answer is stored with its record, so a run whose chain was
  cut (a retried run, a repeated init, a transient failure healed by the recovery sweep) gets it
  from there or is notified when the recovered chain delivers it; nothing polls the memory.
  Every event shows at most once in a run's result.
* **no chain twice.** An event already being delivered is not delivered again: a second route
  of the same id joins the first. An outbox event that was handed on is not handed on again
  when a recovery sweep or a replay finds it a moment later. Only a crash (whose in-memory
  bookkeeping is lost) can repeat a handler call, with the same event ids, and workflows
  ignore ids they consumed.
* **a definite outcome, in bounded time.** A workflow step that fails transiently (a lock left
  by a dead process, a memory that restarts) is retried for ``step_retry_window`` seconds;
  then the caller gets the error. An event that belongs to no workflow instance is a dead
  letter with the reason; one that reaches a finished workflow is counted as late.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import ray

from arvo_ray._results import (
    AnswerTimeoutError,
    DeadLetter,
    OrphanEventError,
    RunResult,
    WorkflowStalledError,
)
from arvo_ray.core import ArvoEvent, is_transaction_violation_error, is_violation_error
from arvo_ray.egress import EventSink, SinkRouting, UndeliverableError
from arvo_ray.memory import MemoryBackendError
from arvo_ray.runtime._acks import PendingAcks
from arvo_ray.runtime._answers import AnswerWaiters, answer_key
from arvo_ray.runtime._chain import ChainRun, Delivery, Remembered, event_identity
from arvo_ray.runtime._collector import settle_collector
from arvo_ray.runtime._config import BrokerConfig, Sharded
from arvo_ray.runtime._handlers import HandlerCalls
from arvo_ray.runtime._handoffs import Handoff, ShardHandoffs, ShardPart, as_completed_parts
from arvo_ray.runtime._outcome import StepOutcome
from arvo_ray.runtime._placement import InstancePlacement, ShardedPlacement
from arvo_ray.runtime._recovery import sweep_outboxes
from arvo_ray.runtime._routing import RoutingTable, broker_name, shard_of
from arvo_ray.telemetry import (
    collect_metrics,
    flush_telemetry,
    install_telemetry,
    log_event_failure,
    merge_metrics,
    routing_span,
)
from arvo_ray.timers import TimerFiring, TimerService
from arvo_ray.workflow import is_finished, stored_answer

__all__ = ["BrokerActor", "BrokerConfig"]

_logger = logging.getLogger("arvo_ray.runtime")

COUNTERS = (
    "runs",
    "run_batches",
    "runs_active",
    "runs_active_peak",
    "events_routed",
    "handler_events",
    "workflow_events",
    "outputs",
    "duplicate_outputs",
    "errors",
    "violations",
    "orphans",
    "late_events",
    "duplicates",
    "domained",
    "workflows_finished",
    "step_retries",
    "redeliveries_joined",
    "redeliveries_skipped",
    "answers_waited",
    "answer_timeouts",
    "recovered_events",
    "acks_flushed",
    "handed_to_shards",
    "sunk",
    "sink_failures",
    "timer_requests",
    "timers_fired",
    "timers_late",
    "retries_deferred",
)


def _transient_failure(outcome: StepOutcome) -> bool:
    return outcome.error is not None and _transient(outcome.error)


def _transient(error: BaseException) -> bool:
    """Failures a retry can heal: memory transactions, dead or restarting processes.

    Everything else (violations, orphans, errors raised by code) is final: retrying cannot
    change it.
    """
    if is_transaction_violation_error(error) or isinstance(error, MemoryBackendError):
        return True
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = error.cause
        return cause is not None and cause is not error and _transient(cause)
    return isinstance(error, ray.exceptions.RayError)


class BrokerActor:
    """Async Ray actor that routes events and drives chains to their end.

    Args:
        config: The runtime's routing table and knobs (the same for every shard).
        shard: Which of the ``config.brokers`` shards this broker is.
    """

    def __init__(self, config: BrokerConfig, shard: int = 0) -> None:
        self.config = config
        self.shard = shard
        if config.telemetry is not None:
            install_telemetry(config.telemetry)
        self.metrics_total: dict[str, Any] = {}
        timers = config.timers
        self.timers = (
            None
            if timers is None or timers.store is None
            else TimerService(timers.store, timers.clock)
        )
        # The timer service's two topics are answered here: a request is one store write.
        self.timer_doors = {
            door.source: door for door in (self.timers.handlers if self.timers else [])
        }
        self.routes = RoutingTable(
            [h.source for h in config.handlers] + list(self.timer_doors),
            [w.source for w in config.workflows],
        )
        # Workflow actors live next to their shard: a chain's routing and state on one node.
        node = ray.get_runtime_context().get_node_id()
        self.handler_calls = HandlerCalls(
            config, shard, node, defer_retries=self.timers is not None
        )
        self.memory = config.memory.for_owner(f"{config.name}-broker-{uuid.uuid4().hex[:8]}")
        self.placement: ShardedPlacement | InstancePlacement = (
            ShardedPlacement(config, config.placement, shard, node)
            if isinstance(config.placement, Sharded)
            else InstancePlacement(config, config.placement, self.memory, node)
        )
        self.slots = asyncio.Semaphore(config.max_in_flight)
        self.dead_letters: deque[DeadLetter] = deque(maxlen=config.keep_last)
        self.unrouted: deque[ArvoEvent] = deque(maxlen=config.keep_last)
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.acks = PendingAcks()
        # A service's one answer to a workflow takes the acknowledgement of the request with it:
        # answer id → request id. And the events whose acknowledgement is taken care of before
        # their delivery ends: written with that answer's step, or queued as soon as the
        # workflow step that consumed them committed (see _deliver).
        self.along: dict[str, str] = {}
        self.acked_along: set[str] = set()
        # Keyed by event_identity: deliveries under way, and handed-on outbox events (with the
        # dead letters of their delivery) and returned outputs, remembered for a while.
        self.inflight: dict[int, asyncio.Future[Delivery]] = {}
        # (subject, id) of the events being delivered: what their steps emit is on its way here
        # even when it is already in a committed outbox, so a sweep must not re-publish it.
        self.delivering: Counter[tuple[str, str]] = Counter()
        self.handed_on = Remembered()
        self.returned = Remembered()
        self.waiters = AnswerWaiters()
        self.sinks = SinkRouting(config.sinks)
        self._shards: dict[int, Any] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.handoffs = ShardHandoffs(self._peer, config.max_batch, self._background)
        # Async actors construct inside their event loop: start maintenance (and a recovery
        # sweep, which matters after a restart) right away.
        self._maintenance = asyncio.get_running_loop().create_task(self._maintain())
        self._firing: TimerFiring | None = None
        if self.timers is not None and timers is not None and shard == 0:
            self._firing = TimerFiring(self.timers, self._fire, poll=timers.poll)
            self._spawn(self._firing.run())
        settle_collector()

    def ready(self) -> dict[str, list[str]]:
        return self.routes.topics()

    def _owns(self, subject: str) -> bool:
        return shard_of(subject, self.config.brokers) == self.shard

    def _peer(self, index: int) -> Any:
        """The handle of broker shard ``index`` (looked up once: shards start together)."""
        handle = self._shards.get(index)
        if handle is None:
            name = broker_name(self.config.name, index, self.config.brokers)
            handle = self._shards[index] = ray.get_actor(name, namespace=self.config.namespace)
        return handle

    # -- maintenance: idle instances, leftover acknowledgements, outbox recovery -----------------

    async def _maintain(self) -> None:
        # The sweep at start matters most (after a restart, every acknowledgement the previous
        # incarnation held is gone): retry it until the memory answers.
        delay = 0.25
        while True:
            try:
                await self.recover(min_age=0.0)
                break
            except Exception:
                _logger.exception("Recovery sweep failed; retrying in %.2f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        last_recovery = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            await self._guarded(self.placement.reap_idle())
            await self._guarded(self.flush_acks(self.config.ack_delay))
            if time.monotonic() - last_recovery >= self.config.recovery_interval:
                await self._guarded(self.recover(min_age=self.config.recovery_age))
                last_recovery = time.monotonic()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        # Keep a reference until done: the loop only holds tasks weakly.
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _guarded(work: Awaitable[Any]) -> None:
        try:
            await work
        except Exception:
            _logger.exception("Broker maintenance step failed")

    async def flush_acks(self, older_than: float = 0.0) -> int:
        """Write acknowledgements that no later step of their workflow carried (finished ones)."""
        due = self.acks.due(older_than)
        if not due:
            return 0
        try:
            written, left = await self.placement.acknowledge(due)
        except Exception:
            written, left = 0, due
        for subject, ids in left.items():
            self.acks.restore(subject, ids)
        self.counters["acks_flushed"] += written
        return written

    async def recover(self, min_age: float = 0.0) -> int:
        """Re-publish this shard's outbox events nobody acknowledged (lost in a crash):
        idempotent by id."""

        def in_hand(subject: str, data: dict[str, Any]) -> bool:
            return (
                data["id"] in self.acks.ids(subject)
                or event_identity(data) in self.inflight
                # its step's result is on its way: handed on when it arrives
                or (subject, data.get("parentid")) in self.delivering
            )

        def handed_on(subject: str, data: dict[str, Any]) -> bool:
            if event_identity(data) not in self.handed_on:
                return False
            self.acks.add(subject, data["id"])  # its acknowledgement was not written
            return True

        lost = await sweep_outboxes(
            self.memory, owns=self._owns, in_hand=in_hand, handed_on=handed_on, min_age=min_age
        )
        for subject, event in lost:
            self.counters["recovered_events"] += 1
            self._spawn(self._guarded(self._route(event, ChainRun(RunResult()), subject)))
        if lost:
            _logger.warning("Re-publishing %d unacknowledged outbox events", len(lost))
        return len(lost)

    # -- routing ------------------------------------------------------------------------------

    async def run(self, event: ArvoEvent, trace: bool = False) -> RunResult:
        """Route ``event`` and everything it causes; return when the chain has ended."""
        started = time.perf_counter()
        run = ChainRun(RunResult(trace=[] if trace else None))
        result = run.result
        counters = self.counters
        counters["runs"] += 1
        counters["runs_active"] += 1
        counters["runs_active_peak"] = max(counters["runs_active_peak"], counters["runs_active"])
        # A handler called directly whose retry may wait on a timer answers after the chain
        # ended: listen from the start, the retry may fire at once.
        direct = (event.source, event.subject)
        retried = self.waiters.wait_for(direct) if self._defers(event) else None
        try:
            await self._route(event, run, top=True)
            result.final = run.answer_to(event.source)
            if result.final is None and (self._cut(result) or run.deferred):
                key = answer_key(event, self.routes.workflows)
                if key is not None:
                    result.final = await self._answer_of(event, key, run)
                elif retried is not None and run.deferred:
                    result.final = await self._retried_answer(retried, event, run)
        finally:
            counters["runs_active"] -= 1
            if retried is not None:
                self.waiters.forget(direct, retried)
        result.seconds = time.perf_counter() - started
        return result

    async def run_batch(self, events: list[ArvoEvent]) -> list[RunResult | BaseException]:
        """:meth:`run` for many events in one call: a driver running thousands of chains pays
        one actor call per batch instead of one per chain. Each event's failure comes back in
        its place, so one failing chain does not hide the others' results."""
        self.counters["run_batches"] += 1
        runs = (self.run(event) for event in events)
        return list(await asyncio.gather(*runs, return_exceptions=True))

    async def deliver(self, event: ArvoEvent, trace: bool = False, attempt: int = 1) -> ShardPart:
        """Route an event of this shard's chains that another shard handed over (``attempt``:
        of its handler's retry policy, for a retry that fell due)."""
        run = ChainRun(RunResult(trace=[] if trace else None))
        letters: list[DeadLetter] = []
        handed_on = await self._route(event, run, letters=letters, attempt=attempt)
        return handed_on, tuple(letters), run.result, run.answers, run.deferred

    async def deliver_batch(
        self, handoffs: list[Handoff]
    ) -> AsyncIterator[tuple[int, ShardPart | Exception]]:
        """:meth:`deliver` for the events another shard handed over in one call; yields
        ``(index, part)`` as each delivery ends, so a long chain holds up none of the others."""
        async for item in as_completed_parts(self.deliver, handoffs, self._background):
            yield item

    @staticmethod
    def _cut(result: RunResult) -> bool:
        """The chain may have ended before the workflow's answer: a redelivery (the rest ran,
        or runs, elsewhere) or a failure that recovery heals. (A workflow that a violation
        stopped says so on its record.)"""
        return result.redelivered or any(_transient(letter.error) for letter in result.errors)

    def _defers(self, event: ArvoEvent) -> bool:
        """Whether ``event`` goes to a handler here whose retries wait on durable timers."""
        handler = self.handler_calls.handlers.get(event.to or "")
        return self.timers is not None and getattr(handler, "retry", None) is not None

    async def _retried_answer(
        self, future: asyncio.Future[ArvoEvent | None], event: ArvoEvent, run: ChainRun
    ) -> ArvoEvent | None:
        """The answer of a handler called directly, once its deferred retry gave one."""
        self.counters["answers_waited"] += 1
        try:
            answer = await asyncio.wait_for(future, self.config.completion_timeout)
        except TimeoutError:
            self._timed_out(event, run, "the handler's next attempt waits")
            return None
        if answer is not None and run.first("output", answer):
            run.result.outputs.append(answer)
        return answer

    def _timed_out(self, event: ArvoEvent, run: ChainRun, why: str) -> None:
        """Record on the run that ``event``'s answer did not come within completion_timeout."""
        self.counters["answer_timeouts"] += 1
        late = AnswerTimeoutError(
            f"No answer within completion_timeout={self.config.completion_timeout:g} s; " + why
        )
        run.add_error(DeadLetter(late, event))

    async def _answer_of(
        self, event: ArvoEvent, key: tuple[str, str], run: ChainRun
    ) -> ArvoEvent | None:
        """The answer of the workflow ``event`` started, for a run whose chain was cut: from
        its record once finished, or when the recovered chain delivers it (notified). A
        workflow that stalls meanwhile wakes the wait, and its record says why.

        The record is also read again every few seconds: the chain may end where no
        notification reaches this shard (another runtime sharing the memory, a shard that
        restarted), and a memory that fails a read may answer the next one."""
        self.counters["answers_waited"] += 1
        deadline = time.monotonic() + self.config.completion_timeout
        pause = 0.25
        while True:
            future = self.waiters.wait_for(key, or_stall=True)
            try:
                try:
                    record = await self.memory.read(event.subject)
                except Exception:
                    record = None  # read again after the pause
                if record is None and run.result.errors:
                    return None  # a failing memory, or a workflow that never started: see errors
                if record is not None and is_finished(record):
                    stored = stored_answer(record)
                    return next((e for e in reversed(stored) if e.to == key[0]), None)
                if record is not None and record.get("stalled"):
                    run.add_error(DeadLetter(WorkflowStalledError.of(record["stalled"]), event))
                    return None
                left = deadline - time.monotonic()
                if left <= 0 and not future.done():
                    why = "the workflow is still active in memory (see ArvoRuntime.record)"
                    self._timed_out(event, run, why)
                    return None
                await asyncio.wait({future}, timeout=max(0.0, min(pause, left)))
                if future.done() and future.result() is not None:
                    return future.result()  # answered
                pause = min(pause * 2, 5.0)
            finally:
                self.waiters.forget(key, future)

    async def _route(
        self,
        event: ArvoEvent,
        run: ChainRun,
        producer: str | None = None,
        *,
        top: bool = False,
        letters: list[DeadLetter] | None = None,
        attempt: int = 1,
    ) -> bool:
        """Deliver ``event`` and its consequences; then acknowledge it to its ``producer``.

        Returns whether it was handed on; the dead letters of the whole delivery are added to
        ``letters``. An event that failed transiently stays unacknowledged in its producer's
        outbox, so the recovery sweep delivers it again (after a lock expired, a worker came
        back...).
        """
        identity = event_identity(event)
        if producer is not None and identity in self.handed_on:
            # A recovery sweep or a replay found it after it was handed on: not again.
            self.counters["redeliveries_skipped"] += 1
            run.result.redelivered = True
            delivery = Delivery(True, self.handed_on[identity], run)
        elif identity in self.inflight:
            self.counters["redeliveries_joined"] += 1
            run.result.redelivered = True
            delivery = await asyncio.shield(self.inflight[identity])
            if top and delivery.run is not run:
                run.merge(delivery.run.result, delivery.run.answers)
        else:
            delivery = await self._deliver_once(event, identity, run, producer, attempt)
        for letter in delivery.letters:
            run.add_error(letter)
        if letters is not None:
            letters.extend(delivery.letters)
        acked = event.id in self.acked_along
        self.acked_along.discard(event.id)
        if producer is not None and delivery.handed_on and self.config.outbox and not acked:
            self.acks.add(producer, event.id)
        return delivery.handed_on

    async def _deliver_once(
        self, event: ArvoEvent, identity: int, run: ChainRun, producer: str | None, attempt: int
    ) -> Delivery:
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self.inflight[identity] = future
        step = (event.subject, event.id)
        self.delivering[step] += 1
        letters: list[DeadLetter] = []
        handed_on = False
        try:
            handed_on = await self._deliver(event, run, letters, attempt, producer)
        finally:
            del self.inflight[identity]
            self.delivering[step] -= 1
            if not self.delivering[step]:
                del self.delivering[step]
            delivery = Delivery(handed_on, tuple(letters), run)
            future.set_result(delivery)
        if handed_on and producer is not None:
            self.handed_on.remember(identity, delivery.letters)
        return delivery

    async def _deliver(
        self,
        event: ArvoEvent,
        run: ChainRun,
        letters: list[DeadLetter],
        attempt: int = 1,
        requester: str | None = None,
    ) -> bool:
        """Deliver ``event`` (emitted by the workflow ``requester``, if any) and route what it
        causes; whether it was handed on."""
        result = run.result
        if event.domain:
            if result.trace is not None:
                result.trace.append(event)
            if run.first("domained", event):
                result.domained.append(event)
            self.counters["domained"] += 1
            return True
        owner = shard_of(event.subject, self.config.brokers)
        if owner != self.shard:
            return await self._hand_to_shard(owner, event, run, letters, attempt)
        if result.trace is not None:
            result.trace.append(event)
        to = event.to or ""
        if to in self.handler_calls:
            self.counters["handler_events"] += 1
            outcome = await self._hop(event, lambda: self.handler_calls.submit(to, event, attempt))
            if outcome.retry_in is not None:
                return await self._defer(event, attempt + 1, outcome.retry_in, run, letters)
            along = self._ack_along(event, outcome, requester)
            producer = None
        elif to in self.timer_doors:
            self.counters["timer_requests"] += 1
            outcome = await self._hop(event, lambda: self._timer_request(to, event))
            along, producer = None, None
        elif self.routes.is_workflow(to):
            self.counters["workflow_events"] += 1
            outcome = await self._workflow_step(event)
            along, producer = None, event.subject
            if outcome.error is not None and not _transient(outcome.error):
                self.waiters.stalled(event.subject)  # its record says so now
            if requester is not None and self.config.outbox and not _transient_failure(outcome):
                # Handed on once consumed, whatever its consequences do: queue the
                # acknowledgement now, so the requester's next step (which a child's answer may
                # bring before this delivery ends) writes it instead of a write of its own.
                self.acks.add(requester, event.id)
                self.acked_along.add(event.id)
        else:
            sink = self.sinks.for_topic(to)
            handed_on = True if sink is None else await self._sink(sink, event, letters)
            if handed_on:
                self._output(event, run)
            return handed_on
        result.hops += 1
        self.counters["events_routed"] += 1
        if outcome.error is not None:
            letters.append(self._dead_letter(DeadLetter(outcome.error, event)))
        if outcome.orphan:
            letters.append(self._dead_letter(DeadLetter(OrphanEventError(outcome.orphan), event)))
        self._count(event, outcome, run)
        # Events a workflow emitted sit in its outbox until handed on: acknowledge them to it.
        # (A finished workflow's answer to its caller sits in no outbox: nothing to acknowledge.)
        routes = [
            self._route(
                item, run, None if item.id in outcome.untracked else producer, letters=letters
            )
            for item in outcome.events
        ]
        children = [await routes[0]] if len(routes) == 1 else list(await asyncio.gather(*routes))
        if along is not None:
            self.along.pop(along, None)  # the answer's step did not take it (a redelivery...)
        # A workflow's events wait in its own outbox; a handler's answers exist nowhere else,
        # so the request counts as handed on only once its answers were. A final error is
        # handed on too: to the dead letters, where retrying cannot help.
        handed_on = outcome.error is None or not _transient(outcome.error)
        return handed_on and (producer is not None or all(children))

    def _ack_along(
        self, request: ArvoEvent, outcome: StepOutcome, requester: str | None
    ) -> str | None:
        """Let a service's one answer to the workflow that asked carry the acknowledgement of
        the request: the step that consumes the answer drops the request from the outbox in
        the same write. (With more answers, or an answer elsewhere, the request must wait in
        the outbox until all were handed on.) Returns the answer's id, if so."""
        if requester is None or not self.config.outbox or outcome.error is not None:
            return None
        if len(outcome.events) != 1:
            return None
        (answer,) = outcome.events
        if (
            answer.subject != requester
            or answer.domain
            or not self.routes.is_workflow(answer.to or "")
        ):
            return None
        self.along[answer.id] = request.id
        return answer.id

    async def _timer_request(self, topic: str, event: ArvoEvent) -> StepOutcome:
        try:
            result = await self.timer_doors[topic].execute(event)
        except Exception as error:  # a violation (final) or a failing store (transient)
            return StepOutcome(error=error)
        return StepOutcome(events=result.events)

    async def _defer(
        self,
        event: ArvoEvent,
        attempt: int,
        delay: float,
        run: ChainRun,
        letters: list[DeadLetter],
    ) -> bool:
        """Put off the next attempt of a handler call on a durable timer: the event is handed
        on once the timer holds it, and no worker waits meanwhile."""
        assert self.timers is not None  # handlers defer retries only to a broker with timers
        result = run.result
        result.hops += 1
        try:
            await self.timers.defer(event, attempt, delay)
        except Exception as error:  # the store failed: the event stays in its outbox
            letters.append(self._dead_letter(DeadLetter(error, event)))
            return False
        self.counters["retries_deferred"] += 1
        run.deferred = True
        return True

    async def _fire(self, reply: ArvoEvent, attempt: int = 1) -> bool:
        """Route what fell due: a timer's reply, or an event whose handler retries now;
        ``True`` once it was handed on (its timer may go)."""
        run = ChainRun(RunResult())
        handed_on = await self._route(reply, run, attempt=attempt)
        if attempt > 1:
            return handed_on
        if handed_on:
            self.counters["timers_fired"] += 1
            if any(event.id == reply.id for event in run.result.late):
                # Its workflow had finished: nothing changed; counted, and logged once here.
                self.counters["timers_late"] += 1
                _logger.info("Timer reply %s reached a finished workflow; ignored", reply.id)
        return handed_on

    async def _hand_to_shard(
        self, owner: int, event: ArvoEvent, run: ChainRun, letters: list[DeadLetter], attempt: int
    ) -> bool:
        """Deliver ``event`` through the shard that owns its chain; show what it routed.

        Hand-offs issued together share one call (:class:`ShardHandoffs`). A shard that dies
        is restarted, and what it had not answered is sent again, retried by Ray; a failure
        that outlasts that leaves the event in its producer's outbox for the recovery sweep.
        """
        self.counters["handed_to_shards"] += 1
        try:
            part = await self.handoffs.hand(owner, (event, run.result.trace is not None, attempt))
        except Exception as error:
            letters.append(self._dead_letter(DeadLetter(error, event)))
            return False
        handed_on, their_letters, routed, answers, deferred = part
        run.absorb(routed, answers, deferred)
        letters.extend(their_letters)
        return handed_on

    async def _hop(
        self, event: ArvoEvent, submit: Callable[[], Awaitable[StepOutcome]]
    ) -> StepOutcome:
        """One call to a handler task or workflow actor, within the in-flight bound."""
        async with self.slots:
            with routing_span(
                event, attributes={"arvo.runtime.placement": self.config.placement.kind}
            ):
                try:
                    outcome = await submit()
                except Exception as error:  # a dead worker after Ray's retries, etc.
                    outcome = StepOutcome(error=error)
        if outcome.metrics:
            self.metrics_total = merge_metrics([self.metrics_total, outcome.metrics])
        return outcome

    async def _workflow_step(self, event: ArvoEvent) -> StepOutcome:
        """A workflow step, retried while it fails transiently (for ``step_retry_window``)."""
        deadline = time.monotonic() + self.config.step_retry_window
        delay = 0.05
        request = self.along.pop(event.id, None)  # see _ack_along
        while True:
            acks = self.acks.take(event.subject)
            sent = acks if request is None else [*acks, request]

            def submit(sent: list[str] = sent) -> Awaitable[StepOutcome]:
                return self.placement.submit(event, sent)

            outcome = await self._hop(event, submit)
            if acks and not outcome.committed:
                # The step wrote nothing (error, redelivery, ignored event): keep them for later.
                # (Never the request: it stays in the outbox until its answer was consumed.)
                self.acks.restore(event.subject, acks)
            if request is not None and outcome.committed:
                self.acked_along.add(request)
                request = None
            error = outcome.error
            if error is None or not _transient(error) or time.monotonic() + delay > deadline:
                return outcome
            self.counters["step_retries"] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _count(self, event: ArvoEvent, outcome: StepOutcome, run: ChainRun) -> None:
        if outcome.orphan:
            self.counters["orphans"] += 1
        if outcome.late:
            self.counters["late_events"] += 1
            self.counters["acks_flushed"] += outcome.committed  # it wrote acknowledgements only
            if run.first("late", event):
                run.result.late.append(event)
        if outcome.duplicate:
            self.counters["duplicates"] += 1
            run.result.redelivered = True
        if outcome.finished and outcome.committed and not (outcome.late or outcome.duplicate):
            self.counters["workflows_finished"] += 1
        run.answers.extend(outcome.answer)

    async def _sink(self, sink: EventSink, event: ArvoEvent, letters: list[DeadLetter]) -> bool:
        """Hand ``event`` to its sink. ``False`` keeps it in its producer's outbox for the
        next attempt (a recovery sweep); a sink that gives up makes it a dead letter."""
        with routing_span(event, attributes={"arvo.runtime.sink": type(sink).__name__}):
            try:
                await sink.deliver(event)
            except UndeliverableError as error:
                letters.append(self._dead_letter(DeadLetter(error, event)))
                return True
            except Exception as error:
                self.counters["sink_failures"] += 1
                _logger.warning(
                    "Sink %r could not take event %s (%s: %s); it stays in its outbox",
                    sink,
                    event.id,
                    type(error).__name__,
                    error,
                )
                return False
        self.counters["sunk"] += 1
        return True

    def _output(self, event: ArvoEvent, run: ChainRun) -> None:
        """An event no one here subscribes to: returned to the caller, and kept."""
        if run.first("output", event):
            run.result.outputs.append(event)
        identity = event_identity(event)
        if identity in self.returned:
            self.counters["duplicate_outputs"] += 1
        else:
            self.returned.remember(identity)
            self.unrouted.append(event)
            self.counters["outputs"] += 1
        self.waiters.answered(event)

    def _dead_letter(self, letter: DeadLetter) -> DeadLetter:
        self.dead_letters.append(letter)
        self.counters["errors"] += 1
        if is_violation_error(letter.error):
            self.counters["violations"] += 1
        # The one place a violation raised to the infrastructure is logged, with its event.
        log_event_failure(letter.error, letter.event, logger=_logger)
        return letter

    # -- inspection and lifecycle -------------------------------------------------------------

    async def stats(self) -> dict[str, Any]:
        """This shard's counters; ``metrics`` are the raw figures (the runtime adds up the
        shards' and summarises them)."""
        executors = await self.handler_calls.executor_stats()
        if self.config.telemetry is not None and self.config.telemetry.metrics:
            self.metrics_total = merge_metrics([self.metrics_total, collect_metrics(delta=True)])
        return {
            "metrics": self.metrics_total,
            **self.counters,
            "handler_batches": self.handler_calls.batches,
            "shard_calls": self.handoffs.calls,
            "async_handler_calls": sum(e["calls"] for e in executors),
            "async_handler_calls_peak": max((e["peak_waiting"] for e in executors), default=0),
            "dead_letters": len(self.dead_letters),
            "waiting_runs": len(self.waiters),
            "timers_pending": (
                await self.timers.pending() if self.timers is not None and self._firing else 0
            ),
            "placement": self.config.placement.kind,
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
        """Flush acknowledgements, then kill every workflow actor this broker started."""
        self._maintenance.cancel()
        if self._firing is not None:
            self._firing.stop()
        await self._guarded(self.flush_acks(0.0))
        await self.placement.shutdown()
        await self.handler_calls.shutdown()
        if self.config.telemetry is not None:
            flush_telemetry()
