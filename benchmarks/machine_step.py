"""Micro benchmark: microseconds per ``StateMachine.transition`` for a small Arvo-like machine.

The machine is the shape of a typical orchestrator: ``fetch`` emits a service request on
entry, the reply is stored with ``assign`` and moves to ``process``, which emits again and
finishes in ``done`` with an output. One "step" is one ``transition`` call (one incoming
event), including snapshot restore, exit/entry actions, assigns, emits and the new snapshot.

Run: ``python benchmarks/machine_step.py`` (prints the median of 5 runs).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from arvo_ray.machine import ActionArgs, StateMachine, assign, emit, setup


def build() -> StateMachine:
    """The fetch -> process -> done machine used by the benchmark."""

    def request(a: ActionArgs) -> dict[str, Any]:
        return {"type": "com.fetch", "data": {"key": a.context["key"]}}

    def store(a: ActionArgs) -> dict[str, Any]:
        return {"value": a.event["data"]["value"], "attempts": a.context["attempts"] + 1}

    return setup(
        actions={
            "request": emit(request),
            "store": assign(store),
            "notify": emit(
                lambda a: {"type": "com.process", "data": {"value": a.context["value"]}}
            ),
        },
        guards={"has_value": lambda a: a.event["data"]["value"] is not None},
    ).create_machine(
        {
            "id": "bench",
            "context": lambda c: {"key": c.input["key"], "value": None, "attempts": 0},
            "initial": "fetch",
            "output": lambda a: {"value": a.context["value"]},
            "states": {
                "fetch": {
                    "entry": "request",
                    "on": {
                        "evt.fetch.success": {
                            "guard": "has_value",
                            "target": "process",
                            "actions": "store",
                        },
                        "sys.com.fetch.error": "failed",
                    },
                },
                "process": {
                    "entry": "notify",
                    "on": {"evt.process.success": {"target": "done", "actions": "store"}},
                },
                "done": {"type": "final"},
                "failed": {"type": "final"},
            },
        }
    )


def run_once(machine: StateMachine, workflows: int) -> float:
    """Run ``workflows`` full workflows; return microseconds per transition step."""
    fetched = {"type": "evt.fetch.success", "data": {"value": 41}}
    processed = {"type": "evt.process.success", "data": {"value": 42}}
    steps = 0
    start = time.perf_counter()
    for i in range(workflows):
        snapshot, _ = machine.initial_transition({"key": f"k{i}"})
        snapshot, _ = machine.transition(snapshot, fetched)
        snapshot, _ = machine.transition(snapshot, processed)
        steps += 2
    elapsed = time.perf_counter() - start
    assert snapshot["status"] == "done" and snapshot["output"] == {"value": 42}
    return elapsed / steps * 1e6


def run_steps(machine: StateMachine, workflows: int) -> float:
    """Microseconds per ``transition`` only (initial transitions excluded from timing)."""
    fetched = {"type": "evt.fetch.success", "data": {"value": 41}}
    processed = {"type": "evt.process.success", "data": {"value": 42}}
    starts = [machine.initial_transition({"key": f"k{i}"})[0] for i in range(workflows)]
    start = time.perf_counter()
    for snapshot in starts:
        middle, _ = machine.transition(snapshot, fetched)
        machine.transition(middle, processed)
    return (time.perf_counter() - start) / (2 * workflows) * 1e6


def main() -> None:
    machine = build()
    run_steps(machine, 1000)  # warm up caches
    steps = [run_steps(machine, 5000) for _ in range(5)]
    workflows = [run_once(machine, 5000) for _ in range(5)]
    print(f"machine transition step: {statistics.median(steps):.1f} us/step (median of 5 runs)")
    print(
        "full workflow (start + 2 steps), per step: "
        f"{statistics.median(workflows):.1f} us/step (median of 5 runs)"
    )


if __name__ == "__main__":
    main()
