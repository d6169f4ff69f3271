"""Stateless handlers of the number domain; the value handlers share one key-value store."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from arvo_ray.examples.number_domain.contracts import (
    DecrementInput,
    DivideInput,
    IncrementInput,
    Key,
    KeyValue,
    MultiplyInput,
    NumberResult,
    WriteResult,
    decrement_contract,
    increment_contract,
    value_read_contract,
    value_write_contract,
)
from arvo_ray.handler import ArvoEventHandler, HandlerInput, create_arvo_event_handler

__all__ = ["decrement_handler", "increment_handler", "value_read_handler", "value_write_handler"]


def increment_handler() -> ArvoEventHandler:
    """``init + increment`` (v0.0.1); ``init * multiplier`` reported twice (v0.0.2)."""

    def v1(inp: HandlerInput[IncrementInput]) -> NumberResult:
        return NumberResult(result=inp.data.init + inp.data.increment)

    def v2(inp: HandlerInput[MultiplyInput]) -> list[dict[str, Any]]:
        # Two emitted types share one model, so each answer names its type.
        result = NumberResult(result=inp.data.init * inp.data.multiplier)
        return [
            {"type": "evt.increment.number.success", "data": result},
            {"type": "evt.multiplier.number.success", "data": result},
        ]

    return create_arvo_event_handler(
        contract=increment_contract, executionunits=0.1, handler={"0.0.1": v1, "0.0.2": v2}
    )


def decrement_handler() -> ArvoEventHandler:
    """``init - decrement`` (v0.0.1); ``init / divider`` (v0.0.2)."""

    def v1(inp: HandlerInput[DecrementInput]) -> NumberResult:
        return NumberResult(result=inp.data.init - inp.data.decrement)

    def v2(inp: HandlerInput[DivideInput]) -> NumberResult:
        return NumberResult(result=inp.data.init / inp.data.divider)

    return create_arvo_event_handler(
        contract=decrement_contract, executionunits=0.1, handler={"0.0.1": v1, "0.0.2": v2}
    )


def value_read_handler(store: MutableMapping[str, float]) -> ArvoEventHandler:
    """Read a key; a missing key raises, which becomes ``sys.com.value.read.error``."""

    def read(inp: HandlerInput[Key]) -> KeyValue:
        key = inp.data.key
        if key not in store:
            raise LookupError(f"No value to find at key={key}")
        return KeyValue(key=key, value=store[key])

    return create_arvo_event_handler(
        contract=value_read_contract, executionunits=0, handler={"0.0.1": read}
    )


def value_write_handler(store: MutableMapping[str, float]) -> ArvoEventHandler:
    """Write a key; ``-100`` is stored but reported as failure, ``-200`` raises."""

    def write(inp: HandlerInput[KeyValue]) -> WriteResult:
        key, value = inp.data.key, inp.data.value
        if value == -200:
            raise ValueError(f"Invalid value is {value}.")
        store[key] = value
        return WriteResult(key=key, success=value != -100)

    return create_arvo_event_handler(
        contract=value_write_contract, executionunits=0, handler={"0.0.1": write}
    )
