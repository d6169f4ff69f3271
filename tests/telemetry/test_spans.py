"""``routing_span`` and ``continue_trace``: the runtime's own hops join the event's trace."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from otel_fixtures import spans_named

from arvo_ray.core import create_arvo_event
from arvo_ray.core.otel import otel_headers_from_span
from arvo_ray.examples.number_domain import increment_contract, increment_handler
from arvo_ray.telemetry import continue_trace, routing_span


def _event(traceparent: str | None = None) -> Any:
    return create_arvo_event(
        type="com.increment.number",
        source="com.test.caller",
        subject="subject-1",
        dataschema=f"{increment_contract.uri}/0.0.1",
        data={"init": 1, "increment": 2},
        traceparent=traceparent,
        disable_telemetry=True,
    )


class TestRoutingSpan:
    def test_without_an_sdk_it_yields_none(self) -> None:
        """No provider attached: nothing is opened."""
        with routing_span(_event()) as span:
            assert span is None

    def test_is_a_producer_child_of_the_event_with_messaging_attributes(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """``send <to>``, PRODUCER, parented on the event's traceparent, CloudEvents attributes."""
        with trace.get_tracer("t").start_as_current_span("producer") as producer:
            traceparent = otel_headers_from_span(producer)["traceparent"]
        event = _event(traceparent)
        with routing_span(event, attributes={"arvo.placement": "instance"}) as span:
            assert span is not None
        (routed,) = spans_named(span_exporter, "send com.increment.number")
        assert routed.kind is SpanKind.PRODUCER
        assert routed.parent is not None
        assert routed.parent.span_id == producer.get_span_context().span_id
        assert routed.context.trace_id == producer.get_span_context().trace_id
        attributes = dict(routed.attributes or {})
        assert attributes["messaging.system"] == "arvo_ray"
        assert attributes["messaging.operation.type"] == "send"
        assert attributes["messaging.destination.name"] == "com.increment.number"
        assert attributes["messaging.message.id"] == event.id
        assert attributes["cloudevents.event_type"] == "com.increment.number"
        assert attributes["cloudevents.event_subject"] == "subject-1"
        assert attributes["arvo.placement"] == "instance"

    def test_receive_and_process_are_consumer_spans(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """The receiving side of a hop uses CONSUMER spans named by its operation."""
        for operation in ("receive", "process"):
            with routing_span(_event(), operation=operation, destination="actor-1"):  # type: ignore[arg-type]
                pass
        kinds = {s.name: s.kind for s in span_exporter.get_finished_spans()}
        assert kinds == {"receive actor-1": SpanKind.CONSUMER, "process actor-1": SpanKind.CONSUMER}


class TestContinueTrace:
    async def test_handler_span_becomes_a_child_of_the_hop(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """Under ``continue_trace(hop)``, ``execute(otel_inherit="context")`` parents on the hop."""
        with trace.get_tracer("t").start_as_current_span("producer") as producer:
            event = _event(otel_headers_from_span(producer)["traceparent"])
        with routing_span(event) as hop:
            headers = otel_headers_from_span(hop)  # type: ignore[arg-type]
        with continue_trace(headers["traceparent"], headers["tracestate"]):
            await increment_handler().execute(event, otel_inherit="context")
        (handler_span,) = [
            s for s in span_exporter.get_finished_spans() if s.name.startswith("Handler<")
        ]
        (routed,) = spans_named(span_exporter, "send com.increment.number")
        assert handler_span.parent is not None
        assert handler_span.parent.span_id == routed.context.span_id
        assert handler_span.context.trace_id == producer.get_span_context().trace_id

    def test_without_a_traceparent_nothing_changes(self) -> None:
        """A missing header leaves the current context alone."""
        before = trace.get_current_span()
        with continue_trace(None):
            assert trace.get_current_span() is before
