"""Helpers for the interpreter's unit tests.

``logged(config)`` adds ``en:<state>``/``ex:<state>`` log entries to every state so tests can
assert the exact order of entries, exits and transition actions through ``context["log"]``.
``drive(machine, events)`` runs a script and returns every ``(snapshot, emitted)`` pair.
"""

from __future__ import annotations

import copy
from typing import Any

from arvo_ray.machine import ActionArgs, MachineSnapshot, StateMachine, assign, create_machine


def _append_log(a: ActionArgs) -> dict[str, Any]:
    return {"log": [*a.context.get("log", []), a.params]}


LOG_ACTIONS: dict[str, Any] = {"log": assign(_append_log)}


def log(message: str) -> dict[str, Any]:
    """An action appending ``message`` to ``context["log"]``."""
    return {"type": "log", "params": message}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def logged(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` whose states log ``en:<key>``/``ex:<key>`` (root: ``root``)."""
    result = copy.deepcopy(config)

    def visit(state: dict[str, Any], name: str) -> None:
        if state.get("type") == "history":
            return
        state["entry"] = [log(f"en:{name}"), *_as_list(state.get("entry"))]
        state["exit"] = [log(f"ex:{name}"), *_as_list(state.get("exit"))]
        for key, child in state.get("states", {}).items():
            visit(child, key)

    visit(result, "root")
    result.setdefault("context", {"log": [], "count": 0})
    return result


def make(
    config: dict[str, Any],
    *,
    actions: dict[str, Any] | None = None,
    guards: dict[str, Any] | None = None,
    **options: Any,
) -> StateMachine:
    """``create_machine`` with the ``log`` action available."""
    return create_machine(
        config, actions={**LOG_ACTIONS, **(actions or {})}, guards=guards or {}, **options
    )


def ev(event: str | dict[str, Any]) -> dict[str, Any]:
    """``"GO"`` -> ``{"type": "GO"}``; dicts pass through."""
    return {"type": event} if isinstance(event, str) else event


def drive(
    machine: StateMachine, events: list[Any], input: Any = None
) -> list[tuple[MachineSnapshot, list[Any]]]:
    """Start the machine and send each event; return every (snapshot, emitted), start first."""
    steps = [machine.initial_transition(input)]
    for event in events:
        steps.append(machine.transition(steps[-1][0], ev(event)))
    return steps


def final(machine: StateMachine, events: list[Any], input: Any = None) -> MachineSnapshot:
    """The snapshot after the whole script."""
    return drive(machine, events, input)[-1][0]


def new_log(before: MachineSnapshot, after: MachineSnapshot) -> list[str]:
    """Log entries added between two snapshots."""
    return after["context"]["log"][len(before["context"]["log"]) :]
