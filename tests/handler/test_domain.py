"""Domain resolution (spec §3.5): every rule of ``resolve_event_domain`` and de-duplication."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject, create_arvo_event
from arvo_ray.handler import ArvoDomain, HandlerInput, resolve_event_domain
from arvo_ray.handler._domain import resolve_domains

from .fixtures import greet, hello_contract, hello_event, make_handler

SELF = hello_contract(domain="self.dom")
OTHER = hello_contract(domain="event.dom", uri="#/test/Other")
NO_DOMAIN = hello_contract()


def _subject(domain: str | None) -> str:
    return ArvoOrchestrationSubject.new(
        orchestrator="arvo.orc.test", version="1.0.0", initiator="com.test.client", domain=domain
    )


def _event(domain: str | None = None) -> ArvoEvent:
    return create_arvo_event(
        type="com.test.event", source="com.test.source", subject="s", data={}, domain=domain
    )


def resolve(
    spec: str | None,
    *,
    trig: str | None = None,
    cur: str | None = None,
    par: str | None = None,
    self_contract: Any = SELF,
    event_contract: Any = OTHER,
) -> str | None:
    """Resolve ``spec`` with the given triggering-event, current-subject and parent-subject values."""
    return resolve_event_domain(
        spec,
        self_contract=self_contract,
        event_contract=event_contract,
        triggering_event=_event(trig),
        current_subject=cur,
        parent_subject=par,
    )


class TestSymbols:
    """The symbols keep the original's string values."""

    def test_symbol_values(self) -> None:
        """Each symbol is the original's constant (LOCAL is null)."""
        assert ArvoDomain.LOCAL is None
        assert ArvoDomain.FROM_SELF_CONTRACT == "domain.contract.self.inherit"
        assert ArvoDomain.FROM_EVENT_CONTRACT == "domain.contract.inherit"
        assert ArvoDomain.FROM_TRIGGERING_EVENT == "domain.event.inherit"
        assert ArvoDomain.FROM_CURRENT_SUBJECT == "domain.event.current.subject"
        assert ArvoDomain.FROM_PARENT_SUBJECT == "domain.parent.subject"
        assert ArvoDomain.ORCHESTRATION_CONTEXT == "domain.orchestration.context"


class TestSimpleRules:
    """Falsy values, contract and triggering-event rules, static domains."""

    @pytest.mark.parametrize("spec", [None, ""])
    def test_falsy_is_local(self, spec: str | None) -> None:
        """``null`` and ``""`` resolve to null whatever the context."""
        assert resolve(spec, trig="t.dom", cur=_subject("c.dom"), par=_subject("p.dom")) is None

    def test_from_event_contract(self) -> None:
        """FROM_EVENT_CONTRACT is the event contract's domain, null without one."""
        assert resolve(ArvoDomain.FROM_EVENT_CONTRACT) == "event.dom"
        assert resolve(ArvoDomain.FROM_EVENT_CONTRACT, event_contract=None) is None
        assert resolve(ArvoDomain.FROM_EVENT_CONTRACT, event_contract=NO_DOMAIN) is None

    def test_from_self_contract(self) -> None:
        """FROM_SELF_CONTRACT is the handler's own contract domain."""
        assert resolve(ArvoDomain.FROM_SELF_CONTRACT) == "self.dom"
        assert resolve(ArvoDomain.FROM_SELF_CONTRACT, self_contract=NO_DOMAIN) is None
        assert resolve(ArvoDomain.FROM_SELF_CONTRACT, self_contract=SELF.version("0.0.1")) == (
            "self.dom"
        )

    def test_from_triggering_event(self) -> None:
        """FROM_TRIGGERING_EVENT is the consumed event's domain."""
        assert resolve(ArvoDomain.FROM_TRIGGERING_EVENT, trig="t.dom") == "t.dom"
        assert resolve(ArvoDomain.FROM_TRIGGERING_EVENT, trig=None) is None

    @pytest.mark.parametrize("spec", ["ext", "test.3", "domain.unknown.symbol"])
    def test_any_other_string_is_a_static_domain(self, spec: str) -> None:
        """A string that is not a symbol is returned unchanged."""
        assert resolve(spec, trig="t.dom", cur=_subject("c.dom")) == spec


class TestSubjectRules:
    """FROM_CURRENT_SUBJECT and FROM_PARENT_SUBJECT read the domain inside a subject."""

    def test_from_current_subject(self) -> None:
        """The current subject's ``execution.domain``; null when it has none."""
        assert resolve(ArvoDomain.FROM_CURRENT_SUBJECT, cur=_subject("c.dom")) == "c.dom"
        assert resolve(ArvoDomain.FROM_CURRENT_SUBJECT, cur=_subject(None)) is None
        assert resolve(ArvoDomain.FROM_CURRENT_SUBJECT, cur=None) is None

    def test_from_parent_subject(self) -> None:
        """The parent subject's domain; null without a parent (always so for handlers)."""
        assert resolve(ArvoDomain.FROM_PARENT_SUBJECT, par=_subject("p.dom")) == "p.dom"
        assert resolve(ArvoDomain.FROM_PARENT_SUBJECT, par=_subject(None)) is None
        assert resolve(ArvoDomain.FROM_PARENT_SUBJECT, cur=_subject("c.dom"), par=None) is None

    @pytest.mark.parametrize(
        "spec", [ArvoDomain.FROM_CURRENT_SUBJECT, ArvoDomain.FROM_PARENT_SUBJECT]
    )
    def test_unparseable_subject_is_null_with_a_warning(
        self, spec: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A subject that is not an orchestration subject resolves to null and is reported."""
        with caplog.at_level("WARNING", logger="arvo_ray"):
            assert resolve(spec, cur="test-subject", par="not-a-subject") is None
        assert any("unparseable subject" in r.getMessage() for r in caplog.records)


class TestOrchestrationContext:
    """ORCHESTRATION_CONTEXT: route back to the orchestration's domain when crossing domains."""

    @pytest.mark.parametrize(
        ("trig", "cur", "expected"),
        [
            (None, "c.dom", None),  # a locally triggered step stays local
            (None, None, None),
            ("c.dom", "c.dom", None),  # same domain as the orchestration: local
            ("t.dom", "c.dom", "c.dom"),  # cross-domain: back to the orchestration's domain
            ("t.dom", None, None),  # cross-domain but the orchestration is local
        ],
    )
    def test_without_parent_subject(
        self, trig: str | None, cur: str | None, expected: str | None
    ) -> None:
        """No parent: null if the trigger is local or in the same domain, else ``cur``."""
        current = _subject(cur)
        assert resolve(ArvoDomain.ORCHESTRATION_CONTEXT, trig=trig, cur=current) == expected

    @pytest.mark.parametrize(
        ("cur", "par", "expected"),
        [
            ("same.dom", "same.dom", None),
            (None, None, None),
            ("c.dom", "p.dom", "p.dom"),
            (None, "p.dom", "p.dom"),
            ("c.dom", None, None),
        ],
    )
    @pytest.mark.parametrize("trig", [None, "t.dom"])
    def test_with_parent_subject(
        self, cur: str | None, par: str | None, expected: str | None, trig: str | None
    ) -> None:
        """With a parent: null if current and parent domains match, else the parent's."""
        resolved = resolve(
            ArvoDomain.ORCHESTRATION_CONTEXT, trig=trig, cur=_subject(cur), par=_subject(par)
        )
        assert resolved == expected

    def test_unparseable_current_subject_counts_as_no_domain(self) -> None:
        """A plain subject (as handlers usually see) has no domain: cross-domain gives null."""
        assert resolve(ArvoDomain.ORCHESTRATION_CONTEXT, trig="t.dom", cur="test-subject") is None

    def test_unparseable_parent_subject_counts_as_no_domain(self) -> None:
        """An unparseable parent subject has no domain."""
        resolved = resolve(
            ArvoDomain.ORCHESTRATION_CONTEXT, trig=None, cur=_subject("c.dom"), par="junk"
        )
        assert resolved is None


class TestDeduplication:
    """Resolved domains are de-duplicated in order of first appearance (the original's Set)."""

    def _resolve_all(self, specs: list[str | None], trig: str | None = "t.dom") -> list[Any]:
        return resolve_domains(
            specs,
            self_contract=SELF,
            event_contract=SELF,
            triggering_event=_event(trig),
            current_subject=None,
            parent_subject=None,
        )

    def test_first_appearance_order(self) -> None:
        """Later duplicates are dropped; null counts as a value."""
        assert self._resolve_all(["b", None, "a", "b", None, "a"]) == ["b", None, "a"]

    def test_duplicates_after_resolution(self) -> None:
        """Different rules resolving to the same domain give one entry."""
        specs = [
            ArvoDomain.FROM_SELF_CONTRACT,
            "self.dom",
            ArvoDomain.FROM_EVENT_CONTRACT,
            "",
            None,
        ]
        assert self._resolve_all(specs) == ["self.dom", None]

    @settings(deadline=None)
    @given(
        st.lists(
            st.sampled_from(
                [None, "", "a", "b", "t.dom", "self.dom", ArvoDomain.FROM_SELF_CONTRACT,
                 ArvoDomain.FROM_TRIGGERING_EVENT, ArvoDomain.ORCHESTRATION_CONTEXT]
            ),
            min_size=1,
        )
    )  # fmt: skip
    def test_property_distinct_and_ordered(self, specs: list[str | None]) -> None:
        """The result is the distinct resolved values in order of first appearance."""
        singles = [self._resolve_all([spec])[0] for spec in specs]
        expected: list[str | None] = []
        for value in singles:
            if value not in expected:
                expected.append(value)
        assert self._resolve_all(specs) == expected


class TestThroughTheHandler:
    """The handler resolves against its own contract, the consumed event and its subject."""

    async def test_cross_domain_trigger_routes_back_to_the_orchestration_domain(self) -> None:
        """An event from another domain on an orchestration in ``orch.dom`` answers to ``orch.dom``."""
        event = hello_event(subject=_subject("orch.dom"), domain="other.dom")
        (emitted,) = (await make_handler().execute(event)).events
        assert emitted.domain == "orch.dom"

    async def test_same_domain_trigger_stays_local(self) -> None:
        """An event from the orchestration's own domain is answered locally."""
        event = hello_event(subject=_subject("orch.dom"), domain="orch.dom")
        (emitted,) = (await make_handler().execute(event)).events
        assert emitted.domain is None

    async def test_system_errors_follow_the_same_default(self) -> None:
        """``sys`` errors use ORCHESTRATION_CONTEXT by default too."""

        def fail(inp: HandlerInput) -> None:
            raise RuntimeError("boom")

        event = hello_event(subject=_subject("orch.dom"), domain="other.dom")
        (error,) = (await make_handler(fail).execute(event)).events
        assert error.domain == "orch.dom"

    async def test_parent_subject_rule_is_null_for_handlers(self) -> None:
        """Handlers have no parent subject: FROM_PARENT_SUBJECT is always null."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "domain": [ArvoDomain.FROM_PARENT_SUBJECT]}

        event = hello_event(subject=_subject("orch.dom"), domain="other.dom")
        (emitted,) = (await make_handler(impl).execute(event)).events
        assert emitted.domain is None
