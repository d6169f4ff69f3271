"""Overlapping ``run``s: each result holds its own chain only, whatever runs beside it."""

from __future__ import annotations

import asyncio

from arvo_ray.broker import RunResult, create_simple_event_broker
from arvo_ray.core import ContractViolation, create_arvo_orchestrator_event_factory
from arvo_ray.examples.number_domain import build_number_domain, increment_orchestrator_contract

INC = create_arvo_orchestrator_event_factory(increment_orchestrator_contract.version("0.0.1"))
CALLER = "com.overlap.client"


def init(key: str) -> object:
    return INC.init(source=CALLER, data={"key": key, "modifier": 2, "trend": "linear"})


async def overlapping(count: int, bad: int | None = None) -> tuple[RunResult, list[RunResult]]:
    """One run alone, then ``count`` runs gathered at once (run ``bad`` with a broken init)."""
    domain = build_number_domain()
    for index in range(count + 1):
        domain.store[f"k{index}"] = index
    broker = create_simple_event_broker(domain.all, max_queue_size=10 * count)
    alone = await broker.run(init(f"k{count}"), trace=True)
    events = [init(f"k{index}") for index in range(count)]
    if bad is not None:
        broken = events[bad].to_dict()
        broken["data"] = {**broken["data"], "modifier": "two"}
        events[bad] = type(events[bad]).model_construct(**broken)
    runs = await asyncio.gather(*(broker.run(event, trace=True) for event in events))
    return alone, runs


def test_each_overlapping_run_reports_its_own_chain() -> None:
    """Hops and trace are those of the run's own workflow, as when it runs alone."""
    alone, runs = asyncio.run(overlapping(200))
    assert alone.final is not None and alone.hops == 5
    for index, result in enumerate(runs):
        assert result.final is not None and result.final.data["final"] == index + 2
        assert result.hops == alone.hops and len(result.trace or []) == len(alone.trace or [])
        assert {event.subject for event in result.trace or []} == {result.final.subject}
        assert result.errors == [] and result.outputs == [result.final]


def test_a_dead_letter_belongs_to_the_run_that_caused_it() -> None:
    """One broken init among many: its violation is in its own result and no other."""
    _, runs = asyncio.run(overlapping(50, bad=7))
    [letter] = runs[7].errors
    assert isinstance(letter.error, ContractViolation) and runs[7].final is None
    assert [index for index, result in enumerate(runs) if result.errors] == [7]
    assert all(result.final is not None for index, result in enumerate(runs) if index != 7)
