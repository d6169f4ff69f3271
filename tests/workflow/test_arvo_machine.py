"""ArvoMachine: setup checks, create_machine checks, validate_input, locking analysis and a run.

Mirrors upstream ``tests/ArvoMachine/index.spec.ts`` (describe ``ArvoXState``, spec §4, §11).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from arvo_ray.core import (
    ArvoOrchestrationSubject,
    ConfigViolation,
    create_arvo_contract,
    create_arvo_event,
    create_arvo_event_factory,
    create_arvo_orchestrator_contract,
    create_arvo_orchestrator_event_factory,
    parse_arvo_event_id,
)
from arvo_ray.handler import HandlerInput, create_arvo_event_handler
from arvo_ray.machine import (
    ActionArgs,
    ArvoMachine,
    ArvoMachineSetup,
    assign,
    emit,
    setup_arvo_machine,
)
from arvo_ray.memory import SimpleMachineMemory
from arvo_ray.workflow import create_arvo_orchestrator

# -- the contracts of the upstream test -------------------------------------------------------


class MachineInit(BaseModel):
    delta: float
    type: Literal["increment", "decrement"]


class MachineComplete(BaseModel):
    final: float


class Delta(BaseModel):
    delta: float


class NewValue(BaseModel):
    newValue: float


class Notification(BaseModel):
    delta: float
    type: Literal["increment", "decrement"]


test_machine_contract = create_arvo_orchestrator_contract(
    uri="#/test/machine",
    name="test",
    versions={"0.0.1": {"init": MachineInit, "complete": MachineComplete}},
)

increment_service_contract = create_arvo_contract(
    uri="#/test/service/increment",
    type="com.number.increment",
    versions={
        "0.0.1": {"accepts": Delta, "emits": {"evt.number.increment.success": NewValue}},
        "0.0.2": {"accepts": Delta, "emits": {"evt.number.increment.success": NewValue}},
    },
)

decrement_service_contract = create_arvo_contract(
    uri="#/test/service/decrement",
    type="com.number.decrement",
    versions={"0.0.1": {"accepts": Delta, "emits": {"evt.number.decrement.success": NewValue}}},
)

notification_contract = create_arvo_contract(
    uri="#/test/notification/decrement",
    type="notif.number.update",
    versions={"0.0.1": {"accepts": Notification, "emits": {}}},
)

SERVICES = {
    "increment": increment_service_contract.version("0.0.1"),
    "decrement": decrement_service_contract.version("0.0.1"),
    "notification": notification_contract.version("0.0.1"),
}


def _setup(**overrides: Any) -> ArvoMachineSetup:
    logged: list[Any] = []
    options: dict[str, Any] = {
        "self_contract": test_machine_contract.version("0.0.1"),
        "services": SERVICES,
        "actions": {
            "log": lambda a: logged.append((a.context, a.event)),
            "assignEventError": assign(
                {"errors": lambda a: [*a.context["errors"], a.event["data"]]}
            ),
        },
        "guards": {
            "isIncrement": lambda a: a.context["type"] == "increment",
            "isDecrement": lambda a: a.context["type"] == "decrement",
        },
    }
    options.update(overrides)
    return setup_arvo_machine(**options)


def _context(a: Any) -> dict[str, Any]:
    return {**a.input["data"], "errors": []}


def _notification(a: ActionArgs) -> dict[str, Any]:
    return {
        "type": "notif.number.update",
        "data": {"delta": a.context["delta"], "type": a.context["type"]},
    }


COUNTER_CONFIG: dict[str, Any] = {
    "id": "counter",
    "context": _context,
    "initial": "route",
    "states": {
        "route": {
            "always": [
                {"guard": "isIncrement", "target": "increment"},
                {"guard": "isDecrement", "target": "decrement"},
                {
                    "target": "error",
                    "actions": assign(
                        {
                            "errors": lambda a: [
                                *a.context["errors"],
                                {
                                    "errorName": "Invalid type",
                                    "errorMessage": f"Invalid operation type => {a.context['type']}",
                                    "errorStack": None,
                                },
                            ]
                        }
                    ),
                },
            ]
        },
        "increment": {
            "entry": [
                emit(
                    lambda a: {
                        "id": {
                            "deduplication": "DEVELOPER_MANAGED",
                            "value": "custom-increment-id",
                        },
                        "domain": [None, "external"],
                        "type": "com.number.increment",
                        "data": {"delta": a.context["delta"]},
                    }
                )
            ],
            "on": {
                "evt.number.increment.success": {"target": "notification"},
                "sys.com.number.increment.error": {
                    "target": "error",
                    "actions": [{"type": "assignEventError"}],
                },
            },
        },
        "decrement": {
            "entry": [
                emit(
                    lambda a: {
                        "type": "com.number.decrement",
                        "data": {"delta": a.context["delta"]},
                    }
                )
            ],
            "on": {
                "evt.number.decrement.success": {"target": "notification"},
                "sys.com.number.increment.error": {
                    "target": "error",
                    "actions": [{"type": "assignEventError"}],
                },
            },
        },
        "notification": {
            "entry": [
                {"type": "log"},
                # The enqueued event is written first but is emitted after the emit() below.
                {"type": "enqueueArvoEvent", "params": _notification},
                emit(lambda a: {**_notification(a), "domain": ["external"]}),
            ],
            "always": {"target": "done"},
        },
        "done": {"type": "final"},
        "error": {"type": "final"},
    },
    "output": lambda a: {
        "final": a.context["delta"],
        "__id": {"deduplication": "ARVO_MANAGED", "value": "custom-orch-1"},
        "__executionunits": 23,
    },
}


# -- setup ------------------------------------------------------------------------------------


def test_should_create_a_valid_machine_setup() -> None:
    """``setup_arvo_machine`` returns an object whose ``create_machine`` is callable."""
    setup = _setup()
    assert isinstance(setup, ArvoMachineSetup)
    assert callable(setup.create_machine)


@pytest.mark.parametrize("second_version", ["0.0.2", "0.0.1"])
def test_should_throw_on_duplicate_service_contracts_even_with_different_versions(
    second_version: str,
) -> None:
    """Two services sharing a URI are rejected, naming the later key first (as the original)."""
    services = {
        "increment1": increment_service_contract.version("0.0.1"),
        "increment2": increment_service_contract.version(second_version),
        "decrement": decrement_service_contract.version("0.0.1"),
        "notification": notification_contract.version("0.0.1"),
    }
    with pytest.raises(ConfigViolation) as info:
        _setup(self_contract=test_machine_contract.version("0.0.1"), services=services)
    assert str(info.value) == (
        "ViolationError<Config> In ArvoMachine, the service contracts must have unique URIs. "
        "Multiple versions of the same contract are not allow. The contracts 'increment2' and "
        "'increment1' have the same URI '#/test/service/increment'"
    )


def test_should_throw_on_self_referencing() -> None:
    """The machine's own contract listed as a service is a circular dependency."""
    services = {
        "testMachine": test_machine_contract.version("0.0.1"),
        "increment2": increment_service_contract.version("0.0.1"),
        "decrement": decrement_service_contract.version("0.0.1"),
        "notification": notification_contract.version("0.0.1"),
    }
    with pytest.raises(ConfigViolation) as info:
        _setup(self_contract=test_machine_contract.version("0.0.1"), services=services)
    assert info.value.message == (
        "ViolationError<Config> In ArvoMachine, Circular dependency detected: Machine with URI "
        "'#/test/machine' is registered as service 'testMachine'. Self-referential services "
        "create execution loops and are prohibited."
    )


def test_should_report_duplicate_uris_before_a_self_reference() -> None:
    """Uniqueness is checked over all services first, then the self reference."""
    services = {
        "testMachine": test_machine_contract.version("0.0.1"),
        "increment1": increment_service_contract.version("0.0.1"),
        "increment2": increment_service_contract.version("0.0.2"),
    }
    with pytest.raises(ConfigViolation, match="must have unique URIs"):
        _setup(self_contract=test_machine_contract.version("0.0.1"), services=services)


def test_should_throw_when_using_the_actors_parameter() -> None:
    """``actors`` are asynchronous and not supported."""
    with pytest.raises(ConfigViolation) as info:
        _setup(actors={})
    assert info.value.message.startswith(
        "ViolationError<Config> Configuration Error: 'actor' not supported in Arvo machines"
    )


def test_should_throw_when_using_the_delays_parameter() -> None:
    """``delays`` are asynchronous and not supported."""
    with pytest.raises(ConfigViolation) as info:
        _setup(delays={})
    assert info.value.message.startswith(
        "ViolationError<Config> Configuration Error: 'delays' not supported in Arvo machines"
    )


def test_should_throw_when_using_the_reserved_action_name_enqueue_arvo_event() -> None:
    """``enqueueArvoEvent`` is the built-in action and cannot be redefined."""
    with pytest.raises(ConfigViolation, match="Reserved action name 'enqueueArvoEvent'"):
        _setup(actions={"enqueueArvoEvent": lambda a: None})


def test_should_reject_a_self_contract_that_is_not_a_versioned_orchestrator_contract() -> None:
    """``self`` must be ``orchestrator_contract.version(...)``, not the unversioned contract."""
    with pytest.raises(ConfigViolation, match="versioned orchestrator contract"):
        _setup(self_contract=test_machine_contract, services={})
    with pytest.raises(ConfigViolation, match="versioned orchestrator contract"):
        _setup(self_contract=increment_service_contract.version("0.0.1"), services={})


def test_should_reject_an_unversioned_service_contract() -> None:
    """Services are versioned contracts; a bare contract is named in the error."""
    with pytest.raises(ConfigViolation, match="service 'increment' must be a versioned contract"):
        _setup(
            self_contract=test_machine_contract.version("0.0.1"),
            services={"increment": increment_service_contract},
        )


# -- create_machine ---------------------------------------------------------------------------


def test_should_throw_on_version_mismatch() -> None:
    """A config ``version`` other than the self contract's is rejected with the exact text."""
    with pytest.raises(ConfigViolation) as info:
        _setup().create_machine({**COUNTER_CONFIG, "version": "0.0.3"})
    assert info.value.message == (
        "ViolationError<Config> Version mismatch: Machine version must be '0.0.1' or "
        "undefined, received '0.0.3'"
    )


def test_should_accept_the_matching_version_or_none() -> None:
    """``version`` may be omitted or equal to the self contract's version."""
    assert _setup().create_machine({**COUNTER_CONFIG, "version": "0.0.1"}).version == "0.0.1"
    assert _setup().create_machine(COUNTER_CONFIG).version == "0.0.1"


def test_should_require_a_machine_id() -> None:
    """A machine without an ``id`` is rejected."""
    config = {key: value for key, value in COUNTER_CONFIG.items() if key != "id"}
    with pytest.raises(ConfigViolation, match="'id'"):
        _setup().create_machine(config)


def test_should_expose_source_logic_version_and_id() -> None:
    """The machine's source is the init type; id and version come from config and contract."""
    machine = _setup().create_machine(COUNTER_CONFIG)
    assert isinstance(machine, ArvoMachine)
    assert machine.source == "arvo.orc.test"
    assert machine.logic is not None
    assert machine.version == "0.0.1"
    assert machine.id == "counter"


async def test_should_create_a_valid_machine_and_run_it_through_an_orchestrator() -> None:
    """The full upstream run: ids, domains, emit-before-enqueue order and the completion."""
    machine = _setup().create_machine(COUNTER_CONFIG)
    orchestrator = create_arvo_orchestrator(
        memory=SimpleMachineMemory(), executionunits=0.1, machines=[machine]
    )
    subject = ArvoOrchestrationSubject.new(
        orchestrator="arvo.orc.test", version="0.0.1", initiator="com.test.service"
    )
    init = create_arvo_event_factory(test_machine_contract.version("0.0.1")).accepts(
        source="com.test.service",
        subject=subject,
        data={"parentSubject$$": None, "type": "increment", "delta": 1},
    )

    output = await orchestrator.execute(init, otel_inherit="event")
    assert len(output.events) == 2
    for event, domain in zip(output.events, [None, "external"], strict=True):
        assert event.source == "arvo.orc.test"
        assert event.id == "custom-increment-id"
        assert event.type == "com.number.increment"
        assert event.data["delta"] == 1
        assert event.dataschema == "#/test/service/increment/0.0.1"
        assert event.domain == domain

    def increment(inp: HandlerInput) -> dict[str, Any]:
        return {
            "type": "evt.number.increment.success",
            "data": {"newValue": inp.event.data["delta"] + 9},
        }

    handler = create_arvo_event_handler(
        contract=increment_service_contract,
        executionunits=0.1,
        handler={"0.0.1": increment, "0.0.2": increment},
    )
    reply = await handler.execute(output.events[0])
    assert len(reply.events) == 1
    assert reply.events[0].domain is None
    assert reply.events[0].parentid == "custom-increment-id"

    output = await orchestrator.execute(reply.events[0], otel_inherit="event")
    assert [(e.type, e.domain) for e in output.events] == [
        ("notif.number.update", "external"),
        ("notif.number.update", None),
        ("arvo.orc.test.done", None),
    ]
    for event in output.events[:2]:
        assert event.source == "arvo.orc.test"
        assert event.data == {"delta": 1, "type": "increment"}
        # notif.number.update is a service's accepts type: validated and given its dataschema.
        assert event.dataschema == "#/test/notification/decrement/0.0.1"
    done = output.events[2]
    assert done.source == "arvo.orc.test"
    assert done.data == {"final": 1}
    assert done.to == "com.test.service"
    assert done.dataschema == "#/test/machine/0.0.1"
    assert done.executionunits == 23
    parsed, error = parse_arvo_event_id(done.id)
    assert error is None
    assert isinstance(parsed, dict)
    assert parsed["value"] == "custom-orch-1"


# -- validate_input ---------------------------------------------------------------------------


def _route_only_machine() -> ArvoMachine:
    return _setup().create_machine(
        {
            "id": "counter",
            "context": _context,
            "initial": "route",
            "states": {"route": {"type": "final"}},
        }
    )


def _self_event(data: dict[str, Any], dataschema: str | None) -> Any:
    return create_arvo_event(
        type="arvo.orc.test",
        source="com.test.test",
        subject="test",
        data=data,
        dataschema=dataschema,
    )


def test_should_validate_events_input_to_the_machine() -> None:
    """The upstream validate_input matrix (3.0.25: a dataschema is required and checked first)."""
    machine = _route_only_machine()
    good = {"parentSubject$$": None, "delta": 1, "type": "increment"}

    init = create_arvo_orchestrator_event_factory(test_machine_contract.version("0.0.1")).init(
        source="com.test.test", data={"parentSubject$$": None, "delta": 1, "type": "decrement"}
    )
    result = machine.validate_input(init)
    assert (result.status, result.contract_type) == ("VALID", "self")

    result = machine.validate_input(_self_event({**good, "type": "test"}, "#/test/machine/0.0.1"))
    assert result.status == "INVALID_DATA"
    assert result.error is not None and "type" in result.error and "'test'" in result.error

    no_schema = _self_event(good, None)
    result = machine.validate_input(no_schema)
    assert result.status == "INVALID"
    assert result.error == (
        "Event dataschema resolution failed: Unable to parse dataschema='null' for "
        f"event(id='{no_schema.id}', type='arvo.orc.test'). This makes the event opaque and "
        "does not allow contract resolution"
    )

    assert machine.validate_input(_self_event(good, "#/test/machine/0.0.1")).status == "VALID"

    result = machine.validate_input(_self_event(good, "#/test/machine/0.0.2"))
    assert result.status == "INVALID"
    assert result.error == (
        "Contract version mismatch: self Contract(version='0.0.1', type='arvo.orc.test', "
        "uri=#/test/machine) does not match Event(dataschema='#/test/machine/0.0.2', "
        "type='arvo.orc.test')"
    )

    result = machine.validate_input(_self_event(good, "#/test/machine/invalid/0.0.1"))
    assert result.status == "INVALID"
    assert result.error == (
        "Contract URI mismatch: self Contract(uri='#/test/machine', type='arvo.orc.test') does "
        "not match Event(dataschema='#/test/machine/invalid/0.0.1', type='arvo.orc.test')"
    )

    unknown = create_arvo_event(
        type="com.test.test",
        subject="test",
        source="com.test.test",
        data={},
        dataschema="#/test/unknown/0.0.1",
    )
    assert machine.validate_input(unknown).status == "CONTRACT_UNRESOLVED"

    opaque = create_arvo_event(
        type="com.test.test", subject="test", source="com.test.test", data={}, dataschema="saad"
    )
    assert machine.validate_input(opaque).status == "INVALID"

    reply = create_arvo_event_factory(increment_service_contract.version("0.0.1")).emits(
        type="evt.number.increment.success", source="com.test.test", subject="test",
        data={"newValue": 1},
    )  # fmt: skip
    result = machine.validate_input(reply)
    assert (result.status, result.contract_type) == ("VALID", "service")

    reply = create_arvo_event_factory(increment_service_contract.version("0.0.2")).emits(
        type="evt.number.increment.success", source="com.test.test", subject="test",
        data={"newValue": 1},
    )  # fmt: skip
    result = machine.validate_input(reply)
    assert result.status == "INVALID"
    assert result.error == (
        "Contract version mismatch: service Contract(version='0.0.1', "
        "type='com.number.increment', uri=#/test/service/increment) does not match "
        "Event(dataschema='#/test/service/increment/0.0.2', type='evt.number.increment.success')"
    )


def test_should_accept_service_system_errors_of_any_version() -> None:
    """``sys.*.error`` events carry the wildcard version ``0.0.0`` and match any version."""
    machine = _route_only_machine()
    error = create_arvo_event_factory(increment_service_contract.version("0.0.2")).system_error(
        error=RuntimeError("down"), source="com.number.increment", subject="test"
    )
    assert error.dataschema == "#/test/service/increment/0.0.0"
    result = machine.validate_input(error)
    assert (result.status, result.contract_type) == ("VALID", "service")


def test_should_give_invalid_data_for_a_service_reply_that_breaks_its_schema() -> None:
    """Service replies are validated against the emit schema of the service."""
    machine = _route_only_machine()
    reply = create_arvo_event(
        type="evt.number.increment.success",
        source="com.number.increment",
        subject="test",
        data={"newValue": "many"},
        dataschema="#/test/service/increment/0.0.1",
    )
    assert machine.validate_input(reply).status == "INVALID_DATA"


# -- forbidden keys in the config -------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "first_line", "location"),
    [
        (
            {"idle": {"invoke": {"src": "someService", "onDone": "success"}}, "success": {}},
            "Configuration Error: 'invoke' not supported",
            "idle > invoke",
        ),
        (
            {"idle": {"after": {1000: "timeout"}}, "timeout": {}},
            "Configuration Error: 'after' not supported",
            "idle > after",
        ),
        (
            {"enqueueArvoEvent": {"on": {"*": {"target": "timeout"}}}, "timeout": {}},
            "Configuration Error: Reserved action name 'enqueueArvoEvent'",
            "enqueueArvoEvent",
        ),
    ],
    ids=["invoke", "after", "enqueueArvoEvent"],
)
def test_should_throw_when_a_forbidden_key_is_used_in_the_machine_config(
    states: dict[str, Any], first_line: str, location: str
) -> None:
    """``invoke``, ``after`` and ``enqueueArvoEvent`` are rejected as keys anywhere in ``states``."""
    initial = next(iter(states))
    with pytest.raises(ConfigViolation) as info:
        _setup().create_machine(
            {"id": "counter", "context": _context, "initial": initial, "states": states}
        )
    message = info.value.message
    assert message.startswith(f"ViolationError<Config> {first_line}\nLocation: ")
    assert location in message


def test_should_reject_forbidden_keys_by_name_only() -> None:
    """The scan is key based: even a state named ``after`` is rejected."""
    with pytest.raises(ConfigViolation, match="'after' not supported"):
        _setup().create_machine(
            {
                "id": "counter",
                "initial": "after",
                "states": {"after": {"type": "final"}},
            }
        )


def test_should_allow_enqueue_arvo_event_as_an_action_type() -> None:
    """``{"type": "enqueueArvoEvent", "params": ...}`` is how the built-in action is used."""
    machine = _setup().create_machine(
        {
            "id": "counter",
            "initial": "a",
            "states": {
                "a": {"entry": [{"type": "enqueueArvoEvent", "params": {"type": "x.y.z"}}]},
            },
        }
    )
    assert machine.id == "counter"


# -- locking analysis and the stored definition ------------------------------------------------


def _machine_with(state: dict[str, Any], services: dict[str, Any] | None = None) -> ArvoMachine:
    return setup_arvo_machine(
        self_contract=test_machine_contract.version("0.0.1"),
        services=services if services is not None else SERVICES,
    ).create_machine({"id": "m", "initial": "s", "states": {"s": state}})


def test_should_not_require_locking_without_parallel_states_or_multi_emit_services() -> None:
    """A plain machine whose services each answer with one event type needs no lock."""
    assert _machine_with({"type": "final"}).requires_resource_locking is False


def test_should_require_locking_for_parallel_states() -> None:
    """A parallel state, even one without regions, makes the machine require locking."""
    assert _machine_with({"type": "parallel", "states": {}}).requires_resource_locking is True


def test_should_require_locking_for_a_service_with_several_emit_types() -> None:
    """A service that can answer with two event types makes the machine require locking."""
    two_emits = create_arvo_contract(
        uri="#/test/service/two",
        type="com.number.two",
        versions={
            "0.0.1": {
                "accepts": Delta,
                "emits": {"evt.number.two.a": NewValue, "evt.number.two.b": NewValue},
            }
        },
    )
    machine = _machine_with({"type": "final"}, {"two": two_emits.version("0.0.1")})
    assert machine.requires_resource_locking is True


def test_should_store_the_definition_as_json_without_functions() -> None:
    """``machine_definition`` is the config as JSON with functions and actions dropped."""
    machine = _setup().create_machine(COUNTER_CONFIG)
    definition = json.loads(machine.machine_definition)
    assert list(definition) == ["id", "initial", "states"]
    assert definition["states"]["increment"] == {
        "entry": [None],
        "on": {
            "evt.number.increment.success": {"target": "notification"},
            "sys.com.number.increment.error": {
                "target": "error",
                "actions": [{"type": "assignEventError"}],
            },
        },
    }
    assert definition["states"]["notification"]["entry"] == [
        {"type": "log"},
        {"type": "enqueueArvoEvent"},
        None,
    ]
    assert definition["states"]["route"]["always"][0] == {
        "guard": "isIncrement",
        "target": "increment",
    }
