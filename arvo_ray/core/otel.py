"""Arvo's telemetry, on the OpenTelemetry API only: spans, W3C trace headers, metrics, logs.

Events carry the W3C ``traceparent``/``tracestate`` of the span that produced them, so a trace
follows a workflow across processes and nodes with nothing but the events themselves. Headers
are always W3C trace-context, whatever global propagator the application configured, because
that is what other Arvo services read. With no SDK configured everything here is a cheap no-op
(one module-global check on the per-event hot path) and the headers are ``None``. The SDK side
(providers, exporters, log formatters) is :mod:`arvo_ray.telemetry`; nothing here imports it.

**Spans.** Every handler and workflow ``execute`` opens one span (:func:`execution_span`) that
continues the event's ``traceparent`` and marks failures the way the original does.

**Logs.** arvo_ray writes to the ``arvo_ray`` logger tree with ``extra={"arvo": {...}}``. While a
handler or workflow executes, the execution scope (:func:`current_scope`) adds the event's id,
type and subject to every line (:func:`log_fields`). Violations are raised, never logged by the
handler: the broker that receives one logs it once (:func:`log_event_failure`). Errors that
become ``sys.*.error`` events are raised to no one, so :func:`mark_failure` logs them, once.

**Metrics.** Every instrument is defined here, so names, units and attributes exist once
(all attributes are low-cardinality: handler sources, kinds, outcomes):

============================== ============== =====================================================
``arvo.events.handled``        counter        ``arvo.handler.source``, ``arvo.handler.kind``,
                                              ``arvo.outcome`` (``ok`` | ``error`` | ``violation``)
``arvo.events.errors``         counter        source, kind: executions whose error became
                                              ``sys.*.error`` events (violations not included)
``arvo.violations``            counter        source, kind, ``arvo.violation.type``
``arvo.handler.duration``      histogram (s)  source, kind
``arvo.workflows.started``     counter        source, kind: an init event created a record
``arvo.workflows.completed``   counter        source, kind: a record reached status ``done``
``arvo.workflows.failed``      counter        source, kind: a failure record was written
``arvo.workflow_actors.active`` up-down        source: live workflow actors (Ray runtime)
============================== ============== =====================================================

The module-level functions not in ``__all__`` (:func:`observed_execution`,
:func:`record_execution`, :func:`record_workflow`, :func:`actor_activated`...) are the hooks
arvo_ray's own layers call; applications do not need them.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any, Literal, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from arvo_ray.core._primitives import quote
from arvo_ray.core.errors import is_violation_error

__all__ = [
    "ArvoExecutionSpanKind",
    "ExecutionScope",
    "METRIC_NAMES",
    "OTEL_NULL",
    "OpenInferenceSpanKind",
    "OtelInherit",
    "TelemetryLogLevel",
    "context_from_headers",
    "current_otel_headers",
    "current_scope",
    "event_log_fields",
    "exception_to_span",
    "get_tracer",
    "is_enabled",
    "log_event_failure",
    "log_fields",
    "log_to_span",
    "otel_headers_from_span",
]


# -- spans, headers and the execution scope ------------------------------------------------------

OTEL_NULL = "N/A"
"""Stands in for a missing value in span attributes (attributes cannot be null)."""

ATTR_ARVO_SPAN_KIND = "arvo.span.kind"
ATTR_OPENINFERENCE_SPAN_KIND = "openinference.span.kind"

TelemetryLogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

OtelInherit = Literal["event", "context"]
"""Parent of the handler's span: the event's ``traceparent`` or the caller's active span."""


class ArvoExecutionSpanKind:
    """Values of the ``arvo.span.kind`` attribute, one per handler kind."""

    EVENT_HANDLER = "handler.simple"
    ORCHESTRATOR = "handler.orchestrator.statemachine"
    RESUMABLE = "handler.orchestrator.imperative"
    INTERNAL = "internal"


class OpenInferenceSpanKind:
    """Values of the ``openinference.span.kind`` attribute."""

    CHAIN = "CHAIN"
    RETRIEVER = "RETRIEVER"
    RERANKER = "RERANKER"
    LLM = "LLM"
    EMBEDDING = "EMBEDDING"
    TOOL = "TOOL"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    INTERNAL = "INTERNAL"


_PROPAGATOR = TraceContextTextMapPropagator()
_NOOP_TRACER_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_TRACER_PROVIDER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
_logger = logging.getLogger("arvo_ray")
# A library never prints on its own: applications opt in by configuring logging.
_logger.addHandler(logging.NullHandler())


def is_enabled() -> bool:
    """True once an OpenTelemetry SDK tracer provider is installed.

    Without one, spans are no-ops and events carry no trace headers (as in the original), so
    Arvo skips span bookkeeping entirely: it is measurable on a hot path.
    """
    # Reading the module global first avoids an environment lookup per call on the hot path;
    # only a provider named in the environment needs the full (lazy-loading) lookup.
    provider = getattr(trace, "_TRACER_PROVIDER", None)
    if provider is None:
        if not _TRACER_PROVIDER_FROM_ENV:
            return False
        provider = trace.get_tracer_provider()
    return not isinstance(provider, _NOOP_TRACER_PROVIDERS)


def get_tracer() -> trace.Tracer:
    """The tracer all Arvo spans come from (looked up each time, so a late SDK setup applies)."""
    return trace.get_tracer("arvo-instrumentation", "1.0.0")


def current_otel_headers(ctx: otel_context.Context | None = None) -> dict[str, str | None]:
    """W3C headers of the active span (or of ``ctx``); both ``None`` without a valid span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=ctx)
    return {"traceparent": carrier.get("traceparent"), "tracestate": carrier.get("tracestate")}


def otel_headers_from_span(span: Span) -> dict[str, str | None]:
    """W3C headers naming ``span`` as the parent of whatever consumes the event."""
    span_context = span.get_span_context()
    if not span_context.is_valid:
        return {"traceparent": None, "tracestate": None}
    state = span_context.trace_state.to_header() if span_context.trace_state else ""
    return {
        "traceparent": f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-01",
        "tracestate": state or None,
    }


def context_from_headers(
    traceparent: str | None, tracestate: str | None = None
) -> otel_context.Context | None:
    """The context to parent a span on, or ``None`` (use the current one) without a traceparent."""
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return _PROPAGATOR.extract(carrier, context=otel_context.Context())


class ExecutionScope:
    """The ``execute`` call in progress on this task: its event, handler and outcome so far.

    Set for the duration of every handler and workflow ``execute`` (see
    :func:`observed_execution`), so any log line written inside it
    carries the event's id, type and subject without each call site passing them.

    Attributes:
        event: The event being handled.
        handler: The handler's ``source``.
        kind: ``"handler"``, ``"orchestrator"`` or ``"resumable"``.
        failed: Whether an error was turned into ``sys.*.error`` events so far.
    """

    __slots__ = ("event", "failed", "handler", "kind")

    def __init__(self, event: Any, handler: str, kind: str, failed: bool = False) -> None:
        self.event = event
        self.handler = handler
        self.kind = kind
        self.failed = failed

    def __repr__(self) -> str:
        return (
            f"ExecutionScope(event={getattr(self.event, 'id', None)!r}, "
            f"handler={self.handler!r}, kind={self.kind!r}, failed={self.failed!r})"
        )


# The live scope is a list ``[event, handler source, kind, failed]``, not an ExecutionScope:
# one is made on every execute, and a list is several times cheaper to build.
_SCOPE: ContextVar[list[Any] | None] = ContextVar("arvo_execution_scope", default=None)
SCOPE_FAILED = 3


def current_scope() -> ExecutionScope | None:
    """The execution in progress on this task (``None`` outside ``execute``)."""
    scope = _SCOPE.get()
    return None if scope is None else ExecutionScope(*scope)


def mark_scope_failed() -> None:
    """Note that the current execution turned an error into ``sys.*.error`` events."""
    scope = _SCOPE.get()
    if scope is not None:
        scope[SCOPE_FAILED] = True


def event_log_fields(event: Any) -> dict[str, Any]:
    """The fields that identify ``event`` on a log line: id, type, subject, source, to, traceparent."""
    fields = {
        "event_id": _bounded(event.id),
        "event_type": _bounded(event.type),
        "subject": _bounded(event.subject),
        "source": _bounded(event.source),
        "to": _bounded(event.to),
    }
    traceparent = getattr(event, "traceparent", None)
    if traceparent:
        fields["traceparent"] = traceparent
    return fields


def _bounded(value: Any) -> Any:
    """Identifying text as logged: whole up to a kilobyte (subjects are a few hundred bytes)."""
    return quote(value, limit=1024) if isinstance(value, str) else value


def log_fields(**fields: Any) -> dict[str, Any]:
    """The ``arvo`` extra of a log line: the current execution's event fields, then ``fields``."""
    scope = _SCOPE.get()
    if scope is None:
        return dict(fields)
    return {**event_log_fields(scope[0]), "handler": scope[1], **fields}


def log_to_span(
    level: TelemetryLogLevel,
    message: str,
    span: Span | None = None,
    **attributes: Any,
) -> None:
    """Record a log line on the span (as a ``log`` event) and on the ``arvo_ray`` logger.

    The logger line carries ``extra={"arvo": ...}``: the current execution's event fields (id,
    type, subject) and ``attributes``, so structured log handlers can index it.
    """
    target = span if span is not None else trace.get_current_span()
    if target.is_recording():
        target.add_event(
            "log",
            {
                "log.severity": level,
                "log.message": message,
                **{k: str(v) for k, v in attributes.items()},
            },
        )
    levelno = logging.getLevelName(level)
    if _logger.isEnabledFor(levelno):
        fields = log_fields(**attributes)
        _logger.log(levelno, message, extra={"arvo": fields} if fields else None)


def exception_to_span(error: BaseException, span: Span | None = None) -> None:
    """Record an exception (type, message, stack) on the span, or log it without one."""
    target = span if span is not None else trace.get_current_span()
    if target.is_recording():
        name = getattr(error, "name", None) or type(error).__name__
        target.set_attributes({"exception.type": str(name), "exception.message": str(error)})
        target.record_exception(error)
        return
    fields = log_fields()
    _logger.error("%s", error, exc_info=error, extra={"arvo": fields} if fields else None)


def log_event_failure(
    error: BaseException,
    event: Any,
    *,
    message: str = "Event could not be processed",
    logger: logging.Logger | None = None,
    **fields: Any,
) -> None:
    """Log, once, an error or violation raised while an event was handled, with the event.

    This is for the component that receives the raised error (a broker), not for handlers:
    handlers raise violations and never log them, so each one is logged exactly once.
    Violations log at ERROR with their ``violation_type``; other errors at WARNING with the
    traceback. The line carries the event's CloudEvents attributes (not its ``data``).
    """
    violation = is_violation_error(error)
    extra: dict[str, Any] = {
        **event_log_fields(event),
        "error_type": type(error).__name__,
        **fields,
    }
    if violation:
        extra["violation_type"] = str(getattr(error, "type", "unknown"))
    try:
        envelope = event.to_dict()
    except Exception:  # a foreign object: the identifying fields above are enough
        envelope = None
    if isinstance(envelope, dict):
        envelope.pop("data", None)
        extra["event"] = {key: _bounded(value) for key, value in envelope.items()}
    (logger or _logger).log(
        logging.ERROR if violation else logging.WARNING,
        "%s: %s",
        message,
        error,
        exc_info=None if violation else error,
        extra={"arvo": extra},
    )


def attributes_with_nulls(values: Mapping[str, Any]) -> dict[str, Any]:
    """Span attributes with ``None`` replaced by :data:`OTEL_NULL`."""
    return {key: OTEL_NULL if value is None else value for key, value in values.items()}


# -- metrics --------------------------------------------------------------------------------------

ExecutionKind = Literal["handler", "orchestrator", "resumable"]
Outcome = Literal["ok", "error", "violation"]
WorkflowEvent = Literal["started", "completed", "failed"]

METER_NAME = "arvo_ray"

METRIC_HANDLED = "arvo.events.handled"
METRIC_ERRORS = "arvo.events.errors"
METRIC_VIOLATIONS = "arvo.violations"
METRIC_DURATION = "arvo.handler.duration"
METRIC_WORKFLOWS_STARTED = "arvo.workflows.started"
METRIC_WORKFLOWS_COMPLETED = "arvo.workflows.completed"
METRIC_WORKFLOWS_FAILED = "arvo.workflows.failed"
METRIC_ACTORS_ACTIVE = "arvo.workflow_actors.active"
METRIC_RETRIES = "arvo.handler.retries"
METRIC_NAMES = (
    METRIC_HANDLED,
    METRIC_ERRORS,
    METRIC_VIOLATIONS,
    METRIC_DURATION,
    METRIC_WORKFLOWS_STARTED,
    METRIC_WORKFLOWS_COMPLETED,
    METRIC_WORKFLOWS_FAILED,
    METRIC_ACTORS_ACTIVE,
    METRIC_RETRIES,
)

ATTR_SOURCE = "arvo.handler.source"
ATTR_KIND = "arvo.handler.kind"
ATTR_OUTCOME = "arvo.outcome"
ATTR_VIOLATION_TYPE = "arvo.violation.type"

DURATION_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
"""Histogram bounds in seconds (the SDK default buckets are sized for milliseconds)."""

_METER_PROVIDER_FROM_ENV = "OTEL_PYTHON_METER_PROVIDER" in os.environ
_NOOP_METER_PROVIDERS = (metrics.NoOpMeterProvider, _metrics_api._ProxyMeterProvider)


class _Instruments:
    """The instruments of one meter provider (rebuilt if the global provider changes)."""

    __slots__ = (
        "actors",
        "completed",
        "duration",
        "errors",
        "failed",
        "handled",
        "provider",
        "retries",
        "started",
        "violations",
    )

    def __init__(self, provider: metrics.MeterProvider) -> None:
        from arvo_ray._version import __version__

        meter = provider.get_meter(METER_NAME, __version__)
        self.provider = provider
        self.handled = meter.create_counter(
            METRIC_HANDLED, unit="{event}", description="Events executed by a handler or workflow"
        )
        self.errors = meter.create_counter(
            METRIC_ERRORS,
            unit="{event}",
            description="Executions whose error was returned as sys.*.error events",
        )
        self.violations = meter.create_counter(
            METRIC_VIOLATIONS, unit="{event}", description="Violations raised by executions"
        )
        self.duration = meter.create_histogram(
            METRIC_DURATION,
            unit="s",
            description="Duration of one execute() call",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.started = meter.create_counter(
            METRIC_WORKFLOWS_STARTED, unit="{workflow}", description="Workflow instances started"
        )
        self.completed = meter.create_counter(
            METRIC_WORKFLOWS_COMPLETED,
            unit="{workflow}",
            description="Workflow instances that reached status done",
        )
        self.failed = meter.create_counter(
            METRIC_WORKFLOWS_FAILED,
            unit="{workflow}",
            description="Workflow instances that wrote a failure record",
        )
        self.actors = meter.create_up_down_counter(
            METRIC_ACTORS_ACTIVE, unit="{actor}", description="Live workflow actors"
        )
        self.retries = meter.create_counter(
            METRIC_RETRIES,
            unit="{call}",
            description="Handler calls tried again under a retry policy",
        )


_cache: _Instruments | None = None


def _instruments() -> _Instruments | None:
    """The instruments of the global SDK meter provider, or ``None`` when there is none."""
    global _cache
    # The module global is read first: no environment lookup and no proxy on the hot path.
    provider = _metrics_api._METER_PROVIDER
    if provider is None:
        if not _METER_PROVIDER_FROM_ENV:
            return None
        provider = metrics.get_meter_provider()
    cache = _cache
    if cache is not None and cache.provider is provider:
        return cache
    if isinstance(provider, _NOOP_METER_PROVIDERS):
        return None
    cache = _cache = _Instruments(provider)
    return cache


def metrics_enabled() -> bool:
    """True once an OpenTelemetry SDK meter provider is installed (else recording is a no-op)."""
    return _instruments() is not None


def record_execution(
    kind: str,
    source: str,
    seconds: float,
    outcome: Outcome,
    violation_type: str | None = None,
) -> None:
    """Record one ``execute`` call: handled (with outcome), errors/violations, duration.

    Args:
        kind: ``"handler"``, ``"orchestrator"`` or ``"resumable"``.
        source: The handler's source (its event type).
        seconds: Wall-clock duration of the call.
        outcome: ``"ok"``, ``"error"`` (became ``sys.*.error`` events) or ``"violation"``.
        violation_type: The violation's ``type`` (``"Contract"``, ``"Config"``...) when
            ``outcome`` is ``"violation"``.
    """
    instruments = _instruments()
    if instruments is None:
        return
    attributes: dict[str, Any] = {ATTR_SOURCE: source, ATTR_KIND: kind}
    instruments.duration.record(seconds, attributes)
    instruments.handled.add(1, {**attributes, ATTR_OUTCOME: outcome})
    if outcome == "error":
        instruments.errors.add(1, attributes)
    elif outcome == "violation":
        instruments.violations.add(
            1, {**attributes, ATTR_VIOLATION_TYPE: violation_type or "unknown"}
        )


def record_retry(source: str) -> None:
    """Count one handler call tried again under its retry policy."""
    instruments = _instruments()
    if instruments is not None:
        instruments.retries.add(1, {ATTR_SOURCE: source, ATTR_KIND: "handler"})


def record_workflow(source: str, event: WorkflowEvent, kind: str = "orchestrator") -> None:
    """Count a workflow instance ``"started"``, ``"completed"`` or ``"failed"``."""
    instruments = _instruments()
    if instruments is None:
        return
    counter = {
        "started": instruments.started,
        "completed": instruments.completed,
        "failed": instruments.failed,
    }.get(event)
    if counter is None:
        raise ValueError(
            f"Unknown workflow event {event!r}; use 'started', 'completed' or 'failed'"
        )
    counter.add(1, {ATTR_SOURCE: source, ATTR_KIND: kind})


def actor_activated(source: str = "") -> None:
    """A workflow actor came up (``arvo.workflow_actors.active`` +1)."""
    instruments = _instruments()
    if instruments is not None:
        instruments.actors.add(1, {ATTR_SOURCE: source})


def actor_passivated(source: str = "") -> None:
    """A workflow actor went away (``arvo.workflow_actors.active`` -1)."""
    instruments = _instruments()
    if instruments is not None:
        instruments.actors.add(-1, {ATTR_SOURCE: source})


# -- around one execute() call --------------------------------------------------------------------

_handler_logger = logging.getLogger("arvo_ray.handler")

_Execute = TypeVar("_Execute", bound=Callable[..., Awaitable[Any]])


def observed_execution(execute: _Execute) -> _Execute:
    """Decorate an ``execute(self, event, ...)`` method with the execution scope and metrics.

    The handler's kind is its ``handler_type`` (``"handler"``, ``"orchestrator"``,
    ``"resumable"``). The outcome is ``violation`` when a violation escapes, ``error`` when
    an error became ``sys.*.error`` events (:func:`mark_failure`) or escaped, else ``ok``.
    """

    @functools.wraps(execute)
    async def observed(self: Any, event: Any, *args: Any, **kwargs: Any) -> Any:
        scope = [event, self.source, getattr(self, "handler_type", "handler"), False]
        token = _SCOPE.set(scope)
        if not metrics_enabled():
            try:
                return await execute(self, event, *args, **kwargs)
            finally:
                _SCOPE.reset(token)
        started = perf_counter()
        try:
            result = await execute(self, event, *args, **kwargs)
        except Exception as error:
            violation = is_violation_error(error)
            record_execution(
                scope[2],
                scope[1],
                perf_counter() - started,
                "violation" if violation else "error",
                getattr(error, "type", None) if violation else None,
            )
            raise
        finally:
            _SCOPE.reset(token)
        failed = scope[SCOPE_FAILED]
        record_execution(scope[2], scope[1], perf_counter() - started, "error" if failed else "ok")
        return result

    return observed  # type: ignore[return-value]


NO_HEADERS: dict[str, str | None] = {"traceparent": None, "tracestate": None}


@contextmanager
def execution_span(
    name: str,
    *,
    kind: SpanKind,
    attributes: Mapping[str, Any],
    event: Any,
    otel_inherit: OtelInherit,
) -> Iterator[Span | None]:
    """Open the handler span (or nothing without an SDK); failures mark it ERROR and re-raise."""
    if not is_enabled():
        yield None
        return
    parent = (
        context_from_headers(event.traceparent, event.tracestate)
        if otel_inherit == "event"
        else None
    )
    with get_tracer().start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes={**attributes, **_prefixed("consumable.0.", event.otel_attributes)},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        # OK is set on the way out, not up front: the SDK ignores any status change after OK,
        # which would leave failed executions looking successful.
        try:
            yield span
        except Exception as exc:
            if span.is_recording():  # a sampled-out span must not fall back to logging it
                exception_to_span(exc, span)
            span.set_attribute("arvo.handler.execution.status", "failure")
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            raise
        status = getattr(span, "status", None)
        if status is None or status.status_code is StatusCode.UNSET:
            span.set_status(Status(StatusCode.OK))


def span_headers(span: Span | None) -> dict[str, str | None]:
    """Trace headers emitted events carry: this span becomes the parent of the next hop."""
    return NO_HEADERS if span is None else otel_headers_from_span(span)


def record_emittables(span: Span | None, events: list[Any]) -> None:
    """Attach the emitted events' attributes to the span (``emittables.<i>.<attr>``)."""
    if span is None:
        return
    for index, event in enumerate(events):
        span.set_attributes(_prefixed(f"emittables.{index}.", event.otel_attributes))


def mark_failure(span: Span | None, error: BaseException) -> None:
    """An error that became ``sys.*.error`` events: logged once, recorded on the span (ERROR)."""
    mark_scope_failed()
    _handler_logger.warning(
        "Execution failed; returned as sys.*.error events: %s: %s",
        type(error).__name__,
        error,
        exc_info=error,
        extra={"arvo": log_fields(error_type=type(error).__name__)},
    )
    if span is None:
        return
    if span.is_recording():
        exception_to_span(error, span)
    span.set_attribute("arvo.handler.execution.status", "failure")
    span.set_status(Status(StatusCode.ERROR, str(error)))


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {prefix + key: value for key, value in values.items()}
