"""``ArvoEventHandler``: the upstream suite (spec §11), the recorded cases and the port's rules.

The first section mirrors every numbered case of the original's
``tests/ArvoEventHandler/index.spec.ts`` (3.0.25 inventory, spec §11); the second checks the
exact violation messages (§3.7) and the event shapes recorded from the original
(``vectors.json``); the rest pins the envelope rules of §3.4/§3.6 and the port's own choices
(derived ids, sync implementations, pydantic data, malformed outputs).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from arvo_ray.core import (
    ArvoErrorSchema,
    ArvoEvent,
    ConfigViolation,
    ContractViolation,
    ExecutionViolation,
    VersionedArvoContract,
    ViolationError,
    create_arvo_contract,
    create_arvo_event,
    create_arvo_event_factory,
    create_simple_arvo_contract,
)
from arvo_ray.examples.number_domain.contracts import value_read_contract
from arvo_ray.examples.number_domain.handlers import increment_handler, value_read_handler
from arvo_ray.handler import (
    ArvoDomain,
    ArvoEventHandler,
    ExecutionResult,
    HandlerInput,
    IArvoEventHandler,
    create_arvo_event_handler,
)

from .fixtures import (
    HELLO_TYPE,
    MOCK_CONTRACT,
    SUCCESS,
    SYS_ERROR,
    VOLATILE,
    HelloInput,
    HelloResult,
    greet,
    greeting,
    hello_contract,
    hello_event,
    load_vectors,
    make_handler,
    raising,
    without,
)

# ---------------------------------------------------------------------------------------------
# Upstream inventory: tests/ArvoEventHandler/index.spec.ts (spec §11, cases 1-32)
# ---------------------------------------------------------------------------------------------


class TestUpstreamBasics:
    """Cases 1-3: construction, a successful run, the default (local) emit domain."""

    async def test_01_should_create_an_instance_with_default_source(self) -> None:
        """The handler's source is the contract type, and it emits on a valid event."""
        handler = make_handler()
        assert handler.source == MOCK_CONTRACT.type == HELLO_TYPE
        result = await handler.execute(hello_event())
        assert len(result.events) >= 1

    async def test_02_should_execute_handler_successfully(self) -> None:
        """A valid event produces the contract's success event."""
        result = await make_handler().execute(hello_event())
        assert isinstance(result, ExecutionResult)
        assert [event.type for event in result.events] == [SUCCESS]
        assert result.events[0].data == {"result": "My name is Saad Ahmad. I am 26 years old"}

    async def test_03_event_domain_goes_to_the_local_domain_by_default(self) -> None:
        """An input from domain ``test.test`` answers locally (ORCHESTRATION_CONTEXT → null)."""
        result = await make_handler().execute(hello_event(domain="test.test"))
        assert len(result.events) == 1
        assert result.events[0].domain is None


class TestUpstreamDomains:
    """Cases 4-11: emit and system-error domains (§3.5)."""

    async def test_04_handler_override_domains(self) -> None:
        """Output ``domain: ['test', 'notification']`` gives two events with those domains."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "domain": ["test", "notification"]}

        result = await make_handler(impl).execute(hello_event(domain="test.test"))
        assert [event.domain for event in result.events] == ["test", "notification"]

    async def test_05_explicit_null_domains_are_deduplicated(self) -> None:
        """``[null, null, FROM_SELF_CONTRACT]`` without a contract domain gives one local event."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "domain": [None, None, ArvoDomain.FROM_SELF_CONTRACT]}

        result = await make_handler(impl).execute(hello_event(domain=None))
        assert len(result.events) == 1
        assert result.events[0].domain is None

    async def test_06_domain_inherited_from_contract(self) -> None:
        """``[FROM_SELF_CONTRACT, FROM_TRIGGERING_EVENT]`` gives ``test.3333`` then null."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            domains = [ArvoDomain.FROM_SELF_CONTRACT, ArvoDomain.FROM_TRIGGERING_EVENT]
            return {**greet(inp), "domain": domains}

        handler = make_handler(impl, contract=hello_contract(domain="test.3333"))
        result = await handler.execute(hello_event(domain=None))
        assert [event.domain for event in result.events] == ["test.3333", None]

    async def test_07_all_domains_share_a_developer_managed_id(self) -> None:
        """Five domain rules resolve to four distinct domains, every copy with id ``custom-id``."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {
                **greet(inp),
                "id": {"deduplication": "DEVELOPER_MANAGED", "value": "custom-id"},
                "domain": [
                    None,
                    ArvoDomain.FROM_SELF_CONTRACT,
                    ArvoDomain.FROM_EVENT_CONTRACT,
                    ArvoDomain.FROM_TRIGGERING_EVENT,
                    "test.3",
                ],
            }

        handler = make_handler(impl, contract=hello_contract(domain="test.3333"))
        result = await handler.execute(hello_event(domain="test.1"))
        assert [event.domain for event in result.events] == [None, "test.3333", "test.1", "test.3"]
        assert [event.id for event in result.events] == ["custom-id"] * 4

    async def test_08_error_domain_is_local_by_default_with_contract_and_event_domains(
        self,
    ) -> None:
        """A thrown error gives one local ``sys`` event (contract ``test.3333``, event ``test.1``)."""
        handler = make_handler(
            raising(Exception("some error")), contract=hello_contract(domain="test.3333")
        )
        event = hello_event(domain="test.1")
        result = await handler.execute(event)
        assert len(result.events) == 1
        assert result.events[0].type == SYS_ERROR
        assert result.events[0].domain is None
        assert result.events[0].parentid == event.id

    async def test_09_error_domain_is_local_even_with_an_event_domain(self) -> None:
        """The same with the plain contract and an input domain ``test.1``."""
        event = hello_event(domain="test.1")
        result = await make_handler(raising(Exception("some error"))).execute(event)
        assert [e.domain for e in result.events] == [None]
        assert result.events[0].parentid == event.id

    async def test_10_error_domain_is_local_without_an_event_domain(self) -> None:
        """Without any domain the ``sys`` event is local and answers the input event."""
        event = hello_event()
        result = await make_handler(raising(Exception("some error"))).execute(event)
        assert [e.domain for e in result.events] == [None]
        assert result.events[0].parentid == event.id

    async def test_11_error_routes_to_the_domain_of_the_current_subject(self) -> None:
        """``system_error: [FROM_CURRENT_SUBJECT]`` takes the domain inside the subject."""
        handler = make_handler(
            raising(Exception("some error")),
            default_event_emission_domains={"system_error": [ArvoDomain.FROM_CURRENT_SUBJECT]},
        )
        # No subject given: the factory invents an orchestration subject carrying `test.1`.
        event = hello_event(subject=None, domain="test.1")
        result = await handler.execute(event)
        assert [e.domain for e in result.events] == ["test.1"]
        assert result.events[0].subject == event.subject


class TestUpstreamErrors:
    """Cases 12-15: violations raise, other errors become ``sys`` events."""

    async def test_12_should_handle_validation_error(self) -> None:
        """A foreign event type raises the exact ConfigViolation."""
        event = create_arvo_event(
            type="com.saad.invalid.test",
            source="test.source.env",
            subject="test",
            to="com.saad.exe",
            data={"name": "saad"},
        )
        with pytest.raises(ConfigViolation) as caught:
            await make_handler().execute(event)
        assert str(caught.value) == (
            "ViolationError<Config> Event type mismatch: Received 'com.saad.invalid.test', "
            "expected 'com.hello.world'"
        )

    async def test_13_should_handle_handler_error(self) -> None:
        """A thrown Error becomes ``sys.com.hello.world.error`` with the message, same subject."""
        event = hello_event(data={"name": "Saad", "age": 10})
        result = await make_handler(raising(Exception("Test error"))).execute(event)
        error = result.events[0]
        assert error.type == "sys.com.hello.world.error"
        assert error.subject == event.subject
        assert error.data["errorMessage"] == "Test error"

    async def test_14_should_throw_execution_violations(self) -> None:
        """An ExecutionViolation raised by the implementation is raised by ``execute``."""
        event = hello_event(data={"name": "Saad", "age": 10})
        with pytest.raises(ExecutionViolation, match="Test error") as caught:
            await make_handler(raising(ExecutionViolation("Test error"))).execute(event)
        assert str(caught.value) == "ViolationError<Execution> Test error"
        assert caught.value.name == "ViolationError<Execution>"

    async def test_15_should_validate_the_input(self) -> None:
        """A payload missing ``age`` raises a ContractViolation before the implementation runs."""
        calls: list[HandlerInput] = []
        event = create_arvo_event(
            type=HELLO_TYPE,
            to=HELLO_TYPE,
            source="com.test.env",
            subject="test-subject",
            data={"name": "Saad"},
        )
        with pytest.raises(ContractViolation) as caught:
            await make_handler(calls.append).execute(event)
        assert str(caught.value).startswith(
            "ViolationError<Contract> Input event payload validation failed:"
        )
        assert "'data.age'" in str(caught.value)
        assert calls == []


class TestUpstreamOutputs:
    """Cases 16-27: execution units, discovery, versions, dataschemas, output validation."""

    async def test_16_custom_executionunits_per_output(self) -> None:
        """Per-output ``executionunits`` win over the handler's."""

        def impl(inp: HandlerInput) -> list[dict[str, Any]]:
            return [{**greet(inp), "executionunits": 200}, {**greet(inp), "executionunits": 500}]

        result = await make_handler(impl).execute(hello_event())
        assert [event.executionunits for event in result.events] == [200, 500]

    def test_17_system_error_schema_is_discoverable(self) -> None:
        """``system_error_schema.type`` is ``sys.<contract type>.error``."""
        handler = make_handler()
        assert handler.system_error_schema.type == f"sys.{handler.contract.type}.error"
        assert handler.system_error_schema.type == "sys.com.hello.world.error"

    async def test_18_no_output_when_the_handler_returns_none(self) -> None:
        """An implementation returning nothing emits nothing."""
        result = await make_handler(lambda inp: None).execute(hello_event())
        assert result.events == []

    def test_19_multiple_contract_versions(self) -> None:
        """A two-version contract with both implementations constructs."""
        handler = create_arvo_event_handler(
            contract=_multi_version_contract(),
            executionunits=100,
            handler={"0.0.1": _hello_v1, "0.0.2": _hello_v2},
        )
        assert isinstance(handler, ArvoEventHandler)
        assert handler.source == "com.hello.world"

    def test_20_missing_implementation_for_a_version(self) -> None:
        """A version without implementation fails construction, naming contract and version."""
        contract = _multi_version_contract(uri="#/test/Missing")
        with pytest.raises(ValueError, match="requires handler implementation") as caught:
            create_arvo_event_handler(
                contract=contract, executionunits=100, handler={"0.0.1": _hello_v1}
            )
        assert str(caught.value) == (
            "Contract #/test/Missing requires handler implementation for version 0.0.2"
        )

    async def test_21_event_with_dataschema_version(self) -> None:
        """An event naming ``#/test/ArvoEventHandler/0.0.1`` is handled by that version."""
        event = create_arvo_event(
            type=HELLO_TYPE,
            source="test.source.env",
            subject="test",
            to=HELLO_TYPE,
            dataschema="#/test/ArvoEventHandler/0.0.1",
            data={"name": "Test", "age": 25},
        )
        result = await make_handler().execute(event)
        assert result.events[0].type == SUCCESS

    async def test_22_mismatched_contract_uri_in_dataschema(self) -> None:
        """A dataschema naming another contract raises the exact ContractViolation."""
        event = create_arvo_event(
            type=HELLO_TYPE,
            source="test.source.env",
            subject="test",
            to=HELLO_TYPE,
            dataschema="#/wrong/contract/0.0.1",
            data={"name": "Test", "age": 25},
        )
        with pytest.raises(ContractViolation) as caught:
            await make_handler().execute(event)
        assert str(caught.value) == (
            "ViolationError<Contract> Contract URI mismatch: Handler expects "
            "'#/test/ArvoEventHandler' but event dataschema specifies '#/wrong/contract/0.0.1'. "
            "Events must reference the same contract URI as their handler."
        )

    async def test_23_custom_span_options(self, span_exporter: InMemorySpanExporter) -> None:
        """A custom span attribute is kept (it lands on the span) and execution still works."""
        handler = make_handler(span_attributes={"custom.attribute": "test-value"})
        result = await handler.execute(hello_event())
        assert result.events[0].type == SUCCESS
        (span,) = [s for s in span_exporter.get_finished_spans() if s.name.startswith("Handler")]
        assert span.attributes is not None
        assert span.attributes["custom.attribute"] == "test-value"

    async def test_24_single_output_as_non_array(self) -> None:
        """A single dict output gives exactly one event."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {
                "type": SUCCESS,
                "data": {"result": f"Single output for {inp.event.data['name']}"},
            }

        result = await make_handler(impl).execute(hello_event())
        assert len(result.events) == 1
        assert result.events[0].type == SUCCESS

    async def test_25_contract_violation_on_invalid_event_data(self) -> None:
        """Data that does not fit the accepts model raises ContractViolation."""
        event = create_arvo_event(
            subject="test-subject",
            source="com.test.test",
            type=HELLO_TYPE,
            dataschema=MOCK_CONTRACT.version("0.0.1").dataschema,
            data={"input": 2},
        )
        with pytest.raises(ContractViolation, match=r"^ViolationError<Contract>"):
            await make_handler().execute(event)

    async def test_26_config_violation_on_unknown_dataschema_version(self) -> None:
        """A dataschema version the contract does not have raises ConfigViolation."""
        event = create_arvo_event(
            subject="test-subject",
            source="com.test.test",
            type=HELLO_TYPE,
            dataschema=f"{MOCK_CONTRACT.uri}/0.0.2",
            data={"input": 2},
        )
        with pytest.raises(ConfigViolation, match=r"^ViolationError<Config>") as caught:
            await make_handler().execute(event)
        assert str(caught.value) == (
            "ViolationError<Config> Invalid contract version: 0.0.2. Available versions: 0.0.1"
        )

    async def test_27_contract_violation_on_invalid_emission(self) -> None:
        """Output data that does not fit the emits model raises ContractViolation."""
        handler = make_handler(lambda inp: {"type": SUCCESS, "data": {"result": 2}})
        with pytest.raises(ContractViolation, match=r"^ViolationError<Contract>") as caught:
            await handler.execute(hello_event())
        assert str(caught.value).startswith(
            "ViolationError<Contract> Emit Event data validation failed:"
        )
        assert "'data.result'" in str(caught.value)


class TestUpstreamParentId:
    """Cases 28-32: ``parentid`` support."""

    async def test_28_parentid_preserved_on_outputs(self) -> None:
        """Every output names the consumed event as its parent."""
        event = hello_event()
        result = await make_handler().execute(event)
        assert [e.parentid for e in result.events] == [event.id]

    async def test_29_parentid_on_system_error_events(self) -> None:
        """The ``sys`` error event names the consumed event as its parent."""
        event = hello_event(data={"name": "Saad", "age": 10})
        result = await make_handler(raising(Exception("Test error"))).execute(event)
        assert result.events[0].type == SYS_ERROR
        assert result.events[0].parentid == event.id

    async def test_30_parentid_on_multiple_outputs(self) -> None:
        """Two outputs, both answering the consumed event."""

        def impl(inp: HandlerInput) -> list[dict[str, Any]]:
            name = inp.event.data["name"]
            return [
                {"type": SUCCESS, "data": {"result": f"First output for {name}"}},
                {"type": SUCCESS, "data": {"result": f"Second output for {name}"}},
            ]

        event = hello_event()
        result = await make_handler(impl).execute(event)
        assert len(result.events) == 2
        assert [e.parentid for e in result.events] == [event.id, event.id]

    async def test_31_handler_cannot_override_parentid(self) -> None:
        """A ``parentid`` in the output is ignored."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "parentid": "custom-parent-override"}

        event = hello_event()
        result = await make_handler(impl).execute(event)
        assert result.events[0].parentid == event.id
        assert result.events[0].parentid != "custom-parent-override"

    async def test_32_parentid_in_otel_attributes(self) -> None:
        """The emitted event's OpenTelemetry attributes carry its ``parentid``."""
        event = hello_event()
        result = await make_handler().execute(event)
        assert result.events[0].otel_attributes["cloudevents.arvo.event_parentid"] == event.id


def _multi_version_contract(uri: str = "#/test/MultiVersion") -> Any:
    class V1(BaseModel):
        name: str

    class V2(BaseModel):
        name: str
        title: str

    return create_arvo_contract(
        uri=uri,
        type="com.hello.world",
        versions={
            "0.0.1": {"accepts": V1, "emits": {"evt.hello.success": HelloResult}},
            "0.0.2": {"accepts": V2, "emits": {"evt.hello.success": HelloResult}},
        },
    )


def _hello_v1(inp: HandlerInput) -> dict[str, Any]:
    return {"type": "evt.hello.success", "data": {"result": f"Hello {inp.event.data['name']}"}}


async def _hello_v2(inp: HandlerInput) -> dict[str, Any]:
    data = inp.event.data
    return {
        "type": "evt.hello.success",
        "data": {"result": f"Hello {data['title']} {data['name']}"},
    }


# ---------------------------------------------------------------------------------------------
# Recorded runs of the original (spec §3.7 and vectors.json)
# ---------------------------------------------------------------------------------------------


def _value_read_event(**overrides: Any) -> ArvoEvent:
    fields: dict[str, Any] = {
        "type": "com.value.read",
        "source": "a.b.c",
        "subject": "s",
        "data": {"key": "k1"},
    }
    fields.update(overrides)
    return create_arvo_event(**fields)


class TestRecordedViolations:
    """§3.7: the exact violation messages the original raised (``h_*`` vectors)."""

    @pytest.mark.parametrize(
        ("case", "overrides"),
        [
            ("h_wrong_type", {"type": "com.other.thing"}),
            ("h_wrong_uri", {"dataschema": "#/other/0.0.1"}),
            ("h_wrong_version", {"dataschema": "#/test/handler/value/read/9.9.9"}),
        ],
    )
    async def test_message_name_and_type_match_the_recording(
        self, case: str, overrides: dict[str, Any]
    ) -> None:
        """Type, URI and version violations carry the original's exact text."""
        thrown = load_vectors()[case]["thrown"]
        with pytest.raises(ViolationError) as caught:
            await value_read_handler({"k1": 2}).execute(_value_read_event(**overrides))
        assert str(caught.value) == thrown["message"]
        assert caught.value.message == thrown["message"]
        assert caught.value.name == thrown["name"]
        assert caught.value.type == thrown["type"]

    async def test_invalid_input_data(self) -> None:
        """``{key: 1}``: the recorded prefix, then a readable issue naming ``data.key``.

        The original appends zod's issue JSON; the port lists pydantic's issues instead
        (STYLE §8), keeping the structured issues in ``metadata["errors"]``.
        """
        thrown = load_vectors()["h_invalid_data"]["thrown"]
        prefix = thrown["message"].split("failed: ")[0] + "failed: "
        with pytest.raises(ContractViolation) as caught:
            await value_read_handler({}).execute(_value_read_event(data={"key": 1}))
        assert (caught.value.name, caught.value.type) == (thrown["name"], thrown["type"])
        assert str(caught.value).startswith(prefix)
        assert "'data.key'" in str(caught.value)
        assert caught.value.metadata is not None
        assert [issue["loc"] for issue in caught.value.metadata["errors"]] == [("key",)]

    async def test_invalid_output_data(self) -> None:
        """An output ``{key: 1, value: 2}``: the recorded prefix, and the offending field."""
        thrown = load_vectors()["h_invalid_output"]["thrown"]
        prefix = thrown["message"].split("failed: ")[0] + "failed: "
        handler = create_arvo_event_handler(
            contract=value_read_contract,
            executionunits=0,
            handler={
                "0.0.1": lambda inp: {
                    "type": "evt.value.read.success",
                    "data": {"key": 1, "value": 2},
                }
            },
        )
        with pytest.raises(ContractViolation) as caught:
            await handler.execute(_value_read_event())
        assert (caught.value.name, caught.value.type) == (thrown["name"], thrown["type"])
        assert str(caught.value).startswith(prefix)
        assert "'data.key'" in str(caught.value)


def _assert_same_event(actual: ArvoEvent, recorded: dict[str, Any], *ignore: str) -> None:
    """Same keys in the same order, and equal values except the volatile ones."""
    produced = actual.to_dict()
    assert list(produced) == list(recorded)
    assert without(produced, *VOLATILE, *ignore) == without(recorded, *VOLATILE, *ignore)
    # Values equal as JSON too (e.g. an integral float is written as the original writes it).
    for key in produced:
        if key not in (*VOLATILE, *ignore):
            assert json.dumps(produced[key]) == json.dumps(recorded[key]), key


class TestRecordedEvents:
    """Emitted events compared field by field with the original's recordings."""

    async def test_no_dataschema_uses_latest_and_routes_to_redirectto(self) -> None:
        """``h_no_dataschema_ok``: latest version, ``to`` = redirectto, accesscontrol copied."""
        (recorded,) = load_vectors()["h_no_dataschema_ok"]["events"]
        event = _value_read_event(redirectto="x.y.z", accesscontrol="role=admin")
        result = await value_read_handler({"k1": 2}).execute(event)
        (emitted,) = result.events
        _assert_same_event(emitted, recorded, "parentid")
        assert emitted.parentid == event.id

    async def test_output_to_and_extensions(self) -> None:
        """``h_to_override``: the output ``to`` wins and ``__extensions`` become top-level keys."""
        (recorded,) = load_vectors()["h_to_override"]["events"]

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {
                "type": "evt.value.read.success",
                "data": {"key": inp.event.data["key"], "value": 2},
                "to": "custom.target",
                "__extensions": {"myext": "v"},
            }

        handler = create_arvo_event_handler(
            contract=value_read_contract, executionunits=1, handler={"0.0.1": impl}
        )
        event = _value_read_event(data={"key": "a"})
        (emitted,) = (await handler.execute(event)).events
        _assert_same_event(emitted, recorded, "parentid")
        assert emitted.parentid == event.id
        assert emitted.extensions == {"myext": "v"}

    async def test_value_read_response_in_an_orchestration(self) -> None:
        """``handler_read_response``: the answer to the recorded ``com.value.read`` request."""
        vectors = load_vectors()
        request = ArvoEvent.from_dict(vectors["orch_step1"][0])
        (recorded,) = vectors["handler_read_response"]
        (emitted,) = (await value_read_handler({"k1": 2}).execute(request)).events
        _assert_same_event(emitted, recorded)
        assert emitted.parentid == request.id
        assert emitted.to == "arvo.orc.inc"  # the request's redirectto

    async def test_increment_response_in_an_orchestration(self) -> None:
        """``handler_inc_response``: execution units 0.1 and an integral result written as 4."""
        vectors = load_vectors()
        request = ArvoEvent.from_dict(vectors["orch_step2"][0])
        (recorded,) = vectors["handler_inc_response"]
        (emitted,) = (await increment_handler().execute(request)).events
        _assert_same_event(emitted, recorded)

    async def test_system_error_in_an_orchestration(self) -> None:
        """``handler_sys_error``: to the request's source, wildcard dataschema, eu 0, parentid."""
        vectors = load_vectors()
        (recorded,) = vectors["handler_sys_error"]
        request = ArvoEvent.from_dict(
            {
                **vectors["orch_step1"][0],
                "id": recorded["parentid"],
                "subject": recorded["subject"],
                "data": {"key": "missing"},
            }
        )

        class Error(Exception):
            """Named like JavaScript's ``Error`` so ``errorName`` matches the recording."""

        def read(inp: HandlerInput) -> Any:
            raise Error(f"No value to find at key={inp.event.data['key']}")

        handler = create_arvo_event_handler(
            contract=value_read_contract, executionunits=0, handler={"0.0.1": read}
        )
        (emitted,) = (await handler.execute(request)).events
        _assert_same_event(emitted, recorded, "data")
        assert without(emitted.data, "errorStack") == without(recorded["data"], "errorStack")
        assert "No value to find at key=missing" in emitted.data["errorStack"]
        assert emitted.to == request.source == "arvo.orc.inc"


# ---------------------------------------------------------------------------------------------
# Envelope rules (§3.4, §3.6)
# ---------------------------------------------------------------------------------------------


class TestEnvelope:
    """Who the emitted events go to and what they carry."""

    @pytest.mark.parametrize(
        ("output_to", "redirectto", "expected"),
        [
            ("com.output.target", "com.redirect.target", "com.output.target"),
            (None, "com.redirect.target", "com.redirect.target"),
            (None, None, "com.test.env"),
        ],
    )
    async def test_to_is_output_then_redirectto_then_source(
        self, output_to: str | None, redirectto: str | None, expected: str
    ) -> None:
        """``to`` = output ``to`` ?? event ``redirectto`` ?? event ``source``."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), **({"to": output_to} if output_to else {})}

        event = hello_event(redirectto=redirectto)
        (emitted,) = (await make_handler(impl).execute(event)).events
        assert emitted.to == expected

    async def test_redirectto_comes_only_from_the_output(self) -> None:
        """The event's ``redirectto`` is not copied; an output ``redirectto`` is."""
        event = hello_event(redirectto="com.redirect.target")
        (plain,) = (await make_handler().execute(event)).events
        assert plain.redirectto is None

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "redirectto": "com.next.hop"}

        (redirected,) = (await make_handler(impl).execute(event)).events
        assert redirected.redirectto == "com.next.hop"

    @pytest.mark.parametrize(
        ("output_value", "event_value", "expected"),
        [("role=output", "role=event", "role=output"), (None, "role=event", "role=event"),
         (None, None, None)],
    )  # fmt: skip
    async def test_accesscontrol_is_output_then_event(
        self, output_value: str | None, event_value: str | None, expected: str | None
    ) -> None:
        """``accesscontrol`` = output ?? event ?? null."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), **({"accesscontrol": output_value} if output_value else {})}

        event = hello_event(accesscontrol=event_value)
        (emitted,) = (await make_handler(impl).execute(event)).events
        assert emitted.accesscontrol == expected

    async def test_source_subject_dataschema_and_executionunits(self) -> None:
        """Handler source, the event's subject, ``<uri>/<version>``, the handler's units."""
        event = hello_event(subject="my-subject")
        (emitted,) = (await make_handler(executionunits=7).execute(event)).events
        assert emitted.source == HELLO_TYPE
        assert emitted.subject == "my-subject"
        assert emitted.dataschema == "#/test/ArvoEventHandler/0.0.1"
        assert emitted.executionunits == 7

    async def test_zero_executionunits_in_the_output_is_kept(self) -> None:
        """An explicit ``executionunits: 0`` is a value, not a missing one."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "executionunits": 0}

        (emitted,) = (await make_handler(impl, executionunits=100).execute(hello_event())).events
        assert emitted.executionunits == 0

    async def test_output_time_is_kept(self) -> None:
        """An output ``time`` is used as the event time."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "time": "2024-01-02T03:04:05.678+00:00"}

        (emitted,) = (await make_handler(impl).execute(hello_event())).events
        assert emitted.time == "2024-01-02T03:04:05.678+00:00"

    async def test_output_data_is_the_validated_form(self) -> None:
        """Unknown output keys are dropped, as zod's parse does for ``z.object``."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {"type": SUCCESS, "data": {"result": "ok", "junk": 1}}

        (emitted,) = (await make_handler(impl).execute(hello_event())).events
        assert emitted.data == {"result": "ok"}

    async def test_extensions_become_top_level_keys(self) -> None:
        """``__extensions`` (or ``extensions``) are emitted as top-level CloudEvent attributes."""

        def impl(inp: HandlerInput) -> list[dict[str, Any]]:
            return [
                {**greet(inp), "__extensions": {"tenant": "acme", "attempt": 2}},
                {**greet(inp), "extensions": {"tenant": "other"}},
            ]

        first, second = (await make_handler(impl).execute(hello_event())).events
        assert first.to_dict()["tenant"] == "acme"
        assert first.to_dict()["attempt"] == 2
        assert list(first.to_dict()).index("tenant") < list(first.to_dict()).index("to")
        assert second.to_dict()["tenant"] == "other"
        assert ArvoEvent.from_json(first.to_json()) == first

    @pytest.mark.parametrize("key", ["to", "parentid", "Bad-Key"])
    async def test_reserved_or_invalid_extension_keys_are_contract_violations(
        self, key: str
    ) -> None:
        """An extension that would overwrite a field, or is not lowercase alphanumeric, raises."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "__extensions": {key: "x"}}

        with pytest.raises(ContractViolation):
            await make_handler(impl).execute(hello_event())

    async def test_system_error_event_shape(self) -> None:
        """``sys`` errors go to the event's source (not redirectto) with the handler's units."""
        event = hello_event(redirectto="com.redirect.target", accesscontrol="role=admin")
        handler = make_handler(raising(RuntimeError("boom")), executionunits=42)
        (error,) = (await handler.execute(event)).events
        assert error.type == SYS_ERROR
        assert error.source == HELLO_TYPE
        assert error.subject == event.subject
        assert error.to == "com.test.env"
        assert error.redirectto is None
        assert error.accesscontrol == "role=admin"
        assert error.executionunits == 42
        assert error.parentid == event.id
        assert error.dataschema == "#/test/ArvoEventHandler/0.0.0"
        assert error.data["errorName"] == "RuntimeError"
        assert error.data["errorMessage"] == "boom"
        assert error.data["errorStack"].startswith("Traceback (most recent call last):")
        assert "RuntimeError: boom" in error.data["errorStack"]

    async def test_system_error_domains_are_resolved_and_deduplicated(self) -> None:
        """One ``sys`` event per distinct resolved ``system_error`` domain, in first-seen order."""
        handler = make_handler(
            raising(RuntimeError("boom")),
            default_event_emission_domains={
                "system_error": ["ext.a", None, ArvoDomain.FROM_TRIGGERING_EVENT, "ext.a"]
            },
        )
        event = hello_event(domain="ext.b")
        errors = (await handler.execute(event)).events
        assert [e.domain for e in errors] == ["ext.a", None, "ext.b"]
        assert len({e.id for e in errors}) == 3
        assert {e.parentid for e in errors} == {event.id}

    async def test_default_emit_domains_can_be_configured(self) -> None:
        """``default_event_emission_domains['emits']`` applies when an output names none."""
        handler = make_handler(
            default_event_emission_domains={"emits": [ArvoDomain.FROM_TRIGGERING_EVENT]}
        )
        (emitted,) = (await handler.execute(hello_event(domain="ext.b"))).events
        assert emitted.domain == "ext.b"
        assert handler.default_event_emission_domains["system_error"] == [
            ArvoDomain.ORCHESTRATION_CONTEXT
        ]


# ---------------------------------------------------------------------------------------------
# The implementation's input and output (port-specific shapes)
# ---------------------------------------------------------------------------------------------


class TestHandlerInput:
    """What an implementation receives."""

    async def test_handler_input_fields(self) -> None:
        """The event itself, the resolved contract version, source, domains, span and headers."""
        seen: list[HandlerInput] = []
        handler = make_handler(
            lambda inp: seen.append(inp), contract=hello_contract(domain="self.domain")
        )
        event = hello_event(domain="event.domain")
        await handler.execute(event)
        (inp,) = seen
        assert inp.event is event
        assert isinstance(inp.contract, VersionedArvoContract)
        assert inp.contract.version == "0.0.1"
        assert inp.contract.uri == "#/test/ArvoEventHandler"
        assert inp.source == HELLO_TYPE
        assert inp.domain == {"self": "self.domain", "event": "event.domain"}
        assert inp.span is None
        assert inp.span_headers == {"traceparent": None, "tracestate": None}

    async def test_receives_the_original_data_not_the_parsed_form(self) -> None:
        """As in the original, validation does not rewrite the data the implementation sees."""
        seen: list[dict[str, Any]] = []
        # Built without the factory, which would keep only the validated form of the data.
        event = create_arvo_event(
            type=HELLO_TYPE,
            source="com.test.env",
            subject="test-subject",
            data={"name": "Saad", "age": 26, "extra": [1, 2]},
        )
        await make_handler(lambda inp: seen.append(inp.event.data)).execute(event)
        assert seen == [{"name": "Saad", "age": 26, "extra": [1, 2]}]
        assert type(seen[0]["age"]) is int

    async def test_the_event_version_picks_the_implementation(self) -> None:
        """The dataschema version selects the implementation and stamps the emitted dataschema."""
        contract = _multi_version_contract()
        handler = create_arvo_event_handler(
            contract=contract, executionunits=1, handler={"0.0.1": _hello_v1, "0.0.2": _hello_v2}
        )
        v1 = create_arvo_event_factory(contract.version("0.0.1")).accepts(
            source="com.test.env", subject="s", data={"name": "Ada"}
        )
        v2 = create_arvo_event_factory(contract.version("0.0.2")).accepts(
            source="com.test.env", subject="s", data={"name": "Ada", "title": "Dr"}
        )
        (out1,) = (await handler.execute(v1)).events
        (out2,) = (await handler.execute(v2)).events
        assert (out1.data, out1.dataschema) == (
            {"result": "Hello Ada"},
            "#/test/MultiVersion/0.0.1",
        )
        assert (out2.data, out2.dataschema) == (
            {"result": "Hello Dr Ada"},
            "#/test/MultiVersion/0.0.2",
        )

    @pytest.mark.parametrize("dataschema", [None, "#/test/MultiVersion/latest", "not-a-schema"])
    async def test_missing_or_unparseable_dataschema_uses_the_latest_version(
        self, dataschema: str | None, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No usable version in the dataschema: the latest version handles it (with a warning)."""
        handler = create_arvo_event_handler(
            contract=_multi_version_contract(),
            executionunits=1,
            handler={"0.0.1": _hello_v1, "0.0.2": _hello_v2},
        )
        event = create_arvo_event(
            type="com.hello.world",
            source="com.test.env",
            subject="s",
            dataschema=dataschema,
            data={"name": "Ada", "title": "Dr"},
        )
        with caplog.at_level("WARNING", logger="arvo_ray"):
            (emitted,) = (await handler.execute(event)).events
        assert emitted.dataschema == "#/test/MultiVersion/0.0.2"
        assert any("latest version" in record.getMessage() for record in caplog.records)

    async def test_input_is_validated_against_the_resolved_version(self) -> None:
        """Data valid for 0.0.1 but sent as 0.0.2 (missing ``title``) is a ContractViolation."""
        handler = create_arvo_event_handler(
            contract=_multi_version_contract(),
            executionunits=1,
            handler={"0.0.1": _hello_v1, "0.0.2": _hello_v2},
        )
        event = create_arvo_event(
            type="com.hello.world",
            source="com.test.env",
            subject="s",
            dataschema="#/test/MultiVersion/0.0.2",
            data={"name": "Ada"},
        )
        with pytest.raises(ContractViolation, match=r"'data\.title'"):
            await handler.execute(event)


class TestImplementationKinds:
    """Sync and async implementations, awaitables, pydantic data."""

    async def test_sync_and_async_implementations_emit_the_same_events(self) -> None:
        """A ``def`` and an ``async def`` returning the same output emit identical events."""

        async def async_greet(inp: HandlerInput) -> dict[str, Any]:
            await asyncio.sleep(0)
            return greet(inp)

        event = hello_event()
        sync_events = (await make_handler(greet).execute(event)).events
        async_events = (await make_handler(async_greet).execute(event)).events
        assert [without(e.to_dict(), "time") for e in sync_events] == [
            without(e.to_dict(), "time") for e in async_events
        ]

    async def test_a_sync_function_returning_an_awaitable_is_awaited(self) -> None:
        """A plain callable returning a coroutine (e.g. a lambda over an async function) works."""

        async def produce(inp: HandlerInput) -> dict[str, Any]:
            return greet(inp)

        handler = make_handler(lambda inp: produce(inp))
        (emitted,) = (await handler.execute(hello_event())).events
        assert emitted.type == SUCCESS

    async def test_errors_from_async_implementations_become_system_errors(self) -> None:
        """An exception raised after an ``await`` is still turned into a ``sys`` event."""

        async def fail(inp: HandlerInput) -> None:
            await asyncio.sleep(0)
            raise KeyError("missing")

        (error,) = (await make_handler(fail).execute(hello_event())).events
        assert error.type == SYS_ERROR
        assert error.data["errorName"] == "KeyError"

    async def test_pydantic_model_as_data(self) -> None:
        """``data`` may be a model instance of the emitted type's model."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {"type": SUCCESS, "data": HelloResult(result=greeting(inp.event))}

        (emitted,) = (await make_handler(impl).execute(hello_event())).events
        assert emitted.data == {"result": "My name is Saad Ahmad. I am 26 years old"}

    async def test_pydantic_model_of_the_wrong_shape_is_a_contract_violation(self) -> None:
        """A model that does not fit the emitted type's model is rejected like a bad dict."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {"type": SUCCESS, "data": HelloInput(name="x", age=1)}

        with pytest.raises(ContractViolation, match="Emit Event data validation failed"):
            await make_handler(impl).execute(hello_event())


class TestTypedInputAndOutput:
    """The handler reads the validated accepts model and may answer with an emitted model."""

    async def test_the_input_data_is_the_accepts_model(self) -> None:
        """``inp.data`` is the version's accepts model, validated; ``inp.event`` is the raw event."""
        seen: list[Any] = []

        def greet(inp: HandlerInput[HelloInput]) -> HelloResult:
            seen.append(inp.data)
            return HelloResult(result=f"hello {inp.data.name}, {inp.data.age}")

        (answer,) = (await make_handler(greet).execute(hello_event())).events
        assert seen == [HelloInput(name="Saad Ahmad", age=26)]
        assert (answer.type, answer.data) == (SUCCESS, {"result": "hello Saad Ahmad, 26"})

    async def test_a_model_names_its_event_type_among_several(self) -> None:
        """With two emitted types, the model's class picks the type (here the second one)."""
        error = ArvoErrorSchema(errorName="E", errorMessage="m", errorStack=None)
        (answer,) = (await make_handler(lambda inp: [error]).execute(hello_event())).events
        assert answer.type == "evt.hello.world.error"
        assert answer.data == {"errorName": "E", "errorMessage": "m", "errorStack": None}

    async def test_a_single_emitted_type_takes_any_model_that_fits_it(self) -> None:
        """A version with one emitted type: the model is that type's data, validated."""
        contract = create_simple_arvo_contract(
            uri="#/hello/simple",
            type="hello.simple",
            versions={"1.0.0": {"accepts": HelloInput, "emits": HelloResult}},
        )

        class Other(BaseModel):
            result: str

        handler = create_arvo_event_handler(
            contract=contract, executionunits=0, handler={"1.0.0": lambda inp: Other(result="x")}
        )
        request = create_arvo_event_factory(contract.version("1.0.0")).accepts(
            source="com.test.env", subject="s", data={"name": "n", "age": 1}
        )
        (answer,) = (await handler.execute(request)).events
        assert (answer.type, answer.data) == ("evt.hello.simple.success", {"result": "x"})

    async def test_a_dict_still_works_and_may_carry_a_model_as_data(self) -> None:
        """``{type, data}`` keeps working, with ``data`` a dict or a model."""
        for data in ({"result": "a"}, HelloResult(result="a")):
            handler = make_handler(lambda inp, data=data: {"type": SUCCESS, "data": data})
            (answer,) = (await handler.execute(hello_event())).events
            assert answer.data == {"result": "a"}


class TestMalformedOutputs:
    """Outputs that are not event descriptions raise ContractViolation (nothing is emitted)."""

    @pytest.mark.parametrize(
        ("output", "fragment"),
        [
            ("evt.hello.world.success", "must return None, an event dict or a list"),
            (42, "must return None, an event dict or a list"),
            ([42], "output #0 must be a dict"),
            ([{"type": SUCCESS, "data": {"result": "a"}}, "oops"], "output #1 must be a dict"),
            ({"data": {"result": "a"}}, "has no 'type' string"),
            ({"type": 5, "data": {"result": "a"}}, "has no 'type' string"),
            (
                {"type": SUCCESS, "data": {"result": "a"}, "domain": "ext"},
                "'domain' must be a list",
            ),
            ({"type": SUCCESS, "data": {"result": "a"}, "domain": 5}, "'domain' must be a list"),
            ({"type": SUCCESS, "data": {"result": "a"}, "domain": []}, "must not be an empty list"),
            (HelloInput(name="a", age=1), "is a HelloInput, which names no single event type"),
        ],
    )
    async def test_malformed_output(self, output: Any, fragment: str) -> None:
        """Each malformed shape names the handler and what is wrong."""
        with pytest.raises(ContractViolation) as caught:
            await make_handler(lambda inp: output).execute(hello_event())
        message = str(caught.value)
        assert message.startswith("ViolationError<Contract> Handler com.hello.world v0.0.1")
        assert fragment in message

    async def test_type_not_in_the_contract_version(self) -> None:
        """An event type the version does not emit is a ContractViolation."""
        handler = make_handler(lambda inp: {"type": "evt.not.declared", "data": {}})
        with pytest.raises(ContractViolation) as caught:
            await handler.execute(hello_event())
        assert str(caught.value) == (
            "ViolationError<Contract> Emit Event data validation failed: "
            "No contract available for evt.not.declared"
        )

    async def test_the_system_error_type_cannot_be_emitted_directly(self) -> None:
        """``sys.<type>.error`` is not one of the version's emits."""
        output = {
            "type": SYS_ERROR,
            "data": {"errorName": "E", "errorMessage": "m", "errorStack": None},
        }
        with pytest.raises(ContractViolation, match="No contract available"):
            await make_handler(lambda inp: output).execute(hello_event())

    async def test_one_bad_output_fails_the_whole_execution(self) -> None:
        """A valid output followed by an invalid one emits nothing: the violation is raised."""

        def impl(inp: HandlerInput) -> list[dict[str, Any]]:
            return [greet(inp), {"type": SUCCESS, "data": {"result": 1}}]

        with pytest.raises(ContractViolation):
            await make_handler(impl).execute(hello_event())


class TestViolationsFromImplementations:
    """Violations raised by user code pass through unchanged; nothing else does."""

    @pytest.mark.parametrize(
        "error",
        [
            ExecutionViolation("stop"),
            ContractViolation("bad"),
            ConfigViolation("wiring"),
            ViolationError("RATE_LIMIT", "slow down"),
        ],
        ids=["execution", "contract", "config", "custom"],
    )
    async def test_violation_is_reraised_as_is(self, error: ViolationError) -> None:
        """The very same violation object reaches the caller."""
        with pytest.raises(ViolationError) as caught:
            await make_handler(raising(error)).execute(hello_event())
        assert caught.value is error

    async def test_a_duck_typed_violation_is_reraised(self) -> None:
        """A violation rebuilt by another runtime (same markers, other class) is still raised."""

        class ForeignViolation(Exception):
            is_arvo_violation_error = True
            type = "Execution"
            name = "ViolationError<Execution>"
            message = "ViolationError<Execution> from elsewhere"

        error = ForeignViolation("from elsewhere")
        with pytest.raises(ForeignViolation) as caught:
            await make_handler(raising(error)).execute(hello_event())
        assert caught.value is error

    async def test_cancellation_is_not_turned_into_an_event(self) -> None:
        """``asyncio.CancelledError`` (a BaseException) propagates."""
        with pytest.raises(asyncio.CancelledError):
            await make_handler(raising(asyncio.CancelledError())).execute(hello_event())


# ---------------------------------------------------------------------------------------------
# Deterministic ids (port design: a retried handler emits identical events)
# ---------------------------------------------------------------------------------------------


class TestDerivedIds:
    """Ids derived from (consumed id, emitter, position, domain) unless the output gives one."""

    async def test_same_input_twice_gives_identical_ids(self) -> None:
        """Re-running a handler on the same event emits the same event ids."""

        def impl(inp: HandlerInput) -> list[dict[str, Any]]:
            return [greet(inp), {**greet(inp), "domain": [None, "ext"]}]

        event = hello_event()
        first = (await make_handler(impl).execute(event)).events
        second = (await make_handler(impl).execute(event)).events
        assert [e.id for e in first] == [e.id for e in second]
        assert len({e.id for e in first}) == 3  # per position and per domain copy

    async def test_system_error_ids_are_derived_too(self) -> None:
        """A retried failing handler reports the same ``sys`` event id."""
        event = hello_event()
        handler = make_handler(raising(RuntimeError("boom")))
        first = (await handler.execute(event)).events
        second = (await handler.execute(event)).events
        assert [e.id for e in first] == [e.id for e in second]

    async def test_different_inputs_give_different_ids(self) -> None:
        """Two distinct consumed events never share an emitted id."""
        handler = make_handler()
        (a,) = (await handler.execute(hello_event())).events
        (b,) = (await handler.execute(hello_event())).events
        assert a.id != b.id

    async def test_ids_are_uuid_shaped(self) -> None:
        """Derived ids look like UUIDs (version 5 layout)."""
        import uuid

        (emitted,) = (await make_handler().execute(hello_event())).events
        assert uuid.UUID(emitted.id).version == 5

    async def test_developer_managed_id_is_shared_by_every_domain_copy(self) -> None:
        """An explicit DEVELOPER_MANAGED id is used as-is for every domain copy."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {
                **greet(inp),
                "id": {"deduplication": "DEVELOPER_MANAGED", "value": "  order-7  "},
                "domain": [None, "ext.a", "ext.b"],
            }

        events = (await make_handler(impl).execute(hello_event())).events
        assert [e.id for e in events] == ["order-7"] * 3


# ---------------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------------


class TestConstruction:
    """Definition-time checks and the public surface."""

    def test_extra_versions_in_the_handler_map_are_ignored(self) -> None:
        """Implementations for versions the contract lacks are ignored."""
        handler = create_arvo_event_handler(
            contract=MOCK_CONTRACT, executionunits=1, handler={"0.0.1": greet, "9.9.9": greet}
        )
        assert repr(handler) == "ArvoEventHandler(source='com.hello.world', versions=['0.0.1'])"

    def test_non_callable_implementation_is_a_type_error(self) -> None:
        """A non-callable implementation is rejected at construction."""
        with pytest.raises(TypeError, match=r"handler\['0.0.1'\] must be callable"):
            create_arvo_event_handler(
                contract=MOCK_CONTRACT,
                executionunits=1,
                handler={"0.0.1": "greet"},  # type: ignore[dict-item]
            )

    def test_contract_must_be_an_arvo_contract(self) -> None:
        """Passing a versioned contract (or anything else) is a TypeError."""
        with pytest.raises(TypeError, match="contract must be an ArvoContract"):
            create_arvo_event_handler(
                contract=MOCK_CONTRACT.version("0.0.1"),  # type: ignore[arg-type]
                executionunits=1,
                handler={"0.0.1": greet},
            )

    def test_domain_and_protocol(self) -> None:
        """``domain`` is the contract's, and the handler satisfies ``IArvoEventHandler``."""
        handler = make_handler(contract=hello_contract(domain="my.domain"))
        assert handler.domain == "my.domain"
        assert make_handler().domain is None
        assert isinstance(handler, IArvoEventHandler)
