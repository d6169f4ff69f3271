"""``sys.<source>.error`` events: how an uncaught, non-violation error is reported.

Shared by handlers, orchestrators and resumables; they differ only in where the error goes
(``to``), which subject it carries and which event it answers (``parentid``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arvo_ray.core import ArvoEvent, VersionedArvoContract, create_arvo_event_factory
from arvo_ray.handler._domain import DomainSpec, resolve_domains

__all__ = ["create_system_error_events"]


def create_system_error_events(
    *,
    error: BaseException,
    event: ArvoEvent,
    contract: VersionedArvoContract,
    source: str,
    to: str,
    subject: str,
    parentid: str,
    executionunits: int | float | None,
    domains: Sequence[DomainSpec],
    headers: dict[str, str | None],
    parent_subject: str | None = None,
    id_for: Any = None,
) -> list[ArvoEvent]:
    """One ``sys.*.error`` event per distinct resolved domain (dataschema ``<uri>/0.0.0``).

    ``id_for`` optionally maps ``(position, domain)`` to a deterministic event id.
    """
    factory = create_arvo_event_factory(contract)
    resolved = resolve_domains(
        domains,
        self_contract=contract,
        event_contract=contract,
        triggering_event=event,
        current_subject=event.subject,
        parent_subject=parent_subject,
    )
    return [
        factory.system_error(
            error=error,
            source=source,
            subject=subject,
            to=to,
            parentid=parentid,
            accesscontrol=event.accesscontrol,
            executionunits=executionunits,
            domain=domain,
            id=id_for(index, domain) if id_for else None,
            traceparent=headers["traceparent"],
            tracestate=headers["tracestate"],
        )
        for index, domain in enumerate(resolved)
    ]
