"""What the timer tests run on Ray: a workflow that waits on timers, a handler that fails
before it succeeds, and a clock tests move instead of sleeping.

``arvo.orc.sleep`` sets one timer per delay of its init event and completes with the first
reply; a later reply reaches a finished workflow. They live in a module of their own so Ray
workers import them by name.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from arvo_ray.core import (
    ArvoEvent,
    create_arvo_event_factory,
    create_arvo_orchestrator_contract,
    create_arvo_orchestrator_event_factory,
    create_simple_arvo_contract,
)
from arvo_ray.handler import ArvoEventHandler, HandlerInput, RetryPolicy, create_arvo_event_handler
from arvo_ray.timers import TimerFired, TimerRequest, timer_contract
from arvo_ray.workflow import ArvoResumable, ResumableInput, create_arvo_resumable

CALLER = "com.sleep.client"


class SleepInit(BaseModel):
    delays: list[float]


class Woken(BaseModel):
    timer_id: str
    name: str | None


sleep_contract = create_arvo_orchestrator_contract(
    uri="#/test/orchestrator/sleep",
    name="sleep",
    versions={"1.0.0": {"init": SleepInit, "complete": Woken}},
)


def _sleep(inp: ResumableInput) -> dict[str, Any] | None:
    if inp.input is not None:
        return {
            "context": {},
            "services": [
                TimerRequest(delay=delay, name=f"t{index}", tag="wake")
                for index, delay in enumerate(inp.data.delays)
            ],
        }
    if isinstance(inp.data, TimerFired):
        return {"output": {"timer_id": inp.data.timer_id, "name": inp.data.name}}
    return None


def sleeper() -> ArvoResumable:
    return create_arvo_resumable(
        self_contract=sleep_contract,
        services={"timer": timer_contract.version("1.0.0")},
        handler={"1.0.0": _sleep},
    )


def sleep_init(*delays: float) -> ArvoEvent:
    factory = create_arvo_orchestrator_event_factory(sleep_contract.version("1.0.0"))
    return factory.init(source=CALLER, data={"parentSubject$$": None, "delays": list(delays)})


class FileClock:
    """Real time plus an offset kept in a file: every process reads the same clock, and a
    test moves it forward with :meth:`advance`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            self.path.write_text("0")

    def __call__(self) -> float:
        return time.time() + float(self.path.read_text() or 0)

    def advance(self, seconds: float) -> None:
        offset = float(self.path.read_text() or 0) + seconds
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(repr(offset))
        tmp.replace(self.path)


class Ask(BaseModel):
    question: str


class Answer(BaseModel):
    answer: str
    calls: int


ask_contract = create_simple_arvo_contract(
    uri="#/test/flaky/ask",
    type="test.flaky.ask",
    versions={"1.0.0": {"accepts": Ask, "emits": Answer}},
)


def flaky_handler(calls_file: Path, failures: int, retry: RetryPolicy) -> ArvoEventHandler:
    """A blocking handler (a task with a CPU on Ray) that fails ``failures`` times, then
    answers; every call is counted in ``calls_file``, whichever process makes it."""

    def answer(inp: HandlerInput[Ask]) -> Answer:
        with calls_file.open("a") as calls:
            calls.write("call\n")
        made = len(calls_file.read_text().splitlines())
        if made <= failures:
            raise ConnectionError(f"call {made} failed")
        return Answer(answer="yes", calls=made)

    return create_arvo_event_handler(
        contract=ask_contract, executionunits=1, handler={"1.0.0": answer}, retry=retry
    )


def ask(question: str = "why") -> ArvoEvent:
    factory = create_arvo_event_factory(ask_contract.version("1.0.0"))
    return factory.accepts(source=CALLER, data={"question": question})
