"""Transitions are internal by default; ``reenter`` and targets decide what exits and enters
(semantics points 1, 2 and 11)."""

from __future__ import annotations

from .conftest import drive, log, logged, make, new_log


def test_should_run_only_transition_actions_when_a_state_targets_itself() -> None:
    """A self-targeting transition neither exits nor re-enters the state."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {"a": {"on": {"SELF": {"target": "a", "actions": log("t")}}}},
            }
        )
    )
    (start, _), (after, _) = drive(machine, ["SELF"])
    assert new_log(start, after) == ["t"]
    assert after["value"] == "a"


def test_should_reenter_only_the_initial_child_when_a_compound_state_targets_itself() -> None:
    """The compound state stays entered; its active child exits and its initial child enters."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {"RESET": "p"},
                        "states": {"c1": {"on": {"NEXT": "c2"}}, "c2": {}},
                    }
                },
            }
        )
    )
    _, (moved, _), (reset, _) = drive(machine, ["NEXT", "RESET"])
    assert moved["value"] == {"p": "c2"}
    assert new_log(moved, reset) == ["ex:c2", "en:c1"]
    assert reset["value"] == {"p": "c1"}


def test_should_not_exit_a_parent_that_targets_its_own_active_child() -> None:
    """Targeting the active child from the parent exits and re-enters only that child."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "id": "p",
                        "initial": "c1",
                        "on": {"TO_C1": ".c1", "BY_ID": "#p.c2"},
                        "states": {"c1": {}, "c2": {}},
                    }
                },
            }
        )
    )
    (start, _), (same, _), (by_id, _) = drive(machine, ["TO_C1", "BY_ID"])
    assert new_log(start, same) == ["ex:c1", "en:c1"]
    assert new_log(same, by_id) == ["ex:c1", "en:c2"]


def test_should_exit_and_reenter_the_source_when_reenter_is_true() -> None:
    """``reenter: True`` exits and re-enters the source, also for a self-target."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {"RE_CHILD": {"target": ".c1", "reenter": True}},
                        "states": {"c1": {"on": {"RE": {"target": "c1", "reenter": True}}}},
                    }
                },
            }
        )
    )
    (start, _), (re_self, _), (re_child, _) = drive(machine, ["RE", "RE_CHILD"])
    assert new_log(start, re_self) == ["ex:c1", "en:c1"]
    assert new_log(re_self, re_child) == ["ex:c1", "ex:p", "en:p", "en:c1"]


def test_should_exit_and_reenter_the_root_on_a_reentering_root_transition() -> None:
    """A root transition with ``reenter: True`` runs the root's exit and entry actions."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "a",
                "on": {"RESET": {"target": ".a", "reenter": True}, "SOFT": ".a"},
                "states": {"a": {"on": {"N": "b"}}, "b": {}},
            }
        )
    )
    _, (at_b, _), (reset, _), (_, _), (soft, _) = drive(machine, ["N", "RESET", "N", "SOFT"])
    assert new_log(at_b, reset) == ["ex:b", "ex:root", "en:root", "en:a"]
    assert soft["context"]["log"][-2:] == ["ex:b", "en:a"]


def test_should_exit_and_reenter_an_ancestor_targeted_by_a_child() -> None:
    """A child targeting its ancestor exits up to and including that ancestor, then re-enters."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "id": "p",
                        "initial": "q",
                        "states": {"q": {"on": {"UP": "#p"}}},
                    }
                },
            }
        )
    )
    (start, _), (up, _) = drive(machine, ["UP"])
    assert new_log(start, up) == ["ex:q", "ex:p", "en:p", "en:q"]


def test_should_enter_ancestors_of_a_deep_target_without_their_initial_children() -> None:
    """Targeting a deep state enters the states on the way but not their initial children."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {"on": {"DEEP": "p.q.r2"}},
                    "p": {
                        "initial": "q0",
                        "states": {
                            "q0": {},
                            "q": {"initial": "r1", "states": {"r1": {}, "r2": {}}},
                        },
                    },
                },
            }
        )
    )
    (start, _), (deep, _) = drive(machine, ["DEEP"])
    assert deep["value"] == {"p": {"q": "r2"}}
    assert new_log(start, deep) == ["ex:a", "en:p", "en:q", "en:r2"]


def test_should_run_actions_of_a_targetless_transition_without_exits() -> None:
    """A transition without a target only runs its actions, and does block parent handlers."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "a",
                "on": {"E": {"actions": log("root")}},
                "states": {"a": {"on": {"E": {"actions": log("child")}, "BLOCK": {}}}},
            }
        )
    )
    (start, _), (after, _), (blocked, _) = drive(machine, ["E", "BLOCK"])
    assert new_log(start, after) == ["child"]
    assert blocked["context"] == after["context"]


def test_should_take_the_first_candidate_whose_guard_passes() -> None:
    """In an array of candidate transitions the first enabled one wins."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 1},
            "states": {
                "a": {
                    "on": {
                        "E": [
                            {"guard": lambda a: a.context["n"] > 5, "target": "big"},
                            {"guard": lambda a: a.context["n"] > 0, "target": "small"},
                            {"target": "other"},
                        ]
                    }
                },
                "big": {},
                "small": {},
                "other": {},
            },
        }
    )
    assert drive(machine, ["E"])[-1][0]["value"] == "small"


def test_should_honour_initial_transition_actions() -> None:
    """``initial`` may be ``{"target", "actions"}``; the actions run when entered by default."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": {"target": "a", "actions": log("initial-action")},
                "states": {"a": {}},
            }
        )
    )
    start, _ = machine.initial_transition()
    assert start["context"]["log"] == ["en:root", "initial-action", "en:a"]
