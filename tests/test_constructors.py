"""One constructor per concept: building a class directly checks its input exactly as its
``create_*``/``setup_*`` factory does (the factories are thin aliases).

Each case builds the same bad input both ways and expects the same error type and message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from arvo_ray.broker import SimpleEventBroker, create_simple_event_broker
from arvo_ray.core import (
    ArvoContract,
    ArvoOrchestratorContract,
    ConfigViolation,
    create_arvo_contract,
    create_arvo_orchestrator_contract,
)
from arvo_ray.examples.number_domain import (
    arithmetic_machine,
    decrement_orchestrator_contract,
    increment_contract,
    increment_orchestrator_contract,
    value_read_contract,
)
from arvo_ray.handler import ArvoEventHandler, create_arvo_event_handler
from arvo_ray.machine import ArvoMachine, setup
from arvo_ray.workflow import (
    ArvoOrchestrator,
    ArvoResumable,
    create_arvo_orchestrator,
    create_arvo_resumable,
)


class Model(BaseModel):
    value: int


def _raised(build: Callable[[], Any]) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as info:
        build()
    return type(info.value), str(info.value)


CASES: dict[str, tuple[Callable[..., Any], Callable[..., Any], dict[str, Any]]] = {
    "contract: reserved type": (
        ArvoContract,
        create_arvo_contract,
        {"uri": "#/c", "type": "arvo.orc.x", "versions": {"1.0.0": {"accepts": Model}}},
    ),
    "contract: no versions": (
        ArvoContract,
        create_arvo_contract,
        {"uri": "#/c", "type": "com.c.x", "versions": {}},
    ),
    "orchestrator contract: bad name": (
        ArvoOrchestratorContract,
        create_arvo_orchestrator_contract,
        {
            "uri": "#/o",
            "name": "Bad Name",
            "versions": {"1.0.0": {"init": Model, "complete": Model}},
        },
    ),
    "orchestrator: machines of two orchestrators": (
        ArvoOrchestrator,
        create_arvo_orchestrator,
        {
            "machines": [
                arithmetic_machine("increment", "0.0.1"),
                arithmetic_machine("decrement", "0.0.1"),
            ]
        },
    ),
    "orchestrator: a repeated version": (
        ArvoOrchestrator,
        create_arvo_orchestrator,
        {"machines": [arithmetic_machine("increment", "0.0.1")] * 2},
    ),
    "orchestrator: no machines": (ArvoOrchestrator, create_arvo_orchestrator, {"machines": []}),
    "resumable: a service contract as self": (
        ArvoResumable,
        create_arvo_resumable,
        {"self_contract": increment_contract, "handler": {}},
    ),
    "resumable: itself as a service": (
        ArvoResumable,
        create_arvo_resumable,
        {
            "self_contract": decrement_orchestrator_contract,
            "services": {"me": decrement_orchestrator_contract.version("0.0.1")},
            "handler": {},
        },
    ),
    "handler: a version without implementation": (
        ArvoEventHandler,
        create_arvo_event_handler,
        {"contract": increment_contract, "executionunits": 0, "handler": {"0.0.1": lambda i: None}},
    ),
    "broker: two subscribers of one topic": (
        lambda **kw: SimpleEventBroker(kw["handlers"]),
        lambda **kw: create_simple_event_broker(kw["handlers"]),
        {
            "handlers": [
                ArvoEventHandler(
                    contract=value_read_contract, executionunits=0, handler={"0.0.1": print}
                )
            ]
            * 2
        },
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_class_and_its_factory_refuse_bad_input_alike(case: str) -> None:
    """Same error type, same message, whichever way the object is built."""
    cls, factory, kwargs = CASES[case]
    assert _raised(lambda: cls(**kwargs)) == _raised(lambda: factory(**kwargs))


def test_a_machine_built_directly_checks_its_contracts_and_version() -> None:
    """ArvoMachine(...) refuses what setup_arvo_machine refuses (a service contract as self, a
    version other than the self contract's)."""
    logic = setup().create_machine({"id": "m", "initial": "a", "states": {"a": {}}})
    services = {"reader": value_read_contract.version("0.0.1")}
    with pytest.raises(ConfigViolation, match="versioned orchestrator contract"):
        ArvoMachine(
            id="m",
            version="0.0.1",
            self_contract=increment_contract.version("0.0.1"),
            services=services,
            logic=logic,
            requires_resource_locking=False,
        )
    with pytest.raises(ConfigViolation, match="Version mismatch"):
        ArvoMachine(
            id="m",
            version="9.9.9",
            self_contract=increment_orchestrator_contract.version("0.0.1"),
            services=services,
            logic=logic,
            requires_resource_locking=False,
        )
    machine = ArvoMachine(
        id="m",
        version="0.0.1",
        self_contract=increment_orchestrator_contract.version("0.0.1"),
        services=services,
        logic=logic,
        requires_resource_locking=False,
    )
    assert machine.source == "arvo.orc.inc"


def test_workflows_built_directly_default_like_their_factories() -> None:
    """Memory, execution units and locking default the same way both ways."""
    machines = [arithmetic_machine("increment", "0.0.1")]
    for direct, made in (
        (ArvoOrchestrator(machines=machines), create_arvo_orchestrator(machines=machines)),
        (
            ArvoResumable(self_contract=decrement_orchestrator_contract, handler={}),
            create_arvo_resumable(self_contract=decrement_orchestrator_contract, handler={}),
        ),
    ):
        assert type(direct.memory) is type(made.memory)
        assert direct.executionunits == made.executionunits == 0
        assert direct.requires_resource_locking == made.requires_resource_locking
