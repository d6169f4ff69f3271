"""``SimpleEventBroker``: an in-process, asyncio event bus for tests, notebooks and scripts.

Topics are matched exactly against an event's ``to``. Events are processed first-in
first-out, one at a time (subscribers of one topic run concurrently). A handler's output is
published back onto the bus, so ``await broker.resolve(event)`` drives a whole chain —
a workflow and all its service calls — to its end and returns the event that came back to the
caller. Nothing is dropped silently: events nobody subscribes to, errors and violations go to
``on_error`` (and are kept), events for other domains go to ``on_domained_events`` (or are
kept and returned).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from arvo_ray._results import DeadLetter, OrphanEventError, RunResult
from arvo_ray.core import ArvoEvent
from arvo_ray.core.otel import event_log_fields, log_event_failure
from arvo_ray.handler import IArvoEventHandler

__all__ = ["SimpleEventBroker", "create_simple_event_broker"]

_logger = logging.getLogger("arvo_ray.broker")

Publish = Callable[[ArvoEvent], Awaitable[None]]
Listener = Callable[[ArvoEvent, Publish], Awaitable[None] | None]
ErrorCallback = Callable[[BaseException, ArvoEvent], Awaitable[None] | None]

# Set while a listener runs: a publish from inside a listener only enqueues (the running
# drain picks it up), a publish from outside waits for the bus to go idle.
_inside_listener: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "arvo_inside_listener", default=False
)


class _NoSubscriber(LookupError):
    """No handler subscribes to the event's ``to``: for a run, an output, not an error."""


@dataclass(eq=False)
class _Run:
    """What one ``run`` has seen so far: the events of its own chain, not of runs beside it.

    Events inherit the run of the event whose handling published them, so each run's result
    costs what its own chain costs however many runs overlap.
    """

    subject: str
    events: list[ArvoEvent] = field(default_factory=list)
    answers: list[ArvoEvent] = field(default_factory=list)
    unrouted: list[ArvoEvent] = field(default_factory=list)
    errors: list[DeadLetter] = field(default_factory=list)
    domained: list[ArvoEvent] = field(default_factory=list)
    late: list[ArvoEvent] = field(default_factory=list)
    redelivered: bool = False


# The run whose chain the event being handled belongs to (None: published outside a run).
_current_run: contextvars.ContextVar[_Run | None] = contextvars.ContextVar(
    "arvo_current_run", default=None
)


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


async def _call_listener(listener: Listener, event: ArvoEvent, publish: Publish) -> None:
    # Called inside the coroutine so that a plain ``def`` listener's exception is gathered
    # (and reported) like an async one's, instead of escaping before the gather starts.
    await _maybe_await(listener(event, publish))


class SimpleEventBroker:
    """A FIFO in-process event bus keyed by the event's ``to``.

    Args:
        handlers: Handlers, orchestrators and resumables to subscribe on their ``source``
            (one per topic).
        on_error: ``fn(error, event)`` for violations, handler failures and undeliverable
            events; by default they are logged. Either way they are kept in :attr:`errors`.
        on_domained_events: ``fn(domain=..., event=..., broker=...)`` for events addressed to
            another domain; without it they are kept in :attr:`domained` and in each
            :class:`~arvo_ray.broker.RunResult`.
        max_queue_size: ``publish`` raises when this many events wait (runaway loops fail fast).

    ``run`` returns the same :class:`~arvo_ray.broker.RunResult` as ``ArvoRuntime.run`` does
    on Ray, and ``run_async`` is spelled as on the runtime, so code written against one runs
    against the other.

    Example:
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     build_number_domain, increment_orchestrator_contract)
        >>> domain = build_number_domain()
        >>> domain.store["apples"] = 3
        >>> broker = SimpleEventBroker(domain.all)
        >>> broker.topics
        ['com.increment.number', 'com.decrement.number', 'com.value.read', 'com.value.write',
         'arvo.orc.inc', 'arvo.orc.dec', 'arvo.orc.number.modifier']
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     increment_orchestrator_contract.version("0.0.1"))
        >>> init = factory.init(source="com.example.client", data={
        ...     "parentSubject$$": None, "key": "apples", "modifier": 2, "trend": "linear"})
        >>> done = asyncio.run(broker.resolve(init))
        >>> done.type, done.data, done.to
        ('arvo.orc.inc.done', {'success': True, 'error': [], 'final': 5}, 'com.example.client')
    """

    def __init__(
        self,
        handlers: Iterable[IArvoEventHandler] = (),
        *,
        on_error: ErrorCallback | None = None,
        on_domained_events: Callable[..., Awaitable[None] | None] | None = None,
        max_queue_size: int = 1000,
    ) -> None:
        if max_queue_size < 1:
            raise ValueError("max_queue_size must be at least 1")
        self.max_queue_size = max_queue_size
        self.on_error = on_error
        self.on_domained_events = on_domained_events
        self.events: list[ArvoEvent] = []
        self.errors: list[DeadLetter] = []
        self.domained: list[ArvoEvent] = []
        self._subscribers: dict[str, list[Listener]] = {}
        # Runs waiting for their answer: the topic they were sent from → subject → runs.
        self._waiting: dict[str, dict[str, list[_Run]]] = {}
        self._queue: deque[tuple[ArvoEvent, _Run | None]] = deque()
        self._draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._idle_loop: asyncio.AbstractEventLoop | None = None
        self.handlers = list(handlers)
        for handler in self.handlers:
            self.subscribe(handler.source, self._listener_for(handler), assert_unique=True)

    # -- subscriptions -----------------------------------------------------------------------

    def subscribe(
        self, topic: str, listener: Listener, *, assert_unique: bool = False
    ) -> Callable[[], None]:
        """Deliver events whose ``to`` equals ``topic`` to ``listener(event, publish)``.

        Returns:
            A function that removes this subscription.

        Raises:
            ValueError: ``assert_unique`` and the topic already has a subscriber.
        """
        listeners = self._subscribers.setdefault(topic, [])
        if assert_unique and listeners:
            raise ValueError(f"Only one subscriber allowed per topic: {topic}")
        listeners.append(listener)

        def unsubscribe() -> None:
            current = self._subscribers.get(topic, [])
            if listener in current:
                current.remove(listener)
            if not current:
                self._subscribers.pop(topic, None)

        return unsubscribe

    @property
    def topics(self) -> list[str]:
        return list(self._subscribers)

    @property
    def queue_length(self) -> int:
        return len(self._queue)

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    # -- publishing --------------------------------------------------------------------------

    async def publish(self, event: ArvoEvent) -> None:
        """Queue an event; from outside a listener, wait until the whole chain has been handled.

        Raises:
            ValueError: the event has no ``to``, or the queue is full.
        """
        if not event.to:
            raise ValueError('Event must have a "to" property')
        if len(self._queue) >= self.max_queue_size:
            raise ValueError(f"Event queue is full (max size: {self.max_queue_size})")
        run = _current_run.get()
        self._queue.append((event, run))
        self.events.append(event)
        if run is not None:
            run.events.append(event)
        self._idle.clear()
        if _inside_listener.get():
            return
        if not self._draining:
            await self._drain()
        else:
            await self._wait_idle()

    async def _wait_idle(self) -> None:
        loop = asyncio.get_running_loop()
        if self._idle_loop is not loop:
            # An asyncio.Event binds to the first loop that waits on it, but a broker outlives
            # loops (a script calling asyncio.run twice, a notebook): rebind it to this one.
            idle = asyncio.Event()
            if self._idle.is_set():
                idle.set()
            self._idle, self._idle_loop = idle, loop
        await self._idle.wait()

    async def _drain(self) -> None:
        self._draining = True
        try:
            while self._queue:
                event, run = self._queue.popleft()
                token = _current_run.set(run)
                try:
                    await self._deliver(event)
                finally:
                    _current_run.reset(token)
        finally:
            self._draining = False
            self._idle.set()

    async def _deliver(self, event: ArvoEvent) -> None:
        topic = event.to or ""
        listeners = list(self._subscribers.get(topic, ()))
        waiting = self._waiting.get(topic)
        if waiting is not None:
            # Answers keep the subject of the request (a workflow's completion carries its
            # init subject), which keeps overlapping runs from taking each other's answers.
            for waiter in waiting.get(event.subject, ()):
                waiter.answers.append(event)
        if not listeners:
            if waiting is not None:
                return
            run = _current_run.get()
            if run is not None:
                run.unrouted.append(event)
            await self._report(
                _NoSubscriber(f"No handlers registered for event type: {event.to}"), event
            )
            return
        token = _inside_listener.set(True)
        try:
            results = await asyncio.gather(
                *(_call_listener(listener, event, self.publish) for listener in listeners),
                return_exceptions=True,
            )
        finally:
            _inside_listener.reset(token)
        for result in results:
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                await self._report(result, event)

    async def _report(self, error: BaseException, event: ArvoEvent) -> None:
        letter = DeadLetter(error=error, event=event)
        self.errors.append(letter)
        run = _current_run.get()
        if run is not None:
            run.errors.append(letter)
        if self.on_error is not None:
            await _maybe_await(self.on_error(error, event))
            return
        # The one place a violation raised by a handler or workflow is logged (they never log
        # their own), with the event it was raised for.
        log_event_failure(error, event, message="Broker error", logger=_logger)

    def _listener_for(self, handler: IArvoEventHandler) -> Listener:
        async def listener(event: ArvoEvent, publish: Publish) -> None:
            result = await handler.execute(event, otel_inherit="event")
            if result.orphan:
                await self._report(OrphanEventError(result.orphan), event)
            run = _current_run.get()
            if run is not None:
                if result.late:
                    run.late.append(event)
                if result.duplicate:
                    run.redelivered = True
            for produced in result.events:
                if produced.domain:
                    await self._route_domained(produced)
                else:
                    await publish(produced)

        return listener

    async def _route_domained(self, event: ArvoEvent) -> None:
        domain = str(event.domain)
        if self.on_domained_events is not None:
            await _maybe_await(self.on_domained_events(domain=domain, event=event, broker=self))
            return
        self.domained.append(event)
        run = _current_run.get()
        if run is not None:
            run.domained.append(event)
        _logger.info(
            "Event for domain %r kept (no on_domained_events callback)",
            domain,
            extra={"arvo": {**event_log_fields(event), "domain": domain}},
        )

    async def run(self, event: ArvoEvent, *, trace: bool = False) -> RunResult:
        """Publish ``event``, run the chain to its end, and return what it produced.

        The result reads as on Ray: ``final`` is the last event that came back to the event's
        ``source``; ``outputs`` are the events no handler here subscribes to (answers
        included); ``errors`` the dead letters; ``trace`` (with ``trace=True``) every event
        published, in order.

        Raises:
            ValueError: ``event.source`` is one of the handlers' topics (the answer would be
                handled instead of returned).
        """
        if any(handler.source == event.source for handler in self.handlers):
            raise ValueError(
                "The event source cannot be one of the handlers in the broker. Please update "
                f"the event.source, the given is '{event.source}'"
            )
        return await self._run(event, trace, answers_to=event.source)

    async def deliver(self, event: ArvoEvent, *, trace: bool = False) -> RunResult:
        """Run the chain of an event that one of this broker's own services emitted outside
        any run: a timer's reply (``TimerService.deliver_due(broker.deliver)``).

        As :meth:`run`, except that ``event.source`` is a handler here, so nothing comes back
        to it: ``final`` is the last of ``outputs``, e.g. the completion its workflow sends
        to whoever started it.
        """
        return await self._run(event, trace, answers_to=None)

    async def _run(self, event: ArvoEvent, trace: bool, answers_to: str | None) -> RunResult:
        started = perf_counter()
        run = _Run(subject=event.subject)
        waiting = self._waiting.setdefault(answers_to, {}) if answers_to else {}
        waiting.setdefault(event.subject, []).append(run)
        token = _current_run.set(run)
        try:
            await self.publish(event)
        finally:
            _current_run.reset(token)
            runs = waiting[event.subject]
            runs.remove(run)
            if not runs:
                del waiting[event.subject]
                if not waiting and answers_to:
                    del self._waiting[answers_to]
        position = {id(item): index for index, item in enumerate(run.events)}
        outputs = sorted([*run.answers, *run.unrouted], key=lambda item: position.get(id(item), 0))
        final = run.answers[-1] if run.answers else None
        return RunResult(
            final=outputs[-1] if answers_to is None and outputs else final,
            outputs=outputs,
            errors=[d for d in run.errors if not isinstance(d.error, _NoSubscriber)],
            domained=run.domained,
            hops=len(run.events) - len(outputs),
            seconds=perf_counter() - started,
            trace=run.events if trace else None,
            redelivered=run.redelivered,
            late=run.late,
        )

    async def run_async(self, event: ArvoEvent, *, trace: bool = False) -> RunResult:
        """:meth:`run`, under the name ``ArvoRuntime`` gives its awaitable run."""
        return await self.run(event, trace=trace)

    async def resolve(self, event: ArvoEvent) -> ArvoEvent | None:
        """Run the chain started by ``event``; return the last event that came back to its source."""
        return (await self.run(event)).final


def create_simple_event_broker(
    handlers: Iterable[IArvoEventHandler],
    *,
    on_error: ErrorCallback | None = None,
    on_domained_events: Callable[..., Awaitable[None] | None] | None = None,
    max_queue_size: int = 1000,
) -> SimpleEventBroker:
    """A :class:`SimpleEventBroker` with every handler subscribed on its ``source``.

    Args:
        handlers: Handlers, orchestrators and resumables (one per topic).
        on_error: ``fn(error, event)`` for violations, handler failures and undeliverable
            events (default: log them). They are also kept in ``broker.errors``.
        on_domained_events: ``fn(domain=..., event=..., broker=...)`` for events addressed to
            another domain; without it they are kept in ``broker.domained`` and in each
            :class:`~arvo_ray.broker.RunResult`.
        max_queue_size: Bound on queued events.

    Example:
        >>> broker = create_simple_event_broker([increment_handler, orchestrator])  # doctest: +SKIP
        >>> done = await broker.resolve(init_event)  # doctest: +SKIP
    """
    return SimpleEventBroker(
        handlers,
        on_error=on_error,
        on_domained_events=on_domained_events,
        max_queue_size=max_queue_size,
    )
