"""The execution span around one ``execute`` call, shared by all handler kinds.

When no OpenTelemetry SDK is installed this yields ``None`` and costs nothing, which matters on
the per-event hot path; with an SDK the span continues the event's ``traceparent`` (or the
caller's context) and records violations and errors the way the original does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from arvo_ray.core import ArvoEvent, telemetry
from arvo_ray.handler._protocol import OtelInherit

__all__ = ["NO_HEADERS", "execution_span", "span_headers"]

NO_HEADERS: dict[str, str | None] = {"traceparent": None, "tracestate": None}


@contextmanager
def execution_span(
    name: str,
    *,
    kind: SpanKind,
    attributes: Mapping[str, Any],
    event: ArvoEvent,
    otel_inherit: OtelInherit,
) -> Iterator[Span | None]:
    """Open the handler span (or nothing without an SDK); failures mark it ERROR and re-raise."""
    if not telemetry.is_enabled():
        yield None
        return
    parent = (
        telemetry.context_from_headers(event.traceparent, event.tracestate)
        if otel_inherit == "event"
        else None
    )
    with telemetry.get_tracer().start_as_current_span(
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
            telemetry.exception_to_span(exc, span)
            span.set_attribute("arvo.handler.execution.status", "failure")
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            raise
        status = getattr(span, "status", None)
        if status is None or status.status_code is StatusCode.UNSET:
            span.set_status(Status(StatusCode.OK))


def span_headers(span: Span | None) -> dict[str, str | None]:
    """Trace headers emitted events carry: this span becomes the parent of the next hop."""
    return NO_HEADERS if span is None else telemetry.otel_headers_from_span(span)


def record_emittables(span: Span | None, events: list[ArvoEvent]) -> None:
    """Attach the emitted events' attributes to the span (``emittables.<i>.<attr>``)."""
    if span is None:
        return
    for index, event in enumerate(events):
        span.set_attributes(_prefixed(f"emittables.{index}.", event.otel_attributes))


def mark_failure(span: Span | None, error: BaseException) -> None:
    """An error that became ``sys.*.error`` events: recorded on the span, status ERROR."""
    if span is None:
        return
    telemetry.exception_to_span(error, span)
    span.set_attribute("arvo.handler.execution.status", "failure")
    span.set_status(Status(StatusCode.ERROR, str(error)))


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {prefix + key: value for key, value in values.items()}
