"""Invalid definitions: every problem is reported, with its path, in one ConfigViolation."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from arvo_ray.core.errors import ConfigViolation
from arvo_ray.machine import assign, create_machine, emit, not_, setup, state_in


async def _async_action(args: Any) -> None:
    return None


async def _async_guard(args: Any) -> bool:
    return True


def _problems(config: Any, **implementations: Any) -> list[dict[str, str]]:
    with pytest.raises(ConfigViolation) as info:
        create_machine(config, **implementations)
    problems = info.value.metadata["problems"]  # type: ignore[index]
    for problem in problems:
        assert f"{problem['path']}: {problem['message']}" in str(info.value)
    return problems


def _one(config: Any, **implementations: Any) -> dict[str, str]:
    problems = _problems(config, **implementations)
    assert len(problems) == 1, problems
    return problems[0]


def _machine(**state: Any) -> dict[str, Any]:
    return {"id": "m", "initial": "fetch", "states": {"fetch": state, "done": {}}}


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("invoke", {"src": "fetcher"}, "'invoke' is not supported"),
        ("after", {1000: "done"}, "'after' (delayed transitions) is not supported"),
        ("delays", {}, "'delays' is not supported"),
        ("actors", {}, "'actors' is not supported"),
        ("src", "fetcher", "'src' is not supported"),
    ],
)
def test_should_reject_actor_and_timer_features_with_their_path(
    key: str, value: Any, needle: str
) -> None:
    """``invoke``, ``after``, ``delays``, ``actors`` and ``src`` are forbidden in Arvo machines."""
    problem = _one(_machine(**{key: value}))
    assert problem["path"] == f"states > fetch > {key}"
    assert needle in problem["message"]


def test_should_reject_async_actions_guards_and_factories() -> None:
    """Async callables anywhere (inline, named, inside builtins, context) are rejected."""
    problems = _problems(
        {
            "id": "m",
            "initial": "a",
            "context": _async_action,
            "states": {
                "a": {
                    "entry": [_async_action, assign({"x": _async_action}), emit(_async_action)],
                    "on": {"E": {"guard": _async_guard, "actions": "named"}},
                    "always": {"guard": not_("named_guard")},
                }
            },
        },
        actions={"named": functools.partial(_async_action)},
        guards={"named_guard": _async_guard},
    )
    paths = [p["path"] for p in problems]
    assert paths == [
        "setup > actions > named",
        "setup > guards > named_guard",
        "context",
        "states > a > entry > [0]",
        "states > a > entry > [1]",
        "states > a > entry > [2]",
        "states > a > on > E > guard",
    ]
    assert all("async" in p["message"] for p in problems)


def test_should_suggest_a_close_name_for_an_unknown_target() -> None:
    """An unknown sibling target names the available states and suggests the closest."""
    problem = _one(
        {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "proces"}}, "process": {}}}
    )
    assert problem["path"] == "states > a > on > GO > target"
    assert "state 'proces' does not exist on 'm'" in problem["message"]
    assert "did you mean 'process'?" in problem["message"]


def test_should_suggest_a_relative_target_for_plain_targets_on_the_root() -> None:
    """On the root, ``"a"`` is invalid; XState says to write ``".a"``."""
    problem = _one({"id": "m", "initial": "a", "on": {"RESET": "a"}, "states": {"a": {}}})
    assert problem["path"] == "on > RESET > target"
    assert "did you mean '.a'?" in problem["message"]


def test_should_reject_unknown_ids_and_deep_paths() -> None:
    """``#id`` targets, history targets and ``state_in`` ids must resolve."""
    problems = _problems(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "X": "#nowhere",
                        "Y": "b.missing",
                        "Z": {"guard": state_in("#ghost"), "target": "b"},
                    }
                },
                "b": {
                    "initial": "c",
                    "states": {"c": {}, "h": {"type": "history", "target": "zz"}},
                },
            },
        }
    )
    assert [p["path"] for p in problems] == [
        "states > a > on > X > target",
        "states > a > on > Y > target",
        "states > a > on > Z > guard",
        "states > b > states > h > target",
    ]


def test_should_reject_initial_pointing_nowhere() -> None:
    """``initial`` must name a direct child; the message lists the children."""
    problem = _one({"id": "m", "initial": "strat", "states": {"start": {}}})
    assert problem["path"] == "initial"
    assert "initial state 'strat' is not a child" in problem["message"]
    assert "did you mean 'start'?" in problem["message"]


def test_should_reject_a_history_state_as_initial_or_as_a_history_default() -> None:
    """A history node as ``initial`` (or as another history's target) would loop forever."""
    problems = _problems(
        {
            "id": "m",
            "initial": "h",
            "states": {
                "h": {"type": "history"},
                "g": {"type": "history", "target": "h"},
                "a": {},
            },
        }
    )
    assert [p["path"] for p in problems] == ["initial", "states > g > target"]


def test_should_require_initial_on_compound_states_like_xstate_v5() -> None:
    """XState v5 throws for a compound state without ``initial``; so do we, suggesting one."""
    problem = _one(
        {"id": "m", "initial": "p", "states": {"p": {"states": {"first": {}, "second": {}}}}}
    )
    assert problem["path"] == "states > p > initial"
    assert "add 'initial': 'first'" in problem["message"]


def test_should_reject_unknown_named_actions_and_guards() -> None:
    """Names must be provided through ``setup``; the message suggests and lists them."""
    problems = _problems(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"entry": "notfy", "on": {"E": {"guard": "is_ok", "target": "a"}}}},
        },
        actions={"notify": lambda a: None},
        guards={"is_okay": lambda a: True},
    )
    assert [p["path"] for p in problems] == ["states > a > entry", "states > a > on > E > guard"]
    assert "unknown action 'notfy' (did you mean 'notify'?)" in problems[0]["message"]
    assert "unknown guard 'is_ok' (did you mean 'is_okay'?)" in problems[1]["message"]


def test_should_list_every_problem_in_one_error() -> None:
    """Several problems in different places are all reported in one ConfigViolation."""
    with pytest.raises(ConfigViolation) as info:
        create_machine(
            {
                "id": "m",
                "initial": "nowhere",
                "states": {
                    "a": {"invoke": {}, "on": {"E": {"cond": "x", "target": "b"}}},
                    "b": {"type": "weird", "after": {}},
                    "c": {"on": {"": "a"}, "entry": 42},
                },
            }
        )
    message = str(info.value)
    assert "Invalid machine definition 'm' (7 problems)" in message
    for path in (
        "initial",
        "states > a > invoke",
        "states > a > on > E > cond",
        "states > b > type",
        "states > b > after",
        'states > c > on > ""',
        "states > c > entry",
    ):
        assert f"  - {path}: " in message
    assert info.value.metadata["machine_id"] == "m"  # type: ignore[index]


def test_should_reject_v4_keys_with_their_v5_replacement() -> None:
    """``cond``, ``internal``, ``onEntry`` say what to write instead."""
    problems = _problems(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"onEntry": [], "on": {"E": {"internal": True, "target": "a"}}}},
        }
    )
    assert [p["path"] for p in problems] == [
        "states > a > onEntry",
        "states > a > on > E > internal",
    ]
    assert "write 'entry'" in problems[0]["message"]
    assert "'reenter'" in problems[1]["message"]


def test_should_flag_close_misspellings_of_config_keys() -> None:
    """A key close to a known one (``inital``) is reported; unrelated keys are ignored."""
    problems = _problems(
        {"id": "m", "inital": "a", "initial": "a", "custom": 1, "states": {"a": {"entyr": []}}}
    )
    assert [(p["path"], p["message"]) for p in problems] == [
        ("inital", "unknown key 'inital' (did you mean 'initial'?)"),
        ("states > a > entyr", "unknown key 'entyr' (did you mean 'entry'?)"),
    ]


def test_should_reject_duplicate_state_ids() -> None:
    """Two states with the same id would make ``#id`` targets ambiguous."""
    problem = _one({"id": "m", "initial": "a", "states": {"a": {"id": "x"}, "b": {"id": "x"}}})
    assert problem["path"] == "states > b > id"
    assert "duplicate state id 'x'" in problem["message"]


def test_should_reject_actors_and_delays_in_setup() -> None:
    """``setup(actors=...)``/``setup(delays=...)`` fail: Arvo machines have neither."""
    with pytest.raises(ConfigViolation, match="'actors' is not supported"):
        setup(actors={"fetcher": object()})
    with pytest.raises(ConfigViolation, match="'delays' is not supported"):
        setup(delays={"slow": 1000})


def test_should_reject_a_config_that_is_not_a_dict() -> None:
    """The config itself must be a dict."""
    with pytest.raises(ConfigViolation, match="a machine config must be a dict"):
        create_machine(["not", "a", "dict"])  # type: ignore[arg-type]


def test_should_reject_malformed_transitions_and_references() -> None:
    """Transitions, targets, actions and guards of the wrong shape are reported."""
    problems = _problems(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "E": 5,
                        "F": {"target": 3},
                        "G": {"actions": [None]},
                        "H": {"guard": 1.5},
                    },
                    "always": {"reenter": "yes"},
                }
            },
        }
    )
    assert [p["path"] for p in problems] == [
        "states > a > on > E",
        "states > a > on > F > target",
        "states > a > on > G > actions > [0]",
        "states > a > on > H > guard",
        "states > a > always > reenter",
    ]


def test_should_reject_a_non_positive_loop_cap() -> None:
    """``max_microsteps`` must be a positive int."""
    with pytest.raises(ValueError, match="max_microsteps"):
        create_machine({"id": "m", "initial": "a", "states": {"a": {}}}, max_microsteps=0)


def test_should_accept_and_ignore_description_meta_and_tags() -> None:
    """Documentation keys are allowed on states and transitions and change nothing."""
    machine = create_machine(
        {
            "id": "m",
            "description": "documented",
            "meta": {"owner": "team"},
            "initial": "a",
            "states": {
                "a": {
                    "description": "first",
                    "meta": {"x": 1},
                    "tags": ["t"],
                    "on": {"E": {"target": "b", "description": "go", "meta": {}}},
                },
                "b": {},
            },
        }
    )
    start, _ = machine.initial_transition()
    assert machine.transition(start, {"type": "E"})[0]["value"] == "b"
