"""Actions: calling convention, ``assign``, ``emit``, ``raise_``, order, and errors
(semantics points 5 and 10)."""

from __future__ import annotations

from typing import Any

import pytest

from arvo_ray.machine import ActionArgs, ContextArgs, assign, create_machine, emit, raise_, setup

from .conftest import drive

_inc = assign({"count": lambda a: a.context["count"] + 1})


def _marker(tag: str) -> Any:
    return emit(lambda a: {"type": tag, "count": a.context["count"]})


def test_should_emit_in_action_order_exit_transition_entry_with_current_context() -> None:
    """Emitted payloads follow exit -> transition -> entry and see earlier assigns."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "states": {
                "a": {
                    "exit": [_inc, _marker("exit")],
                    "on": {"GO": {"target": "b", "actions": [_inc, _marker("transition")]}},
                },
                "b": {"entry": [_inc, _marker("entry")]},
            },
        }
    )
    _, (_, emitted) = drive(machine, ["GO"])
    assert emitted == [
        {"type": "exit", "count": 1},
        {"type": "transition", "count": 2},
        {"type": "entry", "count": 3},
    ]


def test_should_return_events_emitted_while_starting_from_the_start() -> None:
    """Entry emits of the initial states belong to ``initial_transition``."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "entry": emit({"type": "root"}),
            "states": {"a": {"entry": emit({"type": "a"})}},
        }
    )
    _, emitted = machine.initial_transition()
    assert emitted == [{"type": "root"}, {"type": "a"}]


def test_should_give_every_callable_one_action_args() -> None:
    """Custom actions, assigners, emitters and raisers get ``ActionArgs(context, event, params)``."""
    calls: list[tuple[str, ActionArgs]] = []

    def record(name: str) -> Any:
        def fn(args: ActionArgs) -> Any:
            calls.append((name, args))
            return {"type": "r"} if name in ("emit", "raise") else {}

        return fn

    machine = setup(
        actions={
            "custom": record("custom"),
            "assign": assign(record("assign")),
            "emit": emit(record("emit")),
            "raise": raise_(record("raise")),
        }
    ).create_machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"k": 1},
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "actions": [
                                {"type": "custom", "params": {"p": 1}},
                                {"type": "assign", "params": {"p": 2}},
                                {"type": "emit", "params": {"p": 3}},
                                {"type": "raise", "params": {"p": 4}},
                            ]
                        }
                    }
                }
            },
        }
    )
    start, _ = machine.initial_transition()
    machine.transition(start, {"type": "GO", "x": 9})
    event = {"type": "GO", "x": 9}
    assert calls == [
        ("custom", ActionArgs({"k": 1}, event, {"p": 1})),
        ("assign", ActionArgs({"k": 1}, event, {"p": 2})),
        ("emit", ActionArgs({"k": 1}, event, {"p": 3})),
        ("raise", ActionArgs({"k": 1}, event, {"p": 4})),
    ]


def test_should_build_a_new_context_dict_on_every_assign() -> None:
    """``assign`` never mutates the previous context; earlier snapshots stay as they were."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0, "nested": {"k": 1}},
            "states": {"a": {"on": {"INC": {"actions": _inc}}}},
        }
    )
    start, _ = machine.initial_transition()
    after, _ = machine.transition(start, {"type": "INC"})
    assert start["context"] == {"count": 0, "nested": {"k": 1}}
    assert after["context"] == {"count": 1, "nested": {"k": 1}}
    assert after["context"] is not start["context"]


def test_should_accept_static_values_and_partial_dict_callables_in_assign() -> None:
    """``assign`` takes property values, property callables, or one callable returning a dict."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"a": 0, "b": 0, "c": 0},
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "actions": [
                                assign({"a": 5}),
                                assign({"b": lambda x: x.context["a"] + 1}),
                                assign(lambda x: {"c": x.context["b"] * 2}),
                                assign(lambda x: None),
                            ]
                        }
                    }
                }
            },
        }
    )
    _, (after, _) = drive(machine, ["GO"])
    assert after["context"] == {"a": 5, "b": 6, "c": 12}


def test_should_process_raised_events_after_the_step_with_updated_context() -> None:
    """A raised event is handled after the current microstep and sees its context changes."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "states": {
                "a": {
                    "on": {
                        "GO": {"actions": [raise_({"type": "CHECK"}), _inc, _inc]},
                        "CHECK": [
                            {"guard": lambda a: a.context["count"] == 2, "target": "two"},
                            {"target": "other"},
                        ],
                    }
                },
                "two": {},
                "other": {},
            },
        }
    )
    assert drive(machine, ["GO"])[-1][0]["value"] == "two"


def test_should_copy_static_emitted_dicts_so_callers_cannot_change_the_definition() -> None:
    """Mutating an emitted static dict does not affect the next emission."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"E": {"actions": emit({"type": "x"})}}}},
        }
    )
    start, _ = machine.initial_transition()
    _, first = machine.transition(start, {"type": "E"})
    first[0]["type"] = "changed"
    _, second = machine.transition(start, {"type": "E"})
    assert second == [{"type": "x"}]


def test_should_propagate_action_exceptions_unchanged() -> None:
    """An exception from a custom action, assigner or emitter reaches the caller as is."""
    boom = ValueError("boom")

    def fail(_: Any) -> Any:
        raise boom

    for action in (fail, assign(fail), emit(fail), raise_(fail)):
        machine = create_machine(
            {"id": "m", "initial": "a", "states": {"a": {"on": {"E": {"actions": action}}}}}
        )
        start, _ = machine.initial_transition()
        with pytest.raises(ValueError) as info:
            machine.transition(start, {"type": "E"})
        assert info.value is boom


def test_should_propagate_context_factory_exceptions_unchanged() -> None:
    """An exception from the context factory reaches the caller of ``initial_transition``."""
    boom = KeyError("missing")

    def factory(_: ContextArgs) -> dict[str, Any]:
        raise boom

    machine = create_machine({"id": "m", "initial": "a", "context": factory, "states": {"a": {}}})
    with pytest.raises(KeyError) as info:
        machine.initial_transition({})
    assert info.value is boom


def test_should_build_context_from_input_and_copy_static_context() -> None:
    """``context`` may be a factory of ``ContextArgs(input)``; a static dict is copied."""
    static = {"items": []}
    from_input = create_machine(
        {"id": "m", "initial": "a", "context": lambda c: {"n": c.input["n"]}, "states": {"a": {}}}
    )
    from_static = create_machine(
        {"id": "m", "initial": "a", "context": static, "states": {"a": {}}}
    )
    assert from_input.initial_transition({"n": 3})[0]["context"] == {"n": 3}
    snapshot, _ = from_static.initial_transition()
    snapshot["context"]["items"].append(1)
    assert static == {"items": []}


def test_should_reject_raising_a_plain_string() -> None:
    """``raise_`` needs an event dict, like XState's ``raise``."""
    with pytest.raises(TypeError, match=r"raise_\(\{'type': 'GO'\}\)"):
        raise_("GO")  # type: ignore[arg-type]


def test_should_reject_an_assign_callable_that_returns_a_non_dict() -> None:
    """An assigner must return a dict of updates."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"E": {"actions": assign(lambda a: 3)}}}},
        }  # type: ignore[arg-type,return-value]
    )
    start, _ = machine.initial_transition()
    with pytest.raises(TypeError, match="must return a dict"):
        machine.transition(start, {"type": "E"})


def test_should_ignore_custom_action_return_values() -> None:
    """Custom actions run for side effects only; returning a dict does not assign."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 0},
            "states": {"a": {"on": {"E": {"actions": lambda a: {"n": 5}}}}},
        }
    )
    assert drive(machine, ["E"])[-1][0]["context"] == {"n": 0}
