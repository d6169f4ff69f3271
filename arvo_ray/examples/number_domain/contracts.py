"""Contracts of the number domain: a key-value store, arithmetic services, an approval asked of
an outside party, and the orchestrators over them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictFloat, StrictInt

from arvo_ray.core import (
    ArvoErrorSchema,
    create_arvo_contract,
    create_arvo_orchestrator_contract,
    create_simple_arvo_contract,
)

__all__ = [
    "approval_contract",
    "approval_orchestrator_contract",
    "decrement_contract",
    "decrement_orchestrator_contract",
    "increment_contract",
    "increment_orchestrator_contract",
    "increment_resumable_contract",
    "number_modifier_contract",
    "value_read_contract",
    "value_write_contract",
]


Number = StrictInt | StrictFloat
"""A JSON number: ints stay ints (``3``, not ``3.0``), as in the TypeScript original."""


class IncrementInput(BaseModel):
    init: Number
    increment: Number


class MultiplyInput(BaseModel):
    init: Number
    multiplier: Number


class DecrementInput(BaseModel):
    init: Number
    decrement: Number


class DivideInput(BaseModel):
    init: Number
    divider: Number


class NumberResult(BaseModel):
    result: Number


class KeyValue(BaseModel):
    key: str
    value: Number


class Key(BaseModel):
    key: str


class WriteResult(BaseModel):
    key: str
    success: bool


increment_contract = create_arvo_contract(
    uri="#/test/handler/increment",
    type="com.increment.number",
    versions={
        "0.0.1": {
            "accepts": IncrementInput,
            "emits": {"evt.increment.number.success": NumberResult},
        },
        "0.0.2": {
            "accepts": MultiplyInput,
            "emits": {
                "evt.increment.number.success": NumberResult,
                "evt.multiplier.number.success": NumberResult,
            },
        },
    },
)

decrement_contract = create_simple_arvo_contract(
    uri="#/test/handler/decrement",
    type="decrement.number",
    versions={
        "0.0.1": {"accepts": DecrementInput, "emits": NumberResult},
        "0.0.2": {"accepts": DivideInput, "emits": NumberResult},
    },
)

value_write_contract = create_simple_arvo_contract(
    uri="#/test/handler/value/write",
    type="value.write",
    versions={"0.0.1": {"accepts": KeyValue, "emits": WriteResult}},
)

value_read_contract = create_simple_arvo_contract(
    uri="#/test/handler/value/read",
    type="value.read",
    versions={"0.0.1": {"accepts": Key, "emits": KeyValue}},
)


class LinearInit(BaseModel):
    key: str
    modifier: Number
    trend: Literal["linear"]


class ExponentialInit(BaseModel):
    key: str
    modifier: Number
    trend: Literal["exponential"]


class Completion(BaseModel):
    success: bool
    error: list[ArvoErrorSchema]
    final: Number


increment_orchestrator_contract = create_arvo_orchestrator_contract(
    uri="#/test/orchestrator/increment",
    name="inc",
    versions={
        "0.0.1": {"init": LinearInit, "complete": Completion},
        "0.0.2": {"init": ExponentialInit, "complete": Completion},
    },
)

decrement_orchestrator_contract = create_arvo_orchestrator_contract(
    uri="#/test/orchestrator/decrement",
    name="dec",
    versions={
        "0.0.1": {"init": LinearInit, "complete": Completion},
        "0.0.2": {"init": ExponentialInit, "complete": Completion},
    },
)


class ModifierLinearInit(BaseModel):
    init: Number
    modifier: Number
    operation: Literal["increment", "decrement"]
    trend: Literal["linear"]


class ModifierExponentialInit(BaseModel):
    init: Number
    modifier: Number
    operation: Literal["increment", "decrement"]
    trend: Literal["exponential"]


number_modifier_contract = create_arvo_orchestrator_contract(
    uri="#/test/orchestrator/number/modifier",
    name="number.modifier",
    versions={
        "0.0.1": {"init": ModifierLinearInit, "complete": Completion},
        "0.0.2": {"init": ModifierExponentialInit, "complete": Completion},
    },
)


class Modification(BaseModel):
    key: str
    value: Number


class ResumableInit(BaseModel):
    modifications: list[Modification]


class ResumableCompletion(BaseModel):
    success: bool
    final: list[Modification]
    error: list[ArvoErrorSchema]


increment_resumable_contract = create_arvo_orchestrator_contract(
    uri="#/resumables/inc",
    name="inc",
    versions={"0.0.1": {"init": ResumableInit, "complete": ResumableCompletion}},
)


class ApprovalRequest(BaseModel):
    """The change an outside party is asked to approve: ``value`` to be written at ``key``."""

    key: str
    value: Number


class ApprovalDecision(BaseModel):
    approved: bool
    by: str | None = Field(default=None, description="Who decided, when they say.")


# No handler in this package answers it: a person or another system does, whenever it likes,
# which is why the workflow asking for it also sets a deadline.
approval_contract = create_simple_arvo_contract(
    uri="#/test/handler/number/approval",
    type="number.approval",
    versions={"0.0.1": {"accepts": ApprovalRequest, "emits": ApprovalDecision}},
    description="A change approved or rejected by an outside party.",
)


class ApprovalInit(BaseModel):
    key: str
    value: Number
    deadline: float = Field(gt=0, description="Seconds to wait for the answer.")


class ApprovalOutcome(BaseModel):
    outcome: Literal["approved", "rejected", "expired"]
    value: Number | None = Field(description="The value written, when it was approved.")


approval_orchestrator_contract = create_arvo_orchestrator_contract(
    uri="#/test/orchestrator/number/approval",
    name="number.approval",
    versions={"0.0.1": {"init": ApprovalInit, "complete": ApprovalOutcome}},
)
