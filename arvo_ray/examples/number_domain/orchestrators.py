"""Statechart orchestrators of the number domain (increment, decrement, number modifier)."""

from __future__ import annotations

from typing import Any

from arvo_ray.examples.number_domain.contracts import (
    Key,
    KeyValue,
    decrement_contract,
    decrement_orchestrator_contract,
    increment_contract,
    increment_orchestrator_contract,
    number_modifier_contract,
    value_read_contract,
    value_write_contract,
)
from arvo_ray.handler import ArvoDomain
from arvo_ray.machine import ArvoMachine, assign, emit, enqueue_arvo_event, setup_arvo_machine
from arvo_ray.memory import IMachineMemory
from arvo_ray.workflow import ArvoOrchestrator, create_arvo_orchestrator

__all__ = [
    "arithmetic_machine",
    "decrement_orchestrator",
    "increment_orchestrator",
    "number_modifier_machine",
    "number_modifier_orchestrator",
]


def _append_error(args: Any) -> dict[str, Any]:
    return {"error": [*args.context["error"], args.data.model_dump()]}


def _completion(args: Any) -> dict[str, Any]:
    errors = args.context["error"]
    return {"success": not errors, "error": errors, "final": args.context["value"]}


def arithmetic_machine(kind: str, version: str) -> ArvoMachine:
    """Read a value, apply one arithmetic service (``kind`` = increment|decrement), complete."""
    orchestrator = (
        increment_orchestrator_contract if kind == "increment" else decrement_orchestrator_contract
    )
    service = increment_contract if kind == "increment" else decrement_contract
    operand = {
        ("increment", "0.0.1"): "increment",
        ("increment", "0.0.2"): "multiplier",
        ("decrement", "0.0.1"): "decrement",
        ("decrement", "0.0.2"): "divider",
    }[(kind, version)]
    request = service.version(version).accepts.schema  # e.g. IncrementInput(init, increment)
    compute_state: dict[str, Any] = {
        "entry": emit(
            lambda a: request(init=a.context["value"], **{operand: a.context["modifier"]})
        ),
        "on": {
            f"evt.{kind}.number.success": {
                "target": "done",
                "actions": assign({"value": lambda a: a.data.result}),
            },
            f"sys.com.{kind}.number.error": {"target": "error", "actions": assign(_append_error)},
        },
    }
    if kind == "increment" and version == "0.0.1":
        # A parallel state with no regions: it changes nothing but makes the machine require
        # resource locking, as in the reference domain.
        compute_state = {"type": "parallel", "states": {}, **compute_state}
    return setup_arvo_machine(
        self_contract=orchestrator.version(version),
        services={
            "value_reader": value_read_contract.version("0.0.1"),
            kind: service.version(version),
        },
    ).create_machine(
        {
            "id": f"machineV{version.replace('.', '')}",
            "context": lambda a: {
                "key": a.data.key,
                "value": 0,
                "modifier": a.data.modifier,
                "trend": a.data.trend,
                "error": [],
            },
            "output": _completion,
            "initial": "fetch_value",
            "states": {
                "fetch_value": {
                    "entry": emit(lambda a: Key(key=a.context["key"])),
                    "on": {
                        "evt.value.read.success": {
                            "target": kind,
                            "actions": assign({"value": lambda a: a.data.value}),
                        },
                        "sys.com.value.read.error": {
                            "target": "error",
                            "actions": assign(_append_error),
                        },
                    },
                },
                kind: compute_state,
                "error": {"type": "final"},
                "done": {"type": "final"},
            },
        }
    )


def increment_orchestrator(memory: IMachineMemory, **options: Any) -> ArvoOrchestrator:
    """``arvo.orc.inc`` with machine versions 0.0.1 and 0.0.2."""
    return create_arvo_orchestrator(
        machines=[
            arithmetic_machine("increment", "0.0.1"),
            arithmetic_machine("increment", "0.0.2"),
        ],
        memory=memory,
        executionunits=0.1,
        **options,
    )


def decrement_orchestrator(memory: IMachineMemory, **options: Any) -> ArvoOrchestrator:
    """``arvo.orc.dec`` with machine versions 0.0.1 and 0.0.2."""
    return create_arvo_orchestrator(
        machines=[
            arithmetic_machine("decrement", "0.0.1"),
            arithmetic_machine("decrement", "0.0.2"),
        ],
        memory=memory,
        executionunits=0.1,
        **options,
    )


def _modifier_error(args: Any) -> dict[str, Any]:
    return {"errors": [*args.context["errors"], args.data.model_dump()]}


def _child_call(kind: str, parent_subject: Any, *, local: bool = False) -> Any:
    def call(a: Any) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "type": f"arvo.orc.{kind}",
            "data": {
                "parentSubject$$": parent_subject(a),
                "key": a.context["key"],
                "modifier": a.context["modifier"],
                "trend": a.context["trend"],
            },
        }
        if local:
            raw["domain"] = [ArvoDomain.LOCAL]
        return raw

    return emit(call)


def _operation_state(kind: str, version: str) -> dict[str, Any]:
    own = lambda a: a.context["currentSubject$$"]  # noqa: E731 - small selector
    short = "inc" if kind == "increment" else "dec"
    if version == "0.0.1":
        # Version 0.0.1 also queues a notification nobody subscribes to (after the emits).
        entry: list[Any] = [
            _child_call(short, own),
            enqueue_arvo_event({"type": "com.notif.test", "data": {}}),
        ]
    elif kind == "decrement":
        # Version 0.0.2 deliberately makes a second child call with an invalid parent subject
        # (an ExecutionViolation), as in the reference domain.
        entry = [_child_call(short, own), _child_call(short, lambda a: "test")]
    else:
        # ...and a second increment call that starts an independent root workflow.
        entry = [_child_call(short, own), _child_call(short, lambda a: None, local=True)]
    return {
        "entry": entry,
        "on": {
            f"arvo.orc.{short}.done": [
                {
                    "guard": lambda a: not a.data.success,
                    "target": "error",
                    "actions": assign(
                        {
                            "errors": lambda a: [
                                *a.context["errors"],
                                *(error.model_dump() for error in a.data.error),
                            ]
                        }
                    ),
                },
                {
                    "target": "done",
                    "actions": assign({"final_value": lambda a: a.data.final}),
                },
            ],
            f"sys.arvo.orc.{short}.error": {"target": "error", "actions": assign(_modifier_error)},
        },
    }


def number_modifier_machine(version: str) -> ArvoMachine:
    """Write the initial value, then run an increment or decrement orchestration as a child."""
    return setup_arvo_machine(
        self_contract=number_modifier_contract.version(version),
        services={
            "value_writer": value_write_contract.version("0.0.1"),
            "value_reader": value_read_contract.version("0.0.1"),
            "increment": increment_orchestrator_contract.version(version),
            "decrement": decrement_orchestrator_contract.version(version),
        },
    ).create_machine(
        {
            "id": f"machineV{version.replace('.', '')}",
            "context": lambda a: {
                **a.input["data"],
                "currentSubject$$": a.input["subject"],
                "key": a.input["subject"],
                "errors": [],
                "final_value": 0,
            },
            "output": lambda a: {
                "success": not a.context["errors"],
                "error": a.context["errors"],
                "final": a.context["final_value"],
            },
            "initial": "init_value",
            "states": {
                "init_value": {
                    "entry": emit(
                        lambda a: KeyValue(key=a.context["key"], value=a.context["init"])
                    ),
                    "on": {
                        "evt.value.write.success": [
                            {
                                "guard": lambda a: not a.data.success,
                                "target": "error",
                                "actions": assign(
                                    {
                                        "errors": lambda a: [
                                            *a.context["errors"],
                                            {
                                                "errorName": "WriteFailure",
                                                "errorMessage": "Failed to write the value",
                                                "errorStack": None,
                                            },
                                        ]
                                    }
                                ),
                            },
                            {"target": "router"},
                        ],
                        "sys.com.value.write.error": {
                            "target": "error",
                            "actions": assign(_modifier_error),
                        },
                    },
                },
                "router": {
                    "always": [
                        {
                            "guard": lambda a: a.context["operation"] == "increment",
                            "target": "increment",
                        },
                        {
                            "guard": lambda a: a.context["operation"] == "decrement",
                            "target": "decrement",
                        },
                        {
                            "target": "error",
                            "actions": assign(
                                {
                                    "errors": lambda a: [
                                        *a.context["errors"],
                                        {
                                            "errorName": "OperationRouteFailure",
                                            "errorMessage": "Failed to route to the required operation",
                                            "errorStack": None,
                                        },
                                    ]
                                }
                            ),
                        },
                    ]
                },
                "increment": _operation_state("increment", version),
                "decrement": _operation_state("decrement", version),
                "error": {"type": "final"},
                "done": {"type": "final"},
            },
        }
    )


def number_modifier_orchestrator(memory: IMachineMemory, **options: Any) -> ArvoOrchestrator:
    """``arvo.orc.number.modifier`` with machine versions 0.0.1 and 0.0.2."""
    return create_arvo_orchestrator(
        machines=[number_modifier_machine("0.0.1"), number_modifier_machine("0.0.2")],
        memory=memory,
        executionunits=0.1,
        **options,
    )
