"""OpenTelemetry: constants, W3C headers, spans of event creation and factories (spec §1.2, §7)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from otel_fixtures import spans_named
from pydantic import BaseModel

from arvo_ray.core import (
    ArvoEventFactory,
    ViolationError,
    create_arvo_contract,
    create_arvo_event,
    create_arvo_event_factory,
    create_arvo_orchestrator_contract,
    create_arvo_orchestrator_event_factory,
    otel,
)

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01")


class Payload(BaseModel):
    value: int


def event_kwargs() -> dict[str, Any]:
    return {
        "source": "com.test.producer",
        "type": "com.test.event",
        "subject": "s",
        "data": {"a": 1},
    }


@pytest.fixture
def no_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with no tracer provider installed (the library default)."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)


class TestConstants:
    def test_otel_null(self) -> None:
        """Missing attribute values read 'N/A'."""
        assert otel.OTEL_NULL == "N/A"

    def test_arvo_span_kinds(self) -> None:
        """The arvo.span.kind values are the original's."""
        assert otel.ATTR_ARVO_SPAN_KIND == "arvo.span.kind"
        kinds = otel.ArvoExecutionSpanKind
        assert (kinds.EVENT_HANDLER, kinds.ORCHESTRATOR, kinds.RESUMABLE, kinds.INTERNAL) == (
            "handler.simple",
            "handler.orchestrator.statemachine",
            "handler.orchestrator.imperative",
            "internal",
        )

    def test_open_inference_span_kinds_equal_their_names(self) -> None:
        """Each OpenInference span kind's value is its own name."""
        assert otel.ATTR_OPENINFERENCE_SPAN_KIND == "openinference.span.kind"
        names = [
            "CHAIN",
            "RETRIEVER",
            "RERANKER",
            "LLM",
            "EMBEDDING",
            "TOOL",
            "GUARDRAIL",
            "EVALUATOR",
            "INTERNAL",
        ]
        assert [getattr(otel.OpenInferenceSpanKind, name) for name in names] == names

    def test_attributes_with_nulls(self) -> None:
        """None values become 'N/A'; others (0 included) stay."""
        assert otel.attributes_with_nulls({"a": None, "b": 0, "c": "x"}) == {
            "a": "N/A",
            "b": 0,
            "c": "x",
        }


class TestWithoutSdk:
    def test_is_enabled_is_false(self, no_sdk: None) -> None:
        """With no SDK provider, telemetry is off."""
        assert otel.is_enabled() is False

    def test_events_carry_no_trace_headers(self, no_sdk: None) -> None:
        """Without an SDK, traceparent and tracestate are None."""
        event = create_arvo_event(**event_kwargs())
        assert event.traceparent is None
        assert event.tracestate is None

    def test_current_headers_are_none_without_a_span(self, no_sdk: None) -> None:
        """No valid span, no headers."""
        assert otel.current_otel_headers() == {"traceparent": None, "tracestate": None}

    def test_log_to_span_falls_back_to_the_logger(
        self, no_sdk: None, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Without a recording span the line goes to the 'arvo_ray' logger."""
        with caplog.at_level(logging.INFO, logger="arvo_ray"):
            otel.log_to_span("INFO", "hello", key="v")
        (record,) = caplog.records
        assert (record.levelname, record.getMessage()) == ("INFO", "hello")
        assert record.__dict__["arvo"] == {"key": "v"}

    def test_exception_to_span_falls_back_to_the_logger(
        self, no_sdk: None, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Without a recording span the exception is logged as an error."""
        with caplog.at_level(logging.ERROR, logger="arvo_ray"):
            otel.exception_to_span(ValueError("bad"))
        (record,) = caplog.records
        assert record.levelname == "ERROR"
        assert record.getMessage() == "bad"

    def test_context_from_headers_without_traceparent(self) -> None:
        """No traceparent means 'use the current context' (None)."""
        assert otel.context_from_headers(None) is None
        assert otel.context_from_headers("") is None


class TestCreateArvoEventSpans:
    def test_event_traceparent_names_the_create_span(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """create_arvo_event opens createArvoEvent<type>; the event points at that span, child of the caller's."""
        tracer = otel.get_tracer()
        with tracer.start_as_current_span("caller") as caller:
            event = create_arvo_event(**event_kwargs())
        (span,) = spans_named(span_exporter, "createArvoEvent<com.test.event>")
        match = TRACEPARENT.fullmatch(event.traceparent or "")
        assert match is not None
        assert (
            int(match.group(1), 16) == span.context.trace_id == caller.get_span_context().trace_id
        )
        assert int(match.group(2), 16) == span.context.span_id
        assert span.parent is not None
        assert span.parent.span_id == caller.get_span_context().span_id
        assert event.tracestate is None

    def test_create_span_carries_the_event_attributes(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """The span gets arvo.span.kind=internal plus the event's otel attributes."""
        event = create_arvo_event(**event_kwargs())
        (span,) = spans_named(span_exporter, "createArvoEvent<com.test.event>")
        assert dict(span.attributes or {}) == {
            "arvo.span.kind": "internal",
            **event.otel_attributes,
        }

    def test_a_new_trace_is_started_without_a_caller_span(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """With an SDK but no active span, the event still gets a traceparent."""
        event = create_arvo_event(**event_kwargs())
        assert TRACEPARENT.fullmatch(event.traceparent or "")

    def test_explicit_headers_win(self, span_exporter: InMemorySpanExporter) -> None:
        """A given traceparent/tracestate is kept over the span's."""
        event = create_arvo_event(**event_kwargs(), traceparent="tp", tracestate="ts")
        assert (event.traceparent, event.tracestate) == ("tp", "ts")

    def test_disable_telemetry_skips_the_span_and_headers(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """disable_telemetry=True opens no span and leaves the headers None."""
        event = create_arvo_event(**event_kwargs(), disable_telemetry=True)
        assert event.traceparent is None
        assert span_exporter.get_finished_spans() == ()

    def test_content_type_warning_is_logged_on_the_span(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """Inside a span, the datacontenttype warning is a 'log' span event."""
        with otel.get_tracer().start_as_current_span("caller"):
            create_arvo_event(
                **event_kwargs(), datacontenttype="application/json", disable_telemetry=True
            )
        (caller,) = spans_named(span_exporter, "caller")
        (log,) = [e for e in caller.events if e.name == "log"]
        assert log.attributes is not None
        assert log.attributes["log.severity"] == "WARNING"
        assert str(log.attributes["log.message"]).startswith(
            "Warning! The provided datacontenttype(=application/json)"
        )


class TestFactorySpans:
    def factory(self) -> ArvoEventFactory:
        contract = create_arvo_contract(
            uri="#/c",
            type="com.test.service",
            versions={"1.0.0": {"accepts": Payload, "emits": {"evt.test.done": Payload}}},
        )
        return create_arvo_event_factory(contract.version("1.0.0"))

    @pytest.mark.parametrize(
        ("method", "span_name"),
        [
            ("accepts", "EventFactory.accepts<com.test.service>"),
            ("emits", "EventFactory.emits<evt.test.done>"),
            ("system_error", "EventFactory.systemError<sys.com.test.service.error>"),
        ],
    )
    def test_each_method_runs_in_its_span(
        self, span_exporter: InMemorySpanExporter, method: str, span_name: str
    ) -> None:
        """One internal span per call, named as the original, pointing the event at it."""
        factory = self.factory()
        if method == "accepts":
            event = factory.accepts(source="com.test.caller", data={"value": 1})
        elif method == "emits":
            event = factory.emits(type="evt.test.done", source="com.test.caller", data={"value": 1})
        else:
            event = factory.system_error(source="com.test.caller", error=RuntimeError("x"))
        spans = span_exporter.get_finished_spans()
        assert [span.name for span in spans] == [span_name]
        (span,) = spans
        assert span.kind is SpanKind.INTERNAL
        attributes = dict(span.attributes or {})
        assert attributes["arvo.span.kind"] == "internal"
        assert attributes["openinference.span.kind"] == "INTERNAL"
        assert attributes["arvo.contract.uri"] == "#/c"
        assert attributes["arvo.contract.version"] == "1.0.0"
        assert attributes["cloudevents.event_id"] == event.id
        match = TRACEPARENT.fullmatch(event.traceparent or "")
        assert match is not None
        assert int(match.group(2), 16) == span.context.span_id

    def test_orchestrator_factory_span_names(self, span_exporter: InMemorySpanExporter) -> None:
        """init<type>, complete (no suffix) and inherited methods use the OrchestratorEventFactory prefix."""

        class Init(BaseModel):
            foo: str

        contract = create_arvo_orchestrator_contract(
            uri="#/o", name="test.orc", versions={"1.0.0": {"init": Init, "complete": Payload}}
        )
        factory = create_arvo_orchestrator_event_factory(contract.version("1.0.0"))
        factory.init(source="com.test.caller", data={"foo": "x", "parentSubject$$": None})
        factory.complete(source="com.test.caller", data={"value": 1})
        factory.system_error(source="com.test.caller", error=RuntimeError("x"))
        assert [span.name for span in span_exporter.get_finished_spans()] == [
            "OrchestratorEventFactory.init<arvo.orc.test.orc>",
            "OrchestratorEventFactory.complete",
            "OrchestratorEventFactory.systemError<sys.arvo.orc.test.orc.error>",
        ]


class TestHeaders:
    def test_headers_from_a_span_hard_code_the_sampled_flag(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """traceparent is 00-<trace>-<span>-01; an empty trace state gives None."""
        with otel.get_tracer().start_as_current_span("s") as span:
            headers = otel.otel_headers_from_span(span)
            context = span.get_span_context()
            assert headers == {
                "traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-01",
                "tracestate": None,
            }
            # The propagator writes the span's real flags (the SDK may add the 'random' bit).
            current = otel.current_otel_headers()
            assert (current["traceparent"] or "")[:-2] == (headers["traceparent"] or "")[:-2]
            assert current["tracestate"] is None

    def test_headers_of_an_invalid_span_are_none(self) -> None:
        """A non-recording, invalid span has no headers."""
        assert otel.otel_headers_from_span(trace.INVALID_SPAN) == {
            "traceparent": None,
            "tracestate": None,
        }

    def test_context_from_headers_round_trips_the_trace(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """A span started in the extracted context continues the trace of the headers."""
        parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        context = otel.context_from_headers(parent, "k=v")
        with otel.get_tracer().start_as_current_span("child", context=context) as span:
            assert span.get_span_context().trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
            headers = otel.otel_headers_from_span(span)
        assert headers["tracestate"] == "k=v"
        (child,) = spans_named(span_exporter, "child")
        assert child.parent is not None
        assert child.parent.span_id == 0x00F067AA0BA902B7

    def test_log_to_span_adds_a_log_event(self, span_exporter: InMemorySpanExporter) -> None:
        """On a recording span, a 'log' event carries severity, message and string attributes."""
        with otel.get_tracer().start_as_current_span("s"):
            otel.log_to_span("ERROR", "went wrong", code=5)
        (span,) = spans_named(span_exporter, "s")
        (event,) = span.events
        assert event.name == "log"
        assert dict(event.attributes or {}) == {
            "log.severity": "ERROR",
            "log.message": "went wrong",
            "code": "5",
        }

    def test_exception_to_span_records_type_and_message(
        self, span_exporter: InMemorySpanExporter
    ) -> None:
        """exception.type uses a violation's name; the exception is recorded as an event."""
        with otel.get_tracer().start_as_current_span("s"):
            otel.exception_to_span(ViolationError("RATE_LIMIT", "slow down"))
        (span,) = spans_named(span_exporter, "s")
        attributes = dict(span.attributes or {})
        assert attributes["exception.type"] == "ViolationError<RATE_LIMIT>"
        assert attributes["exception.message"] == "ViolationError<RATE_LIMIT> slow down"
        assert [event.name for event in span.events] == ["exception"]

    def test_is_enabled_with_an_sdk(self, span_exporter: InMemorySpanExporter) -> None:
        """With the SDK provider installed, telemetry is on."""
        assert otel.is_enabled() is True
