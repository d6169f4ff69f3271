"""Fixtures for the workflow tests: memories and the number domain.

``memory`` is parametrised over the in-process and the SQLite backend, so every test that
asks for it (directly or through ``domain``/``broker``) runs against both. ``VECTORS`` holds
the recorded runs of the original (``vectors.json``). The helpers at the bottom build the init
events of the sample orchestrations and decode subjects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from arvo_ray.broker import SimpleEventBroker, create_simple_event_broker
from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.examples.number_domain import (
    NumberDomain,
    build_number_domain,
    decrement_orchestrator_contract,
    increment_orchestrator_contract,
    increment_resumable_contract,
    number_modifier_init,
)
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory, SQLiteMachineMemory

CALLER = "com.test.test"
"""The source of every init event: the party a workflow answers."""

VECTORS: dict[str, Any] = json.loads(
    Path(__file__).with_name("vectors.json").read_text(encoding="utf-8")
)
"""Recorded runs of the original (a subset of ``spec/vectors/arvo-3.0.25-probe.json``)."""


@pytest.fixture(params=["simple", "sqlite"])
def memory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IMachineMemory]:
    """A fresh machine memory: in-process, or a SQLite file under ``tmp_path``."""
    if request.param == "simple":
        yield SimpleMachineMemory()
        return
    sqlite = SQLiteMachineMemory(tmp_path / "memory.db")
    try:
        yield sqlite
    finally:
        sqlite.close()


@pytest.fixture
def store() -> dict[str, float]:
    """The key-value store behind the value read/write handlers."""
    return {}


@pytest.fixture
def domain(memory: IMachineMemory, store: dict[str, float]) -> NumberDomain:
    """The number domain with its statechart orchestrators on ``memory``."""
    return build_number_domain(memory=memory, store=store)


@pytest.fixture
def resumables(memory: IMachineMemory, store: dict[str, float]) -> NumberDomain:
    """The number domain with its resumables on ``memory``."""
    return build_number_domain(memory=memory, store=store, kind="resumables")


@pytest.fixture
def broker(domain: NumberDomain) -> SimpleEventBroker:
    """A broker with every handler and orchestrator of ``domain`` subscribed."""
    return create_simple_event_broker(domain.all)


# -- helpers ------------------------------------------------------------------------------


def decode(subject: str) -> dict[str, Any]:
    """The JSON content of an orchestration subject."""
    return dict(ArvoOrchestrationSubject.parse(subject))


def inc_init(key: str = "k1", *, version: str = "0.0.1", **options: Any) -> ArvoEvent:
    """An ``arvo.orc.inc`` init event from :data:`CALLER`."""
    trend = "linear" if version == "0.0.1" else "exponential"
    return create_arvo_orchestrator_event_factory(
        increment_orchestrator_contract.version(version)
    ).init(
        source=CALLER,
        data={"parentSubject$$": None, "key": key, "modifier": 2, "trend": trend},
        **options,
    )


def dec_init(key: str = "k1", *, version: str = "0.0.1", **options: Any) -> ArvoEvent:
    """An ``arvo.orc.dec`` init event from :data:`CALLER`."""
    trend = "linear" if version == "0.0.1" else "exponential"
    return create_arvo_orchestrator_event_factory(
        decrement_orchestrator_contract.version(version)
    ).init(
        source=CALLER,
        data={"parentSubject$$": None, "key": key, "modifier": 2, "trend": trend},
        **options,
    )


def nm_init(
    operation: str = "decrement", *, version: str = "0.0.1", init: float = 1, **options: Any
) -> ArvoEvent:
    """An ``arvo.orc.number.modifier`` init event from :data:`CALLER` (modifier 4)."""
    return number_modifier_init(
        init, modifier=4, operation=operation, source=CALLER, version=version, **options
    )


def fanout_init(modifications: list[dict[str, Any]], **options: Any) -> ArvoEvent:
    """An init event of the fan-out increment resumable."""
    return create_arvo_orchestrator_event_factory(
        increment_resumable_contract.version("0.0.1")
    ).init(source=CALLER, data={"parentSubject$$": None, "modifications": modifications}, **options)


def catch(broker: SimpleEventBroker, topic: str) -> list[ArvoEvent]:
    """Subscribe a collector on ``topic``; returns the list it fills."""
    caught: list[ArvoEvent] = []
    broker.subscribe(topic, lambda event, _publish: caught.append(event))
    return caught


class FaultyMemory:
    """A memory that fails on one operation (``fail_on``) and otherwise keeps nothing.

    ``writes`` records every ``(id, data, prev)`` it was asked to write.
    """

    def __init__(
        self,
        fail_on: str | None = None,
        message: str = "boom",
        *,
        record: Mapping[str, Any] | None = None,
    ) -> None:
        self.fail_on = fail_on
        self.message = message
        self.record = dict(record) if record is not None else None
        self.writes: list[tuple[str, dict[str, Any], Any]] = []
        self.calls: list[str] = []

    def _maybe_fail(self, operation: str) -> None:
        self.calls.append(operation)
        if self.fail_on == operation:
            raise RuntimeError(self.message)

    async def read(self, id: str) -> dict[str, Any] | None:
        self._maybe_fail("read")
        return dict(self.record) if self.record is not None else None

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        self._maybe_fail("write")
        self.writes.append((id, dict(data), prev))

    async def lock(self, id: str) -> bool:
        self._maybe_fail("lock")
        return True

    async def unlock(self, id: str) -> bool:
        self._maybe_fail("unlock")
        return True
