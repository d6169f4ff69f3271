"""Chaos: SIGKILL every kind of runtime process while the whole number domain runs.

Per scenario (sharded placement on two broker shards or instance placement on one, SQLite, Redis or
PostgreSQL memory, default lock TTL and recovery interval) two runtimes run side by side: one with the number domain's statechart
orchestrators, one with its resumables, v0.0.1 and v0.0.2 of each, including the increment
service that answers twice and the modifier that stalls on a violation. A killer thread
SIGKILLs, at the OS level, broker actors (any shard, several times), workflow actors (hosts, or live
instance actors), the memory actor (SQLite: it serves every memory call) and handler worker
processes caught mid-task. Every handler execution is written to a ledger first, so doubled
side effects are counted. Then:

* every ``run()`` returned its workflow's right answer (or its violation), each completion
  once, and nobody waited on a hang;
* a handler ran twice for one event only where a kill explains it (between the two runs);
* sending every init again answers with the stored completion and runs no handler;
* no lock or outbox entry is left, and 20 new workflows complete after the faults.

The figures of each scenario (kills by process kind, answers lost, duplicate deliveries,
doubled side effects, hangs) are printed at the end of the module and kept in a JSON file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import ray
from redis_server import redis_url  # noqa: F401  (the session redis-server fixture)

from arvo_ray.core import (
    ArvoEvent,
    ExecutionViolation,
    TransactionViolation,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    decrement_orchestrator_contract,
    increment_orchestrator_contract,
    increment_resumable_contract,
    number_modifier_contract,
)
from arvo_ray.memory import IMachineMemory, PostgresMachineMemory, RedisMachineMemory
from arvo_ray.runtime import ArvoRuntime, Instance, RunResult, Sharded, WorkflowStalledError
from arvo_ray.runtime._answers import answer_subject
from arvo_ray.runtime._memory_actor import start_memory_actor
from arvo_ray.runtime._routing import broker_name, shard_of

from .effects import EffectLedger, counted

CALLER = "com.chaos.test"
# Workflows per kind of workflow and version (see workload): 297 sharded, 22 instance.
PER_KIND = {"sharded": 27, "instance": 2}
FIGURES: dict[str, dict[str, Any]] = {}


# -- the workload --------------------------------------------------------------------------------


@dataclass
class Item:
    """One workflow to run, and what its caller must get."""

    init: ArvoEvent
    runtime: int  # 0: the orchestrators' runtime, 1: the resumables'
    final: tuple[str, Any] | None  # (type, data) of the answer, or None: no answer
    expected_errors: set[str] = field(default_factory=set)  # errors the run may show
    required_errors: set[str] = field(default_factory=set)  # one of these must show


def _orchestrator_init(contract: Any, version: str, data: dict[str, Any]) -> ArvoEvent:
    factory = create_arvo_orchestrator_event_factory(contract.version(version))
    return factory.init(source=CALLER, data={"parentSubject$$": None, **data})


def _done(value: Any) -> dict[str, Any]:
    return {"success": True, "error": [], "final": value}


def workload(count: int, store: SQLiteKeyValueStore, tag: str) -> list[Item]:
    """``count`` workflows of each kind and version of the number domain."""
    items: list[Item] = []
    for n in range(count):
        value = 10 + n
        for version in ("0.0.1", "0.0.2"):
            trend = "linear" if version == "0.0.1" else "exponential"
            for kind, contract in (
                ("inc", increment_orchestrator_contract),
                ("dec", decrement_orchestrator_contract),
            ):
                key = f"{tag}-{kind}-{version}-{n}"
                store[key] = value
                init = _orchestrator_init(
                    contract, version, {"key": key, "modifier": 2, "trend": trend}
                )
                answer = {
                    ("inc", "0.0.1"): value + 2,
                    ("inc", "0.0.2"): value * 2,
                    ("dec", "0.0.1"): value - 2,
                    ("dec", "0.0.2"): value / 2,
                }[(kind, version)]
                items.append(Item(init, 0, (f"arvo.orc.{kind}.done", _done(answer))))
            for operation in ("increment", "decrement"):
                init = _orchestrator_init(
                    number_modifier_contract,
                    version,
                    {"init": value, "modifier": 2, "operation": operation, "trend": trend},
                )
                if version == "0.0.1":
                    answer = value + 2 if operation == "increment" else value - 2
                    items.append(Item(init, 0, ("arvo.orc.number.modifier.done", _done(answer))))
                elif operation == "increment":
                    # A second, independent increment answers the modifier, which owns no such
                    # instance: an orphan event, reported beside the right answer.
                    items.append(
                        Item(
                            init,
                            0,
                            ("arvo.orc.number.modifier.done", _done(value * 2)),
                            expected_errors={"OrphanEventError"},
                        )
                    )
                else:
                    # A child call with an invalid parent subject: the workflow stalls.
                    stalled = {"ExecutionViolation", "WorkflowStalledError"}
                    items.append(Item(init, 0, None, stalled, stalled))
        # The resumables: decrement (v0.0.2 raises, so its answer is the error event) and the
        # fan-out increment.
        key = f"{tag}-res-dec-{n}"
        store[key] = value
        init = _orchestrator_init(
            decrement_orchestrator_contract,
            "0.0.1",
            {"key": key, "modifier": 3, "trend": "linear"},
        )
        items.append(Item(init, 1, ("arvo.orc.dec.done", _done(value - 3))))
        init = _orchestrator_init(
            decrement_orchestrator_contract,
            "0.0.2",
            {"key": key, "modifier": 3, "trend": "exponential"},
        )
        items.append(Item(init, 1, ("sys.arvo.orc.dec.error", None)))
        keys = [f"{tag}-res-inc-{n}-{i}" for i in range(2)]
        for i, fan_key in enumerate(keys):
            store[fan_key] = value + i
        init = _orchestrator_init(
            increment_resumable_contract,
            "0.0.1",
            {"modifications": [{"key": k, "value": 5} for k in keys]},
        )
        final = [{"key": k, "value": value + i + 5} for i, k in enumerate(keys)]
        items.append(Item(init, 1, ("arvo.orc.inc.done", _done(final))))
    return items


def _transient(error: BaseException) -> bool:
    return isinstance(error, TransactionViolation | ray.exceptions.RayError)


def wrong_answer(item: Item, result: RunResult) -> str | None:
    """Why ``result`` is not what the item's caller must get (``None``: it is)."""
    final = result.final
    if item.final is None:
        if final is not None:
            return f"unexpected answer {final.type}"
    elif final is None:
        return "no answer"
    elif final.type != item.final[0]:
        return f"answer {final.type}, expected {item.final[0]}"
    elif item.final[1] is not None and final.data != item.final[1]:
        return f"answer data {final.data}, expected {item.final[1]}"
    names = {
        type(letter.error).__name__ for letter in result.errors if not _transient(letter.error)
    }
    if not names <= item.expected_errors:
        return f"errors {sorted(names)}"
    if item.required_errors and not names & item.required_errors:
        return f"none of {sorted(item.required_errors)} reported"
    return None


# -- the killer -------------------------------------------------------------------------------------


def _pids_of(command_prefix: bytes) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if handle.read().startswith(command_prefix):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


class Killer(threading.Thread):
    """SIGKILLs runtime processes from a shuffled plan, while work is in flight."""

    def __init__(
        self, runtimes: list[ArvoRuntime], memory_actors: list[Any], seed: int, plan: list[str]
    ) -> None:
        super().__init__(daemon=True)
        self.runtimes = runtimes
        self.memory_actors = memory_actors
        self.random = random.Random(seed)
        self.plan = plan
        self.stop = threading.Event()
        self.kills: list[tuple[float, str]] = []

    def run(self) -> None:
        self.random.shuffle(self.plan)
        time.sleep(0.3)
        for kind in self.plan:
            if self.stop.wait(self.random.uniform(0.2, 0.8)):
                return
            with contextlib.suppress(Exception):
                getattr(self, f"_kill_{kind}")()

    def _sigkill(self, pid: int, kind: str) -> None:
        os.kill(pid, signal.SIGKILL)
        self.kills.append((time.time(), kind))

    def _actor_pid(self, name: str, namespace: str) -> int:
        return self._pid_of(ray.get_actor(name, namespace=namespace))

    @staticmethod
    def _pid_of(actor: Any) -> int:
        """The actor's process id; asked again while the actor restarts (from an earlier
        kill), so each planned kill happens."""
        for attempt in range(5):
            try:
                return int(ray.get(actor.__ray_call__.remote(lambda self: os.getpid()), timeout=20))
            except ray.exceptions.RayActorError:
                if attempt == 4:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def _kill_broker(self) -> None:
        runtime = self.random.choice(self.runtimes)
        shards = [broker_name(runtime.name, i, runtime.brokers) for i in range(runtime.brokers)]
        name = self.random.choice(shards)
        self._sigkill(self._actor_pid(name, runtime.namespace), "broker")

    def _kill_workflow(self) -> None:
        runtime = self.random.choice(self.runtimes)
        names = [
            n["name"]
            for n in ray.util.list_named_actors(all_namespaces=True)
            if n["namespace"] == runtime.namespace
            and n["name"].startswith((f"{runtime.name}-host-", f"{runtime.name}-wf-"))
        ]
        if names:
            name = self.random.choice(names)
            self._sigkill(self._actor_pid(name, runtime.namespace), "workflow actor")

    def _kill_memory(self) -> None:
        self._sigkill(self._pid_of(self.random.choice(self.memory_actors)), "memory actor")

    def _kill_handler(self) -> None:
        # Handler tasks take milliseconds: watch for a worker caught in the middle of one.
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not self.stop.is_set():
            pids = _pids_of(b"ray::run_handler_batch")
            if pids:
                with contextlib.suppress(ProcessLookupError):
                    self._sigkill(self.random.choice(pids), "handler worker")
                    return
            time.sleep(0.002)


def explained_by(made: float, runs: list[float], kills: list[tuple[float, str]]) -> str | None:
    """The kill that explains a handler running more than once for one event: the last one in
    the event's life, from when it was made to its last run (delivery is at least once: a
    crash before the event's hand-over was written down, a restart that re-sends the step
    that made it, both deliver it again). ``None``: nothing explains it."""
    between = [kind for at, kind in kills if min(made, runs[0]) - 1.0 <= at <= runs[-1]]
    return between[-1] if between else None


def stuck_report(
    runtimes: list[ArvoRuntime],
    memory_actors: Sequence[Any] = (),
    hung: Sequence[tuple[ArvoRuntime, IMachineMemory, ArvoEvent]] = (),
) -> str:
    """What every actor of ``runtimes`` (and every memory actor) is waiting on, Ray's task
    counters of each process, and each hung event's shard and stored status: for a run that
    never returns."""

    def _task_stacks(actor_self: Any) -> list[str]:
        """The asyncio tasks pending in an actor's process, each with the stack it waits in."""
        import gc

        stacks = []
        for loop in [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]:
            for task in list(asyncio.all_tasks(loop)):
                # The whole chain of awaits (a task's own stack shows only its outer frame).
                frames, awaited = [], task.get_coro()
                while awaited is not None and len(frames) < 40:
                    frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
                    if frame is None:
                        frames.append(f"    awaits {awaited!r:.200}")
                        break
                    code = frame.f_code
                    frames.append(f"    {code.co_filename}:{frame.f_lineno} {code.co_name}")
                    awaited = getattr(awaited, "cr_await", None) or getattr(
                        awaited, "gi_yieldfrom", None
                    )
                stacks.append("\n".join(frames))
        return stacks

    lines = []
    for runtime, memory, event in hung:
        shard = shard_of(answer_subject(event), runtime.brokers)
        try:
            record = asyncio.run(memory.read(event.subject)) or {}
        except Exception as error:
            record = {"status": f"unreadable: {error!r}"}
        lines.append(
            f"hung: {event.type} id={event.id} subject={event.subject} shard={shard} "
            f"status={record.get('status')} answer={bool(record.get('answer'))}"
        )
    actors = {actor: f"memory actor {actor._actor_id.hex()[:8]}" for actor in memory_actors}
    for runtime in runtimes:
        for entry in ray.util.list_named_actors(all_namespaces=True):
            if entry["namespace"] == runtime.namespace and entry["name"].startswith(runtime.name):
                actors[ray.get_actor(entry["name"], namespace=runtime.namespace)] = entry["name"]
    names = {actor._actor_id.hex(): name for actor, name in actors.items()}
    for actor, name in actors.items():
        try:
            stacks = ray.get(actor.__ray_call__.remote(_task_stacks), timeout=30)
        except Exception as error:
            stacks = [f"no answer: {error!r}"]
        lines.append(f"== {name}: {len(stacks)} tasks")
        counts = Counter(stacks)
        lines += [f"-- x{n}\n{stack}" for stack, n in counts.most_common(8)]
    # Ray's own view of each process: queued, running and finished tasks.
    from ray._private.internal_api import node_stats

    for node in ray.nodes():
        try:
            stats = node_stats(node["NodeManagerAddress"], node["NodeManagerPort"])
        except Exception as error:
            lines.append(f"no node stats from {node['NodeManagerAddress']}: {error!r}")
            continue
        for worker in stats.core_workers_stats:
            owner = names.get(worker.actor_id.hex(), "driver" if worker.worker_type == 1 else "")
            if owner or worker.num_pending_tasks or worker.task_queue_length:
                lines.append(
                    f"ray {owner or 'worker'} pid={worker.pid}: queued={worker.task_queue_length}"
                    f" running={worker.num_running_tasks} executed={worker.num_executed_tasks}"
                    f" pending_owned={worker.num_pending_tasks}"
                )
    return "\n".join(lines)


def run_or_report(
    runtimes: list[ArvoRuntime],
    runtime: ArvoRuntime,
    memory: IMachineMemory,
    events: list[ArvoEvent],
    memory_actors: Sequence[Any],
    timeout: float,
    window: int = 2000,
) -> list[RunResult]:
    """The events run on ``runtime``, ``window`` at a time; when a window is not done within
    ``timeout``, what every actor waits on and which runs hung are printed, and the test
    fails."""
    results: list[RunResult] = []
    for start in range(0, len(events), window):
        chunk = events[start : start + window]
        refs = [runtime.submit(event) for event in chunk]
        _, waiting = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        if waiting:
            hung = [(runtime, memory, chunk[refs.index(ref)]) for ref in waiting]
            report_stuck(runtimes, memory_actors, hung)
            raise TimeoutError(f"{len(waiting)} runs still running after {timeout} s")
        results += ray.get(refs)
    return results


def report_stuck(
    runtimes: list[ArvoRuntime],
    memory_actors: Sequence[Any],
    hung: Sequence[tuple[ArvoRuntime, IMachineMemory, ArvoEvent]] = (),
) -> None:
    """Print :func:`stuck_report`, and keep it in ``$ARVO_CHAOS_REPORT``."""
    report = stuck_report(runtimes, memory_actors, hung)
    print(report, file=sys.stderr)
    Path(os.environ.get("ARVO_CHAOS_REPORT", "/tmp/arvo-chaos-stuck.txt")).write_text(report)


# -- the scenarios ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, list[Any]]]:
    """(name, [a memory per runtime]) with the default lock TTL.

    Each runtime gets its own memory: a recovery sweep re-publishes what it finds in *its*
    memory's outboxes. SQLite memories are memory actors that serve every call (none opens
    the file directly), so killing them matters.
    """
    if request.param == "sqlite":
        memories = [
            start_memory_actor(
                name=f"chaos-memory-{uuid.uuid4().hex[:8]}",
                namespace="arvo-tests",
                path=str(tmp_path / f"memory-{index}.sqlite3"),
                direct=False,
            )
            for index in range(2)
        ]
        try:
            yield "sqlite", memories
        finally:
            for memory in memories:
                ray.kill(memory.actor, no_restart=True)
    elif request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        yield (
            "postgres",
            [
                PostgresMachineMemory(dsn, table_prefix=f"chaos_{uuid.uuid4().hex[:8]}")
                for _ in range(2)
            ],
        )
    else:
        url = request.getfixturevalue("redis_url")
        yield (
            "redis",
            [RedisMachineMemory(url, prefix=f"chaos-{uuid.uuid4().hex[:8]}") for _ in range(2)],
        )


def _records(memory: IMachineMemory, subjects: list[str]) -> list[dict[str, Any] | None]:
    async def read_all() -> list[dict[str, Any] | None]:
        return [await memory.read(subject) for subject in subjects]

    return asyncio.run(read_all())


def _all_subjects(memory: Any) -> list[str]:
    return list(asyncio.run(memory.list_ids()))


def _wait_for_empty_outboxes(memory: Any, timeout: float) -> list[str]:
    """Subjects whose outbox still holds events after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        subjects = _all_subjects(memory)
        left = [
            subject
            for subject, record in zip(subjects, _records(memory, subjects), strict=True)
            if (record or {}).get("outbox")
        ]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1.0)


@pytest.mark.slow
@pytest.mark.parametrize("placement", ["sharded", "instance"])
def test_every_caller_gets_its_answer_once_under_sigkill(
    ray_session: None, tmp_path: Path, placement: str, backend: tuple[str, Any]
) -> None:
    """SIGKILLs of brokers, workflow actors, the memory actor and handler workers: every run
    answers right, each completion once; doubled side effects only where a kill explains
    them; replays answer from memory; nothing is left locked or unacknowledged."""
    backend_name, memories = backend
    store = SQLiteKeyValueStore(str(tmp_path / "values.sqlite3"))
    ledger = EffectLedger(str(tmp_path / "effects.sqlite3"))
    items = workload(PER_KIND[placement], store, "chaos")
    runtimes = []
    for index, kind in enumerate(("orchestrators", "resumables")):
        domain = build_number_domain(store=store, kind=kind)  # type: ignore[arg-type]
        runtimes.append(
            ArvoRuntime(
                handlers=counted(domain.handlers, ledger),
                workflows=domain.workflows,
                placement=Sharded(num_hosts=1) if placement == "sharded" else Instance(max_live=32),
                # Sharded chains cross between two broker shards; instance ones keep one broker.
                brokers=2 if placement == "sharded" else 1,
                memory=memories[index],
                name=f"chaos-{index}-{uuid.uuid4().hex[:6]}",
                namespace="arvo-tests",
                handler_options={"num_cpus": 0.25},
            )
        )
    plan = ["broker"] * 3 + ["workflow"] * 4 + ["handler"] * 4
    if backend_name == "sqlite":
        plan += ["memory"] * 2
    actors = [memory.actor for memory in memories if hasattr(memory, "actor")]
    killer = Killer(runtimes, actors, seed=len(items), plan=plan)
    figures: dict[str, Any] = {"workflows": len(items)}
    phases: dict[str, float] = {}
    started = time.monotonic()

    def phase(name: str) -> None:
        nonlocal started
        phases[name] = round(time.monotonic() - started, 1)
        started = time.monotonic()

    try:
        refs = [runtimes[item.runtime].submit(item.init) for item in items]
        killer.start()
        # Well within the test's own time-out, so a hang is reported with what it waits on.
        _, hung = ray.wait(refs, num_returns=len(refs), timeout=300)
        killer.stop.set()
        killer.join()
        results: list[RunResult] = [ray.get(ref) for ref in refs] if not hung else []
        phase("run under kills")
        figures["kills"] = dict(Counter(kind for _, kind in killer.kills))
        figures["hangs"] = len(hung)
        if hung:
            report_stuck(runtimes)
        assert hung == [], f"{len(hung)} runs gave no outcome within 5 minutes"

        # -- every caller got the right answer, each completion once ---------------------------
        wrong = {
            index: why
            for index, (item, result) in enumerate(zip(items, results, strict=True))
            if (why := wrong_answer(item, result))
        }
        figures["answers_lost"] = len(wrong)
        repeats = [
            count
            for result in results
            for count in Counter(e.id for e in result.outputs).values()
            if count > 1
        ]
        figures["duplicate_deliveries"] = len(repeats)
        figures["transient_errors_reported"] = sum(
            _transient(letter.error) for r in results for letter in r.errors
        )
        details = {
            index: (
                why,
                items[index].init.type,
                results[index].describe(),
                results[index].redelivered,
                (
                    _records(memories[items[index].runtime], [items[index].init.subject])[0] or {}
                ).get("status"),
            )
            for index, why in list(wrong.items())[:5]
        }
        assert wrong == {}, details
        assert repeats == []

        # -- nothing left unacknowledged or locked; answers stored -----------------------------
        for memory in memories:
            left = _wait_for_empty_outboxes(memory, timeout=180)
            assert left == [], f"{len(left)} outboxes never drained"
            assert [lock for lock in asyncio.run(memory.locks()) if not lock["expired"]] == []
        for item, result in zip(items, results, strict=True):
            (record,) = _records(memories[item.runtime], [item.init.subject])
            assert record is not None, (item.init.type, item.init.dataschema, result.describe())
            if result.final is not None:
                assert result.final.to_dict() in record["answer"]

        phase("drain")
        # -- doubled side effects are explained by a kill ---------------------------------------
        doubled = ledger.doubled()
        causes = {key: explained_by(*life, killer.kills) for key, life in doubled.items()}
        figures["handler_executions"] = sum(ledger.executions().values())
        figures["doubled_side_effects"] = dict(Counter(str(c) for c in causes.values()))
        unexplained = {
            key: {"made": made, "runs": runs, "kills": killer.kills}
            for key, (made, runs) in doubled.items()
            if causes[key] is None
        }
        assert unexplained == {}, unexplained

        # -- replays answer from memory, running no handler --------------------------------------
        executions = sum(ledger.executions().values())
        for index, runtime in enumerate(runtimes):
            mine = [
                (item, result)
                for item, result in zip(items, results, strict=True)
                if item.runtime == index
            ]
            replays = run_or_report(
                runtimes, runtime, memories[index], [item.init for item, _ in mine], actors, 300
            )
            for (item, first), again in zip(mine, replays, strict=True):
                assert again.final == first.final, (item.init.type, again.describe())
                if item.final is None:
                    assert {type(e.error) for e in again.errors} <= {
                        ExecutionViolation,
                        WorkflowStalledError,
                    } and again.errors
        assert sum(ledger.executions().values()) == executions
        figures["replays_answered"] = len(items)
        phase("replays")

        # -- the runtimes still serve: 20 new workflows --------------------------------------
        fresh = [
            item
            for item in workload(5, store, "after")
            if item.init.type in ("arvo.orc.inc", "arvo.orc.dec") and item.runtime == 0
        ]
        assert len(fresh) == 20
        # At most a few at once: instance actors are started only as fast as the machine can.
        outcomes = run_or_report(
            runtimes, runtimes[0], memories[0], [item.init for item in fresh], actors, 300, window=8
        )
        assert [wrong_answer(item, r) for item, r in zip(fresh, outcomes, strict=True)] == [
            None
        ] * len(fresh)
        phase("new workflows")
        stats = [runtime.stats() for runtime in runtimes]
        figures["duplicate_outputs_suppressed"] = sum(s["duplicate_outputs"] for s in stats)
        figures["answer_timeouts"] = sum(s["answer_timeouts"] for s in stats)
        assert figures["answer_timeouts"] == 0
    finally:
        killer.stop.set()
        for runtime in runtimes:
            runtime.shutdown()
        figures["seconds"] = phases
        FIGURES[f"{placement}/{backend_name}"] = figures
    assert {"broker", "workflow actor", "handler worker"} <= set(figures["kills"]), figures
    if backend_name == "sqlite":
        assert figures["kills"].get("memory actor", 0) > 0, figures


@pytest.fixture(scope="module", autouse=True)
def _report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The figures of every scenario, on the terminal and in a JSON file."""
    yield
    if not FIGURES:
        return
    path = tmp_path_factory.mktemp("chaos") / "chaos-figures.json"
    path.write_text(json.dumps(FIGURES, indent=2, sort_keys=True), encoding="utf-8")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        lines = [f"chaos figures ({path}):"]
        lines += [
            f"  {name}: {json.dumps(values, sort_keys=True)}"
            for name, values in sorted(FIGURES.items())
        ]
        for line in lines:
            if reporter is not None:
                reporter.write_line(line)
            else:  # pragma: no cover
                print(line, file=sys.stderr)
