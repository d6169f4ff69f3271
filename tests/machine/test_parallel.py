"""Parallel states: event vs ``always`` selection, ordering, conflicts, cross-region
transitions (semantics points 6 and 7)."""

from __future__ import annotations

from typing import Any

from arvo_ray.machine import emit

from .conftest import drive, log, logged, make, new_log


def _two_regions(r1_on: dict[str, Any], r2_on: dict[str, Any], **parallel: Any) -> dict[str, Any]:
    return logged(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": {
                    "type": "parallel",
                    **parallel,
                    "states": {
                        "r1": {"initial": "a1", "states": {"a1": {"on": r1_on}, "a2": {}}},
                        "r2": {"initial": "b1", "states": {"b1": {"on": r2_on}, "b2": {}}},
                    },
                },
                "out1": {},
                "out2": {},
            },
        }
    )


def test_should_run_the_parallel_handler_only_when_no_region_takes_the_event() -> None:
    """Regions take ``E``; the parallel state's own ``E`` is skipped, its ``F`` runs."""
    machine = make(
        _two_regions(
            {"E": {"target": "a2", "actions": log("r1")}},
            {"E": {"actions": log("r2")}},
            on={"E": {"actions": log("p:E")}, "F": {"actions": log("p:F")}},
        )
    )
    (start, _), (after_e, _), (after_f, _) = drive(machine, ["E", "F"])
    assert new_log(start, after_e) == ["ex:a1", "r1", "r2", "en:a2"]
    assert new_log(after_e, after_f) == ["p:F"]


def test_should_fire_a_region_always_and_its_parallel_parent_always_in_one_step() -> None:
    """For ``always`` each active leaf walks up on its own, so both levels fire."""
    machine = make(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": {
                    "type": "parallel",
                    "always": {
                        "guard": lambda a: a.event.get("flag") is True,
                        "actions": emit({"type": "parent"}),
                    },
                    "states": {
                        "r1": {
                            "initial": "a",
                            "states": {
                                "a": {
                                    "always": {
                                        "guard": lambda a: a.event.get("flag") is True,
                                        "actions": emit({"type": "region"}),
                                    }
                                }
                            },
                        },
                        "r2": {"initial": "b", "states": {"b": {}}},
                    },
                }
            },
        }
    )
    _, (_, emitted) = drive(machine, [{"type": "PING", "flag": True}])
    assert [e["type"] for e in emitted] == ["region", "parent"]


def test_should_enter_in_document_order_and_exit_each_region_completely_in_reverse() -> None:
    """Entry follows document order; the last region exits completely before the previous."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "idle",
                "states": {
                    "idle": {"on": {"START": "p"}},
                    "p": {
                        "type": "parallel",
                        "on": {"STOP": "idle"},
                        "states": {
                            "r1": {"initial": "a", "states": {"a": {}}},
                            "r2": {"initial": "b", "states": {"b": {}}},
                        },
                    },
                },
            }
        )
    )
    (start, _), (started, _), (stopped, _) = drive(machine, ["START", "STOP"])
    assert new_log(start, started) == ["ex:idle", "en:p", "en:r1", "en:a", "en:r2", "en:b"]
    assert new_log(started, stopped) == ["ex:b", "ex:r2", "ex:a", "ex:r1", "ex:p", "en:idle"]


def test_should_let_the_first_region_win_when_region_transitions_conflict() -> None:
    """Two regions leaving the parallel state conflict; the first region's transition wins."""
    machine = make(
        _two_regions(
            {"E": {"target": "#m.out1", "actions": log("t:r1")}},
            {"E": {"target": "#m.out2", "actions": log("t:r2")}},
        )
    )
    (_, _), (after, _) = drive(machine, ["E"])
    assert after["value"] == "out1"
    assert "t:r2" not in after["context"]["log"]


def test_should_never_treat_targetless_region_transitions_as_conflicting() -> None:
    """Targetless transitions in every region all run, in region order."""
    machine = make(_two_regions({"T": {"actions": log("r1")}}, {"T": {"actions": log("r2")}}))
    (start, _), (after, _) = drive(machine, ["T"])
    assert new_log(start, after) == ["r1", "r2"]


def test_should_reenter_both_regions_but_not_the_parallel_state_on_cross_region_transition() -> (
    None
):
    """A transition from one region into a sibling region exits and re-enters both regions."""
    machine = make(_two_regions({"X": "#m.p.r2.b2"}, {}))
    (start, _), (after, _) = drive(machine, ["X"])
    assert new_log(start, after) == [
        "ex:b1",
        "ex:r2",
        "ex:a1",
        "ex:r1",
        "en:r1",
        "en:a1",
        "en:r2",
        "en:b2",
    ]
    assert after["value"] == {"p": {"r1": "a1", "r2": "b2"}}


def test_should_run_transition_actions_in_region_order() -> None:
    """When several regions take one event, their actions run in region (document) order."""
    machine = make(
        _two_regions(
            {"E": {"target": "a2", "actions": log("r1")}},
            {"E": {"target": "b2", "actions": log("r2")}},
        )
    )
    (start, _), (after, _) = drive(machine, ["E"])
    assert new_log(start, after) == ["ex:b1", "ex:a1", "r1", "r2", "en:a2", "en:b2"]


def test_should_write_atomic_regions_as_empty_dicts_in_the_value() -> None:
    """A parallel state whose regions are atomic has ``{}`` for each region, like XState."""
    machine = make({"id": "m", "type": "parallel", "states": {"r1": {}, "r2": {}}})
    start, _ = machine.initial_transition()
    assert start["value"] == {"r1": {}, "r2": {}}


def test_should_reenter_every_region_when_a_region_reenters_itself() -> None:
    """``reenter`` from a region has the parallel state as its domain, so all regions re-enter."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "states": {
                            "r1": {
                                "initial": "a",
                                "on": {"R": {"target": "r1", "reenter": True}},
                                "states": {"a": {}},
                            },
                            "r2": {"initial": "b", "states": {"b": {}}},
                        },
                    }
                },
            }
        )
    )
    (start, _), (after, _) = drive(machine, ["R"])
    assert new_log(start, after) == [
        "ex:b",
        "ex:r2",
        "ex:a",
        "ex:r1",
        "en:r1",
        "en:a",
        "en:r2",
        "en:b",
    ]
