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
from typing import Any

from arvo_ray.core import ArvoEvent
from arvo_ray.core.telemetry import event_log_fields, log_event_failure
from arvo_ray.handler import IArvoEventHandler

__all__ = [
    "BrokerError",
    "BrokerRun",
    "DomainedEvent",
    "SimpleEventBroker",
    "create_simple_event_broker",
]

_logger = logging.getLogger("arvo_ray.broker")

Publish = Callable[[ArvoEvent], Awaitable[None]]
Listener = Callable[[ArvoEvent, Publish], Awaitable[None] | None]
ErrorCallback = Callable[[BaseException, ArvoEvent], Awaitable[None] | None]

# Set while a listener runs: a publish from inside a listener only enqueues (the running
# drain picks it up), a publish from outside waits for the bus to go idle.
_inside_listener: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "arvo_inside_listener", default=False
)


@dataclass(frozen=True, slots=True)
class DomainedEvent:
    """An event addressed to another domain's bus, with that domain.

    Example:
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import value_read_contract
        >>> from arvo_ray.handler import create_arvo_event_handler
        >>> def read(inp):
        ...     return {"type": "evt.value.read.success", "data": {"key": "apples", "value": 3},
        ...             "domain": [None, "audit"]}
        >>> broker = SimpleEventBroker([create_arvo_event_handler(
        ...     contract=value_read_contract, executionunits=0, handler={"0.0.1": read})])
        >>> event = create_arvo_event_factory(value_read_contract.version("0.0.1")).accepts(
        ...     source="com.example.client", subject="s", data={"key": "apples"})
        >>> run = asyncio.run(broker.run(event))
        >>> run.final.domain is None
        True
        >>> [(kept.domain, kept.event.type) for kept in run.domained]
        [('audit', 'evt.value.read.success')]
    """

    domain: str
    event: ArvoEvent


@dataclass(frozen=True, slots=True)
class BrokerError:
    """An error raised while handling ``event`` (a violation, or a routing problem).

    Example:
        >>> from arvo_ray.core import create_arvo_event
        >>> broker = SimpleEventBroker(on_error=lambda error, event: None)
        >>> event = create_arvo_event(source="com.example.client", type="com.nobody.home",
        ...                           subject="s", data={})
        >>> asyncio.run(broker.publish(event))
        >>> broker.errors
        [BrokerError(error=LookupError('No handlers registered for event type: com.nobody.home'),
                     event=ArvoEvent(type='com.nobody.home', ...))]
    """

    error: BaseException
    event: ArvoEvent


@dataclass(slots=True)
class BrokerRun:
    """Everything one :meth:`SimpleEventBroker.run` produced.

    Attributes:
        final: The last event delivered back to the caller (the initial event's ``source``).
        outputs: Every event delivered back to the caller, in order.
        domained: Events for other domains that no ``on_domained_events`` callback took.
        errors: Errors and violations raised while the chain ran, with their events.
        events: Every event published during the run, in publish order.

    Example:
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     build_number_domain, number_modifier_contract)
        >>> broker = SimpleEventBroker(build_number_domain().all, on_error=lambda e, ev: None)
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     number_modifier_contract.version("0.0.1"))
        >>> init = factory.init(source="com.example.client", data={
        ...     "parentSubject$$": None, "init": 5, "modifier": 2, "operation": "increment",
        ...     "trend": "linear"})
        >>> run = asyncio.run(broker.run(init))
        >>> run.final.type, run.final.data
        ('arvo.orc.number.modifier.done', {'success': True, 'error': [], 'final': 7})
        >>> [event.type for event in run.events]
        ['arvo.orc.number.modifier', 'com.value.write', 'evt.value.write.success', 'arvo.orc.inc',
         'com.notif.test', 'com.value.read', 'evt.value.read.success', 'com.increment.number',
         'evt.increment.number.success', 'arvo.orc.inc.done', 'arvo.orc.number.modifier.done']

        Version 0.0.1 also sends a notification nobody subscribes to; it is kept, not lost:

        >>> [(type(error.error).__name__, error.event.type) for error in run.errors]
        [('LookupError', 'com.notif.test')]
    """

    final: ArvoEvent | None = None
    outputs: list[ArvoEvent] = field(default_factory=list)
    domained: list[DomainedEvent] = field(default_factory=list)
    errors: list[BrokerError] = field(default_factory=list)
    events: list[ArvoEvent] = field(default_factory=list)


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
            :class:`BrokerRun`.
        max_queue_size: ``publish`` raises when this many events wait (runaway loops fail fast).

    Example:
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
        self.errors: list[BrokerError] = []
        self.domained: list[DomainedEvent] = []
        self._subscribers: dict[str, list[Listener]] = {}
        self._queue: deque[ArvoEvent] = deque()
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
        self._queue.append(event)
        self.events.append(event)
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
                await self._deliver(self._queue.popleft())
        finally:
            self._draining = False
            self._idle.set()

    async def _deliver(self, event: ArvoEvent) -> None:
        listeners = list(self._subscribers.get(event.to or "", ()))
        if not listeners:
            await self._report(
                LookupError(f"No handlers registered for event type: {event.to}"), event
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
        self.errors.append(BrokerError(error=error, event=event))
        if self.on_error is not None:
            await _maybe_await(self.on_error(error, event))
            return
        # The one place a violation raised by a handler or workflow is logged (they never log
        # their own), with the event it was raised for.
        log_event_failure(error, event, message="Broker error", logger=_logger)

    def _listener_for(self, handler: IArvoEventHandler) -> Listener:
        async def listener(event: ArvoEvent, publish: Publish) -> None:
            result = await handler.execute(event, otel_inherit="event")
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
        self.domained.append(DomainedEvent(domain=domain, event=event))
        _logger.info(
            "Event for domain %r kept (no on_domained_events callback)",
            domain,
            extra={"arvo": {**event_log_fields(event), "domain": domain}},
        )

    async def run(self, event: ArvoEvent) -> BrokerRun:
        """Publish ``event``, run the chain to its end, and return everything it produced.

        Raises:
            ValueError: ``event.source`` is one of the handlers' topics (the answer would be
                handled instead of returned).
        """
        if any(handler.source == event.source for handler in self.handlers):
            raise ValueError(
                "The event source cannot be one of the handlers in the broker. Please update "
                f"the event.source, the given is '{event.source}'"
            )
        outcome = BrokerRun()
        first_event, first_error, first_domained = (
            len(self.events),
            len(self.errors),
            len(self.domained),
        )

        def catch(answer: ArvoEvent, _publish: Publish) -> None:
            # Answers keep the subject of the request (a workflow's completion carries its
            # init subject), which keeps overlapping runs from taking each other's answers.
            if answer.subject == event.subject:
                outcome.outputs.append(answer)

        unsubscribe = self.subscribe(event.source, catch)
        try:
            await self.publish(event)
        finally:
            unsubscribe()
        outcome.final = outcome.outputs[-1] if outcome.outputs else None
        outcome.events = self.events[first_event:]
        outcome.errors = self.errors[first_error:]
        outcome.domained = self.domained[first_domained:]
        return outcome

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
            :class:`BrokerRun`.
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
