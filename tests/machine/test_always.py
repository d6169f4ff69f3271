"""Eventless ``always`` transitions: guards, ordering against queued events, loops and the
loop cap (semantics points 5, 9 and 14)."""

from __future__ import annotations

import pytest

from arvo_ray.machine import MachineLoopError, assign, emit, raise_

from .conftest import drive, log, logged, make, new_log


def test_should_take_always_transitions_until_stable() -> None:
    """A chain of ``always`` transitions runs within one event."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {"on": {"GO": "b"}},
                    "b": {"always": "c"},
                    "c": {"always": {"target": "d", "actions": log("c>d")}},
                    "d": {},
                },
            }
        )
    )
    (start, _), (after, _) = drive(machine, ["GO"])
    assert after["value"] == "d"
    assert new_log(start, after) == ["ex:a", "en:b", "ex:b", "en:c", "ex:c", "c>d", "en:d"]


def test_should_run_entry_actions_before_checking_always_guards() -> None:
    """The entered state's entry actions have run when its ``always`` guards are evaluated."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "states": {
                "a": {
                    "entry": assign({"count": lambda a: a.context["count"] + 1}),
                    "always": {"guard": lambda a: a.context["count"] == 1, "target": "b"},
                },
                "b": {},
            },
        }
    )
    assert machine.initial_transition()[0]["value"] == "b"


def test_should_show_always_guards_the_event_that_started_the_step() -> None:
    """``always`` guards and actions see the triggering event, payload included."""
    seen = []
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"on": {"GO": "b"}},
                "b": {
                    "always": {
                        "guard": lambda a: a.event.get("x", 0) > 10,
                        "target": "big",
                        "actions": lambda a: seen.append(dict(a.event)),
                    }
                },
                "big": {},
            },
        }
    )
    _, (small, _) = drive(machine, [{"type": "GO", "x": 1}])
    assert small["value"] == "b"
    _, _, (big, _) = drive(machine, [{"type": "GO", "x": 1}, {"type": "OTHER", "x": 99}])
    assert big["value"] == "big"
    assert seen == [{"type": "OTHER", "x": 99}]


def test_should_see_the_init_event_while_starting() -> None:
    """While starting, ``always`` guards see ``{"type": "xstate.init", "input": ...}``."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"always": {"guard": lambda a: a.event["input"] == "go", "target": "b"}},
                "b": {},
            },
        }
    )
    assert machine.initial_transition("go")[0]["value"] == "b"
    assert machine.initial_transition("stay")[0]["value"] == "a"


def test_should_take_always_transitions_before_the_next_queued_event() -> None:
    """An ``always`` enabled by one raised event is taken before the next raised event."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "on": {
                            "GO": {
                                "target": "b",
                                "actions": [raise_({"type": "Q1"}), raise_({"type": "Q2"})],
                            }
                        }
                    },
                    "b": {"always": "c", "on": {"Q1": {"actions": log("q1 in b")}}},
                    "c": {
                        "on": {"Q1": {"actions": log("q1 in c")}, "Q2": {"actions": log("q2 in c")}}
                    },
                },
            }
        )
    )
    (start, _), (after, _) = drive(machine, ["GO"])
    assert new_log(start, after) == ["ex:a", "en:b", "ex:b", "en:c", "q1 in c", "q2 in c"]


def test_should_fire_a_targetless_emit_only_always_once_per_event() -> None:
    """An ``always`` whose actions change nothing (emit only) fires once per event."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"always": {"actions": emit({"type": "tick"})}}},
        }
    )
    steps = drive(machine, ["X", "Y"])
    assert [len(emitted) for _, emitted in steps] == [1, 1, 1]


def test_should_loop_a_targetless_always_while_its_assign_changes_the_context() -> None:
    """An ``always`` that assigns is selected again after each microstep until its guard fails."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "states": {
                "a": {
                    "always": {
                        "guard": lambda a: a.context["count"] < 5,
                        "actions": [
                            assign({"count": lambda a: a.context["count"] + 1}),
                            emit(lambda a: {"type": "n", "count": a.context["count"]}),
                        ],
                    }
                }
            },
        }
    )
    start, emitted = machine.initial_transition()
    assert start["context"]["count"] == 5
    assert [e["count"] for e in emitted] == [1, 2, 3, 4, 5]


def test_should_raise_a_clear_error_naming_the_state_when_always_loops_forever() -> None:
    """An always transition that keeps changing the context hits the cap with a clear error."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "states": {
                "a": {"always": {"actions": assign({"count": lambda a: a.context["count"] + 1})}}
            },
        },
        max_microsteps=50,
    )
    with pytest.raises(MachineLoopError) as info:
        machine.initial_transition()
    assert info.value.state_ids == ["m.a"]
    assert info.value.limit == 50
    assert "'m.a'" in str(info.value) and "50 microsteps" in str(info.value)


def test_should_cap_ping_pong_raised_events_too() -> None:
    """Raised events that keep raising each other also hit the microstep cap."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"on": {"PING": {"target": "b", "actions": raise_({"type": "PONG"})}}},
                "b": {"on": {"PONG": {"target": "a", "actions": raise_({"type": "PING"})}}},
            },
        }
    )
    start, _ = machine.initial_transition()
    with pytest.raises(MachineLoopError) as info:
        machine.transition(start, {"type": "PING"})
    assert info.value.limit == machine.max_microsteps == 100


def test_should_not_reselect_always_after_an_unchanged_self_targeting_always() -> None:
    """A self-targeting ``always`` without assign changes nothing, so it fires once."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"always": {"target": "a", "actions": emit({"type": "again"})}}},
        }
    )
    assert len(machine.initial_transition()[1]) == 1
