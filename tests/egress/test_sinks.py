"""Sinks in-process: routing by prefix, the JSONL file, functions, and the webhook against a
real local HTTP receiver (its waits injected, so nothing sleeps)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arvo_ray.core import ArvoEvent, create_arvo_event_factory
from arvo_ray.egress import CallableSink, JsonlSink, SinkRouting, UndeliverableError, WebhookSink
from arvo_ray.examples.number_domain import increment_contract

from .http_receiver import Receiver


def event(value: int = 1) -> ArvoEvent:
    factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
    return factory.accepts(source="com.test.client", data={"init": value, "increment": 2})


class Waits:
    """An injected ``sleep`` that records what it was asked to wait."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def test_the_longest_prefix_wins_and_star_takes_the_rest(tmp_path: Path) -> None:
    a, b, rest = (JsonlSink(tmp_path / f"{n}.jsonl") for n in "ab*")
    routing = SinkRouting({"com.partner.": a, "com.partner.billing.": b, "*": rest})
    assert routing.for_topic("com.partner.billing.invoice") is b
    assert routing.for_topic("com.partner.crm") is a
    assert routing.for_topic("org.other") is rest
    assert SinkRouting({"com.partner.": a}).for_topic("org.other") is None
    assert not SinkRouting()


def test_bad_sinks_are_refused() -> None:
    with pytest.raises(TypeError, match="no async deliver"):
        SinkRouting({"com.x.": object()})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="prefix"):
        SinkRouting({"": JsonlSink("x")})


async def test_jsonl_appends_one_cloudevent_per_line(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "out" / "events.jsonl")
    events = [event(i) for i in range(3)]
    for item in events:
        await sink.deliver(item)
    lines = (tmp_path / "out" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in events]


async def test_callable_sinks_sync_and_async() -> None:
    seen: list[str] = []

    async def keep(item: ArvoEvent) -> None:
        seen.append(item.id)

    first, second = event(), event()
    await CallableSink(keep).deliver(first)
    await CallableSink(lambda item: seen.append(item.id)).deliver(second)
    assert seen == [first.id, second.id]
    with pytest.raises(TypeError):
        CallableSink("not a function")  # type: ignore[arg-type]


async def test_webhook_retries_failures_with_growing_jittered_waits() -> None:
    waits = Waits()
    with Receiver(failures=3) as receiver:
        sink = WebhookSink(
            receiver.url,
            headers={"authorization": "Bearer t"},
            attempts=5,
            initial_backoff=0.5,
            max_backoff=1.5,
            sleep=waits,
            jitter=lambda: 0.5,
        )
        item = event()
        await sink.deliver(item)
    assert receiver.requests == 4
    assert receiver.taken == [item.id]
    assert receiver.headers[0]["content-type"].startswith("application/cloudevents+json")
    assert receiver.headers[0]["authorization"] == "Bearer t"
    assert waits.asked == [0.25, 0.5, 0.75]  # half of 0.5, 1.0, then the 1.5 cap


def test_full_jitter_stays_within_the_capped_exponential() -> None:
    sink = WebhookSink("http://x/hook", initial_backoff=1.0, max_backoff=8.0, jitter=lambda: 1.0)
    assert [sink.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert WebhookSink("http://x/hook", jitter=lambda: 0.0).backoff(3) == 0.0


async def test_webhook_gives_up_after_its_attempts() -> None:
    waits = Waits()
    with Receiver(failures=10) as receiver:
        sink = WebhookSink(receiver.url, attempts=3, sleep=waits)
        with pytest.raises(UndeliverableError, match="in 3 attempts"):
            await sink.deliver(event())
    assert receiver.requests == 3 and receiver.taken == []
    assert len(waits.asked) == 2


@pytest.mark.parametrize(
    ("status", "retried"), [(400, False), (404, False), (429, True), (408, True), (500, True)]
)
async def test_only_what_may_pass_is_retried(status: int, retried: bool) -> None:
    with Receiver(failures=1, status=status) as receiver:
        sink = WebhookSink(receiver.url, attempts=3, sleep=Waits())
        if retried:
            await sink.deliver(event())
            assert receiver.requests == 2
        else:
            with pytest.raises(UndeliverableError, match=f"with {status}"):
                await sink.deliver(event())
            assert receiver.requests == 1


async def test_an_unreachable_receiver_is_retried_then_given_up() -> None:
    with Receiver() as receiver:
        url = receiver.url
    sink = WebhookSink(url, attempts=2, sleep=Waits(), timeout=2)
    with pytest.raises(UndeliverableError, match=r"ConnectionRefused|URLError"):
        await sink.deliver(event())


def test_webhook_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookSink("ftp://x")
