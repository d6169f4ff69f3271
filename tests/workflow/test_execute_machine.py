"""execute_machine: one event through an ArvoMachine, snapshot in, raw events and output out.

Mirrors upstream ``tests/ExecuteMachine.spec.ts`` (spec §4.5, §11).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from arvo_ray.core import (
    ArvoOrchestrationSubject,
    create_arvo_event_factory,
    create_arvo_orchestrator_event_factory,
    is_violation_error,
)
from arvo_ray.machine import (
    ActionArgs,
    ArvoMachine,
    MachineExecutionResult,
    assign,
    emit,
    enqueue_arvo_event,
    execute_machine,
    setup_arvo_machine,
)

from .test_arvo_machine import SERVICES, increment_service_contract, test_machine_contract


def _machine(
    *, context: Any = None, increment_entry: list[Any] | None = None, actions: Any = None
) -> ArvoMachine:
    return setup_arvo_machine(
        self_contract=test_machine_contract.version("0.0.1"),
        services=SERVICES,
        actions=actions or {},
    ).create_machine(
        {
            "id": "counter",
            "context": context or (lambda a: {**a.input["data"], "subject": a.input["subject"]}),
            "initial": "increment",
            "states": {
                "increment": {
                    "entry": increment_entry
                    or [
                        emit(
                            lambda a: {
                                "type": "com.number.increment",
                                "data": {"delta": a.context["delta"]},
                            }
                        )
                    ],
                    "on": {
                        "evt.number.increment.success": {
                            "target": "done",
                            "actions": [
                                assign({"value": lambda a: a.event["data"]["newValue"]}),
                                # Queued first in the text, emitted after the emit below.
                                enqueue_arvo_event(
                                    lambda a: {
                                        "type": "com.number.increment",
                                        "data": {"delta": 1},
                                    }
                                ),
                                emit({"type": "com.number.decrement", "data": {"delta": -1}}),
                            ],
                        }
                    },
                },
                "done": {"type": "final"},
            },
            "output": lambda a: {"final": a.context["delta"]},
        }
    )


def _init(delta: float = 1) -> Any:
    return create_arvo_orchestrator_event_factory(test_machine_contract.version("0.0.1")).init(
        source="com.test.test",
        data={"parentSubject$$": None, "type": "increment", "delta": delta},
    )


def _reply(subject: str, new_value: float = 10) -> Any:
    return create_arvo_event_factory(increment_service_contract.version("0.0.1")).emits(
        type="evt.number.increment.success",
        source="com.number.increment",
        subject=subject,
        data={"newValue": new_value},
    )


def test_should_execute_the_machine_on_events() -> None:
    """Init emits the service call; the reply emits ``emit`` events before queued ones, then done."""
    machine = _machine()
    init = _init()

    first = execute_machine(machine, None, init)
    assert isinstance(first, MachineExecutionResult)
    assert [e["type"] for e in first.events] == ["com.number.increment"]
    assert first.events[0]["data"] == {"delta": 1}
    assert first.state["status"] == "active"
    assert first.state["value"] == "increment"
    assert first.final_output is None

    second = execute_machine(machine, first.state, _reply(init.subject))
    assert [(e["type"], e["data"]["delta"]) for e in second.events] == [
        ("com.number.decrement", -1),
        ("com.number.increment", 1),
    ]
    assert second.state["status"] == "done"
    assert second.state["value"] == "done"
    assert second.final_output == {"final": 1}
    # The volatile queue is never part of the persisted snapshot.
    assert "volatile$$" not in second.state["context"].get("arvo$$", {})
    assert second.state["context"]["arvo$$"] == {}


def test_should_give_the_machine_the_whole_event_json_as_input_and_events() -> None:
    """``input`` is the init event JSON; transitions receive the event JSON (payload in ``data``)."""
    machine = _machine()
    init = _init(delta=3)
    first = execute_machine(machine, None, init)
    assert first.state["context"]["subject"] == init.subject
    assert first.state["context"]["delta"] == 3
    second = execute_machine(machine, first.state, _reply(init.subject, new_value=42))
    assert second.state["context"]["value"] == 42


def test_should_keep_snapshots_json_and_leave_the_input_snapshot_unchanged() -> None:
    """Snapshots round-trip through JSON; executing does not mutate the snapshot given."""
    machine = _machine()
    init = _init()
    first = execute_machine(machine, None, init)
    stored = json.loads(json.dumps(first.state))
    before = json.dumps(stored, sort_keys=True)
    second = execute_machine(machine, stored, _reply(init.subject))
    assert json.dumps(stored, sort_keys=True) == before
    assert second.final_output == {"final": 1}


def test_should_throw_on_a_non_init_event_without_state() -> None:
    """A new machine must start from its init event (a plain error, not a violation)."""
    machine = _machine()
    reply = _reply(
        ArvoOrchestrationSubject.new(
            orchestrator="arvo.orc.test", version="0.0.1", initiator="com.test.test"
        )
    )
    with pytest.raises(Exception) as info:
        execute_machine(machine, None, reply)
    assert not is_violation_error(info.value)
    assert str(info.value).startswith(
        "Invalid initialization event: Machine requires source event 'arvo.orc.test' to start, "
        "but received event 'evt.number.increment.success' instead."
    )


def test_should_not_report_the_output_again_on_an_event_after_completion() -> None:
    """A done machine fed another event keeps its output but reports no new completion."""
    machine = _machine()
    init = _init()
    first = execute_machine(machine, None, init)
    second = execute_machine(machine, first.state, _reply(init.subject))
    third = execute_machine(machine, second.state, _reply(init.subject))
    assert third.events == []
    assert third.final_output is None
    assert third.state["status"] == "done"
    assert third.state["output"] == {"final": 1}


def test_should_report_an_output_that_differs_from_the_previous_one() -> None:
    """Completion de-dup compares JSON: a changed output is reported."""
    machine = _machine()
    init = _init()
    first = execute_machine(machine, None, init)
    done = execute_machine(machine, first.state, _reply(init.subject)).state
    tampered = {**done, "status": "active", "value": "increment", "output": {"final": 7}}
    again = execute_machine(machine, tampered, _reply(init.subject))
    assert again.final_output == {"final": 1}


def test_should_rethrow_an_error_raised_at_init() -> None:
    """An exception in the context factory propagates unchanged."""

    def broken(_args: Any) -> dict[str, Any]:
        raise ValueError("Some error")

    machine = _machine(context=broken)
    with pytest.raises(ValueError, match=r"^Some error$"):
        execute_machine(machine, None, _init())


def test_should_rethrow_an_error_raised_in_a_state_action() -> None:
    """An exception in an entry action propagates unchanged."""

    def explode(_args: ActionArgs) -> None:
        raise RuntimeError("In state error")

    machine = _machine(increment_entry=[{"type": "explode"}], actions={"explode": explode})
    with pytest.raises(RuntimeError, match=r"^In state error$"):
        execute_machine(machine, None, _init())
