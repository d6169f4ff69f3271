"""Imperative (resumable) workflows of the number domain."""

from __future__ import annotations

from typing import Any

from arvo_ray.examples.number_domain.contracts import (
    decrement_contract,
    decrement_orchestrator_contract,
    increment_contract,
    increment_resumable_contract,
    value_read_contract,
    value_write_contract,
)
from arvo_ray.memory import IMachineMemory
from arvo_ray.workflow import ArvoResumable, ResumableInput, create_arvo_resumable

__all__ = ["decrement_resumable", "increment_resumable"]


def decrement_resumable(memory: IMachineMemory, **options: Any) -> ArvoResumable:
    """Read a value, decrement it, write it back and complete (``arvo.orc.dec``)."""

    def v1(inp: ResumableInput) -> dict[str, Any] | None:
        service = inp.service
        if service is not None and service.type in (
            "sys.com.decrement.number.error",
            "sys.com.value.read.error",
        ):
            return {"output": {"success": False, "error": [service.data], "final": 0}}
        if inp.input is not None:
            data = inp.input.data
            return {
                "context": {
                    "key": data["key"],
                    "value": 0,
                    "modifier": data["modifier"],
                    "trend": data["trend"],
                    "error": [],
                },
                "services": [{"type": "com.value.read", "data": {"key": data["key"]}}],
            }
        context = inp.context
        if context is None:
            raise RuntimeError("Faulty initialisation detected")
        if service is not None and service.type == "evt.value.read.success":
            value = service.data["value"]
            return {
                "context": {**context, "value": value},
                "services": [
                    {
                        "type": "com.decrement.number",
                        "data": {"init": value, "decrement": context["modifier"]},
                    }
                ],
            }
        if service is not None and service.type == "evt.decrement.number.success":
            result = service.data["result"]
            return {
                "context": {**context, "value": result},
                "output": {"success": True, "error": [], "final": result, "__executionunits": 10},
                "services": [
                    {"type": "com.value.write", "data": {"key": context["key"], "value": result}}
                ],
            }
        return None

    def v2(inp: ResumableInput) -> None:
        raise NotImplementedError("Version 0.0.2 is not implemented for decrement resumable")

    return create_arvo_resumable(
        contracts={
            "self": decrement_orchestrator_contract,
            "services": {
                "value_reader": value_read_contract.version("0.0.1"),
                "value_writer": value_write_contract.version("0.0.1"),
                "decrement": decrement_contract.version("0.0.1"),
            },
        },
        memory=memory,
        handler={"0.0.1": v1, "0.0.2": v2},
        **options,
    )


def increment_resumable(memory: IMachineMemory, **options: Any) -> ArvoResumable:
    """Fan-out/fan-in: read every key, increment each, write all back, complete (``arvo.orc.inc``).

    Every request is also broadcast to the ``external`` domain.
    """
    domains = [None, "external"]

    def v1(inp: ResumableInput) -> dict[str, Any] | None:
        service = inp.service
        if service is not None and service.type.startswith("sys."):
            return {"output": {"success": False, "error": [service.data], "final": []}}
        if inp.input is not None:
            modifications = inp.input.data["modifications"]
            return {
                "context": {
                    "modifications": [
                        {"key": m["key"], "value": None, "modifier": m["value"]}
                        for m in modifications
                    ],
                    "error": [],
                },
                "services": [
                    {"type": "com.value.read", "data": {"key": m["key"]}, "domain": domains}
                    for m in modifications
                ],
            }
        context = inp.context
        if context is None:
            raise RuntimeError("Bad initialisation detected")
        modifications = context["modifications"]
        reads = inp.collected_events.get("evt.value.read.success", [])
        if reads and len(reads) == len(modifications):
            values = {read.data["key"]: read.data["value"] for read in reads}
            updated = [{**m, "value": values[m["key"]]} for m in modifications]
            return {
                "context": {**context, "modifications": updated},
                "services": [
                    {
                        "type": "com.increment.number",
                        "data": {"init": m["value"], "increment": m["modifier"]},
                        "domain": domains,
                    }
                    for m in updated
                ],
            }
        increments = inp.collected_events.get("evt.increment.number.success", [])
        if increments and len(increments) == len(modifications):
            # Requests are filed in emission order (one per modification and domain); only the
            # local copies get answers, so the answered ones follow the modifications' order.
            expected = (inp.metadata or {})["events"]["expected"]
            answered = [responses[0] for responses in expected.values() if responses]
            results = {
                m["key"]: r["data"]["result"] for m, r in zip(modifications, answered, strict=True)
            }
            final = [{"key": m["key"], "value": results[m["key"]]} for m in modifications]
            return {
                "output": {"success": True, "error": [], "final": final},
                "services": [
                    {"type": "com.value.write", "data": item, "domain": domains} for item in final
                ],
            }
        return None

    return create_arvo_resumable(
        contracts={
            "self": increment_resumable_contract,
            "services": {
                "value_reader": value_read_contract.version("0.0.1"),
                "value_writer": value_write_contract.version("0.0.1"),
                "increment": increment_contract.version("0.0.1"),
            },
        },
        memory=memory,
        handler={"0.0.1": v1},
        **options,
    )
