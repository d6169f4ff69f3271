"""Event factories: make events that are valid for one version of a contract, or fail loudly.

A factory validates ``data`` against the contract's model and uses the *validated* form
(unknown keys dropped, defaults filled), stamps ``type``, ``dataschema`` and the Arvo content
type, and invents an orchestration subject when none is given. Data that does not fit raises a
:class:`~arvo_ray.core.errors.ContractViolation` naming each offending field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, Unpack

from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError

from arvo_ray.core import otel
from arvo_ray.core._contract import (
    SchemaType,
    VersionedArvoContract,
    create_arvo_error,
    format_validation_error,
    validate_with_schema,
)
from arvo_ray.core._event import ArvoEvent, ArvoEventId, ExtensionValue, create_arvo_event
from arvo_ray.core._orchestrator_contract import is_orchestrator_contract
from arvo_ray.core._subject import ArvoOrchestrationSubject
from arvo_ray.core.errors import ContractViolation

__all__ = [
    "ArvoEventFactory",
    "ArvoOrchestratorEventFactory",
    "EventOptions",
    "create_arvo_event_factory",
    "create_arvo_orchestrator_event_factory",
]


def _validated(schema: SchemaType, data: Any, prefix: str) -> dict[str, Any]:
    if isinstance(data, schema):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, BaseModel):  # e.g. the user's init model, without parentSubject$$
        data = data.model_dump(mode="json", by_alias=True)
    try:
        return validate_with_schema(schema, data)
    except ValidationError as exc:
        # The message names every field at fault; pydantic's traceback would only bury it.
        raise ContractViolation.from_validation_error(
            f"{prefix}: {format_validation_error(exc)}", exc
        ) from None


class EventOptions(TypedDict, total=False):
    """Optional event fields every factory method accepts (see :func:`create_arvo_event`).

    Example:
        >>> options: EventOptions = {"redirectto": "com.number.audit", "executionunits": 1.5}
        >>> event = create_arvo_event(source="com.number.client", type="com.number.increment",
        ...     subject="run-1", data={"value": 1}, **options)
        >>> event.redirectto, event.executionunits
        ('com.number.audit', 1.5)
    """

    id: ArvoEventId | Mapping[str, str] | str | None
    time: str | None
    to: str | None
    redirectto: str | None
    accesscontrol: str | None
    executionunits: int | float | None
    parentid: str | None
    domain: str | None
    traceparent: str | None
    tracestate: str | None
    extensions: Mapping[str, ExtensionValue] | None


class ArvoEventFactory:
    """Makes the events of one contract version (accepts, emits, system errors).

    Every method takes ``source`` (the producer), optionally ``subject``, and the common event
    fields of :class:`EventOptions` as keyword arguments.

    Example:
        >>> from pydantic import BaseModel
        >>> from arvo_ray.core import create_arvo_contract
        >>> class Increment(BaseModel):
        ...     value: int
        >>> contract = create_arvo_contract(uri="#/number/increment", type="com.number.increment",
        ...     versions={"1.0.0": {"accepts": Increment, "emits": {}}})
        >>> factory = create_arvo_event_factory(contract.version("1.0.0"))
        >>> event = factory.accepts(source="com.number.client", data={"value": 1})
        >>> event.type, event.data, event.dataschema
        ('com.number.increment', {'value': 1}, '#/number/increment/1.0.0')
    """

    _span_prefix = "EventFactory"

    def __init__(self, contract: VersionedArvoContract) -> None:
        self.contract = contract

    def _build(
        self,
        span_name: str,
        *,
        type: str,
        data: dict[str, Any],
        dataschema: str,
        source: str,
        subject: str | None,
        options: EventOptions,
    ) -> ArvoEvent:
        domain = options.get("domain")
        redirectto = options.get("redirectto")
        if not subject:
            # Named after the event type, as the original does, so a lone event still has a
            # well-formed orchestration subject.
            subject = ArvoOrchestrationSubject.new(
                orchestrator=type,
                version=self.contract.version,
                initiator=source,
                domain=domain,
                meta={"redirectto": redirectto} if redirectto else None,
            )
        fields: dict[str, Any] = {
            **options,
            "source": source,
            "type": type,
            "subject": subject,
            "data": data,
            "dataschema": dataschema,
            "disable_telemetry": True,
        }
        if not otel.is_enabled():
            return create_arvo_event(**fields)
        with otel.get_tracer().start_as_current_span(
            f"{self._span_prefix}.{span_name}",
            kind=SpanKind.INTERNAL,
            attributes={
                otel.ATTR_ARVO_SPAN_KIND: otel.ArvoExecutionSpanKind.INTERNAL,
                otel.ATTR_OPENINFERENCE_SPAN_KIND: otel.OpenInferenceSpanKind.INTERNAL,
                "arvo.contract.uri": self.contract.uri,
                "arvo.contract.version": self.contract.version,
            },
        ) as span:
            headers = otel.otel_headers_from_span(span)
            for key in ("traceparent", "tracestate"):
                if fields.get(key) is None:
                    fields[key] = headers[key]
            event = create_arvo_event(**fields)
            span.set_attributes(event.otel_attributes)
            return event

    def accepts(
        self, *, source: str, data: Any, subject: str | None = None, **options: Unpack[EventOptions]
    ) -> ArvoEvent:
        """The event the contract accepts (a request to the service).

        Raises:
            ContractViolation: ``data`` does not fit the accepts model.
        """
        accepts = self.contract.accepts
        return self._build(
            f"accepts<{accepts.type}>",
            type=accepts.type,
            data=_validated(accepts.schema, data, "Accept Event data validation failed"),
            dataschema=self.contract.dataschema,
            source=source,
            subject=subject,
            options=options,
        )

    def emits(
        self,
        *,
        type: str,
        source: str,
        data: Any,
        subject: str | None = None,
        **options: Unpack[EventOptions],
    ) -> ArvoEvent:
        """One of the events the contract emits (a response of the service).

        Raises:
            ContractViolation: ``type`` is not an emit of this version, or ``data`` does not fit.
        """
        schema = self.contract.emits.get(type)
        if schema is None:
            raise ContractViolation(
                f"Emit Event data validation failed: No contract available for {type}",
                metadata={"type": type, "available": list(self.contract.emits)},
            )
        return self._build(
            f"emits<{type}>",
            type=type,
            data=_validated(schema, data, "Emit Event data validation failed"),
            dataschema=self.contract.dataschema,
            source=source,
            subject=subject,
            options=options,
        )

    def system_error(
        self,
        *,
        error: BaseException,
        source: str,
        subject: str | None = None,
        **options: Unpack[EventOptions],
    ) -> ArvoEvent:
        """The ``sys.<type>.error`` event for ``error`` (dataschema ``<uri>/0.0.0``)."""
        record = self.contract.system_error
        return self._build(
            f"systemError<{record.type}>",
            type=record.type,
            data=create_arvo_error(error),
            dataschema=record.dataschema or "",
            source=source,
            subject=subject,
            options=options,
        )


class ArvoOrchestratorEventFactory(ArvoEventFactory):
    """Adds ``init`` (start a workflow, possibly as a child) and ``complete`` (its done event).

    Raises:
        ValueError: the contract is not an orchestrator contract.

    Example:
        >>> from pydantic import BaseModel
        >>> from arvo_ray.core import create_arvo_orchestrator_contract
        >>> class Init(BaseModel):
        ...     value: int
        >>> contract = create_arvo_orchestrator_contract(uri="#/orc/number/double",
        ...     name="number.double", versions={"1.0.0": {"init": Init, "complete": Init}})
        >>> factory = create_arvo_orchestrator_event_factory(contract.version("1.0.0"))
        >>> event = factory.init(source="com.number.client", data={"value": 2})
        >>> event.type, event.data
        ('arvo.orc.number.double', {'parentSubject$$': None, 'value': 2})
        >>> factory.init(source="com.number.client", data=Init(value=3)).data
        {'parentSubject$$': None, 'value': 3}
    """

    _span_prefix = "OrchestratorEventFactory"

    def __init__(self, contract: VersionedArvoContract) -> None:
        if not is_orchestrator_contract(contract):
            raise ValueError("This factory can only be used for ArvoOrchestratorContract")
        super().__init__(contract)

    def init(
        self, *, source: str, data: Any, subject: str | None = None, **options: Unpack[EventOptions]
    ) -> ArvoEvent:
        """The event that starts a workflow.

        ``data`` is a dict or the version's init model; ``parentSubject$$`` defaults to
        ``None`` (a root workflow) and is carried on the wire as ``null`` either way.

        Without ``subject``: a child subject when ``data["parentSubject$$"]`` is set (initiator =
        the parent's orchestrator, domain inherited, ``meta.redirectto`` = ``redirectto`` or the
        parent's initiator), else a new root subject.

        Raises:
            ContractViolation: ``data`` does not fit the init model.
            InvalidSubjectError: ``parentSubject$$`` is not a valid subject.
        """
        if isinstance(data, BaseModel) and not isinstance(data, self.contract.accepts.schema):
            data = data.model_dump(mode="json", by_alias=True)
        if isinstance(data, Mapping) and "parentSubject$$" not in data:
            data = {"parentSubject$$": None, **data}
        accepts = self.contract.accepts
        validated = _validated(accepts.schema, data, "Init Event data validation failed")
        parent_subject = validated.get("parentSubject$$")
        if not subject and parent_subject:
            parent = ArvoOrchestrationSubject.parse(parent_subject)
            redirect = options.get("redirectto") or parent["execution"]["initiator"]
            subject = ArvoOrchestrationSubject.from_parent(
                orchestrator=accepts.type,
                version=self.contract.version,
                subject=parent_subject,
                domain=options.get("domain"),
                meta={"redirectto": redirect} if redirect else None,
            )
        return self._build(
            f"init<{accepts.type}>",
            type=accepts.type,
            data=validated,
            dataschema=self.contract.dataschema,
            source=source,
            subject=subject,
            options=options,
        )

    def complete(
        self, *, source: str, data: Any, subject: str | None = None, **options: Unpack[EventOptions]
    ) -> ArvoEvent:
        """The workflow's completion event (``arvo.orc.<name>.done``).

        Raises:
            ContractViolation: ``data`` does not fit the complete model.
        """
        complete_type = str(self.contract.metadata["completeEventType"])
        schema = self.contract.emits.get(complete_type)
        if schema is None:
            raise ContractViolation(
                f"Emit Event data validation failed: No schema available for {complete_type}"
            )
        return self._build(
            "complete",
            type=complete_type,
            data=_validated(schema, data, "Emit Event data validation failed"),
            dataschema=self.contract.dataschema,
            source=source,
            subject=subject,
            options=options,
        )


def create_arvo_event_factory(contract: VersionedArvoContract) -> ArvoEventFactory:
    """An :class:`ArvoEventFactory` for one contract version."""
    return ArvoEventFactory(contract)


def create_arvo_orchestrator_event_factory(
    contract: VersionedArvoContract,
) -> ArvoOrchestratorEventFactory:
    """An :class:`ArvoOrchestratorEventFactory` for one orchestrator contract version."""
    return ArvoOrchestratorEventFactory(contract)
