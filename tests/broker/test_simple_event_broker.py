"""``SimpleEventBroker`` and ``create_simple_event_broker`` (spec §9.1-9.2, with the port's
deliberate departures: FIFO order, ``resolve`` cleans up, one subscriber per topic, nothing
dropped silently).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from arvo_ray.broker import (
    DeadLetter,
    OrphanEventError,
    RunResult,
    SimpleEventBroker,
    create_simple_event_broker,
)
from arvo_ray.core import (
    ArvoEvent,
    ContractViolation,
    ExecutionViolation,
    create_arvo_contract,
    create_arvo_event,
    create_arvo_event_factory,
)
from arvo_ray.examples.number_domain.contracts import value_read_contract, value_write_contract
from arvo_ray.examples.number_domain.handlers import value_read_handler, value_write_handler
from arvo_ray.handler import ArvoEventHandler, HandlerInput, create_arvo_event_handler

CALLER = "com.test.caller"
VECTORS = Path(__file__).parent.parent / "handler" / "vectors.json"


def event(to: str, *, subject: str = "s", source: str = CALLER, **fields: Any) -> ArvoEvent:
    """A plain event addressed to ``to`` (its type is ``to``)."""
    return create_arvo_event(type=to, source=source, subject=subject, data={}, **fields)


class Recorder:
    """Collects ``on_error`` and ``on_domained_events`` calls."""

    def __init__(self) -> None:
        self.errors: list[tuple[BaseException, ArvoEvent]] = []
        self.domained: list[dict[str, Any]] = []

    def on_error(self, error: BaseException, failed: ArvoEvent) -> None:
        self.errors.append((error, failed))

    def on_domained_events(self, **kwargs: Any) -> None:
        self.domained.append(kwargs)


# -- handlers used below ----------------------------------------------------------------------


class Trail(BaseModel):
    trail: list[str]


CHAIN_URI = "#/test/chain"  # shared, so each step accepts the previous step's dataschema


def _chain_step(name: str, accepts: str, emits: str, forward: bool) -> ArvoEventHandler:
    contract = create_arvo_contract(
        uri=CHAIN_URI,
        type=accepts,
        versions={"1.0.0": {"accepts": Trail, "emits": {emits: Trail}}},
    )

    def step(inp: HandlerInput) -> dict[str, Any]:
        output: dict[str, Any] = {
            "type": emits,
            "data": {"trail": [*inp.event.data["trail"], name]},
        }
        if forward:
            # The next hop is another handler; the final answer must go back to the caller.
            output["to"] = emits
            output["redirectto"] = inp.event.redirectto or inp.event.source
        return output

    return create_arvo_event_handler(contract=contract, executionunits=1, handler={"1.0.0": step})


def chain_handlers() -> list[ArvoEventHandler]:
    """A → B → C; C answers whoever started the chain."""
    return [
        _chain_step("a", "com.chain.a", "com.chain.b", forward=True),
        _chain_step("b", "com.chain.b", "com.chain.c", forward=True),
        _chain_step("c", "com.chain.c", "evt.chain.done", forward=False),
    ]


def chain_start(subject: str = "chain-subject") -> ArvoEvent:
    return create_arvo_event(
        type="com.chain.a",
        source=CALLER,
        subject=subject,
        dataschema=f"{CHAIN_URI}/1.0.0",
        data={"trail": []},
    )


class Echo(BaseModel):
    value: int


echo_contract = create_arvo_contract(
    uri="#/test/echo",
    type="com.test.echo",
    versions={"1.0.0": {"accepts": Echo, "emits": {"evt.test.echo.success": Echo}}},
)


def echo_handler(
    *, delay: Callable[[int], float] = lambda value: 0.0, domain: list[Any] | None = None
) -> ArvoEventHandler:
    """Answers ``{value}`` with the same value, optionally after a delay or to other domains."""

    async def echo(inp: HandlerInput) -> dict[str, Any]:
        value = inp.event.data["value"]
        await asyncio.sleep(delay(value))
        if value < 0:
            raise RuntimeError(f"negative value {value}")
        output: dict[str, Any] = {"type": "evt.test.echo.success", "data": {"value": value}}
        if domain is not None:
            output["domain"] = domain
        return output

    return create_arvo_event_handler(
        contract=echo_contract, executionunits=1, handler={"1.0.0": echo}
    )


def echo_request(value: int, *, subject: str | None = None, source: str = CALLER) -> ArvoEvent:
    return create_arvo_event_factory(echo_contract.version("1.0.0")).accepts(
        source=source, subject=subject or f"echo-{value}", data={"value": value}
    )


# -- ordering ---------------------------------------------------------------------------------


class TestOrdering:
    """Events are processed first-in first-out (the original pops the newest first)."""

    async def test_fifo_across_nested_publishes(self) -> None:
        """root publishes one and two; one publishes three; two publishes four."""
        broker = SimpleEventBroker()
        delivered: list[str] = []
        children = {
            "com.t.root": ["com.t.one", "com.t.two"],
            "com.t.one": ["com.t.three"],
            "com.t.two": ["com.t.four"],
            "com.t.three": [],
            "com.t.four": [],
        }

        def listener_for(topic: str) -> Any:
            async def listener(received: ArvoEvent, publish: Any) -> None:
                delivered.append(received.to or "")
                for child in children[topic]:
                    await publish(event(child))

            return listener

        for topic in children:
            broker.subscribe(topic, listener_for(topic))
        await broker.publish(event("com.t.root"))
        assert delivered == ["com.t.root", "com.t.one", "com.t.two", "com.t.three", "com.t.four"]
        assert [e.to for e in broker.events] == delivered
        assert broker.queue_length == 0

    async def test_handler_outputs_are_published_in_output_order(self) -> None:
        """A handler's outputs are handled in the order it returned them."""

        class Empty(BaseModel):
            pass

        fan_contract = create_arvo_contract(
            uri="#/test/fan",
            type="com.test.fan",
            versions={
                "1.0.0": {"accepts": Empty, "emits": {"evt.fan.x": Empty, "evt.fan.y": Empty}}
            },
        )
        handler = create_arvo_event_handler(
            contract=fan_contract,
            executionunits=0,
            handler={
                "1.0.0": lambda inp: [
                    {"type": "evt.fan.x", "data": {}, "to": "com.t.x"},
                    {"type": "evt.fan.y", "data": {}, "to": "com.t.y"},
                    {"type": "evt.fan.x", "data": {}, "to": "com.t.z"},
                ]
            },
        )
        broker = create_simple_event_broker([handler])
        seen: list[str] = []
        for topic in ("com.t.x", "com.t.y", "com.t.z"):
            broker.subscribe(topic, lambda received, publish: seen.append(received.to or ""))
        await broker.publish(event("com.test.fan"))
        assert seen == ["com.t.x", "com.t.y", "com.t.z"]


# -- subscriptions ----------------------------------------------------------------------------


class TestSubscriptions:
    """subscribe / unsubscribe / uniqueness."""

    async def test_subscribe_and_unsubscribe(self) -> None:
        """Delivery by exact ``to``; unsubscribing removes the listener and an empty topic."""
        broker = SimpleEventBroker(on_error=Recorder().on_error)
        received: list[ArvoEvent] = []
        unsubscribe = broker.subscribe("com.t.topic", lambda e, publish: received.append(e))
        assert broker.topics == ["com.t.topic"]
        assert broker.subscriber_count("com.t.topic") == 1
        await broker.publish(event("com.t.topic"))
        await broker.publish(event("com.t.topic.other"))
        assert [e.to for e in received] == ["com.t.topic"]
        unsubscribe()
        unsubscribe()  # harmless twice
        assert broker.topics == []
        assert broker.subscriber_count("com.t.topic") == 0
        await broker.publish(event("com.t.topic"))
        assert len(received) == 1

    async def test_every_subscriber_of_a_topic_receives_the_event(self) -> None:
        """Several (non-unique) subscribers all run, concurrently."""
        broker = SimpleEventBroker()
        started: list[str] = []
        both_started = asyncio.Event()

        def listener(name: str) -> Any:
            async def run(received: ArvoEvent, publish: Any) -> None:
                started.append(name)
                if len(started) == 2:
                    both_started.set()
                # Each waits for the other: only concurrent delivery can finish.
                await asyncio.wait_for(both_started.wait(), 1)

            return run

        broker.subscribe("com.t.shared", listener("first"))
        broker.subscribe("com.t.shared", listener("second"))
        await broker.publish(event("com.t.shared"))
        assert sorted(started) == ["first", "second"]
        assert broker.errors == []

    def test_assert_unique_rejects_a_second_subscriber(self) -> None:
        """One existing subscriber is enough to refuse (the original allowed two)."""
        broker = SimpleEventBroker()
        broker.subscribe("com.t.unique", lambda e, publish: None, assert_unique=True)
        with pytest.raises(ValueError) as caught:
            broker.subscribe("com.t.unique", lambda e, publish: None, assert_unique=True)
        assert str(caught.value) == "Only one subscriber allowed per topic: com.t.unique"
        assert broker.subscriber_count("com.t.unique") == 1

    def test_two_handlers_on_one_topic_are_rejected(self) -> None:
        """Handlers are subscribed uniquely on their source."""
        with pytest.raises(
            ValueError, match=r"^Only one subscriber allowed per topic: com\.test\.echo$"
        ):
            create_simple_event_broker([echo_handler(), echo_handler()])

    def test_handlers_are_subscribed_on_their_source(self) -> None:
        """``create_simple_event_broker`` subscribes each handler on ``handler.source``."""
        broker = create_simple_event_broker(chain_handlers())
        assert broker.topics == ["com.chain.a", "com.chain.b", "com.chain.c"]
        assert all(broker.subscriber_count(topic) == 1 for topic in broker.topics)


# -- publish ----------------------------------------------------------------------------------


class TestPublish:
    """Publishing rules."""

    async def test_event_without_to_is_rejected(self) -> None:
        """An event with no ``to`` cannot be routed."""
        no_to = ArvoEvent(
            source=CALLER,
            type="com.test.thing",
            subject="s",
            data={},
            datacontenttype="application/cloudevents+json",
            to=None,
        )
        broker = SimpleEventBroker()
        with pytest.raises(ValueError) as caught:
            await broker.publish(no_to)
        assert str(caught.value) == 'Event must have a "to" property'
        assert broker.events == []

    async def test_queue_full(self) -> None:
        """Publishing beyond ``max_queue_size`` raises; inside a listener it reaches on_error."""
        recorder = Recorder()
        broker = SimpleEventBroker(on_error=recorder.on_error, max_queue_size=1)
        delivered: list[str] = []

        async def fan_out(received: ArvoEvent, publish: Any) -> None:
            await publish(event("com.t.leaf"))
            await publish(event("com.t.leaf"))  # the first is still queued

        broker.subscribe("com.t.root", fan_out)
        broker.subscribe("com.t.leaf", lambda e, publish: delivered.append(e.to or ""))
        root = event("com.t.root")
        await broker.publish(root)
        assert delivered == ["com.t.leaf"]
        ((error, failed),) = recorder.errors
        assert isinstance(error, ValueError)
        assert str(error) == "Event queue is full (max size: 1)"
        assert failed is root

    def test_max_queue_size_must_be_positive(self) -> None:
        """A queue that can hold nothing is a configuration error."""
        with pytest.raises(ValueError, match="max_queue_size must be at least 1"):
            SimpleEventBroker(max_queue_size=0)

    async def test_publish_from_inside_a_listener_does_not_wait(self) -> None:
        """Inside a listener ``publish`` only enqueues, so it cannot deadlock on its own drain."""
        broker = SimpleEventBroker()
        handled: list[str] = []
        observed: list[list[str]] = []

        async def root(received: ArvoEvent, publish: Any) -> None:
            await publish(event("com.t.child"))
            await broker.publish(event("com.t.child"))  # the broker's own method, same rule
            observed.append(list(handled))

        broker.subscribe("com.t.root", root)
        broker.subscribe("com.t.child", lambda e, publish: handled.append(e.to or ""))
        await asyncio.wait_for(broker.publish(event("com.t.root")), 2)
        assert observed == [[]]  # nothing was handled while the listener ran
        assert handled == ["com.t.child", "com.t.child"]

    async def test_outside_publish_during_a_drain_waits_for_the_whole_chain(self) -> None:
        """A second publisher returns only once its event (and everything else) was handled."""
        broker = SimpleEventBroker()
        handled: list[str] = []

        async def slow(received: ArvoEvent, publish: Any) -> None:
            await asyncio.sleep(0.02)
            handled.append(received.subject)

        broker.subscribe("com.t.slow", slow)
        first = asyncio.create_task(broker.publish(event("com.t.slow", subject="first")))
        await asyncio.sleep(0)  # the first drain is running
        await broker.publish(event("com.t.slow", subject="second"))
        assert handled == ["first", "second"]
        await first

    def test_a_broker_outlives_event_loops(self) -> None:
        """The same broker works under successive ``asyncio.run`` calls (scripts, notebooks)."""
        broker = create_simple_event_broker([echo_handler(delay=lambda v: 0.001)])

        async def burst(values: list[int]) -> list[Any]:
            finals = await asyncio.gather(*(broker.resolve(echo_request(v)) for v in values))
            return [final.data["value"] if final else None for final in finals]

        assert asyncio.run(burst([1, 2])) == [1, 2]
        assert asyncio.run(burst([3, 4])) == [3, 4]


# -- errors -----------------------------------------------------------------------------------


class TestErrors:
    """Nothing is dropped silently: every failure reaches ``on_error`` and ``broker.errors``."""

    async def test_no_subscriber(self) -> None:
        """An undeliverable event reaches on_error with the original's message; others go on."""
        recorded = json.loads(VECTORS.read_text(encoding="utf-8"))["broker_errors"][0]
        recorder = Recorder()
        broker = SimpleEventBroker(on_error=recorder.on_error)
        delivered: list[str] = []

        async def root(received: ArvoEvent, publish: Any) -> None:
            await publish(event(recorded["to"]))
            await publish(event("com.t.known"))

        broker.subscribe("com.t.root", root)
        broker.subscribe("com.t.known", lambda e, publish: delivered.append(e.to or ""))
        await broker.publish(event("com.t.root"))
        ((error, failed),) = recorder.errors
        assert str(error) == recorded["msg"]
        assert (failed.type, failed.to) == (recorded["type"], recorded["to"])
        assert delivered == ["com.t.known"]
        assert broker.errors == [DeadLetter(error=error, event=failed)]

    async def test_default_on_error_logs_and_keeps(self, caplog: pytest.LogCaptureFixture) -> None:
        """Without on_error the failure is logged on ``arvo_ray.broker`` and kept."""
        broker = SimpleEventBroker()
        with caplog.at_level(logging.WARNING, logger="arvo_ray.broker"):
            await broker.publish(event("com.t.nobody"))
        (kept,) = broker.errors
        assert str(kept.error) == "No handlers registered for event type: com.t.nobody"
        assert any("com.t.nobody" in record.getMessage() for record in caplog.records)

    async def test_subscriber_exception(self) -> None:
        """A failing subscriber reaches on_error; its sibling still ran."""
        recorder = Recorder()
        broker = SimpleEventBroker(on_error=recorder.on_error)
        ran: list[str] = []

        def bad(received: ArvoEvent, publish: Any) -> None:
            raise RuntimeError("listener broke")

        broker.subscribe("com.t.topic", bad)
        broker.subscribe("com.t.topic", lambda e, publish: ran.append("good"))
        published = event("com.t.topic")
        await broker.publish(published)
        ((error, failed),) = recorder.errors
        assert isinstance(error, RuntimeError)
        assert str(error) == "listener broke"
        assert failed is published
        assert ran == ["good"]

    async def test_async_on_error_is_awaited(self) -> None:
        """An ``async`` on_error runs to completion before the publish returns."""
        seen: list[str] = []

        async def on_error(error: BaseException, failed: ArvoEvent) -> None:
            await asyncio.sleep(0)
            seen.append(str(error))

        broker = SimpleEventBroker(on_error=on_error)
        await broker.publish(event("com.t.nobody"))
        assert seen == ["No handlers registered for event type: com.t.nobody"]

    async def test_violation_reaches_on_error(self) -> None:
        """A violation raised by a handler is reported with the event it failed on."""
        recorder = Recorder()
        broker = create_simple_event_broker([echo_handler()], on_error=recorder.on_error)
        bad = create_arvo_event(
            type="com.test.echo", source=CALLER, subject="s", data={"value": "not-an-int"}
        )
        run = await broker.run(bad)
        ((error, failed),) = recorder.errors
        assert isinstance(error, ContractViolation)
        assert failed is bad
        assert run.final is None
        assert run.errors == [DeadLetter(error=error, event=bad)]

    async def test_user_raised_violation_reaches_on_error(self) -> None:
        """An ExecutionViolation from the implementation is not turned into an event."""
        contract = value_read_contract

        def read(inp: HandlerInput) -> Any:
            raise ExecutionViolation("bubble up")

        handler = create_arvo_event_handler(
            contract=contract, executionunits=0, handler={"0.0.1": read}
        )
        recorder = Recorder()
        broker = create_simple_event_broker([handler], on_error=recorder.on_error)
        request = create_arvo_event_factory(contract.version("0.0.1")).accepts(
            source=CALLER, subject="s", data={"key": "k"}
        )
        assert await broker.resolve(request) is None
        ((error, _),) = recorder.errors
        assert str(error) == "ViolationError<Execution> bubble up"

    async def test_system_error_comes_back_to_the_caller(self) -> None:
        """A non-violation failure is an event: it is the answer ``resolve`` returns."""
        broker = create_simple_event_broker([echo_handler()])
        final = await broker.resolve(echo_request(-1))
        assert final is not None
        assert final.type == "sys.com.test.echo.error"
        assert final.data["errorMessage"] == "negative value -1"
        assert broker.errors == []


# -- domains ----------------------------------------------------------------------------------


class TestDomainedEvents:
    """Events for another domain never enter the local bus, and are never lost."""

    async def test_callback_receives_domained_events(self) -> None:
        """``on_domained_events(domain=, event=, broker=)``; the local copy still comes back."""
        recorder = Recorder()
        broker = create_simple_event_broker(
            [echo_handler(domain=[None, "ext.dom"])],
            on_domained_events=recorder.on_domained_events,
        )
        run = await broker.run(echo_request(5))
        (call,) = recorder.domained
        assert call["domain"] == "ext.dom"
        assert call["broker"] is broker
        assert call["event"].domain == "ext.dom"
        assert call["event"] not in broker.events  # not published locally
        assert run.final is not None and run.final.domain is None
        assert run.domained == [] and broker.domained == []

    async def test_async_callback_is_awaited(self) -> None:
        """An ``async`` callback completes before ``resolve`` returns."""
        got: list[str] = []

        async def on_domained(*, domain: str, event: ArvoEvent, broker: Any) -> None:
            await asyncio.sleep(0)
            got.append(domain)

        broker = create_simple_event_broker(
            [echo_handler(domain=["ext.dom"])], on_domained_events=on_domained
        )
        assert await broker.resolve(echo_request(5)) is None
        assert got == ["ext.dom"]

    async def test_without_callback_they_are_kept_and_returned(self) -> None:
        """No callback: kept in ``broker.domained`` and returned in ``RunResult.domained``."""
        broker = create_simple_event_broker([echo_handler(domain=["ext.a", "ext.b"])])
        local = broker.subscribe("evt.test.echo.success", lambda e, publish: None)
        run = await broker.run(echo_request(5), trace=True)
        local()
        assert [d.domain for d in run.domained] == ["ext.a", "ext.b"]
        assert all(isinstance(d, ArvoEvent) for d in run.domained)
        assert broker.domained == run.domained
        assert run.final is None
        assert [e.type for e in (run.trace or [])] == ["com.test.echo"]
        second = await broker.run(echo_request(6))
        assert len(second.domained) == 2  # each run reports its own
        assert len(broker.domained) == 4


# -- run / resolve ----------------------------------------------------------------------------


class TestResolve:
    """Driving a chain to its end."""

    async def test_resolve_returns_the_answer_and_cleans_up(self) -> None:
        """The final event comes back; no subscription on the caller's topic is left behind."""
        broker = create_simple_event_broker([echo_handler()])
        request = echo_request(7)
        final = await broker.resolve(request)
        assert final is not None
        assert (final.type, final.data, final.to, final.parentid) == (
            "evt.test.echo.success",
            {"value": 7},
            CALLER,
            request.id,
        )
        assert broker.topics == ["com.test.echo"]
        assert broker.subscriber_count(CALLER) == 0

    async def test_run_reports_everything(self) -> None:
        """``RunResult`` (as on Ray): final, outputs, hops, trace, errors, domained."""
        broker = create_simple_event_broker([echo_handler()])
        request = echo_request(3)
        run = await broker.run(request, trace=True)
        assert isinstance(run, RunResult)
        assert run.final is not None
        assert run.outputs == [run.final]
        assert run.trace == [request, run.final]
        assert run.hops == 1 and run.seconds > 0
        assert run.errors == [] and run.domained == [] and run.late == []
        assert (await broker.run(request)).trace is None  # only when asked for

    async def test_run_async_is_run_under_the_runtime_s_name(self) -> None:
        """Code written for ``ArvoRuntime.run_async`` runs against the in-process broker."""
        broker = create_simple_event_broker([echo_handler()])
        result = await broker.run_async(echo_request(4), trace=True)
        assert result.final is not None and result.final.data == {"value": 4}
        assert result.trace is not None and len(result.trace) == 2

    async def test_orphans_are_dead_letters_and_late_events_are_counted(self) -> None:
        """As on Ray: an event for no workflow instance is an ``OrphanEventError``; one for a
        finished workflow is late."""
        from arvo_ray.core import create_arvo_orchestrator_event_factory
        from arvo_ray.examples.number_domain import (
            build_number_domain,
            increment_orchestrator_contract,
        )

        domain = build_number_domain()
        domain.store["k"] = 1
        broker = create_simple_event_broker(domain.all, on_error=Recorder().on_error)
        init = create_arvo_orchestrator_event_factory(
            increment_orchestrator_contract.version("0.0.1")
        ).init(
            source=CALLER,
            data={"parentSubject$$": None, "key": "k", "modifier": 1, "trend": "linear"},
        )
        reply = create_arvo_event_factory(value_read_contract.version("0.0.1")).emits(
            subject=init.subject,
            source=CALLER,
            type="evt.value.read.success",
            to="arvo.orc.inc",
            data={"key": "k", "value": 1},
        )
        orphan = await broker.run(reply)
        [letter] = orphan.errors
        assert isinstance(letter.error, OrphanEventError) and letter.event is reply
        done = await broker.run(init)
        assert done.final is not None and done.final.data["final"] == 2
        late = await broker.run(reply)
        assert late.late == [reply] and late.errors == []

    async def test_events_no_one_subscribes_to_are_outputs_not_errors(self) -> None:
        """As on Ray: an event with no subscriber comes back in ``outputs``; the broker's own
        log still reports it (``broker.errors``, ``on_error``), as the original does."""
        recorder = Recorder()
        broker = create_simple_event_broker([echo_handler()], on_error=recorder.on_error)
        run = await broker.run(event("com.t.nobody"))
        assert [e.to for e in run.outputs] == ["com.t.nobody"]
        assert run.errors == [] and run.final is None and run.hops == 0
        ((error, _),) = recorder.errors
        assert isinstance(error, LookupError)

    async def test_resolve_with_a_handler_source_is_rejected(self) -> None:
        """The caller cannot be one of the handlers (its answer would be handled, not returned)."""
        broker = create_simple_event_broker([echo_handler(), *chain_handlers()])
        request = echo_request(1, source="com.chain.a")
        with pytest.raises(ValueError) as caught:
            await broker.resolve(request)
        assert str(caught.value) == (
            "The event source cannot be one of the handlers in the broker. Please update the "
            "event.source, the given is 'com.chain.a'"
        )
        assert broker.subscriber_count("com.chain.a") == 1
        assert broker.events == []

    async def test_resolve_is_none_when_nothing_comes_back(self) -> None:
        """A chain that ends elsewhere resolves to ``None``."""
        broker = create_simple_event_broker([echo_handler()], on_error=Recorder().on_error)
        assert await broker.resolve(event("com.t.nobody")) is None

    async def test_resolve_cleans_up_even_when_the_chain_raises(self) -> None:
        """An exception escaping the chain (here from on_error) still removes the catcher."""

        def on_error(error: BaseException, failed: ArvoEvent) -> None:
            raise RuntimeError("on_error broke")

        broker = create_simple_event_broker([echo_handler()], on_error=on_error)
        with pytest.raises(RuntimeError, match="on_error broke"):
            await broker.resolve(event("com.t.nobody"))
        assert broker.subscriber_count(CALLER) == 0

    async def test_chain_of_three_handlers(self) -> None:
        """A → B → C → caller: each hop runs once, in order, and the answer comes back."""
        broker = create_simple_event_broker(chain_handlers())
        start = chain_start()
        run = await broker.run(start, trace=True)
        assert run.final is not None
        assert run.final.type == "evt.chain.done"
        assert run.final.data == {"trail": ["a", "b", "c"]}
        assert run.final.to == CALLER
        assert run.final.subject == start.subject
        trace = run.trace or []
        assert [e.type for e in trace] == [
            "com.chain.a",
            "com.chain.b",
            "com.chain.c",
            "evt.chain.done",
        ]
        # Causality: each event answers the previous one.
        assert [e.parentid for e in trace[1:]] == [e.id for e in trace[:-1]]

    async def test_concurrent_resolves_each_get_their_own_answer(self) -> None:
        """Overlapping runs from one caller are told apart (answers keep the request subject)."""
        broker = create_simple_event_broker([echo_handler(delay=lambda value: 0.001 * (value % 4))])
        values = list(range(12))
        finals = await asyncio.gather(*(broker.resolve(echo_request(v)) for v in values))
        assert [f.data["value"] if f else None for f in finals] == values
        assert broker.subscriber_count(CALLER) == 0

    async def test_concurrent_chains(self) -> None:
        """Several chains at once all complete with their own subject."""
        broker = create_simple_event_broker(chain_handlers())
        starts = [chain_start(subject=f"chain-{i}") for i in range(5)]
        finals = await asyncio.gather(*(broker.resolve(s) for s in starts))
        assert [f.subject if f else None for f in finals] == [s.subject for s in starts]
        assert all(f is not None and f.data == {"trail": ["a", "b", "c"]} for f in finals)

    async def test_sample_domain_handlers(self) -> None:
        """The number domain's value handlers share a store across resolves."""
        store: dict[str, float] = {}
        broker = create_simple_event_broker([value_write_handler(store), value_read_handler(store)])
        write = create_arvo_event_factory(value_write_contract.version("0.0.1")).accepts(
            source=CALLER, subject="w", data={"key": "k", "value": 3}
        )
        read = create_arvo_event_factory(value_read_contract.version("0.0.1")).accepts(
            source=CALLER, subject="r", data={"key": "k"}
        )
        written = await broker.resolve(write)
        assert written is not None and written.data == {"key": "k", "success": True}
        answer = await broker.resolve(read)
        assert answer is not None and answer.data == {"key": "k", "value": 3}
