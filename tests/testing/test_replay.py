"""Replay testing: a recorded history replays clean against the same code and reports the
first divergence, precisely, against a changed machine (a renamed state, an extra emitted
event, a changed guard); ``arvo-ray export`` then ``arvo-ray replay`` give the exit code."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.cli import main
from arvo_ray.core import ArvoEvent, create_arvo_orchestrator_event_factory
from arvo_ray.examples.number_domain import (
    build_number_domain,
    decrement_orchestrator_contract,
    increment_orchestrator,
    increment_orchestrator_contract,
    number_modifier_contract,
    orchestrators,
)
from arvo_ray.machine import enqueue_arvo_event
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory, SQLiteMachineMemory
from arvo_ray.testing import load_history, replay
from arvo_ray.workflow import WorkflowHandler

CALLER = "com.replay.test"


def record(
    init: ArvoEvent,
    *,
    memory: IMachineMemory | None = None,
    kind: str = "orchestrators",
    keep: int = 100,
) -> dict[str, Any]:
    """Run ``init`` through the number domain in-process, keeping history; its record."""
    memory = memory if memory is not None else SimpleMachineMemory()
    domain = build_number_domain(memory=memory, store={"apples": 10}, kind=kind)  # type: ignore[arg-type]
    for workflow in domain.workflows:
        workflow.keep_history = keep
    broker = create_simple_event_broker(domain.all)
    asyncio.run(broker.run(init))
    stored = asyncio.run(memory.read(init.subject))
    assert stored is not None
    return stored


def inc_init(version: str = "0.0.1") -> ArvoEvent:
    factory = create_arvo_orchestrator_event_factory(
        increment_orchestrator_contract.version(version)
    )
    trend = "linear" if version == "0.0.1" else "exponential"
    return factory.init(
        source=CALLER,
        data={"parentSubject$$": None, "key": "apples", "modifier": 2, "trend": trend},
    )


@contextmanager
def changed_machines(change: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """The number domain's arithmetic machines, built with ``change`` applied to each one's
    configuration (as if its code had been edited)."""
    real = orchestrators.setup_arvo_machine

    class Edited:
        def __init__(self, **options: Any) -> None:
            self.setup = real(**options)

        def create_machine(self, config: dict[str, Any]) -> Any:
            config = copy.copy(config)
            config["states"] = dict(config["states"])
            change(config)
            return self.setup.create_machine(config)

    with mock.patch.object(orchestrators, "setup_arvo_machine", Edited):
        yield


def rename_fetch_state(config: dict[str, Any]) -> None:
    config["states"]["reading"] = config["states"].pop("fetch_value")
    config["initial"] = "reading"


def extra_notification(config: dict[str, Any]) -> None:
    done = dict(config["states"]["done"])
    done["entry"] = enqueue_arvo_event({"type": "com.notif.test", "data": {}})
    config["states"]["done"] = done


def guard_large_values(config: dict[str, Any]) -> None:
    fetch = copy.deepcopy(config["states"]["fetch_value"])
    success = fetch["on"]["evt.value.read.success"]
    fetch["on"]["evt.value.read.success"] = [
        {"guard": lambda a: a.data.value > 5, "target": "error"},
        success,
    ]
    config["states"]["fetch_value"] = fetch


def test_a_history_replays_clean_against_the_same_code() -> None:
    stored = record(inc_init())
    steps = stored["history"]
    assert [step["consumed"]["type"] for step in steps] == [
        "arvo.orc.inc",
        "evt.value.read.success",
        "evt.increment.number.success",
    ]
    assert steps[-1]["state"] == {
        "status": "done",
        "value": "done",
        "context": {"key": "apples", "value": 12, "modifier": 2, "trend": "linear", "error": []},
    }
    assert [e["type"] for e in steps[-1]["produced"]] == ["arvo.orc.inc.done"]
    report = replay(increment_orchestrator(SimpleMachineMemory()), stored)
    assert report.ok, str(report)
    assert (report.steps, report.recorded) == (3, 3)
    assert [[e.type for e in step] for step in report.emitted] == [
        ["com.value.read"],
        ["com.increment.number"],
        ["arvo.orc.inc.done"],
    ]
    assert str(report) == "arvo.orc.inc: 3 of 3 recorded steps replayed the same"
    assert "replay: same as recorded</caption>" in report._repr_html_()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            rename_fetch_state,
            "arvo.orc.inc: diverges at step 0 (arvo.orc.inc id={init}): state differs at "
            "state.value: expected 'fetch_value', got 'reading'",
        ),
        (
            extra_notification,
            "arvo.orc.inc: diverges at step 2 (evt.increment.number.success id={last}): events "
            "differs at events (length): expected ['arvo.orc.inc.done'], got ['com.notif.test', "
            "'arvo.orc.inc.done']",
        ),
        (
            guard_large_values,
            "arvo.orc.inc: diverges at step 1 (evt.value.read.success id={second}): events "
            "differs at events[0].type: expected 'com.increment.number', got 'arvo.orc.inc.done'",
        ),
    ],
    ids=["renamed-state", "extra-event", "changed-guard"],
)
def test_a_changed_machine_diverges_at_the_first_step_it_changes(
    change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    stored = record(inc_init())
    ids = [step["consumed"]["id"] for step in stored["history"]]
    with changed_machines(change):
        changed = increment_orchestrator(SimpleMachineMemory())
    report = replay(changed, stored["history"])
    assert not report.ok
    assert str(report) == expected.format(init=ids[0], second=ids[1], last=ids[2])
    with pytest.raises(AssertionError, match="diverges at step"):
        report.raise_for_divergence()
    shown = report._repr_html_()
    assert f"replay: diverges at step {report.divergence.step}</caption>" in shown  # type: ignore[union-attr]
    assert "<b>expected</b>" in shown and "<b>got</b>" in shown


def test_resumables_and_child_workflows_replay_clean() -> None:
    """A resumable's context, and a parent whose history holds its child's completion."""
    dec = create_arvo_orchestrator_event_factory(decrement_orchestrator_contract.version("0.0.1"))
    init = dec.init(
        source=CALLER,
        data={"parentSubject$$": None, "key": "apples", "modifier": 3, "trend": "linear"},
    )
    domain = build_number_domain(kind="resumables")
    stored = record(init, kind="resumables")
    assert stored["history"][-1]["state"]["context"]["value"] == 7
    resumable = next(w for w in domain.workflows if w.source == "arvo.orc.dec")
    assert replay(resumable, stored).ok

    modifier = create_arvo_orchestrator_event_factory(number_modifier_contract.version("0.0.1"))
    parent = modifier.init(
        source=CALLER,
        data={
            "parentSubject$$": None,
            "init": 4,
            "modifier": 2,
            "operation": "increment",
            "trend": "linear",
        },
    )
    stored = record(parent)
    assert [s["consumed"]["type"] for s in stored["history"]][-1] == "arvo.orc.inc.done"
    workflow = next(w for w in build_number_domain().workflows if w.source == parent.to)
    assert replay(workflow, json.loads(json.dumps(stored["history"]))).ok


def test_the_history_is_bounded_and_says_what_it_dropped() -> None:
    stored = record(inc_init(), keep=2)
    assert len(stored["history"]) == 2 and stored["historyDropped"] == 1
    report = replay(increment_orchestrator(SimpleMachineMemory()), stored)
    assert report.ok and report.dropped == 1
    assert str(report).endswith(
        "2 of 2 recorded steps replayed the same (1 later steps were not kept)"
    )
    assert "history" not in record(inc_init(), keep=0)


def test_replay_leaves_the_workflow_as_it_found_it() -> None:
    memory = SimpleMachineMemory()
    workflow: WorkflowHandler = increment_orchestrator(memory)
    workflow.track_outbox = True
    replay(workflow, record(inc_init()))
    assert workflow.memory is memory and workflow.track_outbox and workflow.keep_history == 0
    assert asyncio.run(memory.list_ids()) == []


CHANGED_MODULE = """
from arvo_ray.examples.number_domain import increment_orchestrator, orchestrators
from arvo_ray.memory import SimpleMachineMemory

real = orchestrators.setup_arvo_machine


class Renamed:
    def __init__(self, **options):
        self.setup = real(**options)

    def create_machine(self, config):
        states = dict(config["states"])
        states["reading"] = states.pop("fetch_value")
        return self.setup.create_machine({**config, "states": states, "initial": "reading"})


orchestrators.setup_arvo_machine = Renamed
try:
    workflow = increment_orchestrator(SimpleMachineMemory())
finally:
    orchestrators.setup_arvo_machine = real
"""


def test_export_then_replay_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``arvo-ray export`` writes the JSONL; ``arvo-ray replay`` exits 0 on the same code, 1
    on the changed machine (naming the step); a bad workflow spec is refused with its reason."""
    path = tmp_path / "memory.sqlite3"
    init = inc_init()
    record(init, memory=SQLiteMachineMemory(str(path)))
    history = tmp_path / "history.jsonl"
    assert main(["export", init.subject, "--memory", str(path), "-o", str(history)]) == 0
    assert "3 steps exported" in capsys.readouterr().err
    assert len(load_history(history)) == 3

    # A domain (its workflow for the history's first event), and a workflow factory.
    for spec in (
        "arvo_ray.examples.number_domain:build_number_domain",
        "arvo_ray.examples.number_domain:increment_orchestrator",
    ):
        assert main(["replay", spec, str(history)]) == 0
        assert "3 of 3 recorded steps replayed the same" in capsys.readouterr().out

    (tmp_path / "changed_inc.py").write_text(CHANGED_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["replay", "changed_inc:workflow", str(history)]) == 1
    assert "diverges at step 0" in capsys.readouterr().out

    with pytest.raises(SystemExit, match="no attribute 'nothing'"):
        main(["replay", "changed_inc:nothing", str(history)])
    assert main(["export", "not-a-subject", "--memory", str(path)]) == 1
