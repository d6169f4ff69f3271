"""Final states: done events, ``onDone``, outputs, and finishing the machine (semantics points
3, 4 and 5)."""

from __future__ import annotations

from arvo_ray.machine import assign, raise_

from .conftest import drive, log, logged, make, new_log

_inc = assign({"count": lambda a: a.context["count"] + 1})


def test_should_run_every_exit_action_root_included_when_the_machine_finishes() -> None:
    """Reaching a top-level final state exits the final state and the root."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {"a": {"on": {"END": "z"}}, "z": {"type": "final"}},
            }
        )
    )
    (start, _), (done, _) = drive(machine, ["END"])
    assert done["status"] == "done"
    assert new_log(start, done) == ["ex:a", "en:z", "ex:z", "ex:root"]


def test_should_compute_the_output_before_the_exit_actions_run() -> None:
    """Exit actions that change the context do not change the machine output."""
    machine = make(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "exit": _inc,
            "output": lambda a: {"count": a.context["count"]},
            "states": {"a": {"on": {"END": "z"}}, "z": {"type": "final", "exit": _inc}},
        }
    )
    _, (done, _) = drive(machine, ["END"])
    assert done["output"] == {"count": 0}
    assert done["context"]["count"] == 2


def test_should_use_only_the_root_output_as_machine_output() -> None:
    """A top-level final state's output is not the machine output, but the root output sees it
    as ``event["output"]`` of the done event."""
    with_root = make(
        {
            "id": "m",
            "initial": "a",
            "output": lambda a: {"from_event": a.event["output"], "type": a.event["type"]},
            "states": {"a": {"on": {"END": "z"}}, "z": {"type": "final", "output": {"own": 1}}},
        }
    )
    without_root = make(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"END": "z"}}, "z": {"type": "final", "output": {"own": 1}}},
        }
    )
    assert drive(with_root, ["END"])[-1][0]["output"] == {
        "from_event": {"own": 1},
        "type": "xstate.done.state.m.z",
    }
    assert drive(without_root, ["END"])[-1][0]["output"] is None


def test_should_deliver_a_nested_final_output_on_the_parent_done_event() -> None:
    """A final state inside a compound state delivers its output as ``event["output"]``."""
    machine = make(
        {
            "id": "m",
            "initial": "work",
            "context": {"count": 3, "got": None},
            "states": {
                "work": {
                    "initial": "w",
                    "onDone": {
                        "target": "next",
                        "actions": assign({"got": lambda a: a.event["output"]}),
                    },
                    "states": {
                        "w": {"on": {"END": "fin"}},
                        "fin": {"type": "final", "output": lambda a: {"count": a.context["count"]}},
                    },
                },
                "next": {},
            },
        }
    )
    _, (after, _) = drive(machine, ["END"])
    assert after["value"] == "next"
    assert after["context"]["got"] == {"count": 3}


def test_should_queue_raised_and_done_events_in_one_fifo_order() -> None:
    """Events raised by transition actions come before the done event queued on entry."""
    seen: list[str] = []
    machine = make(
        {
            "id": "m",
            "initial": "p",
            "on": {"*": {"actions": lambda a: seen.append(a.event["type"])}},
            "states": {
                "p": {
                    "initial": "a",
                    "onDone": {"actions": lambda a: seen.append("onDone")},
                    "states": {
                        "a": {
                            "on": {
                                "GO": {
                                    "target": "f",
                                    "actions": [raise_({"type": "R1"}), raise_({"type": "R2"})],
                                }
                            }
                        },
                        "f": {"type": "final", "entry": raise_({"type": "R3"})},
                    },
                }
            },
        }
    )
    drive(machine, ["GO"])
    assert seen == ["R1", "R2", "R3", "onDone"]


def test_should_complete_several_levels_of_done_within_one_event() -> None:
    """Inner done leads to an outer final state, whose done leads to the machine's end."""
    machine = make(
        logged(
            {
                "id": "m",
                "initial": "outer",
                "states": {
                    "outer": {
                        "initial": "inner",
                        "onDone": "end",
                        "states": {
                            "inner": {
                                "initial": "i",
                                "onDone": "outer_fin",
                                "states": {
                                    "i": {"on": {"GO": "i_fin"}},
                                    "i_fin": {"type": "final"},
                                },
                            },
                            "outer_fin": {"type": "final"},
                        },
                    },
                    "end": {"type": "final"},
                },
            }
        )
    )
    _, (done, _) = drive(machine, ["GO"])
    assert done["status"] == "done"
    assert done["value"] == "end"


def test_should_finish_when_every_region_of_a_parallel_state_is_final() -> None:
    """A parallel state is done when all its regions are in final states."""
    machine = make(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": {
                    "type": "parallel",
                    "onDone": "after",
                    "states": {
                        "r1": {
                            "initial": "a",
                            "states": {"a": {"on": {"A": "af"}}, "af": {"type": "final"}},
                        },
                        "r2": {
                            "initial": "b",
                            "states": {"b": {"on": {"B": "bf"}}, "bf": {"type": "final"}},
                        },
                    },
                },
                "after": {},
            },
        }
    )
    _, (half, _), (both, _) = drive(machine, ["A", "B"])
    assert half["value"] == {"p": {"r1": "af", "r2": "b"}}
    assert both["value"] == "after"


def test_should_ignore_events_once_done_and_return_the_same_snapshot() -> None:
    """A transition on a done machine is a no-op: same snapshot object, nothing emitted."""
    machine = make(
        {
            "id": "m",
            "initial": "z",
            "states": {"z": {"type": "final", "on": {"E": {"actions": log("x")}}}},
        }
    )
    done, _ = machine.initial_transition()
    assert done["status"] == "done"
    again, emitted = machine.transition(done, {"type": "E"})
    assert again is done
    assert emitted == []


def test_should_finish_while_starting_if_the_initial_state_is_final() -> None:
    """A machine can be done right after ``initial_transition``."""
    machine = make(
        {"id": "m", "initial": "z", "output": lambda a: "out", "states": {"z": {"type": "final"}}}
    )
    snapshot, _ = machine.initial_transition()
    assert (snapshot["status"], snapshot["output"]) == ("done", "out")


def test_should_carry_done_event_output_none_when_the_final_state_has_no_output() -> None:
    """The done event always has an ``output`` key; it is ``None`` without a final output."""
    outputs = []
    machine = make(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": {
                    "initial": "f",
                    "onDone": {
                        "actions": lambda a: outputs.append(
                            ("output" in a.event, a.event["output"])
                        )
                    },
                    "states": {"f": {"type": "final"}},
                }
            },
        }
    )
    machine.initial_transition()
    assert outputs == [(True, None)]
