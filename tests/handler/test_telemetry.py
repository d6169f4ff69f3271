"""OpenTelemetry of ``ArvoEventHandler`` (spec §8): the span, its attributes and propagation.

Tests that need spans request ``span_exporter`` (``tests/otel_fixtures.py``), which attaches an
SDK tracer provider for the test only; the no-SDK behaviour is checked in a fresh interpreter,
where no provider was ever installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from otel_fixtures import spans_named

from arvo_ray.core import ArvoEvent, ContractViolation, ExecutionViolation
from arvo_ray.handler import ArvoDomain, HandlerInput

from .fixtures import SUCCESS, SYS_ERROR, greet, hello_event, make_handler, raising

SPAN_NAME = "Handler<#/test/ArvoEventHandler>"


def handler_span(exporter: InMemorySpanExporter, name: str = SPAN_NAME) -> ReadableSpan:
    (span,) = spans_named(exporter, name)
    return span


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def traceparent_of(span: ReadableSpan) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-01"


def log_events(span: ReadableSpan, severity: str) -> list[str]:
    return [
        str(event.attributes["log.message"])
        for event in span.events
        if event.name == "log" and event.attributes and event.attributes["log.severity"] == severity
    ]


class TestSpan:
    """Name, kind and attributes of the handler span."""

    async def test_name_kind_and_static_attributes(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """``Handler<uri>``, CONSUMER, and the handler's identity attributes."""
        await make_handler().execute(hello_event())
        span = handler_span(span_exporter)
        assert span.kind is SpanKind.CONSUMER
        attributes = attrs(span)
        assert attributes["arvo.span.kind"] == "handler.simple"
        assert attributes["openinference.span.kind"] == "CHAIN"
        assert attributes["arvo.handler.source"] == "com.hello.world"
        assert attributes["arvo.contract.uri"] == "#/test/ArvoEventHandler"
        assert attributes["arvo.handler.execution.type"] == "handler"
        assert attributes["arvo.handler.execution.status"] == "normal"
        assert span.status.status_code is StatusCode.OK

    async def test_consumable_attributes(self, span_exporter: InMemorySpanExporter) -> None:
        """``consumable.0.<attr>`` describes the consumed event (``N/A`` for nulls)."""
        event = hello_event()
        await make_handler().execute(event)
        attributes = attrs(handler_span(span_exporter))
        for key, value in event.otel_attributes.items():
            assert attributes[f"consumable.0.{key}"] == value
        assert attributes["consumable.0.cloudevents.event_id"] == event.id
        assert attributes["consumable.0.cloudevents.arvo.event_parentid"] == "N/A"

    async def test_emittable_attributes_per_emitted_event(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """``emittables.<i>.<attr>`` for every emitted event, domain copies included."""

        def impl(inp: HandlerInput) -> list[dict[str, Any]]:
            return [greet(inp), {**greet(inp), "domain": [None, "ext"]}]

        events = (await make_handler(impl).execute(hello_event())).events
        attributes = attrs(handler_span(span_exporter))
        assert len(events) == 3
        for index, event in enumerate(events):
            for key, value in event.otel_attributes.items():
                assert attributes[f"emittables.{index}.{key}"] == value
        assert attributes["emittables.2.cloudevents.arvo.event_domain"] == "ext"
        assert not any(key.startswith("emittables.3.") for key in attributes)

    async def test_custom_name_and_attributes(self, span_exporter: InMemorySpanExporter) -> None:
        """``span_name`` renames the span; custom attributes cannot change the handler identity."""
        handler = make_handler(
            span_name=lambda uri, event: f"Custom<{uri}>@{event.type}",
            span_attributes={
                "custom.attribute": "test-value",
                "openinference.span.kind": "TOOL",
                "arvo.handler.source": "com.spoofed.source",
            },
        )
        await handler.execute(hello_event())
        span = handler_span(span_exporter, "Custom<#/test/ArvoEventHandler>@com.hello.world")
        attributes = attrs(span)
        assert attributes["custom.attribute"] == "test-value"
        assert attributes["openinference.span.kind"] == "TOOL"
        assert attributes["arvo.handler.source"] == "com.hello.world"

    async def test_handler_input_carries_the_span(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """The implementation gets the live handler span and the headers events will carry."""
        seen: list[HandlerInput] = []

        def impl(inp: HandlerInput) -> dict[str, Any]:
            seen.append(inp)
            assert inp.span is not None
            inp.span.set_attribute("user.note", "from the implementation")
            return greet(inp)

        (emitted,) = (await make_handler(impl).execute(hello_event())).events
        span = handler_span(span_exporter)
        assert seen[0].span_headers == {"traceparent": traceparent_of(span), "tracestate": None}
        assert attrs(span)["user.note"] == "from the implementation"
        assert emitted.traceparent == traceparent_of(span)


class TestPropagation:
    """Entry (span parent) and exit (headers of emitted events)."""

    async def test_inherits_from_the_event_traceparent(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """``otel_inherit="event"`` (default): the event's traceparent is the parent, not the caller."""
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("upstream") as upstream:
            upstream_parent = traceparent_of(upstream)  # type: ignore[arg-type]
        event = hello_event(traceparent=upstream_parent)
        with tracer.start_as_current_span("caller"):
            await make_handler().execute(event)
        span = handler_span(span_exporter)
        (upstream_span,) = spans_named(span_exporter, "upstream")
        assert span.parent is not None
        assert span.parent.span_id == upstream_span.get_span_context().span_id
        assert span.context.trace_id == upstream_span.get_span_context().trace_id

    async def test_inherits_from_the_caller_context(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """``otel_inherit="context"``: the caller's active span is the parent."""
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("upstream") as upstream:
            event = hello_event(traceparent=traceparent_of(upstream))  # type: ignore[arg-type]
        with tracer.start_as_current_span("caller"):
            await make_handler().execute(event, otel_inherit="context")
        span = handler_span(span_exporter)
        (caller,) = spans_named(span_exporter, "caller")
        assert span.parent is not None
        assert span.parent.span_id == caller.get_span_context().span_id
        assert span.context.trace_id == caller.get_span_context().trace_id

    async def test_emitted_events_carry_the_handler_span(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """Every emitted event's traceparent names the handler span (not a factory span)."""

        def impl(inp: HandlerInput) -> list[dict[str, Any]]:
            return [greet(inp), {**greet(inp), "domain": ["ext"]}]

        events = (await make_handler(impl).execute(hello_event())).events
        expected = traceparent_of(handler_span(span_exporter))
        assert [e.traceparent for e in events] == [expected, expected]

    async def test_next_hop_is_a_child_of_the_handler_span(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """A downstream handler consuming the emitted event continues the same trace."""
        (emitted,) = (await make_handler().execute(hello_event())).events
        relay = ArvoEvent.from_dict(
            {
                **hello_event().to_dict(),
                "traceparent": emitted.traceparent,
                "id": "relay-1",
            }
        )
        await make_handler().execute(relay)
        first, second = spans_named(span_exporter, SPAN_NAME)
        assert second.parent is not None
        assert second.parent.span_id == first.get_span_context().span_id
        assert second.context.trace_id == first.context.trace_id

    async def test_tracestate_is_propagated(self, span_exporter: InMemorySpanExporter) -> None:
        """A ``tracestate`` on the consumed event travels on to the emitted events."""
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("upstream") as upstream:
            parent = traceparent_of(upstream)  # type: ignore[arg-type]
        event = hello_event(traceparent=parent, tracestate="vendor=abc")
        (emitted,) = (await make_handler().execute(event)).events
        assert emitted.tracestate == "vendor=abc"
        assert emitted.traceparent == traceparent_of(handler_span(span_exporter))


class TestFailures:
    """``sys`` errors and violations on the span."""

    async def test_system_error_marks_the_span(self, span_exporter: InMemorySpanExporter) -> None:
        """A thrown error: span ERROR, exception recorded, status attribute ``failure``."""
        (error,) = (await make_handler(raising(RuntimeError("boom"))).execute(hello_event())).events
        span = handler_span(span_exporter)
        assert span.status.status_code is StatusCode.ERROR
        assert "boom" in (span.status.description or "")
        attributes = attrs(span)
        assert attributes["arvo.handler.execution.status"] == "failure"
        assert attributes["emittables.0.cloudevents.event_type"] == SYS_ERROR
        assert attributes["emittables.0.cloudevents.event_id"] == error.id
        assert any(event.name == "exception" for event in span.events)
        assert error.traceparent == traceparent_of(span)

    @pytest.mark.parametrize(
        ("impl", "error_type"),
        [
            (raising(ExecutionViolation("stop here")), ExecutionViolation),
            (lambda inp: {"type": SUCCESS, "data": {"result": 1}}, ContractViolation),
        ],
        ids=["raised-by-user", "invalid-output"],
    )
    async def test_violation_marks_the_span_and_is_raised(
        self, span_exporter: InMemorySpanExporter, impl: Any, error_type: type[Exception]
    ) -> None:
        """A violation: raised, recorded on the span, span ERROR, no emittables."""
        with pytest.raises(error_type) as caught:
            await make_handler(impl).execute(hello_event())
        span = handler_span(span_exporter)
        assert span.status.status_code is StatusCode.ERROR
        assert str(caught.value) in (span.status.description or "")
        attributes = attrs(span)
        assert attributes["arvo.handler.execution.status"] == "failure"
        assert attributes["exception.message"] == str(caught.value)
        assert attributes["exception.type"] == caught.value.name  # type: ignore[attr-defined]
        assert any(event.name == "exception" for event in span.events)
        assert not any(key.startswith("emittables.") for key in attributes)

    async def test_wrong_event_type_is_recorded(self, span_exporter: InMemorySpanExporter) -> None:
        """A violation raised before the implementation runs still closes an ERROR span."""
        event = ArvoEvent.from_dict({**hello_event().to_dict(), "type": "com.other.thing"})
        with pytest.raises(Exception, match="Event type mismatch"):
            await make_handler().execute(event)
        assert handler_span(span_exporter).status.status_code is StatusCode.ERROR


class TestLogs:
    """Warnings are written to the span as ``log`` events."""

    async def test_unparseable_dataschema_warning(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """Falling back to the latest version is logged on the span."""
        event = ArvoEvent.from_dict({**hello_event().to_dict(), "dataschema": None})
        await make_handler().execute(event)
        (warning,) = log_events(handler_span(span_exporter), "WARNING")
        assert "latest version" in warning

    async def test_unparseable_subject_warning(self, span_exporter: InMemorySpanExporter) -> None:
        """FROM_CURRENT_SUBJECT on a plain subject resolves to null and logs a warning."""

        def impl(inp: HandlerInput) -> dict[str, Any]:
            return {**greet(inp), "domain": [ArvoDomain.FROM_CURRENT_SUBJECT]}

        (emitted,) = (await make_handler(impl).execute(hello_event())).events
        assert emitted.domain is None
        warnings = log_events(handler_span(span_exporter), "WARNING")
        assert any("unparseable subject" in message for message in warnings)


_NO_SDK_SCRIPT = textwrap.dedent(
    """
    import asyncio, json
    from pydantic import BaseModel
    from opentelemetry import trace
    from arvo_ray.core import create_arvo_contract, create_arvo_event_factory
    from arvo_ray.handler import create_arvo_event_handler

    class In(BaseModel):
        name: str

    class Out(BaseModel):
        result: str

    contract = create_arvo_contract(
        uri="#/test/nosdk", type="com.test.nosdk",
        versions={"1.0.0": {"accepts": In, "emits": {"evt.test.nosdk.success": Out}}},
    )
    seen = []

    def ok(inp):
        seen.append({"span": inp.span is None, "headers": inp.span_headers})
        return {"type": "evt.test.nosdk.success", "data": {"result": inp.event.data["name"]}}

    def fail(inp):
        raise RuntimeError("boom")

    event = create_arvo_event_factory(contract.version("1.0.0")).accepts(
        source="com.test.client", subject="s", data={"name": "x"})
    out = []
    for impl in (ok, fail):
        handler = create_arvo_event_handler(
            contract=contract, executionunits=1, handler={"1.0.0": impl})
        out += [e.to_dict() for e in asyncio.run(handler.execute(event)).events]
    print(json.dumps({
        "provider": type(trace.get_tracer_provider()).__name__,
        "input": [event.traceparent, event.tracestate],
        "events": [[e["type"], e["traceparent"], e["tracestate"]] for e in out],
        "seen": seen,
    }))
    """
)


def test_without_an_sdk_events_carry_null_trace_headers() -> None:
    """With no tracer provider ever installed, spans are skipped and headers are null."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    completed = subprocess.run(
        [sys.executable, "-c", _NO_SDK_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["provider"] == "ProxyTracerProvider"
    assert report["input"] == [None, None]
    assert report["events"] == [
        ["evt.test.nosdk.success", None, None],
        ["sys.com.test.nosdk.error", None, None],
    ]
    assert report["seen"] == [{"span": True, "headers": {"traceparent": None, "tracestate": None}}]


def test_the_fixture_leaves_no_provider_behind() -> None:
    """Outside ``span_exporter`` the process is back to no SDK (other folders rely on it)."""
    from arvo_ray.core import otel

    assert not otel.is_enabled()
