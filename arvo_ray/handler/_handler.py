"""``ArvoEventHandler``: a stateless, contract-bound handler with one function per version.

A handler receives an event its contract accepts, runs the implementation of the event's
contract version, and emits the contract's events. Everything about the response envelope
(subject, ``to``, ``parentid``, ``dataschema``, domains, trace headers) is decided here, so
implementations only return ``{"type", "data"}`` and stay pure functions of their input.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opentelemetry.trace import Span, SpanKind
from pydantic import BaseModel, ValidationError

from arvo_ray.core import (
    ArvoContract,
    ArvoEvent,
    ArvoEventFactory,
    ConfigViolation,
    ContractViolation,
    EventDataschema,
    SchemaRecord,
    VersionedArvoContract,
    format_validation_error,
    is_violation_error,
)
from arvo_ray.core.kit import derived_event_id
from arvo_ray.core.otel import (
    ATTR_ARVO_SPAN_KIND,
    ATTR_OPENINFERENCE_SPAN_KIND,
    ArvoExecutionSpanKind,
    OpenInferenceSpanKind,
    execution_span,
    log_to_span,
    mark_failure,
    observed_execution,
    record_emittables,
    record_retry,
    span_headers,
)
from arvo_ray.handler._domain import ArvoDomain, DomainSpec, resolve_domains
from arvo_ray.handler._output import normalize_outputs, raw_extensions
from arvo_ray.handler._protocol import ExecutionResult, OtelInherit
from arvo_ray.handler._retry import HandlerTimeoutError, RetryPolicy, attempted
from arvo_ray.handler._system_error import create_system_error_events

__all__ = [
    "ArvoEventHandler",
    "HandlerFunction",
    "HandlerInput",
    "create_arvo_event_handler",
]


Data = TypeVar("Data", bound=BaseModel)
"""The accepts model of a handler's contract version."""


@dataclass(frozen=True, slots=True)
class HandlerInput(Generic[Data]):
    """What a handler implementation receives.

    Attributes:
        data: The event's data as the contract version's accepts model (validated), so a
            handler reads ``inp.data.key``; annotate ``inp: HandlerInput[Model]`` for types.
        event: The event to handle (the raw CloudEvent, ``data`` as a dict).
        contract: The contract version the event was resolved to.
        source: The handler's source (its contract type).
        domain: ``{"self": <contract domain>, "event": <event domain>}``.
        span: The handler's OpenTelemetry span, or ``None`` without an SDK.
        span_headers: The trace headers emitted events will carry.

    Example:
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import value_read_contract
        >>> def read(inp: HandlerInput):
        ...     print(inp.source, inp.contract.version, inp.domain, repr(inp.data))
        ...     return {"type": "evt.value.read.success", "data": {"key": inp.data.key, "value": 3}}
        >>> handler = create_arvo_event_handler(
        ...     contract=value_read_contract, executionunits=0, handler={"0.0.1": read})
        >>> event = create_arvo_event_factory(value_read_contract.version("0.0.1")).accepts(
        ...     source="com.example.client", subject="s", data={"key": "apples"})
        >>> result = asyncio.run(handler.execute(event))
        com.value.read 0.0.1 {'self': None, 'event': None} Key(key='apples')
    """

    data: Data
    event: ArvoEvent
    contract: VersionedArvoContract
    source: str
    domain: dict[str, str | None]
    span: Span | None
    span_headers: dict[str, str | None]


HandlerFunction = Callable[[HandlerInput[Any]], Any | Awaitable[Any]]
"""``fn(input) -> None | model | dict | list``, plain or ``async``: the events to emit, each as
a ``{type, data}`` dict or as the model of one of the version's emitted types."""


@dataclass(frozen=True, slots=True)
class _Version:
    contract: VersionedArvoContract
    factory: ArvoEventFactory
    function: HandlerFunction
    is_async: bool


class ArvoEventHandler:
    """Stateless handler of one contract, with an implementation per contract version.

    ``execute`` order: type check → dataschema URI check → version resolution (the event's
    dataschema version, else the latest) → input validation → the implementation → output
    validation and event building (one event per output per distinct resolved domain).

    Raises (from ``execute``):
        ConfigViolation: the event type is not this handler's, or its version is unknown.
        ContractViolation: the dataschema names another contract, or input/output data does
            not fit the contract.
        ViolationError: any violation the implementation raises, unchanged.

    Any other exception from the implementation becomes ``sys.<type>.error`` events addressed
    to the event's ``source``.

    Example:
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import value_read_contract
        >>> store = {"apples": 3}
        >>> def read(inp: HandlerInput):
        ...     key = inp.event.data["key"]
        ...     return {"type": "evt.value.read.success", "data": {"key": key, "value": store[key]}}
        >>> handler = ArvoEventHandler(
        ...     contract=value_read_contract, executionunits=1, handler={"0.0.1": read})
        >>> handler
        ArvoEventHandler(source='com.value.read', versions=['0.0.1'])
        >>> factory = create_arvo_event_factory(value_read_contract.version("0.0.1"))
        >>> client = "com.example.client"
        >>> event = factory.accepts(source=client, subject="s", data={"key": "apples"})
        >>> [(e.type, e.data, e.to) for e in asyncio.run(handler.execute(event)).events]
        [('evt.value.read.success', {'key': 'apples', 'value': 3}, 'com.example.client')]

        A failing implementation answers with an error event instead of raising:

        >>> event = factory.accepts(source=client, subject="s", data={"key": "pears"})
        >>> [(e.type, e.data["errorName"]) for e in asyncio.run(handler.execute(event)).events]
        [('sys.com.value.read.error', 'KeyError')]
    """

    handler_type = "handler"
    """The ``arvo.handler.kind`` metric attribute (workflows say orchestrator / resumable)."""

    def __init__(
        self,
        *,
        contract: ArvoContract,
        executionunits: int | float,
        handler: Mapping[str, HandlerFunction],
        default_event_emission_domains: Mapping[str, Sequence[DomainSpec]] | None = None,
        span_name: Callable[[str, ArvoEvent], str] | None = None,
        span_attributes: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.retry = retry
        self.timeout = None if timeout is None else float(timeout)
        self._sleep = sleep
        if not isinstance(contract, ArvoContract):
            raise TypeError(f"contract must be an ArvoContract, got {type(contract).__name__}")
        versions: dict[str, _Version] = {}
        for version in contract.sorted_versions():
            function = handler.get(version)
            if function is None:
                raise ValueError(
                    f"Contract {contract.uri} requires handler implementation for version {version}"
                )
            if not callable(function):
                raise TypeError(f"handler[{version!r}] must be callable, got {function!r}")
            versioned = contract.version(version)
            versions[version] = _Version(
                contract=versioned,
                factory=ArvoEventFactory(versioned),
                function=function,
                is_async=inspect.iscoroutinefunction(function),
            )
        self.contract = contract
        self.executionunits = executionunits
        self._versions = versions
        self._latest = versions[contract.sorted_versions("DESC")[0]]
        domains = dict(default_event_emission_domains or {})
        self.default_event_emission_domains: dict[str, list[DomainSpec]] = {
            "emits": list(domains.get("emits", [ArvoDomain.ORCHESTRATION_CONTEXT])),
            "system_error": list(domains.get("system_error", [ArvoDomain.ORCHESTRATION_CONTEXT])),
        }
        self._span_name = span_name
        # As in the original: user attributes may override the span kinds, but not the
        # handler's identity (source, contract uri) or the execution attributes.
        self._span_attributes = {
            ATTR_ARVO_SPAN_KIND: ArvoExecutionSpanKind.EVENT_HANDLER,
            ATTR_OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKind.CHAIN,
            **(span_attributes or {}),
            "arvo.handler.source": contract.type,
            "arvo.contract.uri": contract.uri,
            "arvo.handler.execution.type": "handler",
            "arvo.handler.execution.status": "normal",
        }

    @property
    def source(self) -> str:
        return self.contract.type

    @property
    def domain(self) -> str | None:
        return self.contract.domain

    @property
    def system_error_schema(self) -> SchemaRecord:
        return self.contract.system_error

    @property
    def is_async(self) -> bool:
        """Every version's function is ``async def``: a call only awaits, never blocks its
        event loop, so many can wait at once in one process (the Ray runtime runs them so)."""
        return all(version.is_async for version in self._versions.values())

    def __repr__(self) -> str:
        return f"ArvoEventHandler(source={self.source!r}, versions={list(self._versions)!r})"

    def _resolve_version(self, event: ArvoEvent) -> _Version:
        if event.type != self.contract.type:
            raise ConfigViolation(
                f"Event type mismatch: Received '{event.type}', expected '{self.contract.type}'",
                metadata={"event_id": event.id, "event_type": event.type},
            )
        parsed = EventDataschema.parse(event.dataschema)
        if parsed is None:
            log_to_span(
                "WARNING",
                f"Unable to resolve the contract version from dataschema={event.dataschema!r}; "
                "using the latest version",
            )
            return self._latest
        if parsed["uri"] != self.contract.uri:
            raise ContractViolation(
                f"Contract URI mismatch: Handler expects '{self.contract.uri}' but event "
                f"dataschema specifies '{event.dataschema}'. Events must reference the same "
                "contract URI as their handler.",
                metadata={"event_id": event.id, "dataschema": event.dataschema},
            )
        version = self._versions.get(parsed["version"])
        if version is None:
            raise ConfigViolation(
                f"Invalid contract version: {parsed['version']}. Available versions: "
                f"{', '.join(self._versions)}",
                metadata={"event_id": event.id, "version": parsed["version"]},
            )
        return version

    def check_input(self, event: ArvoEvent) -> None:
        """Raise the violation :meth:`execute` would raise for ``event`` before running
        anything, so a gateway can refuse bad input at the door.

        Raises:
            ConfigViolation: the event type or contract version is not this handler's.
            ContractViolation: the dataschema names another contract, or the data does not
                fit the contract version.
        """
        self._checked_input(event)

    def _checked_input(self, event: ArvoEvent) -> tuple[_Version, BaseModel]:
        version = self._resolve_version(event)
        try:
            return version, version.contract.accepts.schema.model_validate(event.data)
        except ValidationError as exc:
            # The message names every field at fault; the errors travel on the violation.
            raise ContractViolation.from_validation_error(
                f"Input event payload validation failed: {format_validation_error(exc)}",
                exc,
                metadata={"event_id": event.id},
            ) from None

    @observed_execution
    async def execute(
        self,
        event: ArvoEvent,
        *,
        otel_inherit: OtelInherit = "event",
        attempt: int = 1,
        defer_retry: bool = False,
    ) -> ExecutionResult:
        """Handle one event; see the class docstring for what raises and what becomes events.

        ``attempt`` numbers this call when a runtime retries it; with ``defer_retry`` a failure
        the retry policy retries is not waited for here: the result's ``retry_in`` says when
        to call again (the runtime waits on a durable timer, holding no worker).
        """
        name = (
            self._span_name(self.contract.uri, event)
            if self._span_name
            else f"Handler<{self.contract.uri}>"
        )
        with execution_span(
            name,
            kind=SpanKind.CONSUMER,
            attributes=self._span_attributes,
            event=event,
            otel_inherit=otel_inherit,
        ) as span:
            version, data = self._checked_input(event)
            headers = span_headers(span)
            handler_input = HandlerInput(
                data=data,
                event=event,
                contract=version.contract,
                source=self.source,
                domain={"self": self.contract.domain, "event": event.domain},
                span=span,
                span_headers=headers,
            )
            attempt -= 1
            while True:
                attempt += 1
                try:
                    result = await self._call(version, handler_input)
                    failure = None
                except Exception as error:
                    if is_violation_error(error):
                        raise
                    failure = error
                if failure is None or self.retry is None:
                    break
                if not self.retry.retries(failure, attempt=attempt):
                    break
                wait = self.retry.interval(attempt)
                if span is not None:
                    span.add_event(
                        "arvo.handler.retry",
                        {"attempt": attempt, "error": type(failure).__name__, "wait_seconds": wait},
                    )
                record_retry(self.source)
                if defer_retry:
                    if span is not None:
                        span.set_attribute("arvo.handler.attempts", attempt)
                    return ExecutionResult(events=[], retry_in=wait)
                await self._sleep(wait)
            if span is not None:
                span.set_attribute("arvo.handler.attempts", attempt)
            if failure is not None:
                reported = attempted(failure, attempt)
                mark_failure(span, reported)
                events = create_system_error_events(
                    error=reported,
                    event=event,
                    contract=self._latest.contract,
                    source=self.source,
                    to=event.source,
                    subject=event.subject,
                    parentid=event.id,
                    executionunits=self.executionunits,
                    domains=self.default_event_emission_domains["system_error"],
                    headers=headers,
                    id_for=lambda index, domain: derived_event_id(
                        event, self.system_error_schema.type, index, domain
                    ),
                )
                record_emittables(span, events)
                return ExecutionResult(events=events)
            try:
                events = self._build_events(event, version, result, headers)
            except ValidationError as exc:
                # The message names every field at fault; the errors travel on the violation.
                raise ContractViolation.from_validation_error(
                    str(exc), exc, metadata={"event_id": event.id}
                ) from None
            except (ValueError, TypeError) as exc:
                if is_violation_error(exc):
                    raise
                raise ContractViolation(str(exc), metadata={"event_id": event.id}) from exc
            record_emittables(span, events)
            return ExecutionResult(events=events)

    async def _call(self, version: _Version, handler_input: HandlerInput[Any]) -> Any:
        """One call of the version's function, within :attr:`timeout` if one is set (a
        blocking ``def`` then runs in a thread, which keeps running after the timeout)."""
        if self.timeout is None:
            result = version.function(handler_input)
            if version.is_async or inspect.isawaitable(result):
                result = await result
            return result
        call: Awaitable[Any] = (
            version.function(handler_input)
            if version.is_async
            else asyncio.to_thread(version.function, handler_input)
        )
        try:
            result = await asyncio.wait_for(call, self.timeout)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, self.timeout)
        except TimeoutError as error:
            raise HandlerTimeoutError(
                f"Handler {self.source} v{version.contract.version} did not finish within "
                f"{self.timeout:g} s"
            ) from error
        return result

    def _build_events(
        self,
        event: ArvoEvent,
        version: _Version,
        result: Any,
        headers: dict[str, str | None],
    ) -> list[ArvoEvent]:
        events: list[ArvoEvent] = []
        for index, raw in enumerate(
            normalize_outputs(
                result,
                where=f"Handler {self.source} v{version.contract.version}",
                schemas=version.contract.emits,
            )
        ):
            domains = resolve_domains(
                raw.get("domain") or self.default_event_emission_domains["emits"],
                self_contract=self.contract,
                event_contract=self.contract,
                triggering_event=event,
                current_subject=event.subject,
                parent_subject=None,
            )
            accesscontrol = raw.get("accesscontrol")
            units = raw.get("executionunits")
            for domain in domains:
                events.append(
                    version.factory.emits(
                        type=raw["type"],
                        data=raw.get("data"),
                        source=self.source,
                        subject=event.subject,
                        id=raw.get("id") or derived_event_id(event, self.source, index, domain),
                        time=raw.get("time"),
                        to=raw.get("to") or event.redirectto or event.source,
                        redirectto=raw.get("redirectto"),
                        accesscontrol=accesscontrol
                        if accesscontrol is not None
                        else event.accesscontrol,
                        executionunits=units if units is not None else self.executionunits,
                        parentid=event.id,
                        domain=domain,
                        traceparent=headers["traceparent"],
                        tracestate=headers["tracestate"],
                        extensions=raw_extensions(raw),
                    )
                )
        return events


def create_arvo_event_handler(
    *,
    contract: ArvoContract,
    executionunits: int | float,
    handler: Mapping[str, HandlerFunction],
    default_event_emission_domains: Mapping[str, Sequence[DomainSpec]] | None = None,
    span_name: Callable[[str, ArvoEvent], str] | None = None,
    span_attributes: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
) -> ArvoEventHandler:
    """Create an :class:`ArvoEventHandler`.

    Args:
        contract: The contract the handler serves (``source`` = ``contract.type``).
        executionunits: Cost stamped on every emitted event unless an output overrides it.
        handler: ``{"1.0.0": fn, ...}``: one implementation per contract version (required).
        default_event_emission_domains: ``{"emits": [...], "system_error": [...]}``; both
            default to ``[ArvoDomain.ORCHESTRATION_CONTEXT]``.
        span_name: ``fn(contract_uri, event) -> str`` to rename the execution span.
        span_attributes: Extra attributes for the execution span.
        retry: Retry transient failures (:class:`RetryPolicy`): with backoff and jitter,
            and only when the attempts run out does the error become the ``sys.*.error``
            event (its message says how many attempts were made). Violations are never
            retried. Today the wait happens where the handler runs.
        timeout: Seconds a call may take; a longer one fails with
            :class:`HandlerTimeoutError` (retried if the policy says so).

    Raises:
        ValueError: a contract version has no implementation, or a bad ``timeout``.

    Example:
        >>> async def add(input: HandlerInput):  # doctest: +SKIP
        ...     data = input.event.data
        ...     return {"type": "evt.calc.add.success", "data": {"total": data["a"] + data["b"]}}
        >>> handler = create_arvo_event_handler(  # doctest: +SKIP
        ...     contract=add_contract, executionunits=1, handler={"1.0.0": add})
    """
    return ArvoEventHandler(
        contract=contract,
        executionunits=executionunits,
        handler=handler,
        default_event_emission_domains=default_event_emission_domains,
        span_name=span_name,
        span_attributes=span_attributes,
        retry=retry,
        timeout=timeout,
    )
