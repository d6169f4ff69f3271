"""The Python half of the shared differential vocabulary (the JS half is in runner.mjs).

Machine configs in ``cases.py`` are pure JSON: actions and guards are referenced by name, and
functions appear as ``{"$fn": name}`` (context factories, outputs) or guard combinators as
``{"$and": [...]}``, ``{"$or": [...]}``, ``{"$not": g}``, ``{"$stateIn": value}``. Both sides
turn those markers into real functions with the same behaviour.
"""

from __future__ import annotations

from typing import Any

from arvo_ray.machine import (
    ActionArgs,
    ContextArgs,
    StateMachine,
    and_,
    assign,
    emit,
    not_,
    or_,
    raise_,
    setup,
    state_in,
)

ACTIONS: dict[str, Any] = {
    "inc": assign({"count": lambda a: a.context["count"] + 1}),
    "dec": assign({"count": lambda a: a.context["count"] - 1}),
    "add": assign(lambda a: {"count": a.context["count"] + a.params["n"]}),
    "set_from_event": assign(lambda a: {"x": a.event.get("x")}),
    "log": assign(lambda a: {"log": [*a.context["log"], a.params["m"]]}),
    "log_event": assign(
        lambda a: {"log": [*a.context["log"], f"{a.params['m']}@{a.event['type']}"]}
    ),
    "capture_output": assign(lambda a: {"out": a.event.get("output")}),
    "touch": assign(lambda a: {"count": a.context["count"]}),
    "emit_marker": emit(
        lambda a: {
            "type": "marker",
            "tag": (a.params or {}).get("tag"),
            "count": a.context.get("count"),
            "log": list(a.context.get("log", [])),
            "cause": a.event["type"],
        }
    ),
    "emit_event": emit(lambda a: dict(a.params)),
    "raise": raise_(lambda a: dict(a.params)),
    "raise_x": raise_({"type": "x"}),
    "noop": lambda a: None,
}


def _event_x_gt(a: ActionArgs) -> bool:
    x = a.event.get("x")
    return isinstance(x, int | float) and not isinstance(x, bool) and x > a.params["n"]


GUARDS: dict[str, Any] = {
    "is_positive": lambda a: a.context["count"] > 0,
    "count_lt_3": lambda a: a.context["count"] < 3,
    "count_lt": lambda a: a.context["count"] < a.params["n"],
    "count_eq": lambda a: a.context["count"] == a.params["n"],
    "event_flag": lambda a: a.event.get("flag") is True,
    "event_x_gt": _event_x_gt,
    "log_has": lambda a: a.params["m"] in a.context["log"],
    "always_true": lambda a: True,
    "always_false": lambda a: False,
}


def _from_input(c: ContextArgs) -> dict[str, Any]:
    start = (c.input or {}).get("start")
    return {"count": 0 if start is None else start, "log": [], "x": None}


CONTEXT_FNS: dict[str, Any] = {"from_input": _from_input}

OUTPUT_FNS: dict[str, Any] = {
    "ctx": lambda a: {"count": a.context["count"], "log": a.context["log"]},
    "done_event": lambda a: {
        "type": a.event["type"],
        "output": a.event.get("output"),
        "count": a.context["count"],
    },
    "count_only": lambda a: a.context["count"],
}


def convert(value: Any, key: str | None = None) -> Any:
    """Replace the JSON markers of a case config with real Python functions/combinators."""
    if isinstance(value, list):
        return [convert(v, key) for v in value]
    if isinstance(value, dict):
        if "$fn" in value:
            return (CONTEXT_FNS if key == "context" else OUTPUT_FNS)[value["$fn"]]
        if "$and" in value:
            return and_([convert(g, "guard") for g in value["$and"]])
        if "$or" in value:
            return or_([convert(g, "guard") for g in value["$or"]])
        if "$not" in value:
            return not_(convert(value["$not"], "guard"))
        if "$stateIn" in value:
            return state_in(value["$stateIn"])
        return {k: convert(v, k) for k, v in value.items()}
    return value


def build_machine(config: dict[str, Any]) -> StateMachine:
    """Create the Python machine for a case config."""
    return setup(actions=ACTIONS, guards=GUARDS).create_machine(convert(config))
