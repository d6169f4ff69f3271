"""MachineRegistry: which machine handles an event (by the subject's name and version).

Mirrors upstream ``tests/MachineRegistry.spec.ts`` (spec §4.6, §11).
"""

from __future__ import annotations

import pytest

from arvo_ray.core import ArvoOrchestrationSubject, InvalidSubjectError, create_arvo_event
from arvo_ray.examples.number_domain import arithmetic_machine
from arvo_ray.machine import MachineRegistry

from .conftest import dec_init, inc_init

INC_V1 = arithmetic_machine("increment", "0.0.1")
INC_V2 = arithmetic_machine("increment", "0.0.2")
DEC_V1 = arithmetic_machine("decrement", "0.0.1")


def test_should_throw_on_no_machines() -> None:
    """A registry needs at least one machine (exact message)."""
    with pytest.raises(ValueError) as info:
        MachineRegistry()
    assert str(info.value) == (
        "Machine registry initialization failed: No machines provided. At least one machine "
        "must be registered."
    )


def test_should_resolve_the_required_machine() -> None:
    """Resolution uses the subject's orchestrator version, and its name across contracts."""
    registry = MachineRegistry(INC_V1, INC_V2, DEC_V1)
    assert registry.machines == [INC_V1, INC_V2, DEC_V1]
    assert registry.resolve(inc_init(version="0.0.1")) is INC_V1
    assert registry.resolve(inc_init(version="0.0.2")) is INC_V2
    assert registry.resolve(dec_init(version="0.0.1")) is DEC_V1


def test_should_return_none_for_an_unknown_orchestrator() -> None:
    """An orchestrator name or version without a machine resolves to ``None``, not an error."""
    registry = MachineRegistry(INC_V1)
    assert registry.resolve(dec_init()) is None
    assert registry.resolve(inc_init(version="0.0.2")) is None


def test_should_select_by_the_subject_version_not_the_dataschema() -> None:
    """A subject fixed at init keeps its machine version whatever the event's dataschema says."""
    registry = MachineRegistry(INC_V1, INC_V2)
    subject = ArvoOrchestrationSubject.new(
        orchestrator="arvo.orc.inc", version="0.0.1", initiator="com.test.test"
    )
    reply = create_arvo_event(
        type="evt.increment.number.success",
        source="com.increment.number",
        subject=subject,
        data={"result": 1},
        dataschema="#/test/handler/increment/0.0.2",
    )
    assert registry.resolve(reply) is INC_V1


def test_should_raise_on_a_subject_that_does_not_parse() -> None:
    """An invalid subject is an error of the caller (the orchestrator checks it before)."""
    registry = MachineRegistry(INC_V1)
    event = create_arvo_event(type="arvo.orc.inc", source="com.test.test", subject="test", data={})
    with pytest.raises(InvalidSubjectError):
        registry.resolve(event)
