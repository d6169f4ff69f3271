"""Imperative (resumable) workflows of the number domain."""

from __future__ import annotations

from typing import Any

from arvo_ray.core import ArvoErrorSchema
from arvo_ray.examples.number_domain.contracts import (
    DecrementInput,
    IncrementInput,
    Key,
    KeyValue,
    NumberResult,
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


def decrement_resumable(memory: IMachineMemory | None = None, **options: Any) -> ArvoResumable:
    """Read a value, decrement it, write it back and complete (``arvo.orc.dec``)."""

    def v1(inp: ResumableInput) -> dict[str, Any] | None:
        data = inp.data
        if isinstance(data, ArvoErrorSchema):  # the read or the decrement failed
            return {"output": {"success": False, "error": [data.model_dump()], "final": 0}}
        if inp.input is not None:
            return {
                "context": {
                    "key": data.key,
                    "value": 0,
                    "modifier": data.modifier,
                    "trend": data.trend,
                    "error": [],
                },
                "services": [Key(key=data.key)],
            }
        context = inp.context
        if context is None:
            raise RuntimeError("Faulty initialisation detected")
        if isinstance(data, KeyValue):
            return {
                "context": {**context, "value": data.value},
                "services": [DecrementInput(init=data.value, decrement=context["modifier"])],
            }
        if isinstance(data, NumberResult):
            return {
                "context": {**context, "value": data.result},
                "output": {
                    "success": True,
                    "error": [],
                    "final": data.result,
                    "__executionunits": 10,
                },
                "services": [KeyValue(key=context["key"], value=data.result)],
            }
        return None

    def v2(inp: ResumableInput) -> None:
        raise NotImplementedError("Version 0.0.2 is not implemented for decrement resumable")

    return create_arvo_resumable(
        self_contract=decrement_orchestrator_contract,
        services={
            "value_reader": value_read_contract.version("0.0.1"),
            "value_writer": value_write_contract.version("0.0.1"),
            "decrement": decrement_contract.version("0.0.1"),
        },
        memory=memory,
        handler={"0.0.1": v1, "0.0.2": v2},
        **options,
    )


def increment_resumable(memory: IMachineMemory | None = None, **options: Any) -> ArvoResumable:
    """Fan-out/fan-in: read every key, increment each, write all back, complete (``arvo.orc.inc``).

    Every request is also broadcast to the ``external`` domain.
    """
    domains = [None, "external"]

    def v1(inp: ResumableInput) -> dict[str, Any] | None:
        data = inp.data
        if isinstance(data, ArvoErrorSchema):
            return {"output": {"success": False, "error": [data.model_dump()], "final": []}}
        if inp.input is not None:
            modifications = data.modifications
            return {
                "context": {
                    "modifications": [
                        {"key": m.key, "value": None, "modifier": m.value} for m in modifications
                    ],
                    "error": [],
                },
                "services": [{"data": Key(key=m.key), "domain": domains} for m in modifications],
            }
        context = inp.context
        if context is None:
            raise RuntimeError("Bad initialisation detected")
        modifications = context["modifications"]
        reads: list[KeyValue] = inp.collected(KeyValue)
        if reads and len(reads) == len(modifications):
            values = {read.key: read.value for read in reads}
            updated = [{**m, "value": values[m["key"]]} for m in modifications]
            return {
                "context": {**context, "modifications": updated},
                "services": [
                    {
                        "data": IncrementInput(init=m["value"], increment=m["modifier"]),
                        "domain": domains,
                    }
                    for m in updated
                ],
            }
        increments: list[NumberResult] = inp.collected(NumberResult)
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
                    {"data": KeyValue(key=item["key"], value=item["value"]), "domain": domains}
                    for item in final
                ],
            }
        return None

    return create_arvo_resumable(
        self_contract=increment_resumable_contract,
        services={
            "value_reader": value_read_contract.version("0.0.1"),
            "value_writer": value_write_contract.version("0.0.1"),
            "increment": increment_contract.version("0.0.1"),
        },
        memory=memory,
        handler={"0.0.1": v1},
        **options,
    )
