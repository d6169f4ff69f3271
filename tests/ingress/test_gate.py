"""The gate refuses at the door what the receiving handler or workflow would refuse."""

from __future__ import annotations

import pytest

from arvo_ray.core import create_arvo_event_factory
from arvo_ray.examples.number_domain import (
    build_number_domain,
    increment_contract,
    number_modifier_init,
)
from arvo_ray.ingress import EventGate, IngressError


@pytest.fixture
def gate() -> EventGate:
    domain = build_number_domain()
    return EventGate([*domain.handlers, *domain.workflows])


def factory():
    return create_arvo_event_factory(increment_contract.version("0.0.1"))


def test_valid_events_pass(gate: EventGate) -> None:
    gate.check(factory().accepts(source="com.test.client", data={"init": 1, "increment": 2}))
    gate.check(number_modifier_init(3))


def test_an_unknown_destination_is_a_422_listing_the_known_ones(gate: EventGate) -> None:
    event = factory().accepts(
        source="com.test.client", data={"init": 1, "increment": 2}, to="com.nobody"
    )
    with pytest.raises(IngressError) as caught:
        gate.check(event)
    assert caught.value.status == 422
    assert "to=com.nobody" in caught.value.message
    assert "com.increment.number" in caught.value.message


def test_data_that_breaks_the_handler_contract_is_a_422(gate: EventGate) -> None:
    event = factory().accepts(source="com.test.client", data={"init": 1, "increment": 2})
    event = event.model_copy(update={"data": {"init": "one", "increment": 2}})
    with pytest.raises(IngressError) as caught:
        gate.check(event)
    assert caught.value.status == 422
    assert "ContractViolation" in caught.value.message
    assert "data.init" in caught.value.message


def test_a_workflow_init_that_breaks_its_contract_is_a_422(gate: EventGate) -> None:
    event = number_modifier_init(3)
    event = event.model_copy(update={"data": {**event.data, "modifier": "lots"}})
    with pytest.raises(IngressError) as caught:
        gate.check(event)
    assert caught.value.status == 422
    assert "modifier" in caught.value.message


def test_a_workflow_event_without_an_orchestration_subject_is_a_422(gate: EventGate) -> None:
    event = number_modifier_init(3).model_copy(update={"subject": "not-an-orchestration-subject"})
    with pytest.raises(IngressError) as caught:
        gate.check(event)
    assert caught.value.status == 422
