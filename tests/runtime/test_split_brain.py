"""Split brain: two owners that both believe they own one workflow subject, on one memory.

The memory, not Ray, is the source of truth: whichever side commits a version first wins it,
the other side's write fails with a ``TransactionViolation`` (and is retried away by a workflow
host: the retry re-reads, finds the event consumed, and does nothing twice), and no update is
lost. Checked three ways, on SQLite, Redis and PostgreSQL:

* at the execution wrapper, deterministically: two ``ArvoOrchestrator`` objects acting as
  owners ``a`` and ``b`` run the same event against the same stored record, interleaved by a
  memory wrapper that holds their reads until both have read (or until the test lets go);
* at the workflow host (``WorkflowHost``), deterministically: two hosts feed *different* events
  of one fan-in workflow at once, and both updates end up in the record;
* on Ray: two ``ArvoRuntime``s (different names) sharing one memory run the same workflows at
  the same time; every version is written once, every step is applied once, and both callers
  get the one right answer.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import ray
from redis_server import redis_url  # noqa: F401  (the session redis-server fixture)

from arvo_ray.core import (
    ArvoEvent,
    TransactionViolation,
    TransactionViolationCause,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    increment_orchestrator,
    increment_orchestrator_contract,
    increment_resumable,
    increment_resumable_contract,
    number_modifier_contract,
    number_modifier_orchestrator,
    value_read_handler,
    value_write_handler,
)
from arvo_ray.handler import ExecutionResult
from arvo_ray.memory import (
    IMachineMemory,
    LockExpiredError,
    PostgresMachineMemory,
    RedisMachineMemory,
    SimpleMachineMemory,
    SQLiteMachineMemory,
    StaleRecordError,
)
from arvo_ray.runtime import ArvoRuntime, Sharded
from arvo_ray.runtime._host import WorkflowHost

CALLER = "com.split.brain"


# -- helpers -----------------------------------------------------------------------------------


def run(coroutine: Any, timeout: float = 30.0) -> Any:
    """Run an ``async`` test body on a fresh loop, failing (not hanging) after ``timeout``."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def modifier_init(value: int, operation: str = "decrement") -> ArvoEvent:
    factory = create_arvo_orchestrator_event_factory(number_modifier_contract.version("0.0.1"))
    return factory.init(
        source=CALLER,
        data={
            "parentSubject$$": None,
            "init": value,
            "modifier": 4,
            "operation": operation,
            "trend": "linear",
        },
    )


def inc_init(key: str = "k") -> ArvoEvent:
    factory = create_arvo_orchestrator_event_factory(
        increment_orchestrator_contract.version("0.0.1")
    )
    return factory.init(
        source=CALLER,
        data={"parentSubject$$": None, "key": key, "modifier": 2, "trend": "linear"},
    )


def fan_in_init(keys: list[str]) -> ArvoEvent:
    factory = create_arvo_orchestrator_event_factory(increment_resumable_contract.version("0.0.1"))
    return factory.init(
        source=CALLER,
        data={
            "parentSubject$$": None,
            "modifications": [{"key": key, "value": 1} for key in keys],
        },
    )


def json_copy(value: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value))  # type: ignore[no-any-return]


class Gate:
    """Where gated reads wait: it opens by itself after ``parties`` reads, or when told to."""

    def __init__(self, parties: int | None = None) -> None:
        self.parties = parties
        self.arrivals = 0
        self.opened = asyncio.Event()
        self._changed = asyncio.Condition()

    async def pause(self) -> None:
        async with self._changed:
            self.arrivals += 1
            self._changed.notify_all()
        if self.parties is not None and self.arrivals >= self.parties:
            self.opened.set()
        await self.opened.wait()

    async def wait_for_arrivals(self, count: int) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.arrivals >= count), 10)

    def open(self) -> None:
        self.opened.set()


class GatedMemory:
    """An ``IMachineMemory`` that delegates to ``inner`` (one owner's view of the shared store).

    Its reads wait at ``gate`` after reading (so two steps can both read before either
    writes); it records the outcome of every lock and every write.
    """

    def __init__(self, inner: IMachineMemory, gate: Gate | None = None) -> None:
        self.inner = inner
        self.gate = gate
        self.reads = 0
        self.locks: list[bool] = []
        self.written: list[dict[str, Any]] = []
        self.refused: list[BaseException] = []

    @property
    def owner(self) -> str:
        return self.inner.owner

    @property
    def lock_ttl(self) -> float:
        return self.inner.lock_ttl

    def for_owner(self, owner: str) -> GatedMemory:
        return GatedMemory(self.inner.for_owner(owner), self.gate)

    async def read(self, id: str) -> dict[str, Any] | None:
        record = await self.inner.read(id)
        self.reads += 1
        if self.gate is not None:
            await self.gate.pause()
        return record

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        try:
            await self.inner.write(id, data, prev)
        except BaseException as error:
            self.refused.append(error)
            raise
        self.written.append(json_copy(data))

    async def lock(self, id: str) -> bool:
        acquired = await self.inner.lock(id)
        self.locks.append(acquired)
        return acquired

    async def unlock(self, id: str) -> bool:
        return await self.inner.unlock(id)


async def close(memory: IMachineMemory) -> None:
    """Close a memory's connection on the running loop (Redis clients belong to their loop)."""
    aclose = getattr(memory, "aclose", None)
    if aclose is not None:
        await aclose()


def one_winner(
    outcomes: dict[str, ExecutionResult | BaseException],
) -> tuple[str, str, TransactionViolation]:
    """(winner, loser, the loser's violation) of a race where exactly one side may commit."""
    committed = [side for side, o in outcomes.items() if isinstance(o, ExecutionResult)]
    violated = [side for side, o in outcomes.items() if isinstance(o, TransactionViolation)]
    assert len(committed) == 1 and len(violated) == 1, outcomes
    winner, loser = committed[0], violated[0]
    result = outcomes[winner]
    assert isinstance(result, ExecutionResult) and result.committed
    violation = outcomes[loser]
    assert isinstance(violation, TransactionViolation)
    return winner, loser, violation


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def make_memory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., IMachineMemory]]:
    """A factory of memories on one shared store: a SQLite file, or a fresh Redis or
    PostgreSQL prefix."""
    prefix = f"split_{uuid.uuid4().hex[:12]}"
    opened: list[SQLiteMachineMemory] = []

    def make(**options: Any) -> IMachineMemory:
        if request.param == "redis":
            url = request.getfixturevalue("redis_url")
            return RedisMachineMemory(url, prefix=prefix, **options)
        if request.param == "postgres":
            dsn = request.getfixturevalue("postgres_dsn")
            return PostgresMachineMemory(dsn, table_prefix=prefix, **options)
        memory = SQLiteMachineMemory(tmp_path / "split.sqlite3", **options)
        opened.append(memory)
        return memory

    yield make
    for memory in opened:
        memory.close()


# -- the execution wrapper: same event, same record, two owners ------------------------------------


@pytest.mark.parametrize("step", ["init", "service response"])
def test_both_owners_read_then_exactly_one_commits_the_step(
    make_memory: Callable[..., IMachineMemory], step: str
) -> None:
    """Without locking (number.modifier), both owners read the same record before either writes:
    one commits, the other gets WRITE_FAILURE (a stale compare-and-set), the record is the
    winner's, and the loser's retry finds the event consumed and writes nothing."""

    async def body() -> None:
        shared = make_memory()
        try:
            init = modifier_init(10)
            event = init
            expected_version = 1
            if step == "service response":
                # Commit the init step first, then race on the answer of the service it called.
                [write_call, *_] = (await number_modifier_orchestrator(shared).execute(init)).events
                assert write_call.type == "com.value.write"
                [event] = (await value_write_handler({}).execute(write_call)).events
                assert event.type == "evt.value.write.success"
                expected_version = 2
            gate = Gate(parties=2)
            sides = {side: GatedMemory(shared.for_owner(side), gate) for side in "ab"}
            orchestrators = {side: number_modifier_orchestrator(m) for side, m in sides.items()}
            assert not orchestrators["a"].requires_resource_locking

            results = await asyncio.gather(
                *(o.execute(event) for o in orchestrators.values()), return_exceptions=True
            )
            winner, loser, violation = one_winner(dict(zip("ab", results, strict=True)))
            assert gate.arrivals == 2  # both read before either wrote
            assert violation.cause == TransactionViolationCause.WRITE_FAILURE
            assert isinstance(violation.__cause__, StaleRecordError)
            assert len(sides[winner].written) == 1 and sides[loser].written == []

            stored = await shared.read(init.subject)
            assert stored == sides[winner].written[0]
            assert stored is not None and stored["consumedEventIds"][-1] == event.id
            meta = await shared.read_meta(init.subject)  # type: ignore[attr-defined]
            assert meta["version"] == expected_version

            # The losing side retries the step: the event is consumed, nothing is written again.
            retry = await orchestrators[loser].execute(event)
            assert retry.duplicate and not retry.committed and retry.events == []
            assert sides[loser].written == []
            assert await shared.read(init.subject) == stored
            assert (await shared.read_meta(init.subject))["version"] == expected_version  # type: ignore[attr-defined]
            assert stored["consumedEventIds"].count(event.id) == 1
        finally:
            await close(shared)

    run(body())


def test_a_held_lock_turns_the_second_owner_away_before_it_reads(
    make_memory: Callable[..., IMachineMemory],
) -> None:
    """With locking (arvo.orc.inc), the owner that locked first runs; the other gets
    LOCK_UNACQUIRED without reading, and the record is the holder's."""

    async def body() -> None:
        shared = make_memory()
        try:
            gate = Gate()
            holder = GatedMemory(shared.for_owner("a"), gate)
            other = GatedMemory(shared.for_owner("b"))
            first = increment_orchestrator(holder)
            second = increment_orchestrator(other)
            assert first.requires_resource_locking
            init = inc_init()

            running = asyncio.ensure_future(first.execute(init))
            await gate.wait_for_arrivals(1)  # "a" holds the lock and has read
            with pytest.raises(TransactionViolation) as info:
                await second.execute(init)
            assert info.value.cause == TransactionViolationCause.LOCK_UNACQUIRED
            assert other.locks == [False] and other.reads == 0 and other.written == []
            gate.open()
            result = await running
            assert result.committed and [e.type for e in result.events] == ["com.value.read"]

            stored = await shared.read(init.subject)
            assert stored == holder.written[0]
            assert (await shared.read_meta(init.subject))["version"] == 1  # type: ignore[attr-defined]
            # Once released, the other owner's retry sees the event consumed.
            retry = await second.execute(init)
            assert retry.duplicate and other.written == []
            assert (await shared.read_meta(init.subject))["version"] == 1  # type: ignore[attr-defined]
        finally:
            await close(shared)

    run(body())


def test_an_owner_whose_lock_lapsed_cannot_commit_over_the_new_owner(
    make_memory: Callable[..., IMachineMemory],
) -> None:
    """Owner "a" locks and reads, then stalls past its lock TTL; "b" takes the lapsed lock and
    commits. When "a" wakes up its write is fenced off: WRITE_FAILURE (LockExpiredError), and
    the record stays "b"'s."""

    async def body() -> None:
        shared = make_memory(lock_ttl=1.0)
        try:
            gate = Gate()
            stalled = GatedMemory(shared.for_owner("a"), gate)
            usurper = GatedMemory(shared.for_owner("b"))
            init = inc_init()

            running = asyncio.ensure_future(increment_orchestrator(stalled).execute(init))
            await gate.wait_for_arrivals(1)
            await asyncio.sleep(1.3)  # "a"'s lock lapses while it is paused
            taken = await increment_orchestrator(usurper).execute(init)
            assert usurper.locks == [True] and taken.committed
            gate.open()
            with pytest.raises(TransactionViolation) as info:
                await running
            assert info.value.cause == TransactionViolationCause.WRITE_FAILURE
            assert isinstance(info.value.__cause__, LockExpiredError)
            assert stalled.written == []

            stored = await shared.read(init.subject)
            assert stored == usurper.written[0]
            assert stored is not None and stored["consumedEventIds"] == [init.id]
            assert (await shared.read_meta(init.subject))["version"] == 1  # type: ignore[attr-defined]
        finally:
            await close(shared)

    run(body())


# -- the workflow host: two different events of one fan-in workflow, at once -------------------------


@pytest.mark.parametrize("locking", [False, True], ids=["compare-and-set", "locked"])
def test_two_hosts_feeding_one_fan_in_lose_no_update(
    make_memory: Callable[..., IMachineMemory], locking: bool
) -> None:
    """Hosts "a" and "b" each deliver a different answer of the fan-out resumable at once. The
    one that loses (a stale write, or a lock held by the other) is retried by its host on a
    fresh read, so both answers are collected, the increments are requested exactly once, and
    every version of the record is written exactly once."""

    async def body() -> None:
        shared = make_memory()
        try:
            store = {"x": 5, "y": 7}
            setup = WorkflowHost(
                [increment_resumable(SimpleMachineMemory(), requires_resource_locking=locking)],
                shared.for_owner("setup"),
            )
            init = fan_in_init(["x", "y"])
            started = await setup.handle(init)
            assert started.committed and started.error is None
            reads = [e for e in started.events if e.domain is None]
            assert [e.data["key"] for e in reads] == ["x", "y"]
            reader = value_read_handler(store)
            answers = [(await reader.execute(e)).events[0] for e in reads]

            gate = Gate(parties=None if locking else 2)
            sides = {side: GatedMemory(shared.for_owner(side), gate) for side in "ab"}
            hosts = {
                side: WorkflowHost(
                    [increment_resumable(SimpleMachineMemory(), requires_resource_locking=locking)],
                    memory,
                    retry_backoff=0.05,
                )
                for side, memory in sides.items()
            }
            tasks = {
                side: asyncio.ensure_future(hosts[side].handle(answer, [e.id for e in reads]))
                for side, answer in zip("ab", answers, strict=True)
            }
            if locking:
                await gate.wait_for_arrivals(1)
                # Hold the lock until the other host has been turned away at least once.
                while sum(host.retries for host in hosts.values()) == 0:
                    await asyncio.sleep(0.01)
                gate.open()
            outcomes = {side: await task for side, task in tasks.items()}

            assert all(o.error is None and o.committed for o in outcomes.values()), outcomes
            retried = [side for side, host in hosts.items() if host.retries]
            assert len(retried) == 1 and hosts[retried[0]].retries == 1
            loser = retried[0]
            first_refusal = sides[loser].refused[:1]
            if locking:
                assert sides[loser].locks[0] is False  # LOCK_UNACQUIRED, then retried
                assert first_refusal == []
            else:
                assert isinstance(first_refusal[0], StaleRecordError)  # WRITE_FAILURE, retried
            # The increments are requested once, by whichever step saw both answers.
            increments = [e for o in outcomes.values() for e in o.events]
            assert [e.type for e in increments] == ["com.increment.number"] * 4
            assert outcomes[loser].events == increments

            stored = await shared.read(init.subject)
            assert stored is not None
            assert sorted(stored["consumedEventIds"]) == sorted([init.id, *(a.id for a in answers)])
            # Both answers made it into the context and into the increment requests.
            values = {m["key"]: m["value"] for m in stored["state$$"]["modifications"]}
            assert values == store  # no update lost
            assert sorted(e.data["init"] for e in increments) == [5, 5, 7, 7]
            writes = 1 + sum(len(m.written) for m in sides.values())
            assert writes == 3
            assert (await shared.read_meta(init.subject))["version"] == writes  # type: ignore[attr-defined]
            assert stored == sides[loser].written[-1]
        finally:
            await close(shared)

    run(body())


# -- on Ray: two runtimes, one memory, the same workflows -----------------------------------------

WORKFLOWS = 10


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def shared_memory(request: pytest.FixtureRequest, tmp_path: Path) -> IMachineMemory:
    if request.param == "sqlite":
        return SQLiteMachineMemory(tmp_path / "shared.sqlite3")
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        return PostgresMachineMemory(dsn, table_prefix=f"split_ray_{uuid.uuid4().hex[:12]}")
    url = request.getfixturevalue("redis_url")
    return RedisMachineMemory(url, prefix=f"split-ray-{uuid.uuid4().hex[:12]}")


async def _snapshot(memory: Any) -> dict[str, tuple[dict[str, Any], int]]:
    """Every stored record of ``memory`` with its version."""
    try:
        found = {}
        for subject in await memory.list_ids():
            record = await memory.read(subject)
            meta = await memory.read_meta(subject)
            found[subject] = (record, meta["version"])
        return found
    finally:
        await close(memory)


def _expected_final(i: int) -> int:
    return i + 4 if i % 2 else i - 4


def test_two_runtimes_sharing_one_memory_commit_every_step_exactly_once(
    ray_session: None, tmp_path: Path, shared_memory: IMachineMemory
) -> None:
    """Both runtimes run the same number-modifier workflows at once (the same init events, then
    the same handler answers, since answer ids derive from the request). Each version of every
    record is written once, each step is applied once, races were lost with a
    TransactionViolation (and retried away), and both callers get the one right completion."""
    domain = build_number_domain(store=SQLiteKeyValueStore(str(tmp_path / "values.sqlite3")))
    tag = uuid.uuid4().hex[:6]
    runtimes = [
        ArvoRuntime(
            handlers=domain.handlers,
            workflows=domain.workflows,
            memory=shared_memory,
            placement=Sharded(num_hosts=2),
            name=f"split-{side}-{tag}",
            namespace="arvo-tests",
            handler_options={"num_cpus": 0.5},
        )
        for side in "ab"
    ]
    try:
        events = [modifier_init(i, "increment" if i % 2 else "decrement") for i in range(WORKFLOWS)]
        refs = [[runtime.submit(event) for runtime in runtimes] for event in events]
        results = [ray.get(pair, timeout=300) for pair in refs]

        for i, pair in enumerate(results):
            finals = [r.final for r in pair]
            assert all(f is not None for f in finals), [r.describe() for r in pair]
            assert [f.data["final"] for f in finals] == [_expected_final(i)] * 2  # type: ignore[union-attr]
            assert finals[0].id == finals[1].id  # type: ignore[union-attr]  # one completion
        errors = [letter.error for pair in results for r in pair for letter in r.errors]
        assert all(isinstance(e, TransactionViolation) for e in errors), errors

        # Wait until both brokers have handed on (and acknowledged) everything: outboxes drain.
        deadline = time.monotonic() + 30
        while True:
            records = run(_snapshot(runtimes[0].memory))
            if all(not r.get("outbox") for r, _ in records.values()):
                break
            assert time.monotonic() < deadline, "outboxes never drained"
            time.sleep(0.5)
        assert len(records) == 2 * WORKFLOWS  # a parent and a child per workflow

        for record, _ in records.values():
            consumed = record["consumedEventIds"]
            assert len(consumed) == len(set(consumed)) == 3  # init + two answers, once each
            assert record["status"] == "done"
            completions = [e for e in record["events"]["produced"] if e["type"].endswith(".done")]
            assert len(completions) == 1
        parents = {e.subject: i for i, e in enumerate(events)}
        for subject, i in parents.items():
            assert records[subject][0]["state"]["context"]["final_value"] == _expected_final(i)

        # Every write is a step (one consumed id) or an acknowledgement flush: no version was
        # written twice and none was lost. Flush counters trail the flushes a little.
        steps = sum(len(r["consumedEventIds"]) for r, _ in records.values())
        versions = sum(version for _, version in records.values())
        deadline = time.monotonic() + 10
        while True:
            flushes = sum(runtime.stats()["acks_flushed"] for runtime in runtimes)
            if versions == steps + flushes or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert versions == steps + flushes, (versions, steps, flushes)

        # Each init reached both sides; the side that came second either lost the race (a
        # TransactionViolation, retried by its host or reported) or found the event consumed.
        hosts = [
            ray.get_actor(name, namespace="arvo-tests")
            for runtime in runtimes
            for name in runtime.actor_names()
        ]
        host_stats = ray.get([h.stats.remote() for h in hosts])
        duplicates = sum(s["duplicates"] for s in host_stats)
        assert duplicates + len(errors) >= WORKFLOWS, (duplicates, errors)
        for runtime in runtimes:
            stats = runtime.stats()
            assert stats["violations"] == stats["errors"]
    finally:
        for runtime in runtimes:
            runtime.shutdown()
