"""The inbox: durable acceptance, de-duplication by (source, id), outcomes, stalled chains."""

from __future__ import annotations

from pathlib import Path

import pytest

from arvo_ray.core import ArvoEvent, create_arvo_event_factory
from arvo_ray.examples.number_domain import increment_contract
from arvo_ray.ingress import Inbox, inbox_key
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory, SQLiteMachineMemory


@pytest.fixture(params=["simple", "sqlite"])
def memory(request: pytest.FixtureRequest, tmp_path: Path) -> IMachineMemory:
    if request.param == "simple":
        return SimpleMachineMemory()
    return SQLiteMachineMemory(tmp_path / "inbox.sqlite3")


def event(source: str = "com.test.client", id: str = "e-1"):
    factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
    return factory.accepts(source=source, id=id, data={"init": 1, "increment": 2})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_event_is_accepted_once(memory: IMachineMemory) -> None:
    inbox = Inbox(memory)
    first = event()
    assert await inbox.accept(first) is True
    assert await inbox.accept(event()) is False
    assert await inbox.accept(event(source="com.other.client")) is True  # identity is (source, id)
    entry = await inbox.entry(event())
    assert entry is not None and entry["status"] == "accepted"
    assert entry["event"] == first.to_dict()


async def test_finish_records_the_final_event_once(memory: IMachineMemory) -> None:
    inbox = Inbox(memory)
    await inbox.accept(event())
    final = event(id="answer")
    await inbox.finish(event(), final)
    await inbox.finish(event(), None, "ignored: already done")
    entry = await inbox.entry(event())
    assert entry is not None
    assert (entry["status"], entry["error"]) == ("done", None)
    assert entry["final"] == final.to_dict()


async def test_a_sweep_lists_accepted_events_past_their_age(memory: IMachineMemory) -> None:
    clock = Clock()
    inbox = Inbox(memory, clock=clock)
    await inbox.accept(event(id="old"))
    clock.now += 50
    await inbox.accept(event(id="young"))
    await inbox.accept(event(id="done"))
    await inbox.finish(event(id="done"), None)
    clock.now += 20
    assert [e.id for e in await inbox.sweep(stalled_after=60, keep_done=3600)] == ["old"]
    swept = await inbox.sweep(stalled_after=10, keep_done=3600)
    assert sorted(e.id for e in swept) == ["old", "young"]


async def test_a_sweep_deletes_done_entries_past_their_keeping_time(
    memory: IMachineMemory,
) -> None:
    """Only done entries go, once kept long enough; a repeat is then a new event."""
    clock = Clock()
    inbox = Inbox(memory, clock=clock)
    for id in ("early", "late", "running"):
        await inbox.accept(event(id=id))
    await inbox.finish(event(id="early"), None)
    clock.now += 100
    await inbox.finish(event(id="late"), None)
    clock.now += 50
    assert await inbox.sweep(stalled_after=3600, keep_done=120) == []
    assert await inbox.entry(event(id="early")) is None
    assert (await inbox.entry(event(id="late")) or {}).get("status") == "done"
    assert (await inbox.entry(event(id="running")) or {}).get("status") == "accepted"
    assert await inbox.accept(event(id="early")) is True  # no longer remembered
    assert await inbox.accept(event(id="late")) is False
    assert await inbox.sweep(stalled_after=3600, keep_done=0) == []  # done ones only
    assert await inbox.entry(event(id="late")) is None
    assert (await inbox.entry(event(id="running")) or {}).get("status") == "accepted"


def test_keys_cannot_collide_across_sources() -> None:
    def key(source: str, id: str) -> str:
        return inbox_key(ArvoEvent.model_construct(source=source, id=id))

    assert key("com.a:b", "c") != key("com.a", "b:c")
