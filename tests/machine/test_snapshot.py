"""Snapshots: XState's persisted shape, purity of ``transition``, restoring (point 13)."""

from __future__ import annotations

import copy
import json

import pytest

from arvo_ray.machine import InvalidSnapshotError, create_machine, emit

from .conftest import drive, make
from .differential.cases import CASES
from .differential.vocabulary import build_machine


def test_should_shape_snapshots_like_xstate_persisted_snapshots() -> None:
    """Snapshots have status, value, historyValue, context, children, output and error."""
    machine = create_machine({"id": "m", "initial": "a", "context": {"n": 1}, "states": {"a": {}}})
    snapshot, _ = machine.initial_transition()
    assert snapshot == {
        "status": "active",
        "value": "a",
        "historyValue": {},
        "context": {"n": 1},
        "children": {},
        "output": None,
        "error": None,
    }
    assert json.loads(json.dumps(snapshot)) == snapshot


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_should_never_mutate_the_snapshot_passed_in(case: dict) -> None:
    """``transition`` leaves its input snapshot (and event) exactly as they were."""
    machine = build_machine(case["machine"])
    snapshot, _ = machine.initial_transition(case.get("input"))
    for event in case["events"]:
        before, event_before = copy.deepcopy(snapshot), copy.deepcopy(event)
        next_snapshot, _ = machine.transition(snapshot, event)
        assert snapshot == before
        assert event == event_before
        snapshot = next_snapshot


def test_should_leave_value_and_context_unchanged_for_unhandled_events() -> None:
    """An event nothing handles changes neither value nor context and emits nothing."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 1},
            "states": {"a": {"on": {"E": "b"}}, "b": {}},
        }
    )
    start, _ = machine.initial_transition()
    after, emitted = machine.transition(start, {"type": "UNKNOWN"})
    assert (after["value"], after["context"], emitted) == (start["value"], start["context"], [])


def test_should_run_no_entry_actions_and_emit_nothing_when_restoring() -> None:
    """Restoring a persisted snapshot re-runs no entry actions and emits nothing."""
    entered = []
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"entry": [lambda a: entered.append("a"), emit({"type": "hello"})]}},
        }
    )
    start, emitted = machine.initial_transition()
    assert (entered, emitted) == (["a"], [{"type": "hello"}])
    restored = json.loads(json.dumps(start))
    after, emitted_after = machine.transition(restored, {"type": "NOTHING"})
    assert (entered, emitted_after) == (["a"], [])
    assert after["value"] == "a"


def test_should_accept_an_xstate_persisted_snapshot_without_output_and_error() -> None:
    """A snapshot written by XState (no ``output``/``error`` keys) can be continued."""
    machine = create_machine(
        {"id": "m", "initial": "a", "states": {"a": {"on": {"E": "b"}}, "b": {}}}
    )
    xstate_snapshot = {
        "status": "active",
        "value": "a",
        "historyValue": {},
        "context": {},
        "children": {},
    }
    after, _ = machine.transition(xstate_snapshot, {"type": "E"})
    assert after["value"] == "b"


def test_should_complete_a_partial_state_value_with_initial_states() -> None:
    """A value naming a compound state without its child is completed like XState does."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "p",
            "states": {"p": {"initial": "c1", "states": {"c1": {}, "c2": {}}}},
        }
    )
    after, _ = machine.transition(
        {"status": "active", "value": "p", "context": {}}, {"type": "NOTHING"}
    )
    assert after["value"] == {"p": "c1"}


def test_should_reject_a_snapshot_naming_an_unknown_state() -> None:
    """A snapshot from another machine (or version) fails with the unknown state named."""
    machine = create_machine({"id": "m", "initial": "a", "states": {"a": {}}})
    with pytest.raises(InvalidSnapshotError, match="state 'zzz' does not exist on 'm'"):
        machine.transition({"status": "active", "value": "zzz", "context": {}}, {"type": "E"})
    with pytest.raises(InvalidSnapshotError):
        machine.transition(["not", "a", "snapshot"], {"type": "E"})  # type: ignore[arg-type]


def test_should_reject_events_without_a_string_type() -> None:
    """Events must be dicts with a string ``"type"``."""
    machine = create_machine({"id": "m", "initial": "a", "states": {"a": {}}})
    start, _ = machine.initial_transition()
    with pytest.raises(TypeError, match="string 'type'"):
        machine.transition(start, {"data": 1})


def test_should_keep_parallel_value_keys_in_document_order_while_active() -> None:
    """The state value of a parallel state lists regions in document order."""
    machine = create_machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {"z": {"initial": "a", "states": {"a": {}}}, "b": {}},
        }
    )
    snapshot, _ = machine.initial_transition()
    assert list(snapshot["value"]) == ["z", "b"]


def test_should_drive_scripts_with_the_functional_api() -> None:
    """``transition(machine, snapshot, event)`` is the same pure step as the method."""
    from arvo_ray.machine import initial_transition, transition

    machine = create_machine(
        {"id": "m", "initial": "a", "states": {"a": {"on": {"E": "b"}}, "b": {}}}
    )
    start, _ = initial_transition(machine)
    assert transition(machine, start, {"type": "E"})[0]["value"] == "b"
    assert drive(machine, ["E"])[-1][0]["value"] == "b"


def test_a_pickled_machine_behaves_like_the_original() -> None:
    """Machines travel to other processes (Ray workers) by pickle, and still run identically."""
    import pickle

    import ray.cloudpickle as cloudpickle

    from arvo_ray.machine import assign, create_machine, emit

    machine = create_machine(
        {
            "id": "shipped",
            "context": {"n": 0},
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "target": "b",
                            "actions": assign({"n": lambda a: a.context["n"] + 1}),
                        }
                    }
                },
                "b": {
                    "entry": emit(lambda a: {"type": "entered", "n": a.context["n"]}),
                    "type": "final",
                },
            },
            "output": lambda a: {"n": a.context["n"]},
        }
    )
    copy = pickle.loads(cloudpickle.dumps(machine))
    for candidate in (machine, copy):
        snapshot, _ = candidate.initial_transition()
        snapshot, emitted = candidate.transition(snapshot, {"type": "GO"})
        assert snapshot["status"] == "done"
        assert snapshot["output"] == {"n": 1}
        assert emitted == [{"type": "entered", "n": 1}]
