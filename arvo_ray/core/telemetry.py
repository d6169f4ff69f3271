"""OpenTelemetry helpers shared by every layer: the Arvo tracer, W3C header in/out, span kinds.

Events carry the W3C ``traceparent``/``tracestate`` of the span that produced them, so a trace
follows a workflow across processes and nodes with nothing but the events themselves. Headers
are always W3C trace-context, whatever global propagator the application configured, because
that is what other Arvo services read. With no SDK configured everything here is a cheap no-op
and the headers are ``None``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "OTEL_NULL",
    "ArvoExecutionSpanKind",
    "OpenInferenceSpanKind",
    "TelemetryLogLevel",
    "context_from_headers",
    "current_otel_headers",
    "exception_to_span",
    "get_tracer",
    "is_enabled",
    "log_to_span",
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


def log_to_span(
    level: TelemetryLogLevel,
    message: str,
    span: Span | None = None,
    **attributes: Any,
) -> None:
    """Record a log line on the span (as a ``log`` event), or on the ``arvo_ray`` logger without one."""
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
        return
    _logger.log(
        logging.getLevelName(level),
        message,
        extra={"arvo": dict(attributes)} if attributes else None,
    )


def exception_to_span(error: BaseException, span: Span | None = None) -> None:
    """Record an exception (type, message, stack) on the span, or log it without one."""
    target = span if span is not None else trace.get_current_span()
    if target.is_recording():
        name = getattr(error, "name", None) or type(error).__name__
        target.set_attributes({"exception.type": str(name), "exception.message": str(error)})
        target.record_exception(error)
        return
    _logger.error("%s", error, exc_info=error)


def attributes_with_nulls(values: Mapping[str, Any]) -> dict[str, Any]:
    """Span attributes with ``None`` replaced by :data:`OTEL_NULL`."""
    return {key: OTEL_NULL if value is None else value for key, value in values.items()}
