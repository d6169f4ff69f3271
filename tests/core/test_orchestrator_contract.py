"""ArvoOrchestratorContract (spec §3; upstream tests/ArvoOrchestratorContract, contract part)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from arvo_ray.core import (
    ArvoContract,
    ArvoOrchestratorContract,
    ArvoOrchestratorEventTypeGen,
    OrchestrationInitEventBase,
    create_arvo_orchestrator_contract,
    create_simple_arvo_contract,
    is_orchestrator_contract,
    validate_with_schema,
)


class Init(BaseModel):
    foo: str
    additional: int = 0


class Complete(BaseModel):
    bar: str


class InitV2(BaseModel):
    foo: str
    additional: int


class CompleteV2(BaseModel):
    bar: str
    extra: bool


def orchestrator_contract(**overrides: Any) -> ArvoOrchestratorContract:
    """The upstream orchestrator contract: uri test://example, name test.contract."""
    params: dict[str, Any] = {
        "uri": "test://example",
        "name": "test.contract",
        "versions": {"1.0.0": {"init": Init, "complete": Complete}},
    }
    return create_arvo_orchestrator_contract(**{**params, **overrides})


class TestUpstreamOrchestratorContract:
    def test_should_create_an_instance_with_correct_properties(self) -> None:
        """arvo.orc.<name> accepts the init model merged with parentSubject$$; emits the done event."""
        contract = orchestrator_contract()
        assert isinstance(contract, ArvoOrchestratorContract)
        assert isinstance(contract, ArvoContract)
        assert contract.type == "arvo.orc.test.contract"
        versioned = contract.version("1.0.0")
        accepts = versioned.accepts.schema
        assert issubclass(accepts, Init)
        assert issubclass(accepts, OrchestrationInitEventBase)
        assert list(accepts.model_json_schema(by_alias=True)["properties"]) == [
            "parentSubject$$",
            "foo",
            "additional",
        ]
        assert versioned.emits == {"arvo.orc.test.contract.done": Complete}

    def test_should_throw_an_error_for_invalid_type_format(self) -> None:
        """A name with uppercase or spaces is refused with the original's message."""
        with pytest.raises(ValueError) as exc:
            orchestrator_contract(name="Invalid Type")
        assert str(exc.value) == (
            "Invalid 'name' = 'Invalid Type'. The 'name' must only contain alphanumeric characters. e.g. test.orchestrator"
        )

    def test_the_class_checks_its_input_as_the_factory_does(self) -> None:
        """ArvoOrchestratorContract(...) is the one constructor: same rules, same contract."""
        with pytest.raises(ValueError, match="Invalid 'name' = 'Invalid Type'"):
            ArvoOrchestratorContract(
                uri="#/t",
                name="Invalid Type",
                versions={"1.0.0": {"init": Init, "complete": Complete}},
            )
        direct = ArvoOrchestratorContract(
            uri="#/t",
            name="test.contract",
            versions={"1.0.0": {"init": Init, "complete": Complete}},
        )
        made = create_arvo_orchestrator_contract(
            uri="#/t",
            name="test.contract",
            versions={"1.0.0": {"init": Init, "complete": Complete}},
        )
        assert (direct.type, direct.complete_type, direct.metadata) == (
            made.type,
            made.complete_type,
            made.metadata,
        )

    def test_should_properly_merge_base_schema(self) -> None:
        """parentSubject$$ is required and nullable, and '' is refused."""
        accepts = orchestrator_contract().version("1.0.0").accepts.schema
        assert (
            validate_with_schema(accepts, {"foo": "a", "parentSubject$$": "parent-123"})[
                "parentSubject$$"
            ]
            == "parent-123"
        )
        assert (
            validate_with_schema(accepts, {"foo": "a", "parentSubject$$": None})["parentSubject$$"]
            is None
        )
        with pytest.raises(ValidationError) as missing:
            validate_with_schema(accepts, {"foo": "a"})
        assert missing.value.errors()[0]["loc"] == ("parentSubject$$",)
        assert missing.value.errors()[0]["type"] == "missing"
        with pytest.raises(ValidationError) as empty:
            validate_with_schema(accepts, {"foo": "a", "parentSubject$$": ""})
        assert empty.value.errors()[0]["loc"] == ("parentSubject$$",)

    def test_should_support_multiple_versions(self) -> None:
        """Each version has its own init and complete models."""
        contract = orchestrator_contract(
            versions={
                "1.0.0": {"init": Init, "complete": Complete},
                "2.0.0": {"init": InitV2, "complete": CompleteV2},
            }
        )
        assert contract.sorted_versions() == ["1.0.0", "2.0.0"]
        assert issubclass(contract.version("2.0.0").accepts.schema, InitV2)
        assert contract.version("2.0.0").emits == {"arvo.orc.test.contract.done": CompleteV2}
        assert contract.version("latest").version == "2.0.0"


class TestOrchestratorContractRules:
    def test_metadata_describes_the_orchestrator(self) -> None:
        """User metadata is extended with the contract kind and event types (§3.2 example)."""
        contract = orchestrator_contract(metadata={"k": "v"})
        assert contract.metadata == {
            "k": "v",
            "contractType": "ArvoOrchestratorContract",
            "rootType": "test.contract",
            "completeEventType": "arvo.orc.test.contract.done",
            "initEventType": "arvo.orc.test.contract",
        }

    def test_name_and_event_type_properties(self) -> None:
        """name, init_type and complete_type read the metadata."""
        contract = orchestrator_contract()
        assert contract.name == "test.contract"
        assert contract.init_type == "arvo.orc.test.contract"
        assert contract.complete_type == "arvo.orc.test.contract.done"

    def test_system_error_type_and_dataschema(self) -> None:
        """The system error is sys.arvo.orc.<name>.error with dataschema uri/0.0.0."""
        record = orchestrator_contract().version("1.0.0").system_error
        assert record.type == "sys.arvo.orc.test.contract.error"
        assert record.dataschema == "test://example/0.0.0"

    def test_dataschema_of_a_version(self) -> None:
        """The dataschema is <uri>/<version>."""
        assert orchestrator_contract().version("1.0.0").dataschema == "test://example/1.0.0"

    def test_single_segment_name_is_valid(self) -> None:
        """'test' gives arvo.orc.test, which has three segments."""
        assert orchestrator_contract(name="test").type == "arvo.orc.test"

    def test_name_with_empty_segment_fails_the_type_pattern(self) -> None:
        """'a..b' passes the character check, then fails the reverse-DNS type rule."""
        with pytest.raises(
            ValueError,
            match=r"Type should be prefixed with a reverse-DNS name \(got 'arvo\.orc\.a\.\.b'\)",
        ):
            orchestrator_contract(name="a..b")

    def test_domain_description_default_to_none(self) -> None:
        """domain and description default to None; a domain is kept."""
        assert orchestrator_contract().domain is None
        assert orchestrator_contract().description is None
        assert orchestrator_contract(domain="a.b", description="d").domain == "a.b"

    def test_complete_model_is_used_unchanged(self) -> None:
        """The done event is typed only by the user's complete model (no parentSubject$$)."""
        done = orchestrator_contract().version("1.0.0").emits["arvo.orc.test.contract.done"]
        assert done is Complete
        assert validate_with_schema(done, {"bar": "x"}) == {"bar": "x"}

    def test_init_json_schema_puts_parent_subject_first_and_required(self) -> None:
        """parentSubject$$ leads the properties and the required list, as a nullable string."""
        schema = (
            orchestrator_contract().version("1.0.0").accepts.schema.model_json_schema(by_alias=True)
        )
        assert schema["required"] == ["parentSubject$$", "foo"]
        assert schema["properties"]["parentSubject$$"]["anyOf"] == [
            {"type": "string", "minLength": 1},
            {"type": "null"},
        ]

    def test_init_model_keeps_the_user_model_name(self) -> None:
        """The merged init model is named after the user's model."""
        assert orchestrator_contract().version("1.0.0").accepts.schema.__name__ == "Init"

    def test_missing_init_model_is_refused(self) -> None:
        """A version without an init model is a TypeError naming the version."""
        with pytest.raises(
            TypeError,
            match=r"Orchestrator contract test\.contract v1\.0\.0 init must be a pydantic model class",
        ):
            orchestrator_contract(versions={"1.0.0": {"complete": Complete}})

    def test_bypasses_the_arvo_orc_ban(self) -> None:
        """Orchestrator contracts use the reserved arvo.orc prefix on purpose."""
        assert orchestrator_contract().type.startswith("arvo.orc")


class TestTypeGen:
    def test_event_types_of_a_name(self) -> None:
        """init, complete and system error types follow the arvo.orc pattern (§3.1)."""
        assert ArvoOrchestratorEventTypeGen.prefix == "arvo.orc"
        assert ArvoOrchestratorEventTypeGen.init("x.y") == "arvo.orc.x.y"
        assert ArvoOrchestratorEventTypeGen.complete("x.y") == "arvo.orc.x.y.done"
        assert ArvoOrchestratorEventTypeGen.system_error("x.y") == "sys.arvo.orc.x.y.error"

    def test_system_error_equals_the_contract_system_error(self) -> None:
        """The generated system error type is the contract's generic one."""
        assert (
            ArvoOrchestratorEventTypeGen.system_error("test.contract")
            == orchestrator_contract().system_error.type
        )

    @pytest.mark.parametrize(
        ("value", "expected"),
        [("arvo.orc.x", True), ("arvo.orchestra.x", True), ("com.arvo.orc", False)],
    )
    def test_is_orchestrator_event_type_uses_starts_with(self, value: str, expected: bool) -> None:
        """Anything starting with arvo.orc counts."""
        assert ArvoOrchestratorEventTypeGen.is_orchestrator_event_type(value) is expected


class TestIsOrchestratorContract:
    def test_true_for_orchestrator_contracts_versioned_or_not(self) -> None:
        """Both the contract and its versions are recognised (by metadata)."""
        contract = orchestrator_contract()
        assert is_orchestrator_contract(contract) is True
        assert is_orchestrator_contract(contract.version("1.0.0")) is True

    def test_false_for_other_contracts_and_objects(self) -> None:
        """Simple contracts and unrelated objects are not orchestrator contracts."""
        simple = create_simple_arvo_contract(
            uri="#/s", type="s.t", versions={"1.0.0": {"accepts": Init, "emits": Complete}}
        )
        assert is_orchestrator_contract(simple) is False
        assert is_orchestrator_contract(simple.version("1.0.0")) is False
        assert is_orchestrator_contract(None) is False
        assert is_orchestrator_contract({"contractType": "ArvoOrchestratorContract"}) is False
