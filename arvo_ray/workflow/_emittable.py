"""Turn the raw events a workflow step produced into ArvoEvents (shared by both workflow kinds).

Three kinds of raw event, recognised by type:

* the **completion** (``arvo.orc.<name>.done``): carries the parent's subject when this run
  is a child (so it lands in the parent's instance) and answers the init event;
* a **service call** (the accepts type of a service contract): validated against the service
  contract; when the service is itself an orchestrator, the call starts a child run with its
  own subject, initiated by this orchestrator and inheriting its domain;
* anything else: passed through unvalidated on the workflow's own subject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    ContractViolation,
    ExecutionViolation,
    InvalidSubjectError,
    VersionedArvoContract,
    create_arvo_event,
    format_validation_error,
    is_orchestrator_contract,
    validate_with_schema,
)
from arvo_ray.core.kit import derived_event_id
from arvo_ray.handler.kit import raw_extensions, resolve_domains

__all__ = ["EmitContext", "build_emittables", "strip_completion_extras"]


@dataclass(frozen=True, slots=True)
class EmitContext:
    """What event building needs to know about the step."""

    source: str
    source_event: ArvoEvent
    self_contract: VersionedArvoContract
    services: Mapping[str, VersionedArvoContract]
    executionunits: int | float | None
    init_event_id: str
    parent_subject: str | None
    headers: dict[str, str | None]


def strip_completion_extras(output: Mapping[str, Any]) -> dict[str, Any]:
    """The completion data without the ``__id``/``__executionunits``/``__domain`` controls."""
    return {key: value for key, value in output.items() if not key.startswith("__")}


def _child_subject(
    raw: Mapping[str, Any],
    data: Mapping[str, Any],
    contract: VersionedArvoContract,
    domain: str | None,
    ctx: EmitContext,
    execution_id: str,
) -> str:
    parent_subject = data.get("parentSubject$$")
    meta = {"redirectto": raw.get("redirectto") or ctx.source}
    if parent_subject and not ArvoOrchestrationSubject.is_valid(parent_subject):
        raise ExecutionViolation(
            f"[Emittable Event Creation] Invalid parentSubject$$ for the event(type="
            f"'{raw['type']}', uri='{contract.dataschema}'). It must be follow the "
            "ArvoOrchestrationSubject schema. The easiest way is to use the current "
            "orchestration subject by storing the subject via the context block in the machine "
            "definition."
        )
    try:
        if parent_subject:
            return ArvoOrchestrationSubject.from_parent(
                orchestrator=contract.accepts.type,
                version=contract.version,
                subject=parent_subject,
                domain=domain,
                meta=meta,
                execution_id=execution_id,
            )
        return ArvoOrchestrationSubject.new(
            orchestrator=contract.accepts.type,
            version=contract.version,
            initiator=ctx.source,
            domain=domain,
            meta=meta,
            execution_id=execution_id,
        )
    except InvalidSubjectError as exc:
        raise ExecutionViolation(
            "[Emittable Event Creation] Orchestration subject creation failed due to invalid "
            f"parameters - Event: {raw['type']} - {exc}"
        ) from exc


def _validated(
    contract: VersionedArvoContract, schema: Any, raw: Mapping[str, Any]
) -> dict[str, Any]:
    try:
        return validate_with_schema(schema, raw.get("data"))
    except ValidationError as exc:
        # The message names every field at fault; the errors travel on the violation.
        raise ContractViolation.from_validation_error(
            "[Emittable Event Creation] Invalid event data: Schema validation failed.\n"
            f"Event type: {raw['type']}\nDetails: {format_validation_error(exc)}",
            exc,
            metadata={"type": raw["type"], "uri": contract.uri},
        ) from None


def build_emittables(raw_events: Sequence[Mapping[str, Any]], ctx: EmitContext) -> list[ArvoEvent]:
    """One ArvoEvent per raw event per distinct resolved domain, in order.

    Raises:
        ContractViolation: a completion or service call whose data does not fit its contract.
        ExecutionViolation: a child-orchestration call with an invalid ``parentSubject$$``.
    """
    complete_type = ctx.self_contract.metadata.get("completeEventType")
    services_by_type = {c.accepts.type: c for c in ctx.services.values()}
    event = ctx.source_event
    emitted: list[ArvoEvent] = []
    for index, raw in enumerate(raw_events):
        raw_type = raw["type"]
        is_completion = raw_type == complete_type
        contract = ctx.self_contract if is_completion else services_by_type.get(raw_type)
        domains = resolve_domains(
            raw.get("domain") or [None],
            self_contract=ctx.self_contract,
            event_contract=contract,
            triggering_event=event,
            current_subject=event.subject,
            parent_subject=ctx.parent_subject,
        )
        data: Any
        if contract is None:
            data, dataschema = raw.get("data"), raw.get("dataschema")
        elif is_completion:
            data = _validated(contract, contract.emits[raw_type], raw)
            dataschema = contract.dataschema
        else:
            data = _validated(contract, contract.accepts.schema, raw)
            dataschema = contract.dataschema
        accesscontrol = raw.get("accesscontrol")
        units = raw.get("executionunits")
        for domain in domains:
            event_id = raw.get("id") or derived_event_id(event, ctx.source, index, domain)
            if is_completion:
                subject = ctx.parent_subject or event.subject
            elif contract is not None and is_orchestrator_contract(contract):
                subject = _child_subject(
                    raw,
                    data,
                    contract,
                    domain,
                    ctx,
                    derived_event_id(event, "subject", index, domain),
                )
            else:
                subject = event.subject
            emitted.append(
                create_arvo_event(
                    id=event_id,
                    source=ctx.source,
                    type=raw_type,
                    subject=subject,
                    data=data if data is not None else {},
                    dataschema=dataschema,
                    time=raw.get("time"),
                    to=raw.get("to") or raw_type,
                    redirectto=raw.get("redirectto") or ctx.source,
                    accesscontrol=accesscontrol
                    if accesscontrol is not None
                    else event.accesscontrol,
                    executionunits=units if units is not None else ctx.executionunits,
                    parentid=ctx.init_event_id if is_completion else event.id,
                    domain=domain,
                    traceparent=ctx.headers["traceparent"],
                    tracestate=ctx.headers["tracestate"],
                    extensions=raw_extensions(raw),
                    disable_telemetry=True,
                )
            )
    return emitted
