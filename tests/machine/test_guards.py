"""Guards: inline, named, with params, and the combinators ``and_``, ``or_``, ``not_``,
``state_in``."""

from __future__ import annotations

from typing import Any

import pytest

from arvo_ray.machine import ActionArgs, and_, create_machine, not_, or_, setup, state_in

from .conftest import drive


def _single(
    guard: Any, *, guards: dict[str, Any] | None = None, context: dict[str, Any] | None = None
) -> Any:
    return create_machine(
        {
            "id": "m",
            "initial": "a",
            "context": context or {"n": 1},
            "states": {"a": {"on": {"E": {"guard": guard, "target": "b"}}}, "b": {}},
        },
        guards=guards or {},
    )


def _passes(machine: Any, event: dict[str, Any] | None = None) -> bool:
    start, _ = machine.initial_transition()
    after, _ = machine.transition(start, event or {"type": "E"})
    return after["value"] == "b"


def test_should_call_guards_with_action_args_of_context_event_and_params() -> None:
    """A named guard receives ``ActionArgs(context, event, params)``."""
    seen: list[ActionArgs] = []

    def spy(args: ActionArgs) -> bool:
        seen.append(args)
        return True

    machine = _single({"type": "spy", "params": {"k": 1}}, guards={"spy": spy})
    assert _passes(machine, {"type": "E", "data": 5})
    assert seen == [ActionArgs({"n": 1}, {"type": "E", "data": 5}, {"k": 1})]


def test_should_resolve_callable_params_against_context_and_event() -> None:
    """``params`` may be a callable ``(ActionArgs) -> params``."""
    machine = _single(
        {"type": "gt", "params": lambda a: {"min": a.event["min"]}},
        guards={"gt": lambda a: a.context["n"] > a.params["min"]},
    )
    assert _passes(machine, {"type": "E", "min": 0})
    assert not _passes(machine, {"type": "E", "min": 5})


@pytest.mark.parametrize(
    ("guard", "expected"),
    [
        (and_(["yes", "yes"]), True),
        (and_(["yes", "no"]), False),
        (or_(["no", "yes"]), True),
        (or_(["no", "no"]), False),
        (not_("no"), True),
        (not_(and_(["yes", not_("no")])), False),
        (and_([lambda a: a.context["n"] == 1, or_(["no", {"type": "yes"}])]), True),
    ],
)
def test_should_combine_guards(guard: Any, expected: bool) -> None:
    """``and_``/``or_``/``not_`` combine inline and named guards."""
    machine = _single(guard, guards={"yes": lambda a: True, "no": lambda a: False})
    assert _passes(machine) is expected


def test_should_resolve_named_guards_that_are_combinators_or_aliases() -> None:
    """A named guard may itself be a combinator or another guard's name."""
    guards = {"yes": lambda a: True, "alias": "yes", "combo": not_("alias")}
    assert _passes(_single("alias", guards=guards))
    assert not _passes(_single("combo", guards=guards))


def test_should_check_active_states_with_state_in() -> None:
    """``state_in`` accepts ``#id``, dotted paths and partial state values."""
    config = {
        "id": "m",
        "type": "parallel",
        "states": {
            "mode": {"initial": "off", "states": {"off": {"on": {"T": "on"}}, "on": {"id": "on"}}},
            "work": {
                "initial": "idle",
                "states": {
                    "idle": {
                        "on": {
                            "BY_ID": {"guard": state_in("#on"), "target": "by_id"},
                            "BY_PATH": {"guard": state_in("mode.on"), "target": "by_path"},
                            "BY_VALUE": {"guard": state_in({"mode": "on"}), "target": "by_value"},
                        }
                    },
                    "by_id": {},
                    "by_path": {},
                    "by_value": {},
                },
            },
        },
    }
    machine = create_machine(config)
    for event in ("BY_ID", "BY_PATH", "BY_VALUE"):
        assert drive(machine, [event])[-1][0]["value"]["work"] == "idle"
        assert drive(machine, ["T", event])[-1][0]["value"]["work"] != "idle"


def test_should_propagate_guard_exceptions_unchanged() -> None:
    """An exception raised by a guard reaches the caller as the same object."""
    boom = RuntimeError("guard failed")

    def explode(args: ActionArgs) -> bool:
        raise boom

    machine = setup(guards={"explode": explode}).create_machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"E": {"guard": "explode", "target": "a"}}}},
        }
    )
    start, _ = machine.initial_transition()
    with pytest.raises(RuntimeError) as info:
        machine.transition(start, {"type": "E"})
    assert info.value is boom


def test_should_treat_truthy_guard_results_as_true() -> None:
    """Guard results are truth-tested like JavaScript values."""
    assert _passes(_single(lambda a: [1]))
    assert not _passes(_single(lambda a: 0))
