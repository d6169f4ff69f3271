"""Differential cases: JSON machine configs plus event scripts, run through XState and Python.

Every config is plain JSON (see ``vocabulary.py`` for the shared names). Most machines are
wrapped by :func:`logged`, which prepends ``log`` entry/exit actions (``en:<state>`` /
``ex:<state>``) to every state, so the order of entries and exits is compared through
``context.log`` after every event. ``POINTS`` maps each numbered point of
``xstate-v5-semantics.md`` to the cases that exercise it.
"""

from __future__ import annotations

import copy
from typing import Any

BASE_CONTEXT: dict[str, Any] = {"count": 0, "log": [], "x": None}


def L(m: str) -> dict[str, Any]:
    """A ``log`` action appending ``m`` to ``context.log``."""
    return {"type": "log", "params": {"m": m}}


def LE(m: str) -> dict[str, Any]:
    """A ``log_event`` action appending ``m@<event type>`` to ``context.log``."""
    return {"type": "log_event", "params": {"m": m}}


def EM(tag: str) -> dict[str, Any]:
    """An ``emit_marker`` action tagged ``tag``."""
    return {"type": "emit_marker", "params": {"tag": tag}}


def RAISE(event_type: str, **data: Any) -> dict[str, Any]:
    """A ``raise`` action raising ``{"type": event_type, **data}``."""
    return {"type": "raise", "params": {"type": event_type, **data}}


def G(name: str, **params: Any) -> dict[str, Any] | str:
    """A guard reference with params."""
    return {"type": name, "params": params} if params else name


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def logged(config: dict[str, Any], name: str = "root") -> dict[str, Any]:
    """Copy ``config`` adding ``en:<key>``/``ex:<key>`` log actions to every non-history state."""
    result = copy.deepcopy(config)
    _log_state(result, name)
    result.setdefault("context", copy.deepcopy(BASE_CONTEXT))
    return result


def _log_state(state: dict[str, Any], name: str) -> None:
    if state.get("type") == "history":
        return
    state["entry"] = [L(f"en:{name}"), *_as_list(state.get("entry"))]
    state["exit"] = [L(f"ex:{name}"), *_as_list(state.get("exit"))]
    for key, child in state.get("states", {}).items():
        _log_state(child, key)


def case(name: str, machine: dict[str, Any], events: list[Any], **extra: Any) -> dict[str, Any]:
    """One differential case; events may be given as plain type strings."""
    script = [{"type": e} if isinstance(e, str) else e for e in events]
    return {"name": name, "machine": machine, "events": script, **extra}


CASES: list[dict[str, Any]] = [
    case(
        "flat_basic_finish_with_output",
        logged(
            {
                "id": "m",
                "initial": "a",
                "output": {"$fn": "ctx"},
                "states": {
                    "a": {"on": {"GO": {"target": "b", "actions": ["inc", L("t:a>b")]}}},
                    "b": {"on": {"GO": "c", "BACK": "a"}},
                    "c": {"type": "final"},
                },
            }
        ),
        ["NOPE", "GO", "BACK", "GO", "GO", "GO", "AFTER_DONE"],
    ),
    case(
        "self_target_is_internal",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "on": {
                            "SELF": {"target": "a", "actions": ["inc", L("t:self")]},
                            "SELF_ID": {"target": "#m.a", "actions": L("t:self_id")},
                        }
                    }
                },
            }
        ),
        ["SELF", "SELF_ID", "SELF"],
    ),
    case(
        "compound_self_target_reenters_initial_child_only",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {
                            "RESET": {"target": "p", "actions": L("t:reset")},
                            "RESET_ID": "#m.p",
                        },
                        "states": {"c1": {"on": {"NEXT": "c2"}}, "c2": {}},
                    }
                },
            }
        ),
        ["NEXT", "RESET", "NEXT", "RESET_ID", "RESET"],
    ),
    case(
        "parent_targets_own_child",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {"TO_C1": ".c1", "TO_C2": {"target": ".c2", "actions": L("t:c2")}},
                        "states": {
                            "c1": {},
                            "c2": {"initial": "d1", "states": {"d1": {}, "d2": {}}},
                        },
                    }
                },
            }
        ),
        ["TO_C1", "TO_C2", "TO_C2", "TO_C1"],
    ),
    case(
        "reenter_true_exits_and_reenters_source",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {
                            "RE_CHILD": {"target": ".c1", "reenter": True},
                            "RE_SELF": {"target": "p", "reenter": True},
                        },
                        "states": {
                            "c1": {"on": {"RE": {"target": "c1", "reenter": True}, "N": "c2"}},
                            "c2": {},
                        },
                    }
                },
            }
        ),
        ["RE", "N", "RE_CHILD", "N", "RE_SELF"],
    ),
    case(
        "root_transitions_with_and_without_reenter",
        logged(
            {
                "id": "m",
                "initial": "a",
                "on": {
                    "RESET": {"target": ".a", "reenter": True},
                    "SOFT": ".a",
                    "ROOT_SELF": {"target": "#m", "actions": L("t:root_self")},
                    "ROOT_SELF_RE": {"target": "#m", "reenter": True},
                },
                "states": {"a": {"on": {"N": "b"}}, "b": {}},
            }
        ),
        ["N", "RESET", "N", "SOFT", "ROOT_SELF", "N", "ROOT_SELF_RE", "SOFT"],
    ),
    case(
        "child_targeting_ancestor_exits_and_reenters_it",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "id": "p",
                        "initial": "q",
                        "states": {
                            "q": {
                                "initial": "r1",
                                "states": {
                                    "r1": {"on": {"N": "r2"}},
                                    "r2": {"on": {"UP": "#p", "UPQ": "#m.p.q", "ROOT": "#m"}},
                                },
                            }
                        },
                    }
                },
            }
        ),
        ["N", "UP", "N", "UPQ", "N", "ROOT"],
    ),
    case(
        "finishing_runs_all_exits_with_output_computed_first",
        logged(
            {
                "id": "m",
                "initial": "p",
                "output": {"$fn": "ctx"},
                "exit": ["inc"],
                "states": {
                    "p": {
                        "initial": "a",
                        "states": {"a": {"on": {"FINISH": "#m.done"}}},
                    },
                    "done": {"type": "final", "exit": ["inc", EM("final_exit")]},
                },
            }
        ),
        ["FINISH", "FINISH"],
    ),
    case(
        "only_root_output_is_machine_output",
        logged(
            {
                "id": "m",
                "initial": "work",
                "output": {"$fn": "done_event"},
                "states": {
                    "work": {
                        "initial": "w1",
                        "onDone": {"target": "end", "actions": ["capture_output", L("t:onDone")]},
                        "states": {
                            "w1": {"on": {"N": "w2"}},
                            "w2": {"type": "final", "output": {"$fn": "count_only"}},
                        },
                    },
                    "end": {"type": "final", "output": {"nested": "ignored-as-machine-output"}},
                },
            }
        ),
        ["N"],
    ),
    case(
        "top_level_final_output_without_root_output",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {"on": {"N": "end"}},
                    "end": {"type": "final", "output": {"$fn": "ctx"}},
                },
            }
        ),
        ["N"],
    ),
    case(
        "raised_and_done_events_share_one_fifo_queue",
        logged(
            {
                "id": "m",
                "initial": "p",
                "on": {"*": {"actions": LE("root_any")}},
                "states": {
                    "p": {
                        "initial": "a",
                        "onDone": {"actions": LE("p_done")},
                        "on": {
                            "R1": {"actions": LE("p_r1")},
                            "R2": {"actions": LE("p_r2")},
                            "x": {"actions": LE("p_x")},
                        },
                        "states": {
                            "a": {
                                "on": {
                                    "GO": {
                                        "target": "fin",
                                        "actions": [RAISE("R1"), "raise_x", RAISE("R2")],
                                    }
                                }
                            },
                            "fin": {"type": "final", "entry": RAISE("R3")},
                        },
                    }
                },
            }
        ),
        ["GO", "R1"],
    ),
    case(
        "always_runs_before_next_queued_event",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "on": {
                            "GO": {
                                "target": "b",
                                "actions": [RAISE("Q1"), RAISE("Q2")],
                            }
                        }
                    },
                    "b": {
                        "always": {"target": "c", "actions": LE("always_b")},
                        "on": {"Q1": {"actions": LE("q1_in_b")}},
                    },
                    "c": {
                        "on": {
                            "Q1": {"target": "d", "actions": LE("q1_in_c")},
                            "Q2": {"actions": LE("q2_in_c")},
                        }
                    },
                    "d": {
                        "always": {"guard": "count_lt_3", "actions": ["inc", LE("d_loop")]},
                        "on": {"Q2": {"actions": LE("q2_in_d")}},
                    },
                },
            }
        ),
        ["GO"],
    ),
    case(
        "raised_event_sees_updated_context",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "on": {
                            "GO": {"actions": [RAISE("CHECK"), "inc", "inc"]},
                            "CHECK": [
                                {"guard": G("count_eq", n=2), "target": "two"},
                                {"target": "other"},
                            ],
                        }
                    },
                    "two": {},
                    "other": {},
                },
            }
        ),
        ["GO"],
    ),
    case(
        "several_levels_of_done_in_one_event",
        logged(
            {
                "id": "m",
                "initial": "outer",
                "output": {"$fn": "done_event"},
                "states": {
                    "outer": {
                        "initial": "inner",
                        "onDone": {
                            "target": "finished",
                            "actions": ["capture_output", LE("outer_done")],
                        },
                        "states": {
                            "inner": {
                                "initial": "i1",
                                "onDone": {"target": "inner_fin", "actions": LE("inner_done")},
                                "states": {
                                    "i1": {"on": {"GO": "i_fin"}},
                                    "i_fin": {"type": "final", "output": {"level": "inner"}},
                                },
                            },
                            "inner_fin": {"type": "final", "output": {"$fn": "ctx"}},
                        },
                    },
                    "finished": {"type": "final"},
                },
            }
        ),
        ["GO"],
    ),
    case(
        "parallel_parent_handler_only_when_no_region_handles",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "on": {
                            "E": {"actions": L("t:p_E")},
                            "F": {"actions": L("t:p_F")},
                            "ONLY_R1": {"actions": L("t:p_only_r1")},
                        },
                        "states": {
                            "r1": {
                                "initial": "a1",
                                "states": {
                                    "a1": {
                                        "on": {
                                            "E": {"target": "a2", "actions": L("t:r1_E")},
                                            "ONLY_R1": {"actions": L("t:r1_only")},
                                        }
                                    },
                                    "a2": {"on": {"E": "a1"}},
                                },
                            },
                            "r2": {
                                "initial": "b1",
                                "states": {
                                    "b1": {"on": {"E": {"target": "b2", "actions": L("t:r2_E")}}},
                                    "b2": {},
                                },
                            },
                        },
                    }
                },
            }
        ),
        ["E", "F", "ONLY_R1", "E"],
    ),
    case(
        "parallel_region_and_parent_always_fire_in_same_step",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "always": {"guard": "event_flag", "actions": EM("p_always")},
                        "states": {
                            "r1": {
                                "initial": "a1",
                                "states": {
                                    "a1": {
                                        "always": {
                                            "guard": "event_flag",
                                            "actions": EM("a1_always"),
                                        }
                                    }
                                },
                            },
                            "r2": {
                                "initial": "b1",
                                "always": {"guard": "event_flag", "actions": EM("r2_always")},
                                "states": {"b1": {}},
                            },
                        },
                    }
                },
            }
        ),
        [{"type": "PING", "flag": True}, {"type": "PING", "flag": False}],
    ),
    case(
        "parallel_entry_and_exit_order",
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
                            "r1": {
                                "initial": "a",
                                "states": {
                                    "a": {"initial": "a1", "states": {"a1": {}, "a2": {}}},
                                },
                            },
                            "r2": {
                                "type": "parallel",
                                "states": {
                                    "s1": {"initial": "x", "states": {"x": {}}},
                                    "s2": {},
                                },
                            },
                            "r3": {"initial": "c", "states": {"c": {}}},
                        },
                    },
                },
            }
        ),
        ["START", "STOP", "START"],
    ),
    case(
        "conflicting_region_transitions_first_region_wins",
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
                                "states": {
                                    "a": {
                                        "on": {
                                            "E": {"target": "#m.out1", "actions": L("t:r1")},
                                            "T": {"actions": L("t:r1_targetless")},
                                        }
                                    }
                                },
                            },
                            "r2": {
                                "initial": "b",
                                "states": {
                                    "b": {
                                        "on": {
                                            "E": {"target": "#m.out2", "actions": L("t:r2")},
                                            "T": {"actions": L("t:r2_targetless")},
                                        }
                                    }
                                },
                            },
                        },
                    },
                    "out1": {},
                    "out2": {},
                },
            }
        ),
        ["T", "E"],
    ),
    case(
        "cross_region_transition_reenters_both_regions_not_parallel",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "states": {
                            "r1": {
                                "initial": "a1",
                                "states": {
                                    "a1": {
                                        "on": {"X": {"target": "#m.p.r2.b2", "actions": L("t:x")}}
                                    },
                                    "a2": {},
                                },
                            },
                            "r2": {"initial": "b1", "states": {"b1": {}, "b2": {}}},
                        },
                    }
                },
            }
        ),
        ["X"],
    ),
    case(
        "wildcard_priority",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "s",
                        "on": {"exact.parent": {"actions": L("parent_exact")}},
                        "states": {
                            "s": {
                                "on": {
                                    "*": {"actions": LE("star")},
                                    "mouse.*": {"actions": LE("mouse_star")},
                                    "mouse.click.*": {"actions": LE("mouse_click_star")},
                                    "mouse.click": {
                                        "guard": "event_flag",
                                        "actions": LE("exact_click"),
                                    },
                                }
                            }
                        },
                    }
                },
            }
        ),
        [
            "mouse",
            {"type": "mouse.click", "flag": True},
            {"type": "mouse.click", "flag": False},
            "mouse.click.left",
            "mousepad",
            "other",
            "exact.parent",
        ],
    ),
    case(
        "always_guards_see_the_triggering_event",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "on": {"GO": {"target": "b", "actions": "set_from_event"}},
                    },
                    "b": {
                        "entry": "inc",
                        "always": [
                            {"guard": G("event_x_gt", n=10), "target": "big", "actions": LE("big")},
                            {"guard": "is_positive", "target": "small", "actions": LE("small")},
                        ],
                    },
                    "big": {"always": {"guard": "event_flag", "target": "flagged"}},
                    "small": {"on": {"AGAIN": "a"}},
                    "flagged": {},
                },
            }
        ),
        [
            {"type": "GO", "x": 3},
            "AGAIN",
            {"type": "GO", "x": 30},
            {"type": "NOTHING", "flag": True},
        ],
    ),
    case(
        "emit_order_and_start_emits",
        logged(
            {
                "id": "m",
                "initial": "a",
                "entry": EM("root_entry"),
                "states": {
                    "a": {
                        "entry": ["inc", EM("a_entry")],
                        "exit": ["inc", EM("a_exit")],
                        "on": {"GO": {"target": "b", "actions": ["inc", EM("transition")]}},
                    },
                    "b": {
                        "entry": ["inc", EM("b_entry")],
                        "always": {"guard": "count_lt_3", "actions": EM("never")},
                        "on": {"PING": {"actions": EM("ping")}},
                    },
                },
            }
        ),
        ["GO", "PING"],
    ),
    case(
        "deep_target_enters_ancestors_without_their_initials",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {"on": {"DEEP": "#m.p.q.r2", "DEEP_SIB": "p.q2.s2"}},
                    "p": {
                        "initial": "q0",
                        "on": {"BACK": "a"},
                        "states": {
                            "q0": {},
                            "q": {"initial": "r1", "states": {"r1": {}, "r2": {}}},
                            "q2": {"initial": "s1", "states": {"s1": {}, "s2": {}}},
                        },
                    },
                },
            }
        ),
        ["DEEP", "BACK", "DEEP_SIB"],
    ),
    case(
        "shallow_history_restores_direct_child_then_its_initial",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {"OUT": "out"},
                        "states": {
                            "h": {"type": "history", "history": "shallow"},
                            "c1": {"on": {"N": "c2"}},
                            "c2": {
                                "initial": "d1",
                                "states": {"d1": {"on": {"N": "d2"}}, "d2": {}},
                            },
                        },
                    },
                    "out": {"on": {"BACK": "p.h", "PLAIN": "p"}},
                },
            }
        ),
        ["N", "N", "OUT", "BACK", "OUT", "PLAIN"],
    ),
    case(
        "deep_history_restores_leaves",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {"OUT": "out"},
                        "states": {
                            "h": {"type": "history", "history": "deep"},
                            "c1": {"on": {"N": "c2"}},
                            "c2": {
                                "initial": "d1",
                                "states": {"d1": {"on": {"N": "d2"}}, "d2": {}},
                            },
                        },
                    },
                    "out": {"on": {"BACK": "#m.p.h"}},
                },
            }
        ),
        ["N", "N", "OUT", "BACK", "OUT", "BACK"],
    ),
    case(
        "history_defaults_without_record",
        logged(
            {
                "id": "m",
                "initial": "out",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {"OUT": "out"},
                        "states": {
                            "h_target": {"type": "history", "target": "c2"},
                            "h_plain": {"type": "history"},
                            "c1": {},
                            "c2": {"initial": "d1", "states": {"d1": {}, "d2": {}}},
                        },
                    },
                    "out": {"on": {"WITH_TARGET": "p.h_target", "PLAIN": "p.h_plain"}},
                },
            }
        ),
        ["PLAIN", "OUT", "WITH_TARGET"],
    ),
    case(
        "deep_history_across_parallel_regions",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "on": {"OUT": "out"},
                        "states": {
                            "h": {"type": "history", "history": "deep"},
                            "r1": {
                                "initial": "a1",
                                "states": {
                                    "a1": {"on": {"A": "a2"}},
                                    "a2": {
                                        "initial": "x1",
                                        "states": {"x1": {"on": {"X": "x2"}}, "x2": {}},
                                    },
                                },
                            },
                            "r2": {
                                "initial": "b1",
                                "states": {"b1": {"on": {"B": "b2"}}, "b2": {}},
                            },
                        },
                    },
                    "out": {"on": {"BACK": "p.h", "FRESH": "p"}},
                },
            }
        ),
        ["A", "X", "B", "OUT", "BACK", "OUT", "FRESH"],
    ),
    case(
        "shallow_history_of_parallel_and_nested_compound",
        logged(
            {
                "id": "m",
                "initial": "outer",
                "states": {
                    "outer": {
                        "initial": "p",
                        "on": {"OUT": "out"},
                        "states": {
                            "h": {"type": "history"},
                            "first": {},
                            "p": {
                                "type": "parallel",
                                "states": {
                                    "r1": {
                                        "initial": "a1",
                                        "states": {"a1": {"on": {"A": "a2"}}, "a2": {}},
                                    },
                                    "r2": {"initial": "b1", "states": {"b1": {}}},
                                },
                            },
                        },
                    },
                    "out": {"on": {"BACK": "outer.h"}},
                },
            }
        ),
        ["A", "OUT", "BACK"],
    ),
    case(
        "targetless_always_that_only_emits_fires_once_per_event",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "always": {"actions": EM("always")},
                        "on": {"PING": {"actions": L("ping")}, "NOTHING_MATCHES_THIS": {}},
                    }
                },
            }
        ),
        ["PING", "UNKNOWN", "PING"],
    ),
    case(
        "targetless_always_with_assign_loops_until_guard_false",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "always": {"guard": G("count_lt", n=7), "actions": ["inc", EM("loop")]},
                        "on": {"RESET": {"actions": {"type": "add", "params": {"n": -5}}}},
                    }
                },
            }
        ),
        ["RESET"],
    ),
    case(
        "guard_combinators_and_state_in",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "states": {
                            "mode": {
                                "initial": "off",
                                "states": {
                                    "off": {"on": {"TOGGLE": "on"}},
                                    "on": {"id": "mode_on", "on": {"TOGGLE": "off"}},
                                },
                            },
                            "work": {
                                "initial": "w",
                                "states": {
                                    "w": {
                                        "on": {
                                            "TRY": [
                                                {
                                                    "guard": {
                                                        "$and": [
                                                            {"$stateIn": "#mode_on"},
                                                            "event_flag",
                                                        ]
                                                    },
                                                    "actions": L("and"),
                                                },
                                                {
                                                    "guard": {
                                                        "$or": [
                                                            "always_false",
                                                            {"$not": "is_positive"},
                                                        ]
                                                    },
                                                    "actions": ["inc", L("or_not")],
                                                },
                                                {
                                                    "guard": {"$stateIn": {"p": {"mode": "off"}}},
                                                    "actions": L("state_in_value"),
                                                },
                                                {"actions": L("fallback")},
                                            ]
                                        }
                                    }
                                },
                            },
                        },
                    }
                },
            }
        ),
        ["TRY", "TRY", "TOGGLE", {"type": "TRY", "flag": True}, "TRY"],
    ),
    case(
        "first_enabled_candidate_wins",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "on": {
                            "E": [
                                {"guard": "always_false", "target": "never"},
                                {"guard": "is_positive", "target": "pos"},
                                {"target": "a", "actions": ["inc", L("fallback")]},
                            ]
                        }
                    },
                    "pos": {},
                    "never": {},
                },
            }
        ),
        ["E", "E"],
    ),
    case(
        "context_from_input",
        logged(
            {
                "id": "m",
                "initial": "a",
                "context": {"$fn": "from_input"},
                "output": {"$fn": "ctx"},
                "states": {
                    "a": {
                        "entry": "inc",
                        "always": {"guard": G("count_eq", n=42), "target": "done"},
                    },
                    "done": {"type": "final"},
                },
            }
        )
        | {"context": {"$fn": "from_input"}},
        [],
        input={"start": 41},
    ),
    case(
        "parallel_state_done_when_all_regions_final",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "onDone": {"target": "after", "actions": ["capture_output", LE("p_done")]},
                        "states": {
                            "r1": {
                                "initial": "a",
                                "onDone": {"actions": ["capture_output", LE("r1_done")]},
                                "states": {
                                    "a": {"on": {"A": "af"}},
                                    "af": {"type": "final", "output": {"r": 1}},
                                },
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
        ),
        ["A", "B"],
    ),
    case(
        "parallel_root_finishes_machine",
        logged(
            {
                "id": "m",
                "type": "parallel",
                "output": {"$fn": "done_event"},
                "states": {
                    "r1": {
                        "initial": "a",
                        "states": {"a": {"on": {"A": "af"}}, "af": {"type": "final"}},
                    },
                    "r2": {
                        "initial": "b",
                        "states": {"b": {"on": {"B": "bf"}}, "bf": {"type": "final"}},
                    },
                    "r3": {
                        "initial": "c",
                        "states": {"c": {"on": {"B": "cf"}}, "cf": {"type": "final"}},
                    },
                },
            }
        ),
        ["A", "B", "A"],
    ),
    case(
        "initial_transition_actions",
        logged(
            {
                "id": "m",
                "initial": {"target": "p", "actions": [L("root_initial_action")]},
                "states": {
                    "p": {
                        "initial": {"target": "c", "actions": [L("p_initial_action"), "inc"]},
                        "states": {"c": {"on": {"OUT": "#m.q", "IN": "#m.p"}}},
                    },
                    "q": {"on": {"BACK": "p", "DEEP": "p.c"}},
                },
            }
        ),
        ["OUT", "BACK", "OUT", "DEEP", "IN"],
    ),
    case(
        "reentering_a_region_reenters_every_region",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "states": {
                            "r1": {
                                "initial": "a1",
                                "on": {"R": {"target": "r1", "reenter": True}},
                                "states": {"a1": {"on": {"G": {"actions": L("g:r1")}}}},
                            },
                            "r2": {
                                "initial": "b1",
                                "states": {"b1": {"on": {"G": {"actions": L("g:r2")}}}},
                            },
                        },
                    }
                },
            }
        ),
        ["G", "R", "G"],
    ),
    case(
        "always_region_order_follows_active_node_order",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "states": {
                            "r1": {
                                "initial": "a1",
                                "states": {
                                    "a1": {"on": {"E": "a2"}},
                                    "a2": {
                                        "always": {
                                            "guard": "event_flag",
                                            "actions": EM("r1_always"),
                                        }
                                    },
                                },
                            },
                            "r2": {
                                "initial": "b1",
                                "states": {
                                    "b1": {
                                        "always": {
                                            "guard": "event_flag",
                                            "actions": EM("r2_always"),
                                        }
                                    }
                                },
                            },
                        },
                    }
                },
            }
        ),
        [{"type": "E", "flag": True}, {"type": "PING", "flag": True}],
    ),
    case(
        "multiple_targets_into_parallel_regions",
        logged(
            {
                "id": "m",
                "initial": "idle",
                "states": {
                    "idle": {"on": {"GO": ["#m.p.r1.a2", "#m.p.r2.b2"], "HALF": "p.r2.b2"}},
                    "p": {
                        "type": "parallel",
                        "on": {"STOP": "idle"},
                        "states": {
                            "r1": {"initial": "a1", "states": {"a1": {}, "a2": {}}},
                            "r2": {"initial": "b1", "states": {"b1": {}, "b2": {}}},
                        },
                    },
                },
            }
        ),
        ["GO", "STOP", "HALF"],
    ),
    case(
        "atomic_parallel_regions_have_empty_values",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "on": {"E": {"actions": L("p_E")}, "OUT": "q"},
                        "states": {
                            "r1": {"on": {"E": {"actions": L("r1_E")}}},
                            "r2": {},
                        },
                    },
                    "q": {"on": {"BACK": "p"}},
                },
            }
        ),
        ["E", "OUT", "BACK", "E"],
    ),
    case(
        "nested_parallel_inside_compound_inside_parallel",
        logged(
            {
                "id": "m",
                "type": "parallel",
                "states": {
                    "left": {
                        "initial": "c",
                        "states": {
                            "c": {
                                "type": "parallel",
                                "states": {
                                    "x": {
                                        "initial": "x1",
                                        "states": {
                                            "x1": {"on": {"E": "x2"}},
                                            "x2": {"type": "final"},
                                        },
                                    },
                                    "y": {
                                        "initial": "y1",
                                        "states": {
                                            "y1": {"on": {"F": "y2"}},
                                            "y2": {"type": "final"},
                                        },
                                    },
                                },
                                "onDone": {"target": "d", "actions": LE("c_done")},
                            },
                            "d": {"on": {"E": "c"}},
                        },
                    },
                    "right": {
                        "initial": "r",
                        "states": {"r": {"on": {"E": {"actions": L("right_E")}}}},
                    },
                },
            }
        ),
        ["E", "F", "E"],
    ),
    case(
        "event_payload_in_guards_and_assign",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "on": {
                            "SET": [
                                {
                                    "guard": G("event_x_gt", n=5),
                                    "target": "big",
                                    "actions": "set_from_event",
                                },
                                {"actions": ["set_from_event", "inc"]},
                            ]
                        }
                    },
                    "big": {"on": {"SET": {"target": "a", "actions": "set_from_event"}}},
                },
            }
        ),
        [{"type": "SET", "x": 1}, {"type": "SET", "x": 9}, {"type": "SET", "x": "str"}],
    ),
    case(
        "raised_event_chain_across_states",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {"on": {"GO": {"target": "b", "actions": RAISE("STEP", n=1)}}},
                    "b": {"on": {"STEP": {"target": "c", "actions": ["inc", RAISE("STEP", n=2)]}}},
                    "c": {"on": {"STEP": {"target": "d", "actions": ["inc", RAISE("STEP", n=3)]}}},
                    "d": {
                        "entry": RAISE("FINAL"),
                        "on": {"FINAL": "e", "STEP": {"actions": LE("late_step")}},
                    },
                    "e": {"type": "final"},
                },
            }
        ),
        ["GO"],
    ),
    case(
        "root_always_and_blocking_forbidden_transition",
        logged(
            {
                "id": "m",
                "initial": "a",
                "always": {
                    "guard": {"$and": [G("count_eq", n=2), {"$not": {"$stateIn": "#m.stopped"}}]},
                    "target": ".stopped",
                    "actions": L("root_always"),
                },
                "on": {"BUMP": {"actions": "inc"}},
                "states": {
                    "a": {"on": {"N": "b"}},
                    "b": {"on": {"BUMP": {}}},
                    "stopped": {},
                },
            }
        ),
        ["BUMP", "N", "BUMP", "BUMP", "BUMP"],
    ),
    case(
        "final_state_wildcard_swallows_parent_done_event",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "a",
                        "onDone": {"target": "after", "actions": LE("p_onDone")},
                        "states": {
                            "a": {"on": {"GO": "f"}},
                            "f": {"type": "final", "on": {"*": {"actions": LE("final_star")}}},
                        },
                    },
                    "after": {},
                },
            }
        ),
        ["GO", "ANY"],
    ),
    case(
        "wildcard_in_child_beats_exact_in_parent",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c",
                        "on": {"E": {"target": "q", "actions": L("parent_E")}},
                        "states": {
                            "c": {
                                "on": {
                                    "*": {
                                        "guard": G("count_lt", n=1),
                                        "actions": ["inc", LE("child_star")],
                                    }
                                }
                            }
                        },
                    },
                    "q": {},
                },
            }
        ),
        ["E", "E"],
    ),
    case(
        "event_typed_star_matches_only_star_handlers",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {
                        "on": {
                            "*": {"actions": ["inc", LE("star")]},
                            "a.*": {"actions": LE("a_star")},
                        }
                    }
                },
            }
        ),
        ["E", "*", "a"],
    ),
    case(
        "done_machine_ignores_events",
        logged(
            {
                "id": "m",
                "initial": "a",
                "output": {"$fn": "count_only"},
                "states": {"a": {"entry": "inc", "always": "f"}, "f": {"type": "final"}},
            }
        ),
        ["ANY", "ANY"],
    ),
    case(
        "always_chain_through_several_states_and_reenter_always",
        logged(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {"on": {"GO": "b"}},
                    "b": {"always": {"target": "c", "actions": "inc"}},
                    "c": {
                        "always": [
                            {
                                "guard": G("count_lt", n=4),
                                "target": "c",
                                "reenter": True,
                                "actions": "inc",
                            },
                            {"target": "d"},
                        ]
                    },
                    "d": {},
                },
            }
        ),
        ["GO"],
    ),
    case(
        "transition_from_parallel_region_to_outside_and_back",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "states": {
                            "r1": {
                                "initial": "a1",
                                "states": {"a1": {"on": {"LEAVE": "#m.out", "N": "a2"}}, "a2": {}},
                            },
                            "r2": {
                                "initial": "b1",
                                "states": {
                                    "b1": {"on": {"N": "b2"}},
                                    "b2": {"on": {"LEAVE": {"actions": L("r2_leave")}}},
                                },
                            },
                        },
                    },
                    "out": {"on": {"BACK": "#m.p.r2.b2"}},
                },
            }
        ),
        ["N", "LEAVE", "BACK", "LEAVE"],
    ),
    case(
        "history_in_parallel_without_record_enters_the_parallel_state",
        logged(
            {
                "id": "m",
                "initial": "out",
                "states": {
                    "p": {
                        "type": "parallel",
                        "on": {"OUT": "out"},
                        "states": {
                            "h": {"type": "history"},
                            "r1": {
                                "initial": "a1",
                                "states": {"a1": {"on": {"A": "a2"}}, "a2": {}},
                            },
                            "r2": {"initial": "b1", "states": {"b1": {}}},
                        },
                    },
                    "out": {"on": {"GO": "p.h"}},
                },
            }
        ),
        ["GO", "A", "OUT", "GO"],
    ),
    case(
        "shallow_history_directly_in_a_parallel_state",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "on": {"OUT": "out"},
                        "states": {
                            "h": {"type": "history", "history": "shallow"},
                            "r1": {
                                "initial": "a1",
                                "states": {
                                    "a1": {"on": {"A": "a2.x2"}},
                                    "a2": {"initial": "x1", "states": {"x1": {}, "x2": {}}},
                                },
                            },
                            "r2": {
                                "initial": "b1",
                                "states": {"b1": {"on": {"B": "b2"}}, "b2": {}},
                            },
                        },
                    },
                    "out": {"on": {"BACK": "p.h"}},
                },
            }
        ),
        ["A", "B", "OUT", "BACK"],
    ),
    case(
        "sibling_targeting_own_history_node",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "initial": "c1",
                        "on": {"OUT": "out"},
                        "states": {
                            "h": {"type": "history", "history": "deep"},
                            "c1": {"on": {"N": "c2", "H": "h"}},
                            "c2": {
                                "initial": "d1",
                                "on": {"H": "h", "HR": {"target": "h", "reenter": True}},
                                "states": {"d1": {"on": {"N": "d2"}}, "d2": {}},
                            },
                        },
                    },
                    "out": {"on": {"BACK": ["p.h"]}},
                },
            }
        ),
        ["H", "N", "N", "H", "OUT", "BACK", "HR", "OUT", "BACK", "H"],
    ),
    case(
        "parallel_parent_always_reached_from_several_leaves_fires_once",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "always": [
                            {
                                "guard": "event_flag",
                                "target": "#m.out",
                                "actions": L("p_always_out"),
                            },
                            {"actions": EM("p_always")},
                        ],
                        "states": {
                            "r1": {"initial": "a", "states": {"a": {}}},
                            "r2": {"initial": "b", "states": {"b": {}}},
                            "r3": {
                                "initial": "c",
                                "states": {
                                    "c": {
                                        "always": {
                                            "guard": "event_flag",
                                            "target": "c2",
                                            "actions": L("r3_always"),
                                        }
                                    },
                                    "c2": {},
                                },
                            },
                        },
                    },
                    "out": {},
                },
            }
        ),
        ["PING", {"type": "PING", "flag": True}],
    ),
    case(
        "final_state_directly_in_a_parallel_state",
        logged(
            {
                "id": "m",
                "initial": "p",
                "output": {"$fn": "done_event"},
                "states": {
                    "p": {
                        "type": "parallel",
                        "onDone": {"target": "end", "actions": LE("p_done")},
                        "states": {
                            "r1": {"type": "final"},
                            "r2": {
                                "initial": "b",
                                "states": {"b": {"on": {"B": "bf"}}, "bf": {"type": "final"}},
                            },
                        },
                    },
                    "end": {"type": "final", "output": {"$fn": "ctx"}},
                },
            }
        ),
        ["B"],
    ),
    case(
        "events_raised_while_finishing_are_dropped",
        logged(
            {
                "id": "m",
                "initial": "a",
                "exit": [RAISE("FROM_ROOT_EXIT"), EM("root_exit")],
                "on": {"*": {"actions": LE("root_star")}},
                "states": {
                    "a": {"on": {"GO": {"target": "z", "actions": RAISE("BEFORE")}}},
                    "z": {"type": "final", "entry": [RAISE("FROM_FINAL"), EM("final_entry")]},
                },
            }
        ),
        ["GO"],
    ),
    case(
        "compound_and_parallel_done_in_one_entry",
        logged(
            {
                "id": "m",
                "initial": "p",
                "states": {
                    "p": {
                        "type": "parallel",
                        "onDone": {"target": "after", "actions": ["capture_output", LE("p_done")]},
                        "states": {
                            "r1": {
                                "initial": "a",
                                "onDone": {"actions": ["capture_output", LE("r1_done")]},
                                "states": {
                                    "a": {"on": {"GO": "af"}},
                                    "af": {"type": "final", "output": {"r": 1}},
                                },
                            },
                            "r2": {
                                "initial": "b",
                                "onDone": {"actions": LE("r2_done")},
                                "states": {"b": {"on": {"GO": "bf"}}, "bf": {"type": "final"}},
                            },
                        },
                    },
                    "after": {},
                },
            }
        ),
        ["GO"],
    ),
    case(
        "event_bubbles_past_compound_parents_to_the_root",
        logged(
            {
                "id": "m",
                "initial": "p",
                "on": {
                    "E": {"target": ".q", "actions": L("root_E")},
                    "F": {"actions": L("root_F")},
                },
                "states": {
                    "p": {
                        "initial": "c",
                        "on": {"E": {"guard": "always_false", "target": "q"}},
                        "states": {
                            "c": {
                                "initial": "d",
                                "on": {"F": {"guard": "is_positive", "actions": L("c_F")}},
                                "states": {
                                    "d": {"on": {"E": {"guard": "always_false", "actions": "inc"}}}
                                },
                            }
                        },
                    },
                    "q": {"on": {"BACK": {"target": "p", "actions": "inc"}}},
                },
            }
        ),
        ["F", "E", "BACK", "F"],
    ),
]

#: Which cases exercise each numbered point of xstate-v5-semantics.md.
POINTS: dict[int, list[str]] = {
    1: [
        "self_target_is_internal",
        "compound_self_target_reenters_initial_child_only",
        "parent_targets_own_child",
        "reenter_true_exits_and_reenters_source",
        "root_transitions_with_and_without_reenter",
    ],
    2: ["child_targeting_ancestor_exits_and_reenters_it"],
    3: ["finishing_runs_all_exits_with_output_computed_first", "flat_basic_finish_with_output"],
    4: ["only_root_output_is_machine_output", "top_level_final_output_without_root_output"],
    5: [
        "raised_and_done_events_share_one_fifo_queue",
        "always_runs_before_next_queued_event",
        "raised_event_sees_updated_context",
        "several_levels_of_done_in_one_event",
    ],
    6: [
        "parallel_parent_handler_only_when_no_region_handles",
        "parallel_region_and_parent_always_fire_in_same_step",
        "parallel_parent_always_reached_from_several_leaves_fires_once",
    ],
    7: [
        "parallel_entry_and_exit_order",
        "conflicting_region_transitions_first_region_wins",
        "cross_region_transition_reenters_both_regions_not_parallel",
    ],
    8: ["wildcard_priority", "wildcard_in_child_beats_exact_in_parent"],
    9: [
        "always_guards_see_the_triggering_event",
        "targetless_always_with_assign_loops_until_guard_false",
    ],
    10: ["emit_order_and_start_emits"],
    11: ["deep_target_enters_ancestors_without_their_initials"],
    12: [
        "shallow_history_restores_direct_child_then_its_initial",
        "deep_history_restores_leaves",
        "history_defaults_without_record",
        "deep_history_across_parallel_regions",
        "shallow_history_directly_in_a_parallel_state",
        "history_in_parallel_without_record_enters_the_parallel_state",
    ],
    13: ["emit_order_and_start_emits", "deep_history_restores_leaves"],
    14: ["targetless_always_that_only_emits_fires_once_per_event"],
}
