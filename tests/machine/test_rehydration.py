"""Persisting never changes behaviour: at every step, snapshot -> JSON -> continue gives
exactly what continuing directly gives (snapshots and emitted objects)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arvo_ray.machine import StateMachine, assign, emit, raise_

from .conftest import make
from .differential.cases import CASES
from .differential.vocabulary import build_machine


def _python_only_cases() -> list[tuple[str, StateMachine, list[dict[str, Any]], Any]]:
    inc = assign({"n": lambda a: a.context["n"] + 1})
    history = make(
        {
            "id": "h",
            "initial": "p",
            "context": {"n": 0},
            "states": {
                "p": {
                    "type": "parallel",
                    "on": {"OUT": "out"},
                    "states": {
                        "h": {"type": "history", "history": "deep"},
                        "r1": {
                            "initial": "a",
                            "states": {
                                "a": {"on": {"A": {"target": "b", "actions": inc}}},
                                "b": {},
                            },
                        },
                        "r2": {
                            "initial": "c",
                            "states": {
                                "c": {"on": {"C": "d"}},
                                "d": {
                                    "always": {
                                        "guard": lambda a: a.context["n"] < 3,
                                        "actions": inc,
                                    }
                                },
                            },
                        },
                    },
                },
                "out": {
                    "on": {"BACK": "p.h"},
                    "entry": emit(lambda a: {"type": "left", "n": a.context["n"]}),
                },
            },
        }
    )
    raising = make(
        {
            "id": "r",
            "initial": "a",
            "context": lambda c: {"n": c.input},
            "output": lambda a: a.context["n"],
            "states": {
                "a": {"on": {"GO": {"target": "b", "actions": [raise_({"type": "NEXT"}), inc]}}},
                "b": {
                    "on": {
                        "NEXT": {
                            "target": "c",
                            "actions": emit(lambda a: {"type": "n", "n": a.context["n"]}),
                        }
                    }
                },
                "c": {"on": {"END": "z"}},
                "z": {"type": "final"},
            },
        }
    )
    events = [{"type": t} for t in ("A", "C", "OUT", "BACK", "OUT", "BACK")]
    return [
        ("python_deep_history_parallel_always", history, events, None),
        ("python_raise_output_input", raising, [{"type": t} for t in ("GO", "END", "AFTER")], 10),
    ]


ALL = [(c["name"], build_machine(c["machine"]), c["events"], c.get("input")) for c in CASES]
ALL += _python_only_cases()


def _run(machine: StateMachine, start: Any, events: list[dict[str, Any]]) -> list[Any]:
    results = []
    snapshot = start
    for event in events:
        try:
            snapshot, emitted = machine.transition(snapshot, event)
        except Exception as error:  # compared by type and message
            results.append(("error", type(error).__name__, str(error)))
            break
        results.append((json.dumps(snapshot), json.dumps(emitted)))
    return results


@pytest.mark.parametrize(("name", "machine", "events", "input"), ALL, ids=[a[0] for a in ALL])
def test_should_give_identical_results_after_a_json_round_trip_at_every_step(
    name: str, machine: StateMachine, events: list[dict[str, Any]], input: Any
) -> None:
    """For each step k, continuing from JSON(snapshot_k) reproduces the direct run exactly."""
    start, _ = machine.initial_transition(input)
    direct = _run(machine, start, events)
    snapshots = [start]
    for event in events[: len(direct)]:
        try:
            snapshots.append(machine.transition(snapshots[-1], event)[0])
        except Exception:
            break
    for k, snapshot in enumerate(snapshots):
        restored = json.loads(json.dumps(snapshot))
        assert _run(machine, restored, events[k:]) == direct[k:], (
            f"diverged when restored at step {k}"
        )


@pytest.mark.parametrize(("name", "machine", "events", "input"), ALL, ids=[a[0] for a in ALL])
def test_should_match_a_run_that_persists_after_every_event(
    name: str, machine: StateMachine, events: list[dict[str, Any]], input: Any
) -> None:
    """A run that writes and reads back JSON after every event equals the direct run."""
    start, _ = machine.initial_transition(input)
    direct = _run(machine, start, events)
    persisted_run: list[Any] = []
    snapshot = json.loads(json.dumps(start))
    for event in events:
        step = _run(machine, snapshot, [event])
        persisted_run.extend(step)
        if step[0][0] == "error":
            break
        snapshot = json.loads(step[0][0])
    assert persisted_run == direct
