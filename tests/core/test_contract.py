"""ArvoContract, VersionedArvoContract, EventDataschema (spec §2; upstream tests/ArvoContract)."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from arvo_ray.core import (
    ArvoContract,
    ArvoErrorSchema,
    ContractVersion,
    EventDataschema,
    SchemaRecord,
    VersionedArvoContract,
    ViolationError,
    create_arvo_contract,
    create_arvo_error,
    create_arvo_event,
    create_simple_arvo_contract,
    format_validation_error,
    validate_with_schema,
)


class Accepts(BaseModel):
    name: str


class Emits(BaseModel):
    ok: bool


class Input(BaseModel):
    input: str


class Output(BaseModel):
    output: str


# The upstream "complexContract": two versions, the second widening the accepted data.
class ComplexAcceptsV1(BaseModel):
    id: str
    name: str
    age: int | None = None
    role: Literal["admin", "user"]


class ComplexAcceptsV2(ComplexAcceptsV1):
    role: Literal["admin", "user", "guest"]  # type: ignore[assignment]
    department: str


class Success(BaseModel):
    result: str
    timestamp: float


class SuccessV2(Success):
    details: str


class Partial(BaseModel):
    completed: int
    remaining: int


class Validation(BaseModel):
    valid: bool
    errors: list[str] = Field(default_factory=list)


def complex_contract(domain: str | None = None) -> ArvoContract:
    """The upstream complexContract, two versions."""
    return create_arvo_contract(
        uri="#/contracts/complexContract",
        type="com.example.complex",
        domain=domain,
        versions={
            "0.0.1": {
                "accepts": ComplexAcceptsV1,
                "emits": {
                    "com.example.success": Success,
                    "com.example.partial": Partial,
                    "com.example.validation": Validation,
                },
            },
            "0.0.2": {
                "accepts": ComplexAcceptsV2,
                "emits": {"com.example.success": SuccessV2, "com.example.partial": Partial},
            },
        },
    )


def example_contract(**overrides: Any) -> ArvoContract:
    """The upstream 'valid ArvoContract' input, with overrides."""
    params: dict[str, Any] = {
        "uri": "#/contracts/example",
        "type": "com.example.input",
        "versions": {"1.0.0": {"accepts": Input, "emits": {"com.example.output": Output}}},
    }
    return create_arvo_contract(**{**params, **overrides})


def simple_contract(**overrides: Any) -> ArvoContract:
    """The upstream createSimpleArvoContract input, with overrides."""
    params: dict[str, Any] = {
        "uri": "#/simple/test",
        "type": "simple.test",
        "metadata": {"access": "private"},
        "versions": {
            "1.0.0": {"accepts": Accepts, "emits": Emits},
            "1.0.1": {"accepts": Accepts, "emits": Emits},
        },
    }
    return create_simple_arvo_contract(**{**params, **overrides})


class TestUpstreamArvoContract:
    def test_create_simple_arvo_contract_valid(self) -> None:
        """com.<type> is accepted, evt.<type>.success emitted; metadata marks the contract kind."""
        contract = simple_contract()
        latest = contract.version("latest")
        assert contract.type == "com.simple.test"
        assert latest.accepts.type == "com.simple.test"
        assert latest.emit_list[0].type == "evt.simple.test.success"
        assert contract.system_error.type == "sys.com.simple.test.error"
        assert latest.system_error.type == "sys.com.simple.test.error"
        assert latest.version == "1.0.1"
        expected = {
            "access": "private",
            "contractType": "SimpleArvoContract",
            "rootType": "simple.test",
        }
        assert contract.metadata == expected
        assert latest.metadata == expected
        assert contract.version("1.0.0").metadata == expected
        assert contract.domain is None
        assert latest.domain is None

    def test_should_create_a_valid_arvo_contract_instance(self) -> None:
        """uri, type, accepts, emits, system error and latest version are as declared."""
        contract = example_contract(
            versions={
                "0.0.1": {"accepts": Input, "emits": {"com.example.output": Output}},
                "1.0.0": {"accepts": Input, "emits": {"com.example.output": Output}},
            }
        )
        assert contract.uri == "#/contracts/example"
        assert contract.type == "com.example.input"
        assert contract.version("0.0.1").accepts.type == "com.example.input"
        assert contract.version("0.0.1").emit_list[0].type == "com.example.output"
        assert contract.system_error.type == "sys.com.example.input.error"
        assert contract.version("latest").version == "1.0.0"
        assert contract.domain is None
        assert contract.version("0.0.1").domain is None

    def test_should_throw_an_error_for_invalid_uri(self) -> None:
        """A URI with raw spaces is rejected."""
        with pytest.raises(ValueError, match="The URI must a valid URI string"):
            example_contract(uri="invalid uri with space")

    def test_should_throw_an_error_for_invalid_version_format(self) -> None:
        """A version key that is not X.Y.Z is rejected."""
        with pytest.raises(ValueError, match="Invalid version format of the semantic version"):
            example_contract(versions={"invalid.version": {"accepts": Input, "emits": {}}})

    def test_should_throw_an_error_for_event_type_using_orchestrator_pattern_in_emits(self) -> None:
        """An emit type starting with arvo.orc is reserved; the message is the original's."""
        with pytest.raises(ValueError) as exc:
            create_arvo_contract(
                uri="#/contracts/myContract",
                type="com.test.x",
                versions={"0.0.1": {"accepts": Input, "emits": {"arvo.orc.test": Output}}},
            )
        assert str(exc.value) == (
            "In contract (uri=#/contracts/myContract, version=0.0.1), the 'emits' event (type=arvo.orc.test) must not start\n"
            "with 'arvo.orc' because this is a reserved pattern\n"
            "for Arvo orchestrators."
        )

    def test_should_throw_an_error_for_event_type_using_orchestrator_pattern_in_accepts(
        self,
    ) -> None:
        """An accepts type starting with arvo.orc is reserved; the message is the original's."""
        with pytest.raises(ValueError) as exc:
            create_arvo_contract(
                uri="#/contracts/myContract",
                type="arvo.orc.test",
                versions={"0.0.1": {"accepts": Input, "emits": {}}},
            )
        assert str(exc.value) == (
            "In contract (uri=#/contracts/myContract), the 'accepts' event (type=arvo.orc.test) must not start\n"
            "with 'arvo.orc' because this is a reserved pattern\n"
            "for Arvo orchestrators."
        )

    def test_should_create_a_contract_with_multiple_emits(self) -> None:
        """Every declared emit type is present."""
        contract = example_contract(
            versions={
                "1.0.0": {
                    "accepts": Input,
                    "emits": {"com.example.a": Output, "com.example.b": Emits},
                }
            }
        )
        assert set(contract.version("1.0.0").emits) == {"com.example.a", "com.example.b"}

    def test_should_allow_empty_emits_object_for_a_version(self) -> None:
        """A version may emit nothing."""
        contract = example_contract(versions={"1.0.0": {"accepts": Input, "emits": {}}})
        assert contract.version("1.0.0").emits == {}
        assert contract.version("1.0.0").emit_list == []

    def test_should_have_readonly_properties(self) -> None:
        """uri and type cannot be reassigned."""
        contract = example_contract()
        with pytest.raises(AttributeError):
            contract.uri = "#/other"  # type: ignore[misc]
        with pytest.raises(AttributeError):
            contract.type = "com.other.type"  # type: ignore[misc]

    def test_should_have_correct_domains(self) -> None:
        """The contract's domain is shared by every version."""
        contract = complex_contract(domain="test.test")
        assert contract.domain == "test.test"
        assert contract.version("0.0.1").domain == "test.test"
        assert contract.version("0.0.2").domain == "test.test"
        assert contract.version("any").domain == "test.test"


class TestUpstreamValidateAccepts:
    def test_should_validate_input_with_all_required_fields(self) -> None:
        """Complete input validates; accepts.type is the contract type."""
        accepts = complex_contract().version("0.0.1").accepts
        assert accepts.type == "com.example.complex"
        assert validate_with_schema(
            accepts.schema, {"id": "1", "name": "n", "age": 30, "role": "admin"}
        ) == {
            "id": "1",
            "name": "n",
            "age": 30,
            "role": "admin",
        }

    def test_should_validate_input_without_optional_fields(self) -> None:
        """Optional fields may be left out (and are filled with their default)."""
        accepts = complex_contract().version("0.0.1").accepts
        assert (
            validate_with_schema(accepts.schema, {"id": "1", "name": "n", "role": "user"})["age"]
            is None
        )

    def test_should_reject_input_with_invalid_field_types(self) -> None:
        """Wrong types fail with issues naming each field."""
        accepts = complex_contract().version("0.0.1").accepts
        with pytest.raises(ValidationError) as exc:
            validate_with_schema(
                accepts.schema, {"id": 1, "name": "n", "age": "old", "role": "admin"}
            )
        assert {issue["loc"] for issue in exc.value.errors()} == {("id",), ("age",)}

    def test_should_reject_input_with_missing_required_fields(self) -> None:
        """Missing required fields fail."""
        accepts = complex_contract().version("0.0.1").accepts
        with pytest.raises(ValidationError) as exc:
            validate_with_schema(accepts.schema, {"id": "1"})
        assert {issue["loc"] for issue in exc.value.errors()} == {("name",), ("role",)}

    def test_should_validate_input_against_correct_version_schema(self) -> None:
        """0.0.2 accepts the new enum value and requires the new field; 0.0.1 does not know them."""
        contract = complex_contract()
        data = {"id": "1", "name": "n", "role": "guest", "department": "it"}
        assert (
            validate_with_schema(contract.version("0.0.2").accepts.schema, data)["department"]
            == "it"
        )
        with pytest.raises(ValidationError):
            validate_with_schema(contract.version("0.0.1").accepts.schema, data)

    def test_should_throw_error_for_non_existent_version(self) -> None:
        """Asking for an undeclared version fails with the original's message (plus choices)."""
        with pytest.raises(
            ValueError,
            match=r"^The contract \(uri=#/contracts/complexContract\) does not have version=0\.0\.3\. Available versions: 0\.0\.1, 0\.0\.2$",
        ):
            complex_contract().version("0.0.3")


class TestUpstreamValidateEmits:
    def test_should_validate_success_partial_and_validation_emissions(self) -> None:
        """Each emit model of 0.0.1 accepts well-formed data."""
        emits = complex_contract().version("0.0.1").emits
        assert validate_with_schema(
            emits["com.example.success"], {"result": "r", "timestamp": 1}
        ) == {"result": "r", "timestamp": 1.0}
        assert validate_with_schema(emits["com.example.partial"], {"completed": 1, "remaining": 2})
        assert validate_with_schema(
            emits["com.example.validation"], {"valid": False, "errors": ["e"]}
        )

    def test_should_reject_emissions_with_missing_fields_or_wrong_types(self) -> None:
        """Incomplete or mistyped emit data fails."""
        emits = complex_contract().version("0.0.1").emits
        with pytest.raises(ValidationError):
            validate_with_schema(emits["com.example.success"], {"result": "r"})
        with pytest.raises(ValidationError):
            validate_with_schema(emits["com.example.partial"], {"completed": "one", "remaining": 2})

    def test_version_specific_success_schema_takes_a_new_field(self) -> None:
        """The 0.0.2 success model requires the field 0.0.1 lacks."""
        contract = complex_contract()
        data = {"result": "r", "timestamp": 1, "details": "d"}
        assert (
            validate_with_schema(contract.version("0.0.2").emits["com.example.success"], data)[
                "details"
            ]
            == "d"
        )
        assert "details" not in validate_with_schema(
            contract.version("0.0.1").emits["com.example.success"], data
        )
        with pytest.raises(ValidationError):
            validate_with_schema(
                contract.version("0.0.2").emits["com.example.success"],
                {"result": "r", "timestamp": 1},
            )

    def test_should_have_correct_dataschema(self) -> None:
        """dataschema is <uri>/<version>; the system error uses the wildcard version."""
        contract = complex_contract()
        for version in ("0.0.1", "0.0.2"):
            versioned = contract.version(version)
            assert versioned.dataschema == f"#/contracts/complexContract/{version}"
            assert versioned.system_error.dataschema == "#/contracts/complexContract/0.0.0"

    def test_should_handle_version_specific_emit_types(self) -> None:
        """com.example.validation exists in 0.0.1 only."""
        contract = complex_contract()
        assert "com.example.validation" in contract.version("0.0.1").emits
        assert "com.example.validation" not in contract.version("0.0.2").emits


class TestContractRules:
    """Constructor rules (§2.1) beyond the upstream tests."""

    def test_empty_uri_is_rejected(self) -> None:
        """The URI must be non-empty."""
        with pytest.raises(ValueError, match=r"^URI must be a non-empty string$"):
            example_contract(uri="")

    @pytest.mark.parametrize("value", ["test.x", "com.Test.x", "com.test_x.y"])
    def test_type_must_be_reverse_dns(self, value: str) -> None:
        """The accepted type follows the event type pattern."""
        with pytest.raises(ValueError, match="Type should be prefixed with a reverse-DNS name"):
            example_contract(type=value)

    def test_emit_types_must_be_reverse_dns(self) -> None:
        """Every emit type follows the event type pattern."""
        with pytest.raises(
            ValueError,
            match=r"emit type: Type should be prefixed with a reverse-DNS name \(got 'bad_type'\)",
        ):
            example_contract(versions={"1.0.0": {"accepts": Input, "emits": {"bad_type": Output}}})

    def test_wildcard_version_is_reserved(self) -> None:
        """0.0.0 cannot be declared; the message is the original's."""
        with pytest.raises(
            ValueError,
            match=r"^For contract \(uri=#/a\), the version cannot be '0\.0\.0'\. It is a reserved version type\.$",
        ):
            example_contract(uri="#/a", versions={"0.0.0": {"accepts": Input, "emits": {}}})

    def test_at_least_one_version_is_required(self) -> None:
        """A contract without versions is refused with the original's message."""
        with pytest.raises(
            ValueError, match=r"^An ArvoContract \(uri=#/a\) must have at least one version$"
        ):
            example_contract(uri="#/a", versions={})

    def test_empty_domain_breaks_both_domain_rules(self) -> None:
        """'' is reported as empty and as having invalid characters."""
        with pytest.raises(ValueError) as exc:
            example_contract(domain="")
        assert "The domain must be non-empty string" in str(exc.value)
        assert "Domain must contain only lowercase letters, numbers, and dots" in str(exc.value)

    @pytest.mark.parametrize("value", ["A", "a-b"])
    def test_invalid_domain_names_only_the_broken_rule(self, value: str) -> None:
        """A non-empty bad domain is reported for its characters only."""
        with pytest.raises(ValueError) as exc:
            example_contract(domain=value)
        assert "Domain must contain only lowercase letters, numbers, and dots" in str(exc.value)
        assert "non-empty" not in str(exc.value)

    def test_schemas_must_be_pydantic_models(self) -> None:
        """accepts/emits must be BaseModel subclasses; the error names where."""
        with pytest.raises(
            TypeError, match=r"version=1\.0\.0\) accepts must be a pydantic model class"
        ):
            example_contract(versions={"1.0.0": {"accepts": dict, "emits": {}}})
        with pytest.raises(
            TypeError, match=r"emits\['com\.example\.output'\] must be a pydantic model class"
        ):
            example_contract(
                versions={
                    "1.0.0": {
                        "accepts": Input,
                        "emits": {"com.example.output": Output(output="an instance")},
                    }
                }
            )

    def test_orchestrator_ban_uses_starts_with(self) -> None:
        """Any type starting with 'arvo.orc' is reserved, including arvo.orchestra.*."""
        with pytest.raises(ValueError, match=r"must not start\nwith 'arvo.orc'"):
            example_contract(type="arvo.orchestra.x")

    def test_the_class_bans_orchestrator_types_as_its_factory_does(self) -> None:
        """One constructor, one set of checks: ArvoContract(...) refuses arvo.orc types too."""
        for build in (ArvoContract, create_arvo_contract):
            with pytest.raises(ValueError, match=r"must not start\nwith 'arvo.orc'"):
                build(
                    uri="#/a",
                    type="arvo.orc.test",
                    versions={"1.0.0": {"accepts": Input, "emits": {}}},
                )
            with pytest.raises(ValueError, match="'emits' event"):
                build(
                    uri="#/a",
                    type="com.a.test",
                    versions={"1.0.0": {"accepts": Input, "emits": {"arvo.orc.x.done": Output}}},
                )

    def test_versions_accept_contract_version_objects(self) -> None:
        """A ContractVersion works as well as a dict."""
        contract = example_contract(
            versions={"1.0.0": ContractVersion(accepts=Input, emits={"com.example.output": Output})}
        )
        assert contract.version("1.0.0").emits == {"com.example.output": Output}

    def test_description_and_metadata_default(self) -> None:
        """description defaults to None and metadata to {}."""
        contract = example_contract()
        assert contract.description is None
        assert contract.metadata == {}

    def test_metadata_is_returned_as_a_copy(self) -> None:
        """Changing the returned metadata does not change the contract."""
        contract = example_contract(metadata={"owner": "me"})
        contract.metadata["owner"] = "you"
        assert contract.metadata == {"owner": "me"}

    def test_simple_contract_overwrites_reserved_metadata_keys(self) -> None:
        """User values for contractType and rootType are replaced."""
        contract = simple_contract(metadata={"contractType": "x", "rootType": "y", "k": "v"})
        assert contract.metadata == {
            "contractType": "SimpleArvoContract",
            "rootType": "simple.test",
            "k": "v",
        }

    def test_simple_contract_type_needs_two_segments(self) -> None:
        """'simple' would give the two-segment type 'com.simple', which is invalid."""
        with pytest.raises(ValueError, match=r"got 'com\.simple'"):
            simple_contract(type="simple")

    def test_simple_contract_has_one_emit_per_version(self) -> None:
        """Each version emits exactly evt.<type>.success with the given model."""
        contract = simple_contract()
        assert contract.version("1.0.0").emits == {"evt.simple.test.success": Emits}


class TestVersions:
    def multi(self) -> ArvoContract:
        return example_contract(
            versions={v: {"accepts": Input, "emits": {}} for v in ["0.10.0", "1.0.0", "0.9.0"]}
        )

    def test_latest_and_any_give_the_highest_version_numerically(self) -> None:
        """'latest'/'any' pick 1.0.0 over 0.10.0 and 0.9.0."""
        contract = self.multi()
        assert contract.version("latest").version == "1.0.0"
        assert contract.version("any").version == "1.0.0"
        assert contract.version().version == "1.0.0"

    def test_oldest_gives_the_lowest_version_numerically(self) -> None:
        """'oldest' picks 0.9.0, not 0.10.0."""
        assert self.multi().version("oldest").version == "0.9.0"

    def test_sorted_versions(self) -> None:
        """Versions sort numerically, ascending or descending."""
        contract = self.multi()
        assert contract.sorted_versions() == ["0.9.0", "0.10.0", "1.0.0"]
        assert contract.sorted_versions("ASC") == ["0.9.0", "0.10.0", "1.0.0"]
        assert contract.sorted_versions("DESC") == ["1.0.0", "0.10.0", "0.9.0"]

    def test_iterating_a_contract_yields_versions_in_order(self) -> None:
        """Iteration gives the versioned contracts oldest first."""
        assert [v.version for v in self.multi()] == ["0.9.0", "0.10.0", "1.0.0"]

    def test_version_returns_a_new_but_equal_object_each_call(self) -> None:
        """Each call builds a new VersionedArvoContract; equal ones compare and hash equal."""
        contract = self.multi()
        first, second = contract.version("1.0.0"), contract.version("1.0.0")
        assert first is not second
        assert first == second
        assert hash(first) == hash(second)
        assert first != contract.version("0.9.0")
        assert isinstance(first, VersionedArvoContract)
        assert first.contract is contract

    def test_versioned_contract_delegates_to_the_contract(self) -> None:
        """uri, description, metadata and domain come from the parent contract."""
        contract = example_contract(description="d", metadata={"m": 1}, domain="x.y")
        versioned = contract.version("1.0.0")
        assert (versioned.uri, versioned.description, versioned.metadata, versioned.domain) == (
            "#/contracts/example",
            "d",
            {"m": 1},
            "x.y",
        )

    def test_system_error_record(self) -> None:
        """The system error is sys.<type>.error with ArvoErrorSchema; the versioned one has a dataschema."""
        contract = example_contract()
        assert contract.system_error == SchemaRecord(
            type="sys.com.example.input.error", schema=ArvoErrorSchema
        )
        assert contract.version("1.0.0").system_error == SchemaRecord(
            type="sys.com.example.input.error",
            schema=ArvoErrorSchema,
            dataschema="#/contracts/example/0.0.0",
        )

    def test_emit_list_keeps_declaration_order(self) -> None:
        """emit_list follows the insertion order of emits."""
        contract = example_contract(
            versions={"1.0.0": {"accepts": Input, "emits": {"com.z.z": Output, "com.a.a": Emits}}}
        )
        assert [record.type for record in contract.version("1.0.0").emit_list] == [
            "com.z.z",
            "com.a.a",
        ]

    def test_export(self) -> None:
        """export() gives uri, type, domain, description, versions and metadata."""
        exported = example_contract().export()
        assert list(exported) == ["uri", "type", "domain", "description", "versions", "metadata"]
        assert exported["versions"]["1.0.0"].accepts is Input


class TestJsonSchema:
    def test_versioned_json_schema_layout(self) -> None:
        """Keys in the original's order; schemas are pydantic's (deliberately not draft-07)."""
        contract = create_arvo_contract(
            uri="#/test/contract",
            type="com.test.service",
            description="desc",
            metadata={"owner": "me"},
            versions={"1.0.0": {"accepts": Accepts, "emits": {"evt.test.done": Emits}}},
        )
        schema = contract.version("1.0.0").to_json_schema()
        assert list(schema) == [
            "uri",
            "description",
            "domain",
            "version",
            "metadata",
            "accepts",
            "systemError",
            "emits",
        ]
        assert schema["uri"] == "#/test/contract"
        assert schema["version"] == "1.0.0"
        assert schema["accepts"]["type"] == "com.test.service"
        assert schema["accepts"]["schema"]["required"] == ["name"]
        assert schema["systemError"]["type"] == "sys.com.test.service.error"
        assert schema["systemError"]["schema"]["required"] == [
            "errorName",
            "errorMessage",
            "errorStack",
        ]
        assert [emit["type"] for emit in schema["emits"]] == ["evt.test.done"]
        assert schema["emits"][0]["schema"]["properties"]["ok"]["type"] == "boolean"

    def test_contract_json_schema_lists_versions_in_declaration_order(self) -> None:
        """Versions appear as declared (not sorted), without per-version uri and description."""
        contract = example_contract(
            versions={v: {"accepts": Input, "emits": {}} for v in ["2.0.0", "1.0.0"]}
        )
        schema = contract.to_json_schema()
        assert list(schema) == ["uri", "domain", "description", "metadata", "versions"]
        assert [v["version"] for v in schema["versions"]] == ["2.0.0", "1.0.0"]
        assert all("uri" not in v and "description" not in v for v in schema["versions"])


class TestEventDataschema:
    def test_build_joins_uri_and_version(self) -> None:
        """build gives <uri>/<version>."""
        assert EventDataschema.build("test://example", "1.0.0") == "test://example/1.0.0"

    def test_parse_splits_off_the_last_segment_as_version(self) -> None:
        """The last '/' segment is the version; the rest is the uri."""
        assert EventDataschema.parse("#/a/b/1.2.3") == {"uri": "#/a/b", "version": "1.2.3"}

    def test_parse_accepts_a_bare_version_with_an_empty_uri(self) -> None:
        """As in the original, '1.0.0' parses with uri '' (§2.3)."""
        assert EventDataschema.parse("1.0.0") == {"uri": "", "version": "1.0.0"}

    @pytest.mark.parametrize("value", ["#/a", "#/a/1.0", "#/a/v1.0.0", "", None, 5])
    def test_parse_returns_none_when_unparseable(self, value: Any) -> None:
        """No valid trailing version (or no string) gives None, never an exception."""
        assert EventDataschema.parse(value) is None
        assert EventDataschema.is_valid(value) is False

    def test_parse_reads_an_events_dataschema(self) -> None:
        """Passing an event parses its dataschema; an event without one gives None."""
        event = create_arvo_event(
            source="a",
            type="com.a.b",
            subject="s",
            data={},
            dataschema="#/c/1.0.0",
            disable_telemetry=True,
        )
        assert EventDataschema.parse(event) == {"uri": "#/c", "version": "1.0.0"}
        assert EventDataschema.is_valid(event) is True
        bare = create_arvo_event(
            source="a", type="com.a.b", subject="s", data={}, disable_telemetry=True
        )
        assert EventDataschema.parse(bare) is None


class TestValidation:
    def test_validated_output_drops_unknown_keys_and_fills_defaults(self) -> None:
        """The model's JSON form is returned: extras dropped, defaults and validators applied (§5.1)."""

        class Model(BaseModel):
            input: str
            n: int = 7
            t: str

            @field_validator("t")
            @classmethod
            def upper(cls, value: str) -> str:
                return value.upper()

        assert validate_with_schema(Model, {"input": "x", "extra": "dropped", "t": "abc"}) == {
            "input": "x",
            "n": 7,
            "t": "ABC",
        }

    def test_validated_output_uses_aliases(self) -> None:
        """Fields are written under their alias (e.g. parentSubject$$)."""

        class Model(BaseModel):
            parent: str | None = Field(alias="parentSubject$$")

        assert validate_with_schema(Model, {"parentSubject$$": None}) == {"parentSubject$$": None}

    def test_format_validation_error_names_path_and_value(self) -> None:
        """One line per problem with the field path, the message and the received value."""
        with pytest.raises(ValidationError) as exc:
            validate_with_schema(ComplexAcceptsV1, {"id": 5, "name": "n", "role": "root"})
        text = format_validation_error(exc.value)
        lines = text.split("; ")
        assert len(lines) == 2
        assert lines[0].startswith("'data.id': Input should be a valid string (got 5, int)")
        assert lines[1].startswith("'data.role': ")
        assert lines[1].endswith("(got 'root', str)")

    def test_format_validation_error_shortens_long_values(self) -> None:
        """Long received values are cut to keep messages readable."""
        with pytest.raises(ValidationError) as exc:
            validate_with_schema(Accepts, {"name": ["y" * 100]})
        text = format_validation_error(exc.value, root="payload")
        assert text.startswith("'payload.name': Input should be a valid string (got ['yyy")
        assert text.endswith("… (104 characters), list)")
        assert len(text) < 150


class TestCreateArvoError:
    def test_uses_the_exception_class_name_message_and_traceback(self) -> None:
        """errorName is the class name, errorMessage the text, errorStack the formatted traceback."""
        try:
            raise RuntimeError("Some error")
        except RuntimeError as error:
            payload = create_arvo_error(error)
        assert payload["errorName"] == "RuntimeError"
        assert payload["errorMessage"] == "Some error"
        assert payload["errorStack"].startswith("Traceback (most recent call last):")
        assert payload["errorStack"].endswith("RuntimeError: Some error")

    def test_unraised_error_has_a_null_stack(self) -> None:
        """Without a traceback the stack is None (JS: stack undefined gives null)."""
        assert create_arvo_error(ValueError("x")) == {
            "errorName": "ValueError",
            "errorMessage": "x",
            "errorStack": None,
        }

    def test_violation_errors_use_their_name_and_prefixed_message(self) -> None:
        """A ViolationError reports ViolationError<type> and its prefixed message."""
        payload = create_arvo_error(ViolationError("RATE_LIMIT", "slow down"))
        assert payload["errorName"] == "ViolationError<RATE_LIMIT>"
        assert payload["errorMessage"] == "ViolationError<RATE_LIMIT> slow down"

    def test_payload_fits_the_error_schema(self) -> None:
        """The payload validates against ArvoErrorSchema unchanged."""
        payload = create_arvo_error(KeyError("k"))
        assert validate_with_schema(ArvoErrorSchema, payload) == payload
