"""``ArvoResumable``: an imperative workflow, one function per version, with persisted context.

Each event of an instance calls the version's function with the init event (first call) or
the service response, the context it returned last time, and every response collected so far
for the requests it is waiting on. The function returns the new context, the service calls to
make, and the output when the workflow is done. Fan-out/fan-in is natural: emit N requests,
return nothing until ``collected_events[type]`` holds N responses.

Departure from the original: ``ArvoResumable(...)`` and ``create_arvo_resumable(...)`` are one
constructor with one set of defaults (the original's raw constructor locks by default, its
factory only with more than one service; here both follow the factory).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Span
from pydantic import BaseModel

from arvo_ray.core import (
    ArvoContract,
    ArvoEvent,
    ArvoOrchestrationSubject,
    ConfigViolation,
    VersionedArvoContract,
    is_orchestrator_contract,
)
from arvo_ray.core.kit import InputValidation, validate_input, validate_services
from arvo_ray.core.otel import ArvoExecutionSpanKind
from arvo_ray.handler import DomainSpec
from arvo_ray.handler.kit import normalize_outputs
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory
from arvo_ray.workflow._execution import StepInput, StepOutput, WorkflowHandler
from arvo_ray.workflow._record import WorkflowRecordData, is_done

__all__ = [
    "ArvoResumable",
    "ResumableFunction",
    "ResumableInput",
    "create_arvo_resumable",
]


@dataclass(frozen=True, slots=True)
class ResumableInput:
    """What a resumable's function receives on each event of its instance.

    Attributes:
        data: The data of this call's event (the init event or the service response) as its
            contract's model, validated: ``inp.data.key`` rather than ``inp.input.data["key"]``.
        input: The init event, on the call that starts the instance; else ``None``.
        service: The service response (an emit or ``sys.*.error`` of a service); else ``None``.
        context: The context returned by the previous call (``None`` on the first call).
        metadata: The stored record of the instance (``None`` on the first call).
        collected_events: Responses to the requests emitted last, grouped by event type.
        domain: ``{"self": <self contract domain>, "event": <event domain>}``.
        self_contract: The self contract of the instance's version.
        services: ``{name: <versioned service contract>}``.
        span: The execution span, or ``None`` without an OpenTelemetry SDK.

    Example:
        >>> import asyncio
        >>> from arvo_ray.broker import SimpleEventBroker
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     decrement_orchestrator_contract, value_read_contract, value_read_handler)
        >>> from arvo_ray.examples.number_domain.contracts import Key
        >>> def flow(inp: ResumableInput):
        ...     print(repr(inp.data), inp.context)
        ...     if inp.input:
        ...         return {"context": {"key": inp.data.key}, "services": [Key(key=inp.data.key)]}
        ...     return {"output": {"success": True, "error": [], "final": inp.data.value}}
        >>> resumable = create_arvo_resumable(
        ...     self_contract=decrement_orchestrator_contract,
        ...     services={"reader": value_read_contract.version("0.0.1")},
        ...     handler={"0.0.1": flow})
        >>> broker = SimpleEventBroker([resumable, value_read_handler({"apples": 3})])
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     decrement_orchestrator_contract.version("0.0.1"))
        >>> init = factory.init(source="com.example.client", data={
        ...     "parentSubject$$": None, "key": "apples", "modifier": 1, "trend": "linear"})
        >>> asyncio.run(broker.resolve(init)).data
        LinearInit(parent_subject=None, key='apples', modifier=1, trend='linear') None
        KeyValue(key='apples', value=3) {'key': 'apples'}
        {'success': True, 'error': [], 'final': 3}
    """

    data: Any
    input: ArvoEvent | None
    service: ArvoEvent | None
    context: dict[str, Any] | None
    metadata: dict[str, Any] | None
    collected_events: Mapping[str, list[ArvoEvent]]
    domain: dict[str, str | None]
    self_contract: VersionedArvoContract
    services: Mapping[str, VersionedArvoContract]
    span: Span | None

    @property
    def contracts(self) -> dict[str, Any]:
        """``{"self": self_contract, "services": services}``, the original's shape."""
        return {"self": self.self_contract, "services": self.services}

    def collected(self, of: str | type[BaseModel]) -> list[Any]:
        """The responses collected so far, of one event type or one model, as models.

        ``of`` is an event type (``"evt.value.read.success"``) or a service's emitted model
        (``KeyValue``: the responses of every type with that model).
        """
        schemas = {
            event_type: schema
            for service in self.services.values()
            for event_type, schema in (
                *service.emits.items(),
                (service.system_error.type, service.system_error.schema),
            )
        }
        types = [of] if isinstance(of, str) else [t for t, s in schemas.items() if s is of]
        return [
            schemas[event_type].model_validate(event.data)
            for event_type in types
            if event_type in schemas
            for event in self.collected_events.get(event_type, [])
        ]


ResumableFunction = Callable[[ResumableInput], Any | Awaitable[Any]]
"""``fn(input) -> None | {"context": ..., "output": ..., "services": [raw events]}``."""


class _CollectedEvents(Mapping[str, list[ArvoEvent]]):
    """Responses grouped by type, rebuilt as events only when the function looks at a type."""

    def __init__(self, expected: Mapping[str, list[dict[str, Any]]], current: ArvoEvent) -> None:
        self._raw: dict[str, list[dict[str, Any]]] = {}
        for responses in expected.values():
            for response in responses:
                self._raw.setdefault(response["type"], []).append(response)
        self._current = current
        self._built: dict[str, list[ArvoEvent]] = {}

    def __getitem__(self, key: str) -> list[ArvoEvent]:
        if key not in self._built:
            self._built[key] = [
                self._current if raw["id"] == self._current.id else ArvoEvent.from_dict(raw)
                for raw in self._raw[key]
            ]
        return self._built[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"collected_events({ {k: len(v) for k, v in self._raw.items()} })"


class ArvoResumable(WorkflowHandler):
    """Event handler that drives imperative workflows with persisted context.

    ``execute`` runs the shared workflow step (see :class:`WorkflowHandler.execute`): the
    "run" part picks the function of the subject's version, validates the event, collects
    responses to pending requests, and calls the function. Events reaching a finished
    instance are validated and then ignored.

    Example:
        >>> import asyncio
        >>> from arvo_ray.broker import SimpleEventBroker
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     build_number_domain, decrement_orchestrator_contract)
        >>> domain = build_number_domain(kind="resumables")
        >>> domain.store["apples"] = 3
        >>> resumable = domain.workflows[1]
        >>> resumable
        ArvoResumable(source='arvo.orc.dec', versions=['0.0.1', '0.0.2'])
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     decrement_orchestrator_contract.version("0.0.1"))
        >>> init = factory.init(source="com.example.client", data={
        ...     "parentSubject$$": None, "key": "apples", "modifier": 1, "trend": "linear"})
        >>> done = asyncio.run(SimpleEventBroker(domain.all).resolve(init))
        >>> done.type, done.data
        ('arvo.orc.dec.done', {'success': True, 'error': [], 'final': 2})
        >>> record = asyncio.run(resumable.memory.read(init.subject))
        >>> record["status"], record["state$$"]["value"], domain.store["apples"]
        ('done', 2, 2)
    """

    handler_type = "resumable"
    span_kind_value = ArvoExecutionSpanKind.RESUMABLE

    def __init__(
        self,
        *,
        self_contract: ArvoContract,
        services: Mapping[str, VersionedArvoContract] | None = None,
        handler: Mapping[str, ResumableFunction],
        memory: IMachineMemory | None = None,
        executionunits: int | float = 0,
        requires_resource_locking: bool | None = None,
        default_event_emission_domains: Mapping[str, Sequence[DomainSpec]] | None = None,
        span_name: Callable[[str, ArvoEvent], str] | None = None,
    ) -> None:
        if not isinstance(self_contract, ArvoContract) or not is_orchestrator_contract(
            self_contract
        ):
            raise ConfigViolation(
                "self_contract of a resumable must be an (unversioned) orchestrator "
                "contract made with create_arvo_orchestrator_contract(...)"
            )
        services = dict(services or {})
        validate_services(self_contract, services, kind="ArvoResumable")
        for version, function in handler.items():
            if not callable(function):
                raise TypeError(f"handler[{version!r}] must be callable, got {function!r}")
        self.self_contract = self_contract
        self.services = services
        self.handler = dict(handler)
        self.source = self_contract.type
        self.memory = memory if memory is not None else SimpleMachineMemory()
        self.executionunits = executionunits
        # Parallel service calls may answer at once: lock when there is more than one service.
        self.requires_resource_locking = (
            requires_resource_locking
            if requires_resource_locking is not None
            else len(services) > 1
        )
        self.default_event_emission_domains = self._default_domains(default_event_emission_domains)
        self._custom_span_name = span_name
        self._latest = self_contract.version("latest")
        self._request_schemas = {s.accepts.type: s.accepts.schema for s in services.values()}

    @property
    def contracts(self) -> dict[str, Any]:
        """``{"self": self_contract, "services": services}``, the original's shape."""
        return {"self": self.self_contract, "services": self.services}

    @property
    def domain(self) -> str | None:
        return self.self_contract.domain

    @property
    def system_error_contract(self) -> VersionedArvoContract:
        return self._latest

    def _span_name(self, event: ArvoEvent) -> str:
        uri = self.self_contract.uri
        if self._custom_span_name is not None:
            return self._custom_span_name(uri, event)
        return f"Resumable<{uri}>@<{event.type}>"

    def __repr__(self) -> str:
        return f"ArvoResumable(source={self.source!r}, versions={list(self.handler)!r})"

    def check_input(self, event: ArvoEvent) -> None:
        """Raise the violation a step would raise for ``event`` before touching any state: no
        function for the subject's version, or an event its contracts do not accept.

        Raises:
            InvalidSubjectError: the subject is not an orchestration subject.
            ConfigViolation: no function or contract of this resumable takes the event.
            ContractViolation: the dataschema or the data does not fit.
        """
        self._validated(event, ArvoOrchestrationSubject.parse(event.subject))

    def _validated(
        self, event: ArvoEvent, subject: Mapping[str, Any]
    ) -> tuple[ResumableFunction, InputValidation]:
        version = subject["orchestrator"]["version"]
        function = self.handler.get(version)
        if function is None:
            raise ConfigViolation(
                "Handler resolution failed: No handler found matching orchestrator "
                f"name='{subject['orchestrator']['name']}' and version='{version}'.",
                metadata={"event_id": event.id, "version": version},
            )
        validation = validate_input(event, self.self_contract, self.services)
        validation.raise_unless_valid(event, "resumable")
        return function, validation

    async def _run(self, step: StepInput) -> StepOutput:
        event = step.event
        version = step.subject["orchestrator"]["version"]
        function, validation = self._validated(event, step.subject)
        self_contract, services = self.self_contract, self.services
        versioned_self = (
            self_contract.version(version) if version in self_contract.versions else self._latest
        )
        # step.record is also the compare-and-set ``prev``: copy what is changed, never mutate it.
        record = dict(step.record) if step.record else None
        if is_done(record):
            return StepOutput(
                raw_events=[],
                completion=None,
                self_contract=versioned_self,
                services=services,
                finish=lambda _emitted: None,
            )
        expected: dict[str, list[dict[str, Any]]] = dict(
            ((record or {}).get("events") or {}).get("expected") or {}
        )
        if event.parentid and event.parentid in expected:
            expected[event.parentid] = [*expected[event.parentid], event.to_dict()]
        if record is not None:
            # As in the original, the function sees the record with this response filed in.
            record["events"] = {**(record.get("events") or {}), "expected": expected}
        collected = _CollectedEvents(expected, event)
        is_init = validation.contract_type == "self"
        result = function(
            ResumableInput(
                data=validation.data,
                input=event if is_init else None,
                service=event if validation.contract_type == "service" else None,
                context=copy.deepcopy(record.get("state$$")) if record else None,
                metadata=record,
                collected_events=collected,
                domain={"self": self_contract.domain, "event": event.domain},
                self_contract=versioned_self,
                services=services,
                span=step.span,
            )
        )
        if inspect.isawaitable(result):
            result = await result
        if result is not None and not isinstance(result, Mapping):
            raise TypeError(
                "A resumable function must return None or a dict with 'context', 'output' "
                f"and/or 'services'; got {type(result).__name__}"
            )
        result = result or {}
        new_context = result["context"] if "context" in result else (record or {}).get("state$$")
        output = result.get("output")
        if isinstance(output, BaseModel):  # the version's completion model
            output = output.model_dump(mode="json", by_alias=True)
        raw_events = normalize_outputs(
            result.get("services"),
            where=f"Resumable {self.source} v{version}",
            schemas=self._request_schemas,
        )

        def finish(emitted: list[ArvoEvent]) -> WorkflowRecordData:
            return {
                "executionStatus": "normal",
                "status": "done" if output else "active",
                "initEventId": step.init_event_id,
                "parentSubject": step.parent_subject,
                "subject": event.subject,
                "events": {
                    "consumed": event.to_dict(),
                    "expected": {item.id: [] for item in emitted} if emitted else expected,
                    "produced": [item.to_dict() for item in emitted],
                },
                "state$$": new_context,
            }

        return StepOutput(
            raw_events=raw_events,
            completion=output or None,
            self_contract=versioned_self,
            services=services,
            finish=finish,
        )


def create_arvo_resumable(
    *,
    self_contract: ArvoContract,
    services: Mapping[str, VersionedArvoContract] | None = None,
    handler: Mapping[str, ResumableFunction],
    memory: IMachineMemory | None = None,
    executionunits: int | float = 0,
    requires_resource_locking: bool | None = None,
    default_event_emission_domains: Mapping[str, Sequence[DomainSpec]] | None = None,
    span_name: Callable[[str, ArvoEvent], str] | None = None,
) -> ArvoResumable:
    """Create a resumable workflow: the same as :class:`ArvoResumable` (the original's name).

    Args:
        self_contract: The orchestrator contract, unversioned (``contracts.self`` in the
            original).
        services: ``{name: <versioned contract>}``, the services the workflow calls
            (``contracts.services`` in the original).
        handler: ``{"1.0.0": fn, ...}``; an instance whose subject version has no function
            raises ``ConfigViolation`` at run time.
        memory: Where instance state lives (default: a fresh in-process ``SimpleMachineMemory``).
        executionunits: Cost stamped on emitted events unless overridden (default 0).
        requires_resource_locking: Default: true when there is more than one service.
        default_event_emission_domains: As for :func:`create_arvo_orchestrator`.
        span_name: ``fn(contract_uri, event) -> str`` to rename the execution span.

    Example:
        >>> async def flow(inp: ResumableInput):  # doctest: +SKIP
        ...     if inp.input:
        ...         return {"context": {"n": inp.data.n}, "services": [AddInput(a=1, b=2)]}
        ...     (total,) = inp.collected(AddResult)
        ...     return {"output": {"total": total.total}}
    """
    return ArvoResumable(
        self_contract=self_contract,
        services=services,
        handler=handler,
        memory=memory,
        executionunits=executionunits,
        requires_resource_locking=requires_resource_locking,
        default_event_emission_domains=default_event_emission_domains,
        span_name=span_name,
    )
