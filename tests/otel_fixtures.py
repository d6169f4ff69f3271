"""A reusable OpenTelemetry SDK fixture: finished spans land in an in-memory exporter.

Import the fixture into a folder's ``conftest.py`` (``from otel_fixtures import span_exporter``)
and request ``span_exporter`` in a test to run it with tracing on.

The global tracer provider can be *set* only once per process through the public API, and
once set every later test in the process would run with tracing on (other folders assert that
events carry no trace headers without an SDK). So one provider, one ``SimpleSpanProcessor`` and
one ``InMemorySpanExporter`` are created for the whole session, and the provider is *attached*
only for the duration of a test that asks for it, then the previous global is put back. That
swaps ``opentelemetry.trace._TRACER_PROVIDER`` directly, which is what OpenTelemetry's own test
utilities (``opentelemetry.test.globals_test``) do; the public set-once guard is left untouched,
so an application-style ``set_tracer_provider`` elsewhere still works.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["EXPORTER", "PROVIDER", "sdk_tracing", "span_exporter", "spans_named"]

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


@contextmanager
def sdk_tracing() -> Iterator[InMemorySpanExporter]:
    """Attach the session's SDK provider (with an emptied exporter) for the ``with`` block."""
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER = PROVIDER
    EXPORTER.clear()
    try:
        yield EXPORTER
    finally:
        trace._TRACER_PROVIDER = previous
        EXPORTER.clear()


@pytest.fixture
def span_exporter() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test; ``span_exporter.get_finished_spans()`` lists its spans."""
    with sdk_tracing() as exporter:
        yield exporter


def spans_named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    """The finished spans called ``name``, in finishing order."""
    return [span for span in exporter.get_finished_spans() if span.name == name]
