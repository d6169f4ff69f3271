"""ArvoOrchestratorEventFactory (spec §5.2; upstream tests/ArvoOrchestratorContract, factory part)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from arvo_ray.core import (
    ArvoOrchestrationSubject,
    ArvoOrchestratorEventFactory,
    ContractViolation,
    InvalidSubjectError,
    create_arvo_orchestrator_contract,
    create_arvo_orchestrator_event_factory,
    create_simple_arvo_contract,
    validate_with_schema,
)


class Init(BaseModel):
    foo: str
    additional: int = 0


class Complete(BaseModel):
    bar: str


@pytest.fixture
def factory() -> ArvoOrchestratorEventFactory:
    """An orchestrator factory for version 2.0.0 of test.contract."""
    contract = create_arvo_orchestrator_contract(
        uri="test://example",
        name="test.contract",
        versions={
            "1.0.0": {"init": Init, "complete": Complete},
            "2.0.0": {"init": Init, "complete": Complete},
        },
    )
    return create_arvo_orchestrator_event_factory(contract.version("2.0.0"))


def parsed(subject: str) -> dict[str, Any]:
    """The decoded subject."""
    return dict(ArvoOrchestrationSubject.parse(subject))


def init_data(parent: str | None = None) -> dict[str, Any]:
    """Upstream init data with the given parentSubject$$."""
    return {"foo": "saad", "additional": 2, "parentSubject$$": parent}


class TestUpstreamMultipleVersions:
    """The long 'should support multiple versions' test, one behaviour per test."""

    def test_orchestrator_factory_refuses_a_simple_contract(self) -> None:
        """Only orchestrator contracts can back an orchestrator factory."""
        simple = create_simple_arvo_contract(
            uri="#/s", type="s.t", versions={"1.0.0": {"accepts": Init, "emits": Complete}}
        )
        with pytest.raises(
            ValueError, match=r"^This factory can only be used for ArvoOrchestratorContract$"
        ):
            create_arvo_orchestrator_event_factory(simple.version("1.0.0"))

    def test_init_with_redirectto(self, factory: ArvoOrchestratorEventFactory) -> None:
        """to = type = arvo.orc.<name>; redirectto is kept and recorded in the subject meta."""
        event = factory.init(source="com.test.test", data=init_data(), redirectto="com.redirect.to")
        assert event.type == event.to == "arvo.orc.test.contract"
        assert event.redirectto == "com.redirect.to"
        assert parsed(event.subject)["meta"] == {"redirectto": "com.redirect.to"}
        assert event.dataschema == "test://example/2.0.0"
        assert event.data == init_data()

    def test_child_init_redirects_to_the_parents_initiator(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """A child's subject meta.redirectto is the parent's initiator; the event's redirectto stays None."""
        root = factory.init(source="com.test.test", data=init_data(), redirectto="com.redirect.to")
        child = factory.init(source="com.test.test", data=init_data(root.subject))
        subject = parsed(child.subject)
        assert subject["meta"]["redirectto"] == "com.test.test"
        assert child.redirectto is None
        assert subject["execution"]["initiator"] == "arvo.orc.test.contract"
        assert child.data["parentSubject$$"] == root.subject

    def test_root_init_without_redirectto_has_no_meta_redirect(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """No redirectto and no parent: the subject meta is empty."""
        event = factory.init(source="com.test.test", data=init_data())
        assert "redirectto" not in parsed(event.subject)["meta"]

    def test_init_with_bad_data_raises(self, factory: ArvoOrchestratorEventFactory) -> None:
        """Init data that does not fit raises with the original's prefix."""
        with pytest.raises(
            ContractViolation,
            match=r"^ViolationError<Contract> Init Event data validation failed: ",
        ):
            factory.init(source="com.test.test", data={"foo": 1, "parentSubject$$": None})

    def test_init_without_parent_subject_key_starts_a_root_workflow(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """Departure: the factory defaults parentSubject$$ to None (the original requires the
        key); the event still carries it, as null, and the contract still requires it."""
        event = factory.init(source="com.test.test", data={"foo": "x"})
        assert event.data["parentSubject$$"] is None
        assert next(iter(event.data)) == "parentSubject$$"
        with pytest.raises(ValidationError, match="Field required"):
            validate_with_schema(factory.contract.accepts.schema, {"foo": "x"})

    def test_complete_with_explicit_subject(self, factory: ArvoOrchestratorEventFactory) -> None:
        """The given subject is kept; type is the complete type; 'to' is honoured."""
        root = factory.init(source="com.test.test", data=init_data())
        done = factory.complete(
            source="com.test.test", data={"bar": "x"}, subject=root.subject, to="com.test.caller"
        )
        assert done.subject == root.subject
        assert done.type == "arvo.orc.test.contract.done"
        assert done.to == "com.test.caller"
        assert done.dataschema == "test://example/2.0.0"

    def test_complete_without_subject_makes_one(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """The auto subject names the complete type, the version and the source as initiator."""
        done = factory.complete(source="com.test.test", data={"bar": "x"})
        subject = parsed(done.subject)
        assert subject["orchestrator"] == {
            "name": "arvo.orc.test.contract.done",
            "version": "2.0.0",
        }
        assert subject["execution"]["initiator"] == "com.test.test"
        assert done.to == "arvo.orc.test.contract.done"

    def test_complete_with_bad_data_raises(self, factory: ArvoOrchestratorEventFactory) -> None:
        """Complete data that does not fit raises with the emit prefix."""
        with pytest.raises(
            ContractViolation,
            match=r"^ViolationError<Contract> Emit Event data validation failed: ",
        ):
            factory.complete(source="com.test.test", data={"bar": 1})


class TestUpstreamDomains:
    def test_should_handle_domain_inheritance_in_child_orchestrations(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """A child inherits the parent's subject domain unless it names its own."""
        parent = factory.init(source="com.test.test", data=init_data(), domain="production.us")
        assert parent.domain == "production.us"
        assert parsed(parent.subject)["execution"]["domain"] == "production.us"
        child = factory.init(source="com.test.test", data=init_data(parent.subject))
        assert child.domain is None
        assert parsed(child.subject)["execution"]["initiator"] == "arvo.orc.test.contract"
        assert parsed(child.subject)["execution"]["domain"] == "production.us"
        other = factory.init(
            source="com.test.test", data=init_data(parent.subject), domain="staging.eu"
        )
        assert other.domain == "staging.eu"
        assert parsed(other.subject)["execution"]["domain"] == "staging.eu"

    def test_should_allow_explicit_domain_override_on_completion_events(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """A completion's event domain is its own; the given subject keeps its domain."""
        root = factory.init(source="com.test.test", data=init_data(), domain="region.asia")
        plain = factory.complete(source="com.test.test", data={"bar": "x"}, subject=root.subject)
        assert plain.domain is None
        assert parsed(plain.subject)["execution"]["domain"] == "region.asia"
        routed = factory.complete(
            source="com.test.test",
            data={"bar": "x"},
            subject=root.subject,
            domain="notification.email",
        )
        assert routed.domain == "notification.email"
        assert parsed(routed.subject)["execution"]["domain"] == "region.asia"

    def test_should_handle_null_domain_explicitly_set_vs_undefined_domain(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """domain=None and no domain behave the same; a domain propagates to event and subject."""
        absent = factory.init(source="com.test.test", data=init_data())
        null = factory.init(source="com.test.test", data=init_data(), domain=None)
        for event in (absent, null):
            assert event.domain is None
            assert parsed(event.subject)["execution"]["domain"] is None
        custom = factory.init(source="com.test.test", data=init_data(), domain="custom.domain")
        assert custom.domain == "custom.domain"
        assert parsed(custom.subject)["execution"]["domain"] == "custom.domain"


class TestInitSubjectRules:
    def test_explicit_subject_wins_and_parent_subject_is_not_parsed(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """With a subject given, a garbage parentSubject$$ is not even parsed."""
        root = factory.init(source="com.test.test", data=init_data())
        event = factory.init(
            source="com.test.test", data=init_data("garbage"), subject=root.subject
        )
        assert event.subject == root.subject

    def test_invalid_parent_subject_raises(self, factory: ArvoOrchestratorEventFactory) -> None:
        """Without a subject, a parentSubject$$ that does not parse raises the parse error."""
        with pytest.raises(
            InvalidSubjectError, match=r"^Error parsing orchestration subject string"
        ):
            factory.init(source="com.test.test", data=init_data("garbage"))

    def test_explicit_redirectto_overrides_the_parent_initiator(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """A child's meta.redirectto is the given redirectto when there is one."""
        root = factory.init(source="com.test.test", data=init_data())
        child = factory.init(
            source="com.test.test", data=init_data(root.subject), redirectto="com.other.target"
        )
        assert parsed(child.subject)["meta"]["redirectto"] == "com.other.target"
        assert child.redirectto == "com.other.target"

    def test_child_inherits_parent_meta_and_overrides_redirectto(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """Parent meta is inherited; an inherited redirectto is replaced by the parent's initiator."""
        parent = ArvoOrchestrationSubject.new(
            orchestrator="com.parent.orc",
            version="1.0.0",
            initiator="com.parent.caller",
            meta={"redirectto": "x.y.z", "k": "v"},
        )
        child = factory.init(source="com.test.test", data=init_data(parent))
        assert parsed(child.subject)["meta"] == {"redirectto": "com.parent.caller", "k": "v"}
        assert parsed(child.subject)["execution"]["initiator"] == "com.parent.orc"
        assert parsed(child.subject)["orchestrator"] == {
            "name": "arvo.orc.test.contract",
            "version": "2.0.0",
        }

    def test_inherited_accepts_does_not_apply_the_parent_logic(
        self, factory: ArvoOrchestratorEventFactory
    ) -> None:
        """The plain accepts method makes a root subject even when parentSubject$$ is set."""
        root = factory.init(source="com.test.test", data=init_data())
        event = factory.accepts(source="com.test.test", data=init_data(root.subject))
        assert parsed(event.subject)["execution"]["initiator"] == "com.test.test"

    def test_system_error_is_inherited(self, factory: ArvoOrchestratorEventFactory) -> None:
        """system_error gives sys.arvo.orc.<name>.error with the wildcard dataschema."""
        event = factory.system_error(source="com.test.test", error=RuntimeError("boom"))
        assert event.type == "sys.arvo.orc.test.contract.error"
        assert event.dataschema == "test://example/0.0.0"
        assert event.data["errorMessage"] == "boom"
