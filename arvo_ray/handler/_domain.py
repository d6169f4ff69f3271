"""Domains: which bus an emitted event travels on (``None`` = the local one).

Handlers and workflows declare the domains of what they emit, either as plain domain names or
as symbolic rules (inherit from my contract, from the triggering event, from the orchestration
context...). :func:`resolve_event_domain` turns a rule into a concrete domain at emit time.
"""

from __future__ import annotations

from typing import Any

from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject, InvalidSubjectError
from arvo_ray.core.otel import log_to_span

__all__ = ["ArvoDomain", "DomainSpec", "resolve_event_domain"]

DomainSpec = str | None
"""A concrete domain, ``None`` (local), or one of the :class:`ArvoDomain` rules."""


class ArvoDomain:
    """Symbolic domain rules, resolved when an event is emitted.

    Attributes:
        LOCAL: The local bus (``None``).
        FROM_SELF_CONTRACT: The emitting handler's own contract domain.
        FROM_EVENT_CONTRACT: The domain of the contract the emitted event belongs to.
        FROM_TRIGGERING_EVENT: The domain of the event being handled.
        FROM_CURRENT_SUBJECT: The domain embedded in the current orchestration subject.
        FROM_PARENT_SUBJECT: The domain embedded in the parent orchestration's subject.
        ORCHESTRATION_CONTEXT: Route back to the orchestration's domain when the triggering
            event came from elsewhere (the default for handler emits and system errors).

    Example:
        >>> from arvo_ray.core import create_arvo_event
        >>> event = create_arvo_event(source="com.example.client", type="com.value.read",
        ...                           subject="s", data={"key": "a"}, domain="analytics")
        >>> resolve_event_domain(ArvoDomain.FROM_TRIGGERING_EVENT, self_contract=None,
        ...                      triggering_event=event)
        'analytics'
        >>> print(resolve_event_domain(ArvoDomain.LOCAL, self_contract=None,
        ...                            triggering_event=event))
        None
        >>> resolve_event_domain("audit", self_contract=None, triggering_event=event)
        'audit'
    """

    LOCAL: None = None
    FROM_SELF_CONTRACT = "domain.contract.self.inherit"
    FROM_EVENT_CONTRACT = "domain.contract.inherit"
    FROM_TRIGGERING_EVENT = "domain.event.inherit"
    FROM_CURRENT_SUBJECT = "domain.event.current.subject"
    FROM_PARENT_SUBJECT = "domain.parent.subject"
    ORCHESTRATION_CONTEXT = "domain.orchestration.context"


def _subject_domain(subject: str | None) -> str | None:
    if not subject:
        return None
    try:
        return ArvoOrchestrationSubject.parse(subject)["execution"].get("domain")
    except InvalidSubjectError:
        log_to_span("WARNING", "Unable to resolve the domain from an unparseable subject")
        return None


def resolve_event_domain(
    domain: DomainSpec,
    *,
    self_contract: Any,
    event_contract: Any = None,
    triggering_event: ArvoEvent,
    current_subject: str | None = None,
    parent_subject: str | None = None,
) -> str | None:
    """Turn a domain rule (or a concrete domain) into the concrete domain of an emitted event."""
    if not domain:
        return None
    if domain == ArvoDomain.FROM_EVENT_CONTRACT:
        return getattr(event_contract, "domain", None)
    if domain == ArvoDomain.FROM_SELF_CONTRACT:
        return getattr(self_contract, "domain", None)
    if domain == ArvoDomain.FROM_TRIGGERING_EVENT:
        return triggering_event.domain
    if domain == ArvoDomain.FROM_CURRENT_SUBJECT:
        return _subject_domain(current_subject)
    if domain == ArvoDomain.FROM_PARENT_SUBJECT:
        return _subject_domain(parent_subject)
    if domain == ArvoDomain.ORCHESTRATION_CONTEXT:
        if not parent_subject:
            # A locally triggered step stays local; a step triggered from another domain routes
            # back to the orchestration's own domain.
            triggering = triggering_event.domain
            if triggering is None:
                return None
            current = _subject_domain(current_subject)
            return None if current == triggering else current
        current = _subject_domain(current_subject)
        parent = _subject_domain(parent_subject)
        return None if current == parent else parent
    return domain


def resolve_domains(domains: Any, **context: Any) -> list[str | None]:
    """Resolve a list of domain rules, de-duplicated in order of first appearance."""
    resolved: list[str | None] = []
    for spec in domains:
        value = resolve_event_domain(spec, **context)
        if value not in resolved:
            resolved.append(value)
    return resolved
