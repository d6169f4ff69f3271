"""``install_telemetry`` in a fresh interpreter: idempotent, re-routable, flushable, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from ._isolated import run_isolated


def test_install_is_idempotent_and_sets_sdk_providers() -> None:
    """The first call installs; equal configs (even distinct objects) change nothing."""
    run = run_isolated(
        """
        from opentelemetry import metrics, trace
        from arvo_ray.core import otel
        from arvo_ray.core.otel import metrics_enabled
        from arvo_ray.telemetry import TelemetryConfig, install_telemetry, installed_config

        before = [otel.is_enabled(), metrics_enabled()]
        config = TelemetryConfig(service_name="svc")
        calls = [install_telemetry(config), install_telemetry(config),
                 install_telemetry(TelemetryConfig(service_name="svc"))]
        provider = trace.get_tracer_provider()
        emit({
            "before": before,
            "calls": calls,
            "after": [otel.is_enabled(), metrics_enabled()],
            "installed": installed_config() == config,
            "tracer_provider": type(provider).__module__ + "." + type(provider).__name__,
            "meter_provider": type(metrics.get_meter_provider()).__name__,
            "processors": len(provider._active_span_processor._span_processors),
            "service": provider.resource.attributes["service.name"],
            "pid_attr": provider.resource.attributes["process.pid"],
        })
        """
    )
    result = run.result
    assert result["before"] == [False, False]
    assert result["calls"] == [True, False, False]
    assert result["after"] == [True, True]
    assert result["installed"] is True
    assert result["tracer_provider"] == "opentelemetry.sdk.trace.TracerProvider"
    assert result["meter_provider"] == "MeterProvider"
    assert result["processors"] == 1  # one routing processor, not one per call
    assert result["service"] == "svc"
    assert isinstance(result["pid_attr"], int)


def test_another_config_reroutes_spans_and_shutdown_detaches(tmp_path: Path) -> None:
    """A second config sends spans to its own file; after shutdown spans go nowhere."""
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run = run_isolated(
        f"""
        from opentelemetry import trace
        from arvo_ray.telemetry import (
            TelemetryConfig, flush_telemetry, install_telemetry, installed_config,
            shutdown_telemetry,
        )

        tracer = trace.get_tracer("t")
        install_telemetry(TelemetryConfig(span_file={str(first)!r}))
        with tracer.start_as_current_span("one"):
            pass
        changed = install_telemetry(TelemetryConfig(span_file={str(second)!r}))
        with tracer.start_as_current_span("two"):
            pass
        flushed = flush_telemetry()
        shut = shutdown_telemetry()
        after_shutdown = installed_config()
        with tracer.start_as_current_span("three"):
            pass
        again = install_telemetry(TelemetryConfig(span_file={str(second)!r}))
        with tracer.start_as_current_span("four"):
            pass
        emit({{"changed": changed, "flushed": flushed, "shut": shut,
               "after_shutdown": after_shutdown, "again": again}})
        """
    )
    assert run.result == {
        "changed": True,
        "flushed": True,
        "shut": True,
        "after_shutdown": None,
        "again": True,
    }
    names = lambda path: [json.loads(line)["name"] for line in path.read_text().splitlines()]  # noqa: E731
    assert names(first) == ["one"]
    assert names(second) == ["two", "four"]


def test_console_prints_finished_spans_and_metrics() -> None:
    """``console=True`` prints spans and metrics to stdout (flushed by flush_telemetry)."""
    run = run_isolated(
        """
        from opentelemetry import trace
        from arvo_ray.core.otel import record_execution
        from arvo_ray.telemetry import (
            TelemetryConfig, collect_metrics, flush_telemetry, install_telemetry,
        )

        install_telemetry(TelemetryConfig(console=True))
        with trace.get_tracer("t").start_as_current_span("printed-span"):
            record_execution("handler", "com.printed", 0.01, "ok")
        flushed = flush_telemetry()
        # The exporting reader does not take the in-memory readers' data.
        emit([flushed, collect_metrics()["arvo.events.handled"]["points"][0]["value"]])
        """
    )
    assert run.result == [True, 1]
    assert '"name": "printed-span"' in run.stdout
    assert '"name": "arvo.events.handled"' in run.stdout
    assert "com.printed" in run.stdout


def test_missing_otlp_exporter_is_a_clear_error_and_changes_nothing() -> None:
    """Asking for OTLP without its package names the package to install; nothing is set up."""
    run = run_isolated(
        """
        import sys
        # Make the exporter modules unimportable even if the package happens to be installed.
        for name in ("opentelemetry.exporter.otlp.proto.http.trace_exporter",
                     "opentelemetry.exporter.otlp.proto.http.metric_exporter",
                     "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
                     "opentelemetry.exporter.otlp.proto.grpc.metric_exporter"):
            sys.modules[name] = None
        from arvo_ray.core import otel
        from arvo_ray.telemetry import TelemetryConfig, install_telemetry, installed_config

        messages = []
        for protocol in ("http/protobuf", "grpc"):
            try:
                install_telemetry(TelemetryConfig(otlp_endpoint="http://localhost:4318",
                                                  otlp_protocol=protocol))
            except ImportError as error:
                messages.append(str(error))
        emit({"messages": messages, "installed": installed_config(),
              "tracing": otel.is_enabled()})
        """
    )
    http, grpc = run.result["messages"]
    assert "pip install opentelemetry-exporter-otlp-proto-http" in http
    assert "pip install opentelemetry-exporter-otlp-proto-grpc" in grpc
    assert "otlp_endpoint='http://localhost:4318'" in http
    assert run.result["installed"] is None
    assert run.result["tracing"] is False


def test_an_application_tracer_provider_is_kept() -> None:
    """If the application installed an SDK provider first, arvo_ray adds to it."""
    run = run_isolated(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from arvo_ray.telemetry import TelemetryConfig, install_telemetry

        app = TracerProvider()
        memory = InMemorySpanExporter()
        app.add_span_processor(SimpleSpanProcessor(memory))
        trace.set_tracer_provider(app)
        install_telemetry(TelemetryConfig(metrics=False))
        with trace.get_tracer("t").start_as_current_span("s"):
            pass
        emit({"same": trace.get_tracer_provider() is app,
              "spans": [s.name for s in memory.get_finished_spans()],
              "processors": len(app._active_span_processor._span_processors)})
        """
    )
    assert run.result == {"same": True, "spans": ["s"], "processors": 2}


def test_recent_spans_keeps_the_last_n_finished_spans_in_memory() -> None:
    """recent_spans=N keeps a bounded window of this process's spans, oldest first."""
    run = run_isolated(
        """
        from opentelemetry import trace
        from arvo_ray.telemetry import TelemetryConfig, install_telemetry, recent_spans

        before = recent_spans()
        install_telemetry(TelemetryConfig(recent_spans=3))
        tracer = trace.get_tracer("t")
        for name in "abcde":
            with tracer.start_as_current_span(name):
                with tracer.start_as_current_span(name + "-child"):
                    pass
        kept = recent_spans()
        install_telemetry(TelemetryConfig(recent_spans=0))
        emit({"before": before, "kept": kept, "off": recent_spans()})
        """
    )
    result = run.result
    assert result["before"] == []
    assert [span["name"] for span in result["kept"]] == ["d", "e-child", "e"]
    child, parent = result["kept"][1:]
    assert child["parent_span_id"] == parent["span_id"]
    assert child["trace_id"] == parent["trace_id"]
    assert result["off"] == []
