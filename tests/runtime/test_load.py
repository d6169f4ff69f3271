"""Load: 10,000 workflows in flight at once on one sharded runtime, against each memory.

Each workflow locks its instance for both of its steps and waits on a handler task in between,
so all 10,000 are open in the broker while their steps queue for the hosts and the memory.
Every one must complete with the right answer, no memory error (a refused connection, an
exhausted pool) may reach a step (steps wait for a pooled connection or the memory actor), and
with no process dying, the handler runs exactly once per event.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray
import ray.cloudpickle
from pydantic import BaseModel
from redis_server import redis_url  # noqa: F401  (the session redis-server fixture)

from arvo_ray.core import create_arvo_orchestrator_contract, create_arvo_orchestrator_event_factory
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    value_read_contract,
    value_read_handler,
)
from arvo_ray.machine import assign, emit, setup_arvo_machine
from arvo_ray.memory import IMachineMemory, RedisMachineMemory
from arvo_ray.runtime import ArvoRuntime
from arvo_ray.runtime._memory_actor import start_memory_actor
from arvo_ray.workflow import create_arvo_orchestrator

from .effects import EffectLedger, counted

WORKFLOWS = 10_000

# Ray workers cannot import the test tree: the contract and machine below travel by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


class LookupInit(BaseModel):
    key: str


class LookupDone(BaseModel):
    value: int


lookup_contract = create_arvo_orchestrator_contract(
    uri="#/test/load/lookup",
    name="load.lookup",
    versions={"1.0.0": {"init": LookupInit, "complete": LookupDone}},
)


def lookup_orchestrator() -> Any:
    """Read one value and answer it: two steps, one handler call in between."""
    machine = setup_arvo_machine(
        self_contract=lookup_contract.version("1.0.0"),
        services={"reader": value_read_contract.version("0.0.1")},
    ).create_machine(
        {
            "id": "lookup",
            "context": lambda a: {"key": a.input["data"]["key"], "value": 0},
            "output": lambda a: {"value": a.context["value"]},
            "initial": "reading",
            "states": {
                "reading": {
                    "entry": emit(
                        lambda a: {"type": "com.value.read", "data": {"key": a.context["key"]}}
                    ),
                    "on": {
                        "evt.value.read.success": {
                            "target": "done",
                            "actions": assign({"value": lambda a: a.event["data"]["value"]}),
                        }
                    },
                },
                "done": {"type": "final"},
            },
        }
    )
    # Locked for every step, so each step takes and releases a memory lock too.
    return create_arvo_orchestrator(machines=[machine], requires_resource_locking=True)


@pytest.fixture(params=["sqlite", "memory actor", "redis"])
def memory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IMachineMemory | None]:
    if request.param == "sqlite":
        yield None  # the default: a memory actor, whose head-node clients open the file
    elif request.param == "memory actor":
        served = start_memory_actor(
            name=f"load-memory-{uuid.uuid4().hex[:8]}",
            namespace="arvo-tests",
            path=str(tmp_path / "memory.sqlite3"),
            direct=False,
        )
        try:
            yield served
        finally:
            ray.kill(served.actor, no_restart=True)
    else:
        url = request.getfixturevalue("redis_url")
        yield RedisMachineMemory(url, prefix=f"load-{uuid.uuid4().hex[:8]}")


@pytest.mark.slow
def test_ten_thousand_workflows_in_flight_all_complete(
    ray_session: None, tmp_path: Path, memory: IMachineMemory | None
) -> None:
    """All 10,000 submitted at once: every one answers right, no step sees a memory error."""
    store = SQLiteKeyValueStore(str(tmp_path / "values.sqlite3"))
    store["load"] = 7
    ledger = EffectLedger(str(tmp_path / "effects.sqlite3"))
    runtime = ArvoRuntime(
        handlers=counted([value_read_handler(store)], ledger),
        workflows=[lookup_orchestrator()],
        placement="sharded",
        memory=memory,
        sqlite_path=tmp_path / "memory.sqlite3",
        namespace="arvo-tests",
        handler_options={"num_cpus": 0.5},
    )
    factory = create_arvo_orchestrator_event_factory(lookup_contract.version("1.0.0"))
    events = [
        factory.init(source="com.load.test", data={"parentSubject$$": None, "key": "load"})
        for _ in range(WORKFLOWS)
    ]
    try:
        results = runtime.run_many(events, window=WORKFLOWS, progress=False, timeout=1200)
        stats = runtime.stats()
    finally:
        runtime.shutdown()
    assert len(results) == WORKFLOWS
    wrong = [r.describe() for r in results if r.final is None or r.final.data != {"value": 7}]
    assert wrong[:3] == []
    assert all(r.errors == [] for r in results)
    assert stats["errors"] == 0 and stats["step_retries"] == 0
    assert stats["workflows_finished"] == WORKFLOWS
    # No process died, so no handler ran twice for one event (recovery sweeps ran meanwhile).
    executions = ledger.executions()
    assert len(executions) == WORKFLOWS and set(executions.values()) == {1}
    assert stats["runs_active_peak"] > 1000  # many were in flight together, not one by one
