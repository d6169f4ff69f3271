"""Retry policies and timeouts of ArvoEventHandler: transient failures are tried again with
growing waits (injected: nothing sleeps), attempts show in the span, the metric and the final
error; violations and non-retryable errors are never retried."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from otel_fixtures import spans_named
from pydantic import BaseModel

from arvo_ray.core import ContractViolation, create_arvo_event_factory, create_simple_arvo_contract
from arvo_ray.handler import (
    HandlerInput,
    RetryPolicy,
    create_arvo_event_handler,
)
from arvo_ray.handler import _handler as handler_module


class Ask(BaseModel):
    question: str


class Answer(BaseModel):
    answer: str


contract = create_simple_arvo_contract(
    uri="#/test/retry/ask",
    type="test.ask",
    versions={"1.0.0": {"accepts": Ask, "emits": Answer}},
)


def ask() -> Any:
    factory = create_arvo_event_factory(contract.version("1.0.0"))
    return factory.accepts(source="com.test.client", data={"question": "why"})


class Waits:
    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def flaky(failures: int, error: Exception) -> tuple[Any, list[int]]:
    calls: list[int] = []

    async def answer(inp: HandlerInput[Ask]) -> Answer:
        calls.append(len(calls) + 1)
        if len(calls) <= failures:
            raise error
        return Answer(answer=f"because (call {len(calls)})")

    return answer, calls


def handler(function: Any, **options: Any) -> Any:
    return create_arvo_event_handler(
        contract=contract, executionunits=1, handler={"1.0.0": function}, **options
    )


def policy(**options: Any) -> RetryPolicy:
    return RetryPolicy(**{"max_attempts": 3, "initial_interval": 1.0, "jitter": False, **options})


async def test_a_handler_that_fails_twice_then_succeeds_gives_one_success(
    span_exporter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    retried: list[str] = []
    monkeypatch.setattr(handler_module, "record_retry", retried.append)
    function, calls = flaky(2, ConnectionError("reset by peer"))
    waits = Waits()
    made = handler(function, retry=policy())
    made._sleep = waits
    result = await made.execute(ask())
    assert [e.type for e in result.events] == ["evt.test.ask.success"]
    assert result.events[0].data == {"answer": "because (call 3)"}
    assert calls == [1, 2, 3]
    assert waits.asked == [1.0, 2.0]
    assert retried == ["com.test.ask", "com.test.ask"]
    [span] = spans_named(span_exporter, "Handler<#/test/retry/ask>")
    assert span.attributes["arvo.handler.attempts"] == 3
    assert [e.attributes["attempt"] for e in span.events if e.name == "arvo.handler.retry"] == [
        1,
        2,
    ]


async def test_when_attempts_run_out_the_error_event_counts_them() -> None:
    function, calls = flaky(10, ConnectionError("reset by peer"))
    made = handler(function, retry=policy(max_attempts=3))
    made._sleep = Waits()
    [error] = (await made.execute(ask())).events
    assert error.type == "sys.com.test.ask.error"
    assert error.data["errorName"] == "ConnectionError"
    assert error.data["errorMessage"] == "reset by peer (after 3 attempts)"
    assert "ConnectionError" in error.data["errorStack"]
    assert calls == [1, 2, 3]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"non_retryable": (KeyError,)}, KeyError("missing")),
        ({"retry_on": (ConnectionError,)}, ValueError("bad value")),
    ],
)
async def test_errors_the_policy_excludes_are_not_retried(options: Any, error: Exception) -> None:
    function, calls = flaky(1, error)
    waits = Waits()
    made = handler(function, retry=policy(**options))
    made._sleep = waits
    [event] = (await made.execute(ask())).events
    assert event.type == "sys.com.test.ask.error"
    assert "attempts" not in event.data["errorMessage"]
    assert calls == [1] and waits.asked == []


async def test_a_violation_is_raised_at_once_never_retried() -> None:
    function, calls = flaky(1, ContractViolation("the answer breaks the contract"))
    waits = Waits()
    made = handler(function, retry=policy())
    made._sleep = waits
    with pytest.raises(ContractViolation):
        await made.execute(ask())
    assert calls == [1] and waits.asked == []


async def test_a_slow_async_call_times_out_and_is_retried() -> None:
    calls: list[int] = []

    async def answer(inp: HandlerInput[Ask]) -> Answer:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.Event().wait()  # never set: only the timeout ends this call
        return Answer(answer="in time")

    made = handler(answer, retry=policy(retry_on=(TimeoutError,)), timeout=0.05)
    made._sleep = Waits()
    [event] = (await made.execute(ask())).events
    assert event.data == {"answer": "in time"} and len(calls) == 2


async def test_a_blocking_call_that_times_out_becomes_an_error_event() -> None:
    release = threading.Event()

    def answer(inp: HandlerInput[Ask]) -> Answer:
        release.wait(30)
        return Answer(answer="late")

    made = handler(answer, timeout=0.05)
    try:
        [event] = (await made.execute(ask())).events
    finally:
        release.set()
    assert event.type == "sys.com.test.ask.error"
    assert event.data["errorName"] == "HandlerTimeoutError"
    assert "did not finish within 0.05 s" in event.data["errorMessage"]


def test_intervals_grow_to_their_cap_and_jitter_stays_below_it() -> None:
    steady = RetryPolicy(initial_interval=0.5, backoff=3.0, max_interval=4.0, jitter=False)
    assert [steady.interval(n) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.0, 4.0]
    jittered = RetryPolicy(initial_interval=0.5, backoff=3.0, max_interval=4.0, random=lambda: 0.25)
    assert [jittered.interval(n) for n in (1, 2, 3)] == [0.125, 0.375, 1.0]


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({"max_attempts": 0}, ValueError),
        ({"max_attempts": 2.5}, TypeError),
        ({"backoff": 0.5}, ValueError),
        ({"initial_interval": -1}, ValueError),
        ({"retry_on": ValueError}, TypeError),
        ({"non_retryable": ("KeyError",)}, TypeError),
    ],
)
def test_bad_policies_are_refused(options: Any, kind: type[Exception]) -> None:
    with pytest.raises(kind):
        RetryPolicy(**options)


def test_bad_handler_options_are_refused() -> None:
    function, _ = flaky(0, ValueError())
    with pytest.raises(ValueError, match="timeout"):
        handler(function, timeout=0)
    with pytest.raises(TypeError, match="RetryPolicy"):
        handler(function, retry={"max_attempts": 3})


async def test_a_deferred_retry_returns_when_to_call_again_instead_of_waiting() -> None:
    """A runtime with durable timers does the waiting: the handler returns ``retry_in`` and
    is called again with the next attempt number; the last attempt reports the count."""
    function, calls = flaky(5, ConnectionError("reset"))
    waits = Waits()
    retrying = handler(function, retry=policy())
    retrying._sleep = waits
    first = await retrying.execute(ask(), defer_retry=True)
    assert (first.events, first.retry_in, calls) == ([], 1.0, [1])
    second = await retrying.execute(ask(), attempt=2, defer_retry=True)
    assert second.retry_in == 2.0 and calls == [1, 2]
    last = await retrying.execute(ask(), attempt=3, defer_retry=True)
    assert last.retry_in is None and waits.asked == []  # nothing slept
    [error] = last.events
    assert error.type == "sys.com.test.ask.error"
    assert "(after 3 attempts)" in error.data["errorMessage"]


async def test_a_deferred_attempt_that_succeeds_answers_at_once() -> None:
    function, calls = flaky(1, ConnectionError("reset"))
    retrying = handler(function, retry=policy())
    assert calls == []
    assert (await retrying.execute(ask(), defer_retry=True)).retry_in == 1.0
    again = await retrying.execute(ask(), attempt=2, defer_retry=True)
    assert again.retry_in is None and [e.type for e in again.events] == ["evt.test.ask.success"]
    assert calls == [1, 2]
