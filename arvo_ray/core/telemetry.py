"""OpenTelemetry helpers shared by every layer: the Arvo tracer, W3C header in/out, span kinds.

Events carry the W3C ``traceparent``/``tracestate`` of the span that produced them, so a trace
follows a workflow across processes and nodes with nothing but the events themselves. Headers
are always W3C trace-context, whatever global propagator the application configured, because
that is what other Arvo services read. With no SDK configured everything here is a cheap no-op
and the headers are ``None``.

Logs: arvo_ray writes to the ``arvo_ray`` logger tree with ``extra={"arvo": {...}}``. While a
handler or workflow executes, the execution scope (:func:`current_scope`) adds the event's id,
type and subject to every line (:func:`log_fields`); :func:`log_event_failure` is the one way a
broker logs an error or violation raised for an event. Formatters and the SDK setup live in
:mod:`arvo_ray.telemetry`; metric instruments in :mod:`arvo_ray.core._metrics`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from arvo_ray.core._primitives import quote
from arvo_ray.core.errors import is_violation_error

__all__ = [
    "OTEL_NULL",
    "ArvoExecutionSpanKind",
    "ExecutionScope",
    "OpenInferenceSpanKind",
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
    "mark_scope_failed",
    "otel_headers_from_span",
]

OTEL_NULL = "N/A"
"""Stands in for a missing value in span attributes (attributes cannot be null)."""

ATTR_ARVO_SPAN_KIND = "arvo.span.kind"
ATTR_OPENINFERENCE_SPAN_KIND = "openinference.span.kind"

TelemetryLogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


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
_NOOP_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_PROVIDER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
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
        if not _PROVIDER_FROM_ENV:
            return False
        provider = trace.get_tracer_provider()
    return not isinstance(provider, _NOOP_PROVIDERS)


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
    :func:`arvo_ray.handler._telemetry.observed_execution`), so any log line written inside it
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
