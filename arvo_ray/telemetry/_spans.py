"""Spans for the infrastructure between handlers: a broker routing an event, a task receiving it.

Handler and workflow spans come from ``execute`` itself. These helpers are for the runtime
that moves events (the Ray broker actor, a task body), following the OpenTelemetry messaging
conventions with CloudEvents attributes: the span is named ``"<operation> <destination>"``,
``send`` is a PRODUCER span and ``receive``/``process`` CONSUMER spans, and the parent is the
event's own ``traceparent``, so the routing hop joins the workflow's one trace. Without an SDK
they yield ``None`` and cost a function call. OpenTelemetry API only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind

from arvo_ray.core import otel

__all__ = ["continue_trace", "routing_span"]

MessagingOperation = Literal["send", "receive", "process"]

_KINDS = {
    "send": SpanKind.PRODUCER,
    "receive": SpanKind.CONSUMER,
    "process": SpanKind.CONSUMER,
}


def messaging_attributes(
    event: Any, *, operation: str, destination: str | None = None
) -> dict[str, Any]:
    """Messaging and CloudEvents semantic-convention attributes of ``event``."""
    attributes = {
        "messaging.system": "arvo_ray",
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": destination or event.to or "",
        "messaging.message.id": event.id,
        "cloudevents.event_id": event.id,
        "cloudevents.event_source": event.source,
        "cloudevents.event_type": event.type,
        "cloudevents.event_spec_version": event.specversion,
        "cloudevents.event_subject": event.subject or "",
    }
    return otel.attributes_with_nulls(attributes)


@contextmanager
def routing_span(
    event: Any,
    *,
    operation: MessagingOperation = "send",
    destination: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A span for one hop of ``event`` through the infrastructure, parented on the event.

    Args:
        event: The event being routed (its ``traceparent``/``tracestate`` is the parent).
        operation: ``"send"`` (the broker hands it on), ``"receive"`` or ``"process"``.
        destination: Where it goes (default: ``event.to``).
        attributes: Extra span attributes (e.g. the placement, the actor name).

    Yields:
        The span (its headers, :func:`arvo_ray.core.otel.otel_headers_from_span`, can
        parent the next hop), or ``None`` without an SDK.
    """
    if not otel.is_enabled():
        yield None
        return
    if operation not in _KINDS:
        raise ValueError(f"operation must be 'send', 'receive' or 'process', got {operation!r}")
    target = destination or event.to or ""
    parent = otel.context_from_headers(event.traceparent, event.tracestate)
    with otel.get_tracer().start_as_current_span(
        f"{operation} {target}".strip(),
        context=parent,
        kind=_KINDS[operation],
        attributes={
            **messaging_attributes(event, operation=operation, destination=target),
            **(attributes or {}),
        },
    ) as span:
        yield span


@contextmanager
def continue_trace(traceparent: str | None, tracestate: str | None = None) -> Iterator[None]:
    """Make the span named by ``traceparent`` the current parent for the ``with`` block.

    With it, ``execute(event, otel_inherit="context")`` parents the handler span on a hop the
    runtime opened (say, the broker's routing span) rather than on the event's producer.
    A missing ``traceparent`` changes nothing.
    """
    context = otel.context_from_headers(traceparent, tracestate)
    if context is None:
        yield
        return
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)
