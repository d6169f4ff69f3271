"""The timer service in-process, on an injected clock: nothing here sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import ArvoEvent, ContractViolation, create_arvo_event_factory
from arvo_ray.timers import TimerService, timer_cancel_contract, timer_contract

T0 = 1_800_000_000.0
CALLER = "com.timer.client"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def request(subject: str = "s1", **data: Any) -> ArvoEvent:
    factory = create_arvo_event_factory(timer_contract.version("1.0.0"))
    return factory.accepts(source=CALLER, subject=subject, data=data)


def cancel(timer_id: str | None = None, *, name: str | None = None) -> ArvoEvent:
    factory = create_arvo_event_factory(timer_cancel_contract.version("1.0.0"))
    data = {"timer_id": timer_id} if name is None else {"name": name}
    return factory.accepts(source=CALLER, subject="s1", data=data)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(clock: Clock) -> TimerService:
    return TimerService(clock=clock)


async def test_a_timer_fires_when_due_and_not_before(service: TimerService, clock: Clock) -> None:
    asked = request(delay=30, tag="deadline")
    assert await service.set(asked) is True
    clock.now += 29.999
    assert await service.fire_due() == []
    clock.now += 0.001
    [reply] = await service.fire_due()
    assert (reply.type, reply.to, reply.subject, reply.parentid) == (
        "evt.arvo.timer.success",
        CALLER,
        "s1",
        asked.id,
    )
    assert reply.data["timer_id"] == asked.id and reply.data["tag"] == "deadline"
    assert reply.data["due"] == datetime.fromtimestamp(T0 + 30, UTC).isoformat(
        timespec="milliseconds"
    )
    assert await service.fire_due() == []  # once
    assert await service.pending() == 0 and service.fired_count == 1


async def test_an_absolute_due_time_and_one_already_past(service: TimerService) -> None:
    start = datetime.fromtimestamp(T0, UTC)
    await service.set(request(due=(start + timedelta(hours=1)).isoformat(), tag="later"))
    await service.set(request(due=(start - timedelta(days=1)).isoformat(), tag="past"))
    assert [r.data["tag"] for r in await service.fire_due()] == ["past"]


async def test_a_cancelled_timer_never_fires(service: TimerService, clock: Clock) -> None:
    asked = request(delay=5)
    await service.set(asked)
    answer = await service.cancel(cancel(asked.id))
    assert answer.type == "evt.arvo.timer.cancel.success"
    assert answer.data == {"timer_id": asked.id, "name": None, "cancelled": True}
    assert (await service.cancel(cancel(asked.id))).data["cancelled"] is False
    clock.now += 60
    assert await service.fire_due() == []


async def test_many_timers_with_one_due_time_all_fire_once_in_batches(
    service: TimerService, clock: Clock
) -> None:
    asked = [request(subject=f"s{i}", delay=10) for i in range(2500)]
    for event in asked:
        await service.set(event)
    clock.now += 10
    fired: list[ArvoEvent] = []
    while batch := await service.fire_due(limit=1000):
        fired += batch
    assert sorted(r.parentid for r in fired) == sorted(e.id for e in asked)
    assert len({r.id for r in fired}) == 2500


async def test_a_resent_request_sets_one_timer_and_a_refire_has_the_same_id(
    service: TimerService, clock: Clock
) -> None:
    asked = request(delay=1)
    assert await service.set(asked) is True
    assert await service.set(asked) is False
    clock.now += 1
    [first] = await service.fire_due()
    await service.set(asked)  # as if the store had not removed it before a crash
    clock.now += 1
    [again] = await service.fire_due()
    assert again.id == first.id


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"delay": -1}, "greater than or equal to 0"),
        ({"due": "next tuesday"}, "due"),
        ({"due": "2026-01-01T09:00:00"}, "UTC offset"),
        ({}, "exactly one of"),
        ({"delay": 1, "due": "2026-01-01T09:00:00+00:00"}, "exactly one of"),
    ],
)
async def test_bad_requests_are_contract_violations(
    service: TimerService, data: dict[str, Any], words: str
) -> None:
    event = request(delay=1).model_copy(update={"data": data})
    with pytest.raises(ContractViolation, match=words):
        await service.set(event)
    with pytest.raises(ContractViolation):
        service.handlers[0].check_input(event)


async def test_the_service_plugs_into_a_broker_as_two_handlers(
    service: TimerService, clock: Clock
) -> None:
    broker = create_simple_event_broker(service.handlers)
    asked = request(delay=3, tag="t")
    result = await broker.run(asked)
    assert result.final is None and await service.pending() == 1
    answer = await broker.run(cancel(asked.id))
    assert answer.final is not None and answer.final.data["cancelled"] is True


async def test_a_named_timer_is_set_once_per_subject_and_cancelled_by_name(
    service: TimerService, clock: Clock
) -> None:
    """A workflow cannot know the ids of the events it emits: it names the timer instead."""
    assert await service.set(request(delay=5, name="deadline")) is True
    assert await service.set(request(delay=9, name="deadline")) is False  # the first stays
    assert await service.set(request(subject="s2", delay=5, name="deadline")) is True
    answer = await service.cancel(cancel(name="deadline"))  # on subject s1
    assert answer.data == {"timer_id": None, "name": "deadline", "cancelled": True}
    clock.now += 10
    [reply] = await service.fire_due()
    assert (reply.subject, reply.data["name"]) == ("s2", "deadline")
    assert await service.pending() == 0


async def test_deliver_due_removes_a_timer_only_once_its_reply_was_delivered(
    service: TimerService, clock: Clock
) -> None:
    for index in range(3):
        await service.set(request(subject=f"s{index}", delay=1, name="t"))
    clock.now += 1
    delivered: list[str] = []

    async def deliver(reply: ArvoEvent) -> str:
        if reply.subject == "s1" and not delivered.count("failed"):
            delivered.append("failed")
            raise ConnectionError("the broker is gone")
        delivered.append(reply.subject)
        return reply.subject

    with pytest.raises(ConnectionError):
        await service.deliver_due(deliver)
    assert delivered == ["s0", "failed"] and await service.pending() == 2
    assert await service.deliver_due(deliver) == ["s1", "s2"]  # fired again, the same replies
    assert await service.pending() == 0 and service.fired_count == 3


@pytest.mark.parametrize(
    ("data", "words"), [({}, "exactly one of"), ({"timer_id": "a", "name": "b"}, "exactly one of")]
)
async def test_bad_cancel_requests_are_contract_violations(
    service: TimerService, data: dict[str, Any], words: str
) -> None:
    event = cancel("x").model_copy(update={"data": data})
    with pytest.raises(ContractViolation, match=words):
        await service.cancel(event)


async def test_a_deferred_retry_falls_due_as_its_own_event_with_its_attempt(
    service: TimerService, clock: Clock
) -> None:
    """A handler's next attempt waits in the store like a timer: the event comes back as it
    was, with the attempt it starts, once; deferring it twice keeps one."""
    event = cancel("x")  # any event
    assert await service.defer(event, attempt=2, delay=30) is True
    assert await service.defer(event, attempt=2, delay=30) is False
    clock.now += 29
    assert await service.due_deliveries() == []
    clock.now += 1
    [(again, attempt)] = await service.due_deliveries()
    assert again == event and attempt == 2
    assert await service.defer(event, attempt=3, delay=30) is True  # the next, while it waits
    assert await service.fired([again], [attempt]) == 1 and await service.pending() == 1


async def test_timers_that_fell_due_while_nothing_ran_fire_at_once_after_a_restart(
    tmp_path: Any, clock: Clock
) -> None:
    """A service over a reopened SQLite store (a new process) fires what fell due meanwhile."""
    from arvo_ray.timers import SQLiteTimerStore

    before = TimerService(SQLiteTimerStore(tmp_path / "t.sqlite3"), clock=clock)
    for index in range(3):
        await before.set(request(subject=f"s{index}", delay=60 * (index + 1)))
    clock.now += 150  # two of them fell due while no service ran
    after = TimerService(SQLiteTimerStore(tmp_path / "t.sqlite3"), clock=clock)
    assert sorted(r.subject for r in await after.fire_due()) == ["s0", "s1"]
    assert await after.pending() == 1
