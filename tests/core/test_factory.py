"""ArvoEventFactory (spec §5.1; upstream tests/ArvoEventFactory)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel, field_validator

from arvo_ray.core import (
    ARVO_DATA_CONTENT_TYPE,
    ArvoContract,
    ArvoEventFactory,
    ArvoOrchestrationSubject,
    ContractViolation,
    EventDataschema,
    InvalidSubjectError,
    ViolationError,
    create_arvo_contract,
    create_arvo_event_factory,
    is_violation_error,
)

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class MockInput(BaseModel):
    name: str
    age: int


class Output0(BaseModel):
    output: float


class Output1(BaseModel):
    message: str


def mock_contract() -> ArvoContract:
    """The upstream mock contract: #/mock/contract, versions 0.0.1 and 0.0.8."""
    version = {"accepts": MockInput, "emits": {"test.output.0": Output0, "test.output.1": Output1}}
    return create_arvo_contract(
        uri="#/mock/contract", type="test.input.0", versions={"0.0.1": version, "0.0.8": version}
    )


@pytest.fixture
def factory() -> ArvoEventFactory:
    """A factory for version 0.0.1 of the mock contract."""
    return create_arvo_event_factory(mock_contract().version("0.0.1"))


def subject_of(event: Any) -> dict[str, Any]:
    """The decoded orchestration subject of an event."""
    return dict(ArvoOrchestrationSubject.parse(event.subject))


def raise_and_catch(message: str) -> Exception:
    """An exception carrying a real traceback."""
    try:
        raise Exception(message)
    except Exception as error:
        return error


class TestUpstreamAutoSubject:
    def test_should_generate_subject_automatically_for_accepts_event(
        self, factory: ArvoEventFactory
    ) -> None:
        """The subject names the accepts type, the contract version and the source as initiator."""
        event = factory.accepts(source="com.test.test", data={"name": "John", "age": 30})
        parsed = subject_of(event)
        assert parsed["orchestrator"] == {"name": "test.input.0", "version": "0.0.1"}
        assert parsed["execution"]["initiator"] == "com.test.test"

    def test_should_generate_subject_automatically_for_emit_event(
        self, factory: ArvoEventFactory
    ) -> None:
        """The subject of an emitted event is named after the emitted type."""
        event = factory.emits(type="test.output.0", source="com.test.test", data={"output": 1})
        assert subject_of(event)["orchestrator"] == {"name": "test.output.0", "version": "0.0.1"}

    def test_should_generate_subject_automatically_for_system_error_event(
        self, factory: ArvoEventFactory
    ) -> None:
        """The subject of a system error is named after the sys error type (real version)."""
        event = factory.system_error(source="com.test.test", error=Exception("x"))
        assert subject_of(event)["orchestrator"] == {
            "name": "sys.test.input.0.error",
            "version": "0.0.1",
        }


class TestUpstreamEmits:
    def test_should_create_a_valid_event(self, factory: ArvoEventFactory) -> None:
        """Id, type, data and subject are kept; dataschema is uri/version; no domain."""
        subject = ArvoOrchestrationSubject.new(
            orchestrator="com.test.orc", version="1.0.0", initiator="com.test.test"
        )
        event = factory.emits(
            type="test.output.0",
            source="com.test.test",
            subject=subject,
            data={"output": 1},
            id={"deduplication": "DEVELOPER_MANAGED", "value": "test-id"},
        )
        assert event.id == "test-id"
        assert event.type == "test.output.0"
        assert event.data == {"output": 1}
        assert event.subject == subject
        assert event.dataschema == "#/mock/contract/0.0.1"
        assert EventDataschema.parse(event) == {"uri": "#/mock/contract", "version": "0.0.1"}
        assert event.domain is None

    def test_should_add_domain_to_subject_and_event(self, factory: ArvoEventFactory) -> None:
        """The four-step domain sequence of §5.1."""
        first = factory.emits(
            type="test.output.0",
            source="test.test.test",
            data={"output": 1},
            domain="external.review",
        )
        assert first.domain == "external.review"
        assert subject_of(first)["execution"]["domain"] == "external.review"
        second = factory.emits(
            type="test.output.0",
            source="test.test.test",
            data={"output": 1},
            subject=first.subject,
            domain="external.review.1",
        )
        assert second.domain == "external.review.1"
        assert subject_of(second)["execution"]["domain"] == "external.review"
        third = factory.emits(
            type="test.output.0", source="test.test.test", data={"output": 1}, subject=first.subject
        )
        assert third.domain is None
        assert subject_of(third)["execution"]["domain"] == "external.review"
        fourth = factory.emits(type="test.output.0", source="test.test.test", data={"output": 1})
        assert fourth.domain is None
        assert subject_of(fourth)["execution"]["domain"] is None

    def test_should_throw_on_data_mismatch(self, factory: ArvoEventFactory) -> None:
        """Data that does not fit the emit model raises a ContractViolation."""
        with pytest.raises(ContractViolation, match="Event data validation failed"):
            factory.emits(
                type="test.output.0", source="com.test.test", data={"output": "not a number"}
            )

    def test_should_throw_on_unknown_type(self, factory: ArvoEventFactory) -> None:
        """An undeclared emit type is refused with the original's message."""
        with pytest.raises(ContractViolation) as exc:
            factory.emits(type="unknown.type.0", source="com.test.test", data={})
        assert str(exc.value) == (
            "ViolationError<Contract> Emit Event data validation failed: No contract available for unknown.type.0"
        )
        assert exc.value.metadata == {
            "type": "unknown.type.0",
            "available": ["test.output.0", "test.output.1"],
        }


class TestUpstreamAccepts:
    def test_should_add_domain_to_subject_and_event(self, factory: ArvoEventFactory) -> None:
        """The four-step domain sequence holds for accepts too."""
        data = {"name": "John", "age": 30}
        first = factory.accepts(source="test.test.test", data=data, domain="external.review")
        assert (first.domain, subject_of(first)["execution"]["domain"]) == (
            "external.review",
            "external.review",
        )
        second = factory.accepts(
            source="test.test.test", data=data, subject=first.subject, domain="external.review.1"
        )
        assert (second.domain, subject_of(second)["execution"]["domain"]) == (
            "external.review.1",
            "external.review",
        )
        third = factory.accepts(source="test.test.test", data=data, subject=first.subject)
        assert (third.domain, subject_of(third)["execution"]["domain"]) == (None, "external.review")
        fourth = factory.accepts(source="test.test.test", data=data)
        assert (fourth.domain, subject_of(fourth)["execution"]["domain"]) == (None, None)

    def test_should_create_a_valid_event(self, factory: ArvoEventFactory) -> None:
        """The event has the accepts type, the validated data and no domain."""
        event = factory.accepts(source="com.test.test", data={"name": "John", "age": 30})
        assert event.type == "test.input.0"
        assert event.data == {"name": "John", "age": 30}
        assert event.domain is None

    def test_should_throw_on_data_mismatch(self, factory: ArvoEventFactory) -> None:
        """Data that does not fit the accepts model raises a ContractViolation."""
        with pytest.raises(ContractViolation, match="Event data validation failed"):
            factory.accepts(source="com.test.test", data={"name": "John", "age": "thirty"})


class TestUpstreamSystemError:
    def test_should_create_a_system_error_as_per_contract(self, factory: ArvoEventFactory) -> None:
        """The payload names the error and carries its stack; dataschema uses version 0.0.0."""
        event = factory.system_error(source="com.test.test", error=raise_and_catch("Some error"))
        assert event.type == "sys.test.input.0.error"
        assert event.data["errorName"] == "Exception"  # JS: 'Error', the base class name there
        assert event.data["errorMessage"] == "Some error"
        assert event.data["errorStack"]
        assert EventDataschema.parse(event) == {"uri": "#/mock/contract", "version": "0.0.0"}
        assert event.domain is None

    def test_should_add_domain_to_subject_and_event(self, factory: ArvoEventFactory) -> None:
        """The four-step domain sequence holds for system errors too."""
        error = Exception("x")
        first = factory.system_error(source="test.test.test", error=error, domain="external.review")
        assert (first.domain, subject_of(first)["execution"]["domain"]) == (
            "external.review",
            "external.review",
        )
        second = factory.system_error(
            source="test.test.test", error=error, subject=first.subject, domain="external.review.1"
        )
        assert (second.domain, subject_of(second)["execution"]["domain"]) == (
            "external.review.1",
            "external.review",
        )
        third = factory.system_error(source="test.test.test", error=error, subject=first.subject)
        assert (third.domain, subject_of(third)["execution"]["domain"]) == (None, "external.review")
        fourth = factory.system_error(source="test.test.test", error=error)
        assert (fourth.domain, subject_of(fourth)["execution"]["domain"]) == (None, None)


class TestUpstreamParentid:
    def test_accepts_keeps_parentid(self, factory: ArvoEventFactory) -> None:
        """accepts passes parentid through."""
        assert (
            factory.accepts(
                source="com.test.test", data={"name": "a", "age": 1}, parentid="parent-1"
            ).parentid
            == "parent-1"
        )

    def test_emits_keeps_parentid(self, factory: ArvoEventFactory) -> None:
        """emits passes parentid through."""
        assert (
            factory.emits(
                type="test.output.1",
                source="com.test.test",
                data={"message": "m"},
                parentid="parent-2",
            ).parentid
            == "parent-2"
        )

    def test_system_error_keeps_parentid(self, factory: ArvoEventFactory) -> None:
        """system_error passes parentid through."""
        assert (
            factory.system_error(
                source="com.test.test", error=Exception("x"), parentid="parent-3"
            ).parentid
            == "parent-3"
        )

    def test_special_characters_in_parentid_are_encoded(self, factory: ArvoEventFactory) -> None:
        """parentid is URI-encoded."""
        event = factory.accepts(
            source="com.test.test",
            data={"name": "a", "age": 1},
            parentid="parent event with spaces",
        )
        assert event.parentid == "parent%20event%20with%20spaces"

    def test_parentid_defaults_to_none(self, factory: ArvoEventFactory) -> None:
        """Without parentid it is None, whatever the domain."""
        event = factory.accepts(
            source="com.test.test", data={"name": "a", "age": 1}, domain="test.test"
        )
        assert event.parentid is None
        assert event.domain == "test.test"

    def test_parentid_is_an_otel_attribute(self, factory: ArvoEventFactory) -> None:
        """The event's otel attributes include the parentid."""
        event = factory.accepts(
            source="com.test.test", data={"name": "a", "age": 1}, parentid="parent-1"
        )
        assert event.otel_attributes["cloudevents.arvo.event_parentid"] == "parent-1"


class Transforming(BaseModel):
    input: str
    n: int = 7
    t: str = "x"

    @field_validator("t")
    @classmethod
    def upper(cls, value: str) -> str:
        return value.upper()


def transforming_factory() -> ArvoEventFactory:
    """The §5.1 example: contract #/mock/contract, type com.test.input, a transforming model."""
    contract = create_arvo_contract(
        uri="#/mock/contract",
        type="com.test.input",
        versions={"0.0.1": {"accepts": Transforming, "emits": {"com.test.output": Transforming}}},
    )
    return create_arvo_event_factory(contract.version("0.0.1"))


class TestValidatedData:
    """Spec §5.1: the factory uses the validated output."""

    def test_unknown_keys_are_dropped_defaults_filled_and_validators_applied(self) -> None:
        """{input, extra, t} becomes {input, n: 7, t: upper-cased}."""
        event = transforming_factory().accepts(
            source="com.test.caller", data={"input": "x", "extra": "dropped", "t": "abc"}
        )
        assert event.data == {"input": "x", "n": 7, "t": "ABC"}

    def test_emits_use_the_validated_output_too(self) -> None:
        """emits strips and fills in the same way (defaults are not re-validated, as in pydantic)."""
        event = transforming_factory().emits(
            type="com.test.output", source="com.test.caller", data={"input": "x", "zzz": 1}
        )
        assert event.data == {"input": "x", "n": 7, "t": "x"}

    def test_absent_optional_fields_are_written_as_null(self) -> None:
        """Departure: pydantic dumps an unset optional field as null, where zod omits the key."""

        class Optional(BaseModel):
            input: str
            note: str | None = None

        contract = create_arvo_contract(
            uri="#/o",
            type="com.test.optional",
            versions={"1.0.0": {"accepts": Optional, "emits": {}}},
        )
        event = create_arvo_event_factory(contract.version("1.0.0")).accepts(
            source="com.test.caller", data={"input": "x"}
        )
        assert event.data == {"input": "x", "note": None}

    def test_a_model_instance_is_accepted_as_data(self) -> None:
        """Passing an instance of the model uses its JSON form."""
        event = transforming_factory().accepts(
            source="com.test.caller", data=Transforming(input="q", n=1)
        )
        assert event.data == {"input": "q", "n": 1, "t": "x"}

    def test_spec_accepts_example(self) -> None:
        """The §5.1 example event, field for field."""
        event = transforming_factory().accepts(source="com.test.caller", data={"input": "x"})
        out = event.to_dict()
        assert UUID4.fullmatch(out.pop("id"))
        out.pop("time")
        subject = out.pop("subject")
        assert out == {
            "source": "com.test.caller",
            "specversion": "1.0",
            "type": "com.test.input",
            "datacontenttype": ARVO_DATA_CONTENT_TYPE,
            "dataschema": "#/mock/contract/0.0.1",
            "data": {"input": "x", "n": 7, "t": "x"},
            "to": "com.test.input",
            "accesscontrol": None,
            "redirectto": None,
            "executionunits": None,
            "traceparent": None,
            "tracestate": None,
            "parentid": None,
            "domain": None,
        }
        parsed = ArvoOrchestrationSubject.parse(subject)
        assert parsed["orchestrator"] == {"name": "com.test.input", "version": "0.0.1"}
        assert parsed["execution"]["initiator"] == "com.test.caller"
        assert parsed["execution"]["domain"] is None
        assert parsed["meta"] == {}


class TestFactoryRules:
    def test_violation_names_the_field_and_keeps_the_issues(
        self, factory: ArvoEventFactory
    ) -> None:
        """The message quotes the field path and value; metadata holds pydantic's issues."""
        with pytest.raises(ContractViolation) as exc:
            factory.accepts(source="com.test.test", data={"name": "John", "age": "thirty"})
        assert str(exc.value).startswith(
            "ViolationError<Contract> Accept Event data validation failed: 'data.age': "
        )
        assert "(got 'thirty', str)" in str(exc.value)
        (issue,) = exc.value.metadata["errors"]  # type: ignore[index]
        assert issue["loc"] == ("age",)
        assert is_violation_error(exc.value)
        assert isinstance(exc.value, ViolationError)

    def test_emit_violation_prefix(self, factory: ArvoEventFactory) -> None:
        """Emit failures start with 'Emit Event data validation failed: '."""
        with pytest.raises(
            ContractViolation,
            match=r"^ViolationError<Contract> Emit Event data validation failed: 'data.output'",
        ):
            factory.emits(type="test.output.0", source="com.test.test", data={})

    def test_datacontenttype_and_dataschema_are_forced(self, factory: ArvoEventFactory) -> None:
        """Every factory event carries the Arvo content type and its dataschema."""
        event = factory.accepts(source="com.test.test", data={"name": "a", "age": 1})
        assert event.datacontenttype == ARVO_DATA_CONTENT_TYPE
        assert event.dataschema == "#/mock/contract/0.0.1"

    def test_other_versions_stamp_their_own_dataschema(self) -> None:
        """A factory of version 0.0.8 stamps #/mock/contract/0.0.8 and subject version 0.0.8."""
        event = create_arvo_event_factory(mock_contract().version("0.0.8")).accepts(
            source="com.test.test", data={"name": "a", "age": 1}
        )
        assert event.dataschema == "#/mock/contract/0.0.8"
        assert subject_of(event)["orchestrator"]["version"] == "0.0.8"

    def test_to_defaults_to_the_event_type_even_for_system_errors(
        self, factory: ArvoEventFactory
    ) -> None:
        """Without 'to', a system error is addressed to sys.<type>.error."""
        assert (
            factory.system_error(source="com.test.test", error=Exception("x")).to
            == "sys.test.input.0.error"
        )
        assert (
            factory.emits(type="test.output.1", source="com.test.test", data={"message": "m"}).to
            == "test.output.1"
        )

    def test_common_fields_pass_through(self, factory: ArvoEventFactory) -> None:
        """to, redirectto, accesscontrol, executionunits, time, trace headers and extensions pass through."""
        event = factory.emits(
            type="test.output.1",
            source="com.test.test",
            data={"message": "m"},
            to="com.test.caller",
            redirectto="com.redirect.to",
            accesscontrol="role:admin",
            executionunits=2.5,
            time="2024-01-01T00:00:00Z",
            traceparent="tp",
            tracestate="ts",
            extensions={"custom": "c"},
        )
        assert (event.to, event.redirectto, event.accesscontrol) == (
            "com.test.caller",
            "com.redirect.to",
            "role:admin",
        )
        assert (event.executionunits, event.time) == (2.5, "2024-01-01T00:00:00Z")
        assert (event.traceparent, event.tracestate) == ("tp", "ts")
        assert event.extensions == {"custom": "c"}

    def test_redirectto_goes_into_the_auto_subject_meta(self, factory: ArvoEventFactory) -> None:
        """An auto subject records redirectto in its meta."""
        event = factory.accepts(
            source="com.test.test", data={"name": "a", "age": 1}, redirectto="com.redirect.to"
        )
        assert subject_of(event)["meta"] == {"redirectto": "com.redirect.to"}

    def test_explicit_subject_is_used_verbatim(self, factory: ArvoEventFactory) -> None:
        """A given subject is not re-made (any URI-safe string works)."""
        assert (
            factory.accepts(
                source="com.test.test", data={"name": "a", "age": 1}, subject="my-subject"
            ).subject
            == "my-subject"
        )

    def test_auto_subject_needs_a_reverse_dns_source(self, factory: ArvoEventFactory) -> None:
        """The source becomes the subject's initiator, so 'test-source' fails without a subject."""
        with pytest.raises(
            InvalidSubjectError,
            match="Orchestration initiator should be prefixed with a reverse-DNS name",
        ):
            factory.accepts(source="test-source", data={"name": "a", "age": 1})
        event = factory.accepts(source="test-source", data={"name": "a", "age": 1}, subject="s")
        assert event.source == "test-source"

    def test_system_error_of_a_violation_uses_its_name(self, factory: ArvoEventFactory) -> None:
        """A ViolationError is reported as ViolationError<type>."""
        event = factory.system_error(
            source="com.test.test", error=ViolationError("RATE_LIMIT", "slow down")
        )
        assert event.data["errorName"] == "ViolationError<RATE_LIMIT>"
        assert event.data["errorStack"] is None

    def test_factory_keeps_its_contract(self) -> None:
        """factory.contract is the versioned contract it was made for."""
        versioned = mock_contract().version("0.0.1")
        assert create_arvo_event_factory(versioned).contract is versioned
