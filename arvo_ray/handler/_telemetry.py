"""Telemetry around one ``execute`` call, shared by all handler kinds: scope, metrics, span.

:func:`observed_execution` wraps every ``execute`` method: it sets the execution scope (so log
lines inside carry the event's id, type and subject), times the call and records the
``arvo.events.*`` metrics with its outcome. :func:`execution_span` opens the span. When no
OpenTelemetry SDK is installed the wrapper costs about a microsecond (a context variable and a
global check) and the span nothing, which matters on the per-event hot path; with an SDK the
span continues the event's ``traceparent`` (or the caller's context) and records violations
and errors the way the original does.

Violations are raised, never logged here: the broker that receives them logs each once
(:func:`arvo_ray.core.telemetry.log_event_failure`). Errors that become ``sys.*.error`` events
are not raised to anyone, so :func:`mark_failure` logs them, once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from typing import Any, TypeVar

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from arvo_ray.core import ArvoEvent, is_violation_error, telemetry
from arvo_ray.core._metrics import metrics_enabled, record_execution
from arvo_ray.handler._protocol import ExecutionResult, OtelInherit

__all__ = ["NO_HEADERS", "execution_span", "observed_execution", "span_headers"]

_logger = logging.getLogger("arvo_ray.handler")

_Execute = TypeVar("_Execute", bound=Callable[..., Awaitable[ExecutionResult]])


def observed_execution(execute: _Execute) -> _Execute:
    """Decorate an ``execute(self, event, ...)`` method with the execution scope and metrics.

    The handler's kind is its ``handler_type`` (``"handler"``, ``"orchestrator"``,
    ``"resumable"``). The outcome is ``violation`` when a violation escapes, ``error`` when
    an error became ``sys.*.error`` events (:func:`mark_failure`) or escaped, else ``ok``.
    """

    @functools.wraps(execute)
    async def observed(self: Any, event: ArvoEvent, *args: Any, **kwargs: Any) -> ExecutionResult:
        scope = [event, self.source, getattr(self, "handler_type", "handler"), False]
        token = telemetry._SCOPE.set(scope)
        if not metrics_enabled():
            try:
                return await execute(self, event, *args, **kwargs)
            finally:
                telemetry._SCOPE.reset(token)
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
            telemetry._SCOPE.reset(token)
        failed = scope[telemetry.SCOPE_FAILED]
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
            if span.is_recording():  # a sampled-out span must not fall back to logging it
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
    """An error that became ``sys.*.error`` events: logged once, recorded on the span (ERROR)."""
    telemetry.mark_scope_failed()
    _logger.warning(
        "Execution failed; returned as sys.*.error events: %s: %s",
        type(error).__name__,
        error,
        exc_info=error,
        extra={"arvo": telemetry.log_fields(error_type=type(error).__name__)},
    )
    if span is None:
        return
    if span.is_recording():
        telemetry.exception_to_span(error, span)
    span.set_attribute("arvo.handler.execution.status", "failure")
    span.set_status(Status(StatusCode.ERROR, str(error)))


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {prefix + key: value for key, value in values.items()}
