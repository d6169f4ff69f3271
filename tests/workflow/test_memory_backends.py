"""Workflows on real memories: JSON records, durable restore, compare-and-set, lock TTLs.

The memory contract itself is tested in ``tests/memory``; these tests check what the workflow
layer does with it: the stored snapshot is JSON, a new process (a new memory object on the same
SQLite file) continues a flow exactly as if it had never stopped, a stale record or a lapsed
lock makes a step fail without committing, and the failure record is written with the record
read at the start as ``prev``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import (
    ArvoEvent,
    TransactionViolation,
    TransactionViolationCause,
)
from arvo_ray.examples.number_domain import (
    NumberDomain,
    build_number_domain,
    decrement_orchestrator,
    increment_orchestrator,
)
from arvo_ray.memory import (
    IMachineMemory,
    LockExpiredError,
    SimpleMachineMemory,
    SQLiteMachineMemory,
    StaleRecordError,
)

from .conftest import FaultyMemory, dec_init, inc_init, nm_init
from .test_orchestrator import _dumb_init, _dumb_orchestrator

_VOLATILE = ("time", "traceparent", "tracestate")


def _stable(value: Any) -> Any:
    """``value`` without the fields that differ between runs (event times, trace headers)."""
    if isinstance(value, Mapping):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _is_json(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def _handler(domain: NumberDomain, source: str) -> Any:
    return next(h for h in domain.all if h.source == source)


class Clock:
    """A settable clock for lock TTLs."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["simple", "sqlite"])
def make_memory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of memories of one backend; SQLite ones share ``tmp_path/memory.db``."""
    opened: list[SQLiteMachineMemory] = []

    def make(**options: Any) -> IMachineMemory:
        if request.param == "simple":
            return SimpleMachineMemory(**options)
        memory = SQLiteMachineMemory(tmp_path / "memory.db", **options)
        opened.append(memory)
        return memory

    yield make
    for memory in opened:
        memory.close()


# -- records are JSON --------------------------------------------------------------------------


async def test_should_store_json_records_for_a_whole_nested_run(
    broker: Any, memory: IMachineMemory
) -> None:
    """Every record written during a nested run (parent and child) is plain JSON."""
    init = nm_init("decrement")
    run = await broker.run(init, trace=True)
    assert run.final is not None and run.final.data["final"] == -3
    subjects = {e.subject for e in run.trace}
    assert len(subjects) == 2
    for subject in subjects:
        record = await memory.read(subject)
        assert record is not None
        assert _is_json(record)
        assert json.loads(json.dumps(record)) == record
        assert record["status"] == "done"
        assert _is_json(record["state"])
        assert json.loads(record["machineDefinition"])["id"] == "machineV001"


async def test_should_store_the_machine_snapshot_that_the_machine_can_resume_from(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """The stored ``state`` is the snapshot itself: feeding it back gives the same next step."""
    from arvo_ray.machine import execute_machine

    domain.store["k1"] = 2
    init = inc_init()
    orchestrator = _handler(domain, "arvo.orc.inc")
    read = (await orchestrator.execute(init)).events[0]
    reply = (await _handler(domain, "com.value.read").execute(read)).events[0]
    stored = await memory.read(init.subject)
    assert stored is not None
    machine = orchestrator.registry.resolve(init)
    offline = execute_machine(machine, json.loads(json.dumps(stored["state"])), reply)
    call = (await orchestrator.execute(reply)).events[0]
    after = await memory.read(init.subject)
    assert after is not None
    assert offline.state == after["state"]
    # The machine emits the service's request model; the orchestrator names its type.
    assert [e.model_dump() for e in offline.events] == [call.data]


# -- restore from SQLite mid-flow ----------------------------------------------------------------


async def _step_through(
    domains: list[NumberDomain], init: ArvoEvent, switch_after: int
) -> list[ArvoEvent]:
    """Run the increment flow by hand, switching to ``domains[1]`` after ``switch_after`` steps."""
    sources = [
        "arvo.orc.inc",
        "com.value.read",
        "arvo.orc.inc",
        "com.increment.number",
        "arvo.orc.inc",
    ]
    emitted: list[ArvoEvent] = []
    event = init
    for index, source in enumerate(sources):
        domain = domains[0] if index < switch_after else domains[1]
        result = await _handler(domain, source).execute(event)
        emitted.extend(result.events)
        event = result.events[0]
    return emitted


@pytest.mark.parametrize("switch_after", [1, 3])
async def test_should_continue_identically_after_a_restore_from_sqlite(
    tmp_path: Path, switch_after: int
) -> None:
    """A new memory object and orchestrator on the same file continue as if never stopped."""
    init = inc_init()
    reference_memory = SQLiteMachineMemory(tmp_path / "reference.db")
    reference = build_number_domain(memory=reference_memory, store={"k1": 2})
    expected = await _step_through([reference, reference], init, switch_after=5)

    # The first "process" handles the first steps; a second one, with its own memory object
    # and orchestrator on the same file, takes over from what was committed.
    before = SQLiteMachineMemory(tmp_path / "flow.db")
    first = build_number_domain(memory=before, store={"k1": 2})
    second_memory = SQLiteMachineMemory(tmp_path / "flow.db")
    second = build_number_domain(memory=second_memory, store={"k1": 2})
    emitted = await _step_through([first, second], init, switch_after=switch_after)
    before.close()

    assert len(emitted) == len(expected) == 5
    # Event ids are derived from the consumed event, so even they are identical.
    assert [_stable(e.to_dict()) for e in emitted] == [_stable(e.to_dict()) for e in expected]
    restored = await second_memory.read(init.subject)
    original = await reference_memory.read(init.subject)
    assert _stable(restored) == _stable(original)
    assert restored is not None and restored["state"]["output"]["final"] == 4
    second_memory.close()
    reference_memory.close()


async def test_should_see_records_written_by_another_memory_object(tmp_path: Path) -> None:
    """Records of a nested run are visible to a second SQLite memory on the same file."""
    writer = SQLiteMachineMemory(tmp_path / "shared.db")
    run = await create_simple_event_broker(build_number_domain(memory=writer).all).run(
        nm_init("decrement"), trace=True
    )
    reader = SQLiteMachineMemory(tmp_path / "shared.db")
    for subject in {e.subject for e in run.trace}:
        assert await reader.read(subject) == await writer.read(subject)
    writer.close()
    reader.close()


# -- compare-and-set -----------------------------------------------------------------------------


class Racing:
    """Delegates to ``inner``; after a read, sneaks in a concurrent write of the same record."""

    def __init__(self, inner: IMachineMemory) -> None:
        self.inner = inner
        self.race = False

    async def read(self, id: str) -> dict[str, Any] | None:
        record = await self.inner.read(id)
        if self.race and record is not None:
            await self.inner.write(id, {**record, "intruder": True}, record)
        return record

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        await self.inner.write(id, data, prev)

    async def lock(self, id: str) -> bool:
        return await self.inner.lock(id)

    async def unlock(self, id: str) -> bool:
        return await self.inner.unlock(id)


async def test_should_fail_a_step_whose_record_changed_since_it_was_read(
    memory: IMachineMemory,
) -> None:
    """A stale ``prev`` makes the write fail: WRITE_FAILURE, and the other write stands."""
    racing = Racing(memory)
    orchestrator = increment_orchestrator(racing)  # type: ignore[arg-type]
    init = inc_init()
    await orchestrator.execute(init)
    racing.race = True
    fresh_init = inc_init(subject=init.subject)
    with pytest.raises(TransactionViolation) as info:
        await orchestrator.execute(fresh_init)
    assert info.value.cause == TransactionViolationCause.WRITE_FAILURE
    assert info.value.message.startswith(
        "ViolationError<OrchestratorTransaction> [WRITE_MACHINE_MEMORY_FAILURE] Error writing "
        f"state for event (subject={init.subject}): "
    )
    assert isinstance(info.value.__cause__, StaleRecordError)
    record = await memory.read(init.subject)
    assert record is not None and record["intruder"] is True
    assert record["consumedEventIds"] == [init.id]


class Spy:
    """Delegates to ``inner`` and records what was read and the ``prev`` of every write."""

    def __init__(self, inner: IMachineMemory) -> None:
        self.inner = inner
        self.reads: list[Any] = []
        self.prevs: list[Any] = []

    async def read(self, id: str) -> dict[str, Any] | None:
        record = await self.inner.read(id)
        self.reads.append(record)
        return record

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        self.prevs.append(prev)
        await self.inner.write(id, data, prev)

    async def lock(self, id: str) -> bool:
        return await self.inner.lock(id)

    async def unlock(self, id: str) -> bool:
        return await self.inner.unlock(id)


async def test_should_write_every_record_with_the_record_read_as_prev(
    memory: IMachineMemory,
) -> None:
    """Normal and failure records both pass the record read at the start (not ``None``)."""
    spy = Spy(memory)
    orchestrator = _dumb_orchestrator(spy)  # type: ignore[arg-type]
    init = _dumb_init("none")
    await orchestrator.execute(init)
    poke = _dumb_init("normal", subject=init.subject)
    [error] = (await orchestrator.execute(poke)).events
    assert error.type == "sys.arvo.orc.dumb.error"
    assert spy.prevs == [None, spy.reads[1]]
    assert spy.reads[1] is not None and spy.reads[1]["value"] == "waiting"
    record = await memory.read(init.subject)
    assert record is not None
    assert record["executionStatus"] == "failure"
    assert set(record["error"]) == {"name", "message", "stack"}
    assert record["consumedEventIds"] == [init.id, poke.id]


async def test_should_still_report_the_error_when_the_failure_record_cannot_be_written() -> None:
    """A failing failure-record write is logged; the ``sys.*.error`` event is still returned."""
    faulty = FaultyMemory(fail_on="write", message="disk full")
    [error] = (await _dumb_orchestrator(faulty).execute(_dumb_init("normal"))).events  # type: ignore[arg-type]
    assert error.type == "sys.arvo.orc.dumb.error"
    assert error.data["errorMessage"] == "Normal error"


async def test_with_an_outbox_an_unstored_failure_record_is_a_transient_violation(
    memory: IMachineMemory,
) -> None:
    """Under a runtime (``track_outbox``) the error answer leaves only once the failure is
    stored: a failed write raises, and the retried event stores it and answers."""
    faulty = FaultyMemory(fail_on="write", message="disk full")
    orchestrator = _dumb_orchestrator(faulty)  # type: ignore[arg-type]
    orchestrator.track_outbox = True
    init = _dumb_init("normal")
    with pytest.raises(TransactionViolation) as info:
        await orchestrator.execute(init)
    assert info.value.cause == TransactionViolationCause.WRITE_FAILURE
    assert info.value.message.endswith(
        f"Error writing state for event (subject={init.subject}): disk full"
    )

    orchestrator.memory = memory
    [error] = (await orchestrator.execute(init)).events
    assert error.type == "sys.arvo.orc.dumb.error"
    record = await memory.read(init.subject)
    assert record is not None and record["executionStatus"] == "failure"
    assert [item["event"]["id"] for item in record["outbox"]] == [error.id]


# -- locks with owners and TTLs --------------------------------------------------------------------


async def test_should_proceed_once_a_foreign_lock_has_lapsed(make_memory: Any) -> None:
    """A lock held by another owner blocks the step only until its TTL passes."""
    clock = Clock()
    memory = make_memory(lock_ttl=30, clock=clock)
    other = memory.for_owner("other")
    orchestrator = increment_orchestrator(memory)
    init = inc_init()
    assert await other.lock(init.subject) is True
    with pytest.raises(TransactionViolation) as info:
        await orchestrator.execute(init)
    assert info.value.cause == TransactionViolationCause.LOCK_UNACQUIRED
    clock.now += 31
    assert len((await orchestrator.execute(init)).events) == 1
    # The step released its own lock.
    assert await other.lock(init.subject) is True


class SlowStep:
    """Delegates to ``inner``; the clock jumps past the lock TTL while the step runs."""

    def __init__(self, inner: IMachineMemory, clock: Clock, jump: float) -> None:
        self.inner, self.clock, self.jump = inner, clock, jump

    async def read(self, id: str) -> dict[str, Any] | None:
        record = await self.inner.read(id)
        self.clock.now += self.jump
        return record

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        await self.inner.write(id, data, prev)

    async def lock(self, id: str) -> bool:
        return await self.inner.lock(id)

    async def unlock(self, id: str) -> bool:
        return await self.inner.unlock(id)


async def test_should_not_commit_a_step_that_outlived_its_lock(make_memory: Any) -> None:
    """A write after the step's own lock lapsed is refused: WRITE_FAILURE, nothing stored."""
    clock = Clock()
    memory = make_memory(lock_ttl=5, clock=clock)
    orchestrator = increment_orchestrator(SlowStep(memory, clock, jump=10))  # type: ignore[arg-type]
    init = inc_init()
    with pytest.raises(TransactionViolation) as info:
        await orchestrator.execute(init)
    assert info.value.cause == TransactionViolationCause.WRITE_FAILURE
    assert isinstance(info.value.__cause__, LockExpiredError)
    assert await memory.read(init.subject) is None


async def test_should_let_unlocked_workflows_rely_on_compare_and_set(make_memory: Any) -> None:
    """The decrement orchestrator takes no lock; another owner's lock fences its write off."""
    memory = make_memory()
    orchestrator = decrement_orchestrator(memory)
    init = dec_init()
    assert await memory.for_owner("other").lock(init.subject) is True
    with pytest.raises(TransactionViolation) as info:
        await orchestrator.execute(init)
    assert info.value.cause == TransactionViolationCause.WRITE_FAILURE
    assert await memory.read(init.subject) is None
