"""History states: shallow, deep, defaults, parallel regions, persistence (semantics point 12)."""

from __future__ import annotations

import json
from typing import Any

from .conftest import drive, logged, make, new_log


def _history_machine(kind: str) -> dict[str, Any]:
    return logged(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": {
                    "initial": "c1",
                    "on": {"OUT": "out"},
                    "states": {
                        "h": {"type": "history", "history": kind},
                        "c1": {"on": {"N": "c2"}},
                        "c2": {"initial": "d1", "states": {"d1": {"on": {"N": "d2"}}, "d2": {}}},
                    },
                },
                "out": {"on": {"BACK": "p.h"}},
            },
        }
    )


def test_should_restore_the_direct_child_with_shallow_history_then_enter_its_initial() -> None:
    """Shallow history restores ``c2``, which enters its initial ``d1`` (not ``d2``)."""
    machine = make(_history_machine("shallow"))
    steps = drive(machine, ["N", "N", "OUT", "BACK"])
    assert steps[2][0]["value"] == {"p": {"c2": "d2"}}
    out, back = steps[3][0], steps[4][0]
    assert out["historyValue"] == {"m.p.h": [{"id": "m.p.c2"}]}
    assert back["value"] == {"p": {"c2": "d1"}}
    assert new_log(out, back) == ["ex:out", "en:p", "en:c2", "en:d1"]


def test_should_restore_the_leaves_with_deep_history() -> None:
    """Deep history restores the exact leaf ``d2``."""
    machine = make(_history_machine("deep"))
    steps = drive(machine, ["N", "N", "OUT", "BACK"])
    assert steps[3][0]["historyValue"] == {"m.p.h": [{"id": "m.p.c2.d2"}]}
    assert steps[4][0]["value"] == {"p": {"c2": "d2"}}


def test_should_use_the_history_target_or_else_the_parent_initial_when_nothing_is_recorded() -> (
    None
):
    """Without a record, a history node goes to its ``target``, else to the parent's initial."""
    machine = make(
        {
            "id": "m",
            "initial": "out",
            "states": {
                "p": {
                    "initial": "c1",
                    "states": {
                        "ht": {"type": "history", "target": "c2"},
                        "hp": {"type": "history"},
                        "c1": {},
                        "c2": {},
                    },
                },
                "out": {"on": {"T": "p.ht", "P": "p.hp"}},
            },
        }
    )
    assert drive(machine, ["T"])[-1][0]["value"] == {"p": "c2"}
    assert drive(machine, ["P"])[-1][0]["value"] == {"p": "c1"}


def test_should_restore_every_region_leaf_with_deep_history_of_a_parallel_state() -> None:
    """Deep history across parallel regions restores each region's leaf."""
    machine = make(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": {
                    "type": "parallel",
                    "on": {"OUT": "out"},
                    "states": {
                        "h": {"type": "history", "history": "deep"},
                        "r1": {"initial": "a1", "states": {"a1": {"on": {"A": "a2"}}, "a2": {}}},
                        "r2": {"initial": "b1", "states": {"b1": {"on": {"B": "b2"}}, "b2": {}}},
                    },
                },
                "out": {"on": {"BACK": "p.h", "FRESH": "p"}},
            },
        }
    )
    steps = drive(machine, ["A", "B", "OUT", "BACK", "OUT", "FRESH"])
    assert steps[4][0]["value"] == {"p": {"r1": "a2", "r2": "b2"}}
    assert steps[6][0]["value"] == {"p": {"r1": "a1", "r2": "b1"}}


def test_should_keep_history_across_snapshot_persistence() -> None:
    """``historyValue`` survives a JSON round trip and is used after restoring."""
    machine = make(_history_machine("deep"))
    steps = drive(machine, ["N", "N", "OUT"])
    persisted = json.loads(json.dumps(steps[-1][0]))
    restored, _ = machine.transition(persisted, {"type": "BACK"})
    assert restored["value"] == {"p": {"c2": "d2"}}


def test_should_ignore_unknown_ids_in_a_persisted_history_like_xstate() -> None:
    """History entries naming states the machine does not have are skipped on restore."""
    machine = make(_history_machine("deep"))
    out = drive(machine, ["OUT"])[-1][0]
    tampered = {**out, "historyValue": {"m.p.h": [{"id": "m.p.gone"}]}}
    back, _ = machine.transition(tampered, {"type": "BACK"})
    assert back["value"] == {"p": "c1"}
