"""The broker actor: routes every event of every chain across the cluster.

It owns the routing table (an event's ``to`` → a handler task or a workflow placement), moves
events until each chain ends, and returns to the caller what no one subscribes to. Calls are
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
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ray

from arvo_ray._results import (
    AnswerTimeoutError,
    DeadLetter,
    OrphanEventError,
    RunResult,
    WorkflowStalledError,
)
from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    is_transaction_violation_error,
    is_violation_error,
)
from arvo_ray.memory import MemoryBackendError
from arvo_ray.runtime._actors import run_handler_batch
from arvo_ray.runtime._batcher import Batcher
from arvo_ray.runtime._config import BrokerConfig, Sharded
from arvo_ray.runtime._outcome import StepOutcome
from arvo_ray.runtime._placement import InstancePlacement, ShardedPlacement
from arvo_ray.telemetry import (
    collect_metrics,
    flush_telemetry,
    install_telemetry,
    log_event_failure,
    merge_metrics,
    routing_span,
    summarize_metrics,
)
from arvo_ray.workflow import is_finished, stored_answer

__all__ = ["BrokerActor", "BrokerConfig"]

_logger = logging.getLogger("arvo_ray.runtime")

REMEMBERED_IDS = 65_536
"""How many handed-on outbox event ids (and returned output ids) the broker remembers."""


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


def _identity(event: ArvoEvent | dict[str, Any]) -> int:
    """Which event this is: CloudEvents' ``source`` + ``id``, and the subject (producers
    reuse ids across workflows). Hashed: the broker remembers many of them."""
    if isinstance(event, ArvoEvent):
        return hash((event.source, event.id, event.subject))
    return hash((event["source"], event["id"], event["subject"]))


def _handler_sender(
    box: list[Any], options: dict[str, Any], telemetry: Any
) -> Callable[[list[ArvoEvent]], Awaitable[list[StepOutcome]]]:
    """Send a batch of events to a task of the handler ``box`` holds (shipped once)."""

    def send(events: list[ArvoEvent]) -> Awaitable[list[StepOutcome]]:
        return run_handler_batch.options(**options).remote(box, events, telemetry)  # type: ignore[no-any-return]

    return send


def _event_age_origin(time_text: Any) -> float:
    """The event's time as epoch seconds (0 when missing or unparseable: treated as old)."""
    try:
        return datetime.fromisoformat(str(time_text)).timestamp()
    except ValueError:
        return 0.0


@dataclass
class _Run:
    """One chain's result while it is routed, with what it has already shown."""

    result: RunResult
    answers: list[ArvoEvent] = field(default_factory=list)
    _seen: set[tuple[str, int]] = field(default_factory=set)

    def first(self, kind: str, event: ArvoEvent) -> bool:
        """True the first time ``event`` is shown as ``kind`` in this run."""
        key = (kind, _identity(event))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def add_error(self, letter: DeadLetter) -> None:
        if self.first("error", letter.event):
            self.result.errors.append(letter)

    def merge(self, other: _Run) -> None:
        """Show what ``other`` (a run that delivered the same event first) produced."""
        for kind, events, into in (
            ("output", other.result.outputs, self.result.outputs),
            ("domained", other.result.domained, self.result.domained),
            ("late", other.result.late, self.result.late),
        ):
            into.extend(event for event in events if self.first(kind, event))
        self.answers.extend(other.answers)

    def answer_to(self, caller: str) -> ArvoEvent | None:
        """The last event returned to ``caller``: routed in this chain, else a stored answer."""
        for events in (self.result.outputs, self.answers):
            answers = [e for e in events if e.to == caller and not e.domain]
            if answers:
                return answers[-1]
        return None


@dataclass(frozen=True, slots=True)
class _Delivery:
    """How a delivery of one event ended, for routes of the same id that joined it."""

    handed_on: bool
    letters: tuple[DeadLetter, ...]
    run: _Run


class _Remembered(OrderedDict[int, Any]):
    """A bounded LRU of event identities (oldest forgotten first)."""

    def remember(self, key: int, value: Any = None) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > REMEMBERED_IDS:
            self.popitem(last=False)


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
                _handler_sender(box, options, config.telemetry),
                max_batch=config.max_batch,
                max_inflight=4,
            )
        self.memory = config.memory.for_owner(f"{config.name}-broker-{uuid.uuid4().hex[:8]}")
        self.placement: ShardedPlacement | InstancePlacement = (
            ShardedPlacement(config, config.placement)
            if isinstance(config.placement, Sharded)
            else InstancePlacement(config, config.placement, self.memory)
        )
        self.slots = asyncio.Semaphore(config.max_in_flight)
        self.dead_letters: deque[DeadLetter] = deque(maxlen=config.keep_last)
        self.unrouted: deque[ArvoEvent] = deque(maxlen=config.keep_last)
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "runs",
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
            ),
            0,
        )
        # Producer subject -> (ids handed on, when the first of them was): acknowledgements
        # ride along with the producer's next step, or are written after ``ack_delay``.
        self.pending_acks: dict[str, tuple[set[str], float]] = {}
        # Keyed by _identity: deliveries under way, and handed-on outbox events (with the dead
        # letters of their delivery) and returned outputs, remembered for a while.
        self.inflight: dict[int, asyncio.Future[_Delivery]] = {}
        # (subject, id) of the events being delivered: what their steps emit is on its way here
        # even when it is already in a committed outbox, so a sweep must not re-publish it.
        self.delivering: Counter[tuple[str, str]] = Counter()
        self.handed_on: _Remembered = _Remembered()
        self.returned: _Remembered = _Remembered()
        self._background: set[asyncio.Task[None]] = set()
        # (caller, answer subject) -> futures of runs waiting for a workflow's answer.
        self.waiters: dict[tuple[str, str], list[asyncio.Future[ArvoEvent]]] = {}
        # Async actors construct inside their event loop: start maintenance (and a recovery
        # sweep, which matters after a restart) right away.
        self._maintenance = asyncio.get_running_loop().create_task(self._maintain())

    def ready(self) -> dict[str, Any]:
        return {"handlers": self.handler_sources, "workflows": self.workflow_sources}

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

    def _acknowledge(self, producer: str, event_id: str) -> None:
        ids, since = self.pending_acks.get(producer, (set(), time.monotonic()))
        ids.add(event_id)
        self.pending_acks[producer] = (ids, since)

    def _take_acks(self, subject: str) -> list[str]:
        entry = self.pending_acks.pop(subject, None)
        return sorted(entry[0]) if entry else []

    def _restore_acks(self, subject: str, ids: Sequence[str]) -> None:
        for event_id in ids:
            self._acknowledge(subject, event_id)

    async def flush_acks(self, older_than: float = 0.0) -> int:
        """Write acknowledgements that no later step of their workflow carried (finished ones)."""
        now = time.monotonic()
        due: dict[str, list[str]] = {}
        for subject, (pending, since) in list(self.pending_acks.items()):
            if now - since >= older_than:
                due[subject] = sorted(pending)
                del self.pending_acks[subject]
        if not due:
            return 0
        try:
            written, left = await self.placement.acknowledge(due)
        except Exception:
            written, left = 0, due
        for subject, ids in left.items():
            self._restore_acks(subject, ids)
        self.counters["acks_flushed"] += written
        return written

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
                identity = _identity(data)
                if data["id"] in pending or identity in self.inflight:
                    continue
                if (subject, data.get("parentid")) in self.delivering:
                    continue  # its step's result is on its way: handed on when it arrives
                if identity in self.handed_on:
                    self._acknowledge(subject, data["id"])  # its acknowledgement was not written
                    continue
                if now - _event_age_origin(data.get("time")) < min_age:
                    continue
                lost.append((subject, ArvoEvent.from_dict(data)))
        for subject, event in lost:
            self.counters["recovered_events"] += 1
            self._spawn(self._guarded(self._route(event, _Run(RunResult()), subject)))
        if lost:
            _logger.warning("Re-publishing %d unacknowledged outbox events", len(lost))
        return len(lost)

    # -- routing ------------------------------------------------------------------------------

    async def run(self, event: ArvoEvent, trace: bool = False) -> RunResult:
        """Route ``event`` and everything it causes; return when the chain has ended."""
        started = time.perf_counter()
        run = _Run(RunResult(trace=[] if trace else None))
        result = run.result
        self.counters["runs"] += 1
        counters = self.counters
        counters["runs_active"] += 1
        counters["runs_active_peak"] = max(counters["runs_active_peak"], counters["runs_active"])
        try:
            await self._route(event, run, top=True)
            result.final = run.answer_to(event.source)
            key = self._answer_key(event)
            if result.final is None and key is not None and self._cut(result):
                result.final = await self._answer_of(event, key, run)
        finally:
            self.counters["runs_active"] -= 1
        result.seconds = time.perf_counter() - started
        return result

    @staticmethod
    def _cut(result: RunResult) -> bool:
        """The chain may have ended before the workflow's answer: a redelivery (the rest ran,
        or runs, elsewhere) or a failure that recovery heals. (A workflow that a violation
        stopped says so on its record.)"""
        return result.redelivered or any(_transient(letter.error) for letter in result.errors)

    def _answer_key(self, event: ArvoEvent) -> tuple[str, str] | None:
        """(caller, subject) of the answer of the workflow ``event`` starts, or ``None`` when
        that answer does not come back to the caller (not a workflow's init event, or a
        workflow that answers another party)."""
        if event.to not in self.workflow_sources or event.type != event.to:
            return None
        try:
            subject = ArvoOrchestrationSubject.parse(event.subject)
        except Exception:
            return None
        recipient = subject["meta"].get("redirectto") or subject["execution"]["initiator"]
        if recipient != event.source:
            return None
        parent = event.data.get("parentSubject$$") if isinstance(event.data, dict) else None
        return (event.source, parent if isinstance(parent, str) else event.subject)

    async def _answer_of(
        self, event: ArvoEvent, key: tuple[str, str], run: _Run
    ) -> ArvoEvent | None:
        """The answer of the workflow ``event`` started, for a run whose chain was cut: from
        its record once finished, or when the recovered chain delivers it (notified)."""
        self.counters["answers_waited"] += 1
        future: asyncio.Future[ArvoEvent] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(key, []).append(future)
        try:
            try:
                record = await self.memory.read(event.subject)
            except Exception:
                return None  # the memory is failing: the run's errors say so, now
            if record is None:
                return None  # the workflow never started: nothing can answer
            if is_finished(record):
                answer = stored_answer(record)
                return next((e for e in reversed(answer) if e.to == key[0]), None)
            if record.get("stalled"):
                run.add_error(DeadLetter(WorkflowStalledError.of(record["stalled"]), event))
                return None
            try:
                return await asyncio.wait_for(future, self.config.completion_timeout)
            except TimeoutError:
                self.counters["answer_timeouts"] += 1
                timeout = AnswerTimeoutError(
                    f"No answer within completion_timeout={self.config.completion_timeout:g} "
                    "s; the workflow is still active in memory (see ArvoRuntime.record)"
                )
                run.add_error(DeadLetter(timeout, event))
                return None
        finally:
            waiting = self.waiters.get(key, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self.waiters.pop(key, None)

    async def _route(
        self,
        event: ArvoEvent,
        run: _Run,
        producer: str | None = None,
        *,
        top: bool = False,
        letters: list[DeadLetter] | None = None,
    ) -> bool:
        """Deliver ``event`` and its consequences; then acknowledge it to its ``producer``.

        Returns whether it was handed on; the dead letters of the whole delivery are added to
        ``letters``. An event that failed transiently stays unacknowledged in its producer's
        outbox, so the recovery sweep delivers it again (after a lock expired, a worker came
        back...).
        """
        identity = _identity(event)
        if producer is not None and identity in self.handed_on:
            # A recovery sweep or a replay found it after it was handed on: not again.
            self.counters["redeliveries_skipped"] += 1
            run.result.redelivered = True
            delivery = _Delivery(True, self.handed_on[identity], run)
        elif identity in self.inflight:
            self.counters["redeliveries_joined"] += 1
            run.result.redelivered = True
            delivery = await asyncio.shield(self.inflight[identity])
            if top and delivery.run is not run:
                run.merge(delivery.run)
        else:
            delivery = await self._deliver_once(event, identity, run, producer)
        for letter in delivery.letters:
            run.add_error(letter)
        if letters is not None:
            letters.extend(delivery.letters)
        if producer is not None and delivery.handed_on and self.config.outbox:
            self._acknowledge(producer, event.id)
        return delivery.handed_on

    async def _deliver_once(
        self, event: ArvoEvent, identity: int, run: _Run, producer: str | None
    ) -> _Delivery:
        future: asyncio.Future[_Delivery] = asyncio.get_running_loop().create_future()
        self.inflight[identity] = future
        step = (event.subject, event.id)
        self.delivering[step] += 1
        letters: list[DeadLetter] = []
        handed_on = False
        try:
            handed_on = await self._deliver(event, run, letters)
        finally:
            del self.inflight[identity]
            self.delivering[step] -= 1
            if not self.delivering[step]:
                del self.delivering[step]
            delivery = _Delivery(handed_on, tuple(letters), run)
            future.set_result(delivery)
        if handed_on and producer is not None:
            self.handed_on.remember(identity, delivery.letters)
        return delivery

    async def _deliver(self, event: ArvoEvent, run: _Run, letters: list[DeadLetter]) -> bool:
        result = run.result
        if result.trace is not None:
            result.trace.append(event)
        if event.domain:
            if run.first("domained", event):
                result.domained.append(event)
            self.counters["domained"] += 1
            return True
        to = event.to or ""
        if to in self.handler_batchers:
            self.counters["handler_events"] += 1
            batcher = self.handler_batchers[to]
            outcome = await self._hop(event, lambda: batcher.submit(event))
            producer = None
        elif to in self.workflow_sources:
            self.counters["workflow_events"] += 1
            outcome = await self._workflow_step(event)
            producer = event.subject
        else:
            self._output(event, run)
            return True
        result.hops += 1
        self.counters["events_routed"] += 1
        if outcome.error is not None:
            letters.append(self._dead_letter(DeadLetter(outcome.error, event)))
        if outcome.orphan:
            letters.append(self._dead_letter(DeadLetter(OrphanEventError(outcome.orphan), event)))
        self._count(event, outcome, run)
        # Events a workflow emitted sit in its outbox until handed on: acknowledge them to it.
        routes = [self._route(item, run, producer, letters=letters) for item in outcome.events]
        children = [await routes[0]] if len(routes) == 1 else list(await asyncio.gather(*routes))
        # A workflow's events wait in its own outbox; a handler's answers exist nowhere else,
        # so the request counts as handed on only once its answers were. A final error is
        # handed on too: to the dead letters, where retrying cannot help.
        handed_on = outcome.error is None or not _transient(outcome.error)
        return handed_on and (producer is not None or all(children))

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
        while True:
            acks = self._take_acks(event.subject)

            def submit(acks: list[str] = acks) -> Awaitable[StepOutcome]:
                return self.placement.submit(event, acks)

            outcome = await self._hop(event, submit)
            if acks and not outcome.committed:
                # The step wrote nothing (error, redelivery, ignored event): keep them for later.
                self._restore_acks(event.subject, acks)
            error = outcome.error
            if error is None or not _transient(error) or time.monotonic() + delay > deadline:
                return outcome
            self.counters["step_retries"] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _count(self, event: ArvoEvent, outcome: StepOutcome, run: _Run) -> None:
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

    def _output(self, event: ArvoEvent, run: _Run) -> None:
        """An event no one here subscribes to: returned to the caller, and kept."""
        if run.first("output", event):
            run.result.outputs.append(event)
        identity = _identity(event)
        if identity in self.returned:
            self.counters["duplicate_outputs"] += 1
        else:
            self.returned.remember(identity)
            self.unrouted.append(event)
            self.counters["outputs"] += 1
        for future in self.waiters.get((event.to or "", event.subject), ()):
            if not future.done():
                future.set_result(event)

    def _dead_letter(self, letter: DeadLetter) -> DeadLetter:
        self.dead_letters.append(letter)
        self.counters["errors"] += 1
        if is_violation_error(letter.error):
            self.counters["violations"] += 1
        # The one place a violation raised to the infrastructure is logged, with its event.
        log_event_failure(letter.error, letter.event, logger=_logger)
        return letter

    # -- inspection and lifecycle -------------------------------------------------------------

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
            "waiting_runs": sum(len(w) for w in self.waiters.values()),
            "placement": self.config.placement.kind,
            **self.placement.stats(),
        }

    def waiting(self) -> list[tuple[str, str]]:
        """(caller, subject) of runs still waiting for their workflow's answer."""
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
        await self.placement.shutdown()
        if self.config.telemetry is not None:
            flush_telemetry()
