"""``number_modifier_init``: the init event of the number domain's number.modifier workflow."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import ArvoOrchestrationSubject
from arvo_ray.examples.number_domain import build_number_domain, number_modifier_init


def test_the_event_carries_the_init_payload_of_the_contract_version() -> None:
    event = number_modifier_init(3, source="com.test.client")
    assert event.type == "arvo.orc.number.modifier"
    assert event.source == "com.test.client"
    assert event.to == "arvo.orc.number.modifier"
    assert event.data == {
        "parentSubject$$": None,
        "init": 3,
        "modifier": 4,
        "operation": "increment",
        "trend": "linear",
    }
    assert ArvoOrchestrationSubject.parse(event.subject)["orchestrator"]["version"] == "0.0.1"
    later = number_modifier_init(2, modifier=1, operation="increment", version="0.0.2")
    assert later.source == "com.number.client"
    assert later.data["trend"] == "exponential"
    assert (later.data["modifier"], later.data["operation"]) == (1, "increment")


def test_odd_values_are_incremented_and_even_ones_decremented_by_default() -> None:
    assert [number_modifier_init(v).data["operation"] for v in (1, 2)] == [
        "increment",
        "decrement",
    ]


def test_options_reach_the_event() -> None:
    event = number_modifier_init(1, redirectto="com.test.audit")
    assert event.redirectto == "com.test.audit"


@pytest.mark.parametrize(
    ("value", "operation", "final"),
    [(3, None, 7), (2, None, -2), (1, "decrement", -3), (10, "increment", 14)],
)
def test_the_workflow_it_starts_ends_with_the_modified_value(
    value: int, operation: Literal["increment", "decrement"] | None, final: int
) -> None:
    broker = create_simple_event_broker(build_number_domain().all)
    init = number_modifier_init(value, operation=operation)
    done = asyncio.run(broker.resolve(init))
    assert done is not None and done.type == "arvo.orc.number.modifier.done"
    assert done.data == {"success": True, "error": [], "final": final}
