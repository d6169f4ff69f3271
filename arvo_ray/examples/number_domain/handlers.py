"""Stateless handlers of the number domain; the value handlers share one key-value store."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from arvo_ray.examples.number_domain.contracts import (
    decrement_contract,
    increment_contract,
    value_read_contract,
    value_write_contract,
)
from arvo_ray.handler import ArvoEventHandler, HandlerInput, create_arvo_event_handler

__all__ = ["decrement_handler", "increment_handler", "value_read_handler", "value_write_handler"]


def increment_handler() -> ArvoEventHandler:
    """``init + increment`` (v0.0.1); ``init * multiplier`` reported twice (v0.0.2)."""

    def v1(inp: HandlerInput) -> dict[str, Any]:
        data = inp.event.data
        return {
            "type": "evt.increment.number.success",
            "data": {"result": data["init"] + data["increment"]},
        }

    def v2(inp: HandlerInput) -> list[dict[str, Any]]:
        data = inp.event.data
        result = data["init"] * data["multiplier"]
        return [
            {"type": "evt.increment.number.success", "data": {"result": result}},
            {"type": "evt.multiplier.number.success", "data": {"result": result}},
        ]

    return create_arvo_event_handler(
        contract=increment_contract, executionunits=0.1, handler={"0.0.1": v1, "0.0.2": v2}
    )


def decrement_handler() -> ArvoEventHandler:
    """``init - decrement`` (v0.0.1); ``init / divider`` (v0.0.2)."""

    def v1(inp: HandlerInput) -> dict[str, Any]:
        data = inp.event.data
        return {
            "type": "evt.decrement.number.success",
            "data": {"result": data["init"] - data["decrement"]},
        }

    def v2(inp: HandlerInput) -> dict[str, Any]:
        data = inp.event.data
        return {
            "type": "evt.decrement.number.success",
            "data": {"result": data["init"] / data["divider"]},
        }

    return create_arvo_event_handler(
        contract=decrement_contract, executionunits=0.1, handler={"0.0.1": v1, "0.0.2": v2}
    )


def value_read_handler(store: MutableMapping[str, float]) -> ArvoEventHandler:
    """Read a key; a missing key raises, which becomes ``sys.com.value.read.error``."""

    def read(inp: HandlerInput) -> dict[str, Any]:
        key = inp.event.data["key"]
        if key not in store:
            raise LookupError(f"No value to find at key={key}")
        return {"type": "evt.value.read.success", "data": {"key": key, "value": store[key]}}

    return create_arvo_event_handler(
        contract=value_read_contract, executionunits=0, handler={"0.0.1": read}
    )


def value_write_handler(store: MutableMapping[str, float]) -> ArvoEventHandler:
    """Write a key; ``-100`` is stored but reported as failure, ``-200`` raises."""

    def write(inp: HandlerInput) -> dict[str, Any]:
        key, value = inp.event.data["key"], inp.event.data["value"]
        if value == -200:
            raise ValueError(f"Invalid value is {value}.")
        store[key] = value
        return {"type": "evt.value.write.success", "data": {"key": key, "success": value != -100}}

    return create_arvo_event_handler(
        contract=value_write_contract, executionunits=0, handler={"0.0.1": write}
    )
