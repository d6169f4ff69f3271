"""The public surface of ``arvo_ray.telemetry`` is pinned, and importing it stays light."""

from __future__ import annotations

import arvo_ray.telemetry as telemetry

from ._isolated import run_isolated

EXPECTED = [
    "EventFieldsFilter",
    "FileSpanExporter",
    "JsonFormatter",
    "METRIC_NAMES",
    "TelemetryConfig",
    "TextFormatter",
    "collect_metrics",
    "configure_logging",
    "continue_trace",
    "flush_telemetry",
    "install_telemetry",
    "installed_config",
    "log_event_failure",
    "merge_metrics",
    "read_span_file",
    "recent_spans",
    "routing_span",
    "shutdown_telemetry",
    "summarize_metrics",
]


def test_all_is_the_pinned_sorted_list() -> None:
    """__all__ is sorted and equals the pinned list."""
    assert telemetry.__all__ == sorted(telemetry.__all__, key=str) == EXPECTED


def test_every_exported_name_resolves() -> None:
    """Each name of __all__ exists (the SDK-backed ones load on first access)."""
    assert [name for name in EXPECTED if not hasattr(telemetry, name)] == []
    assert set(EXPECTED) <= set(dir(telemetry))


def test_the_metric_names_are_the_documented_ones() -> None:
    """The eight instruments of the issue, by name."""
    assert telemetry.METRIC_NAMES == (
        "arvo.events.handled",
        "arvo.events.errors",
        "arvo.violations",
        "arvo.handler.duration",
        "arvo.workflows.started",
        "arvo.workflows.completed",
        "arvo.workflows.failed",
        "arvo.workflow_actors.active",
    )


def test_import_loads_neither_ray_nor_the_sdk() -> None:
    """``import arvo_ray.telemetry`` leaves ray and the OpenTelemetry SDK unloaded."""
    run = run_isolated(
        """
        import sys
        import arvo_ray.telemetry
        emit({
            "ray": "ray" in sys.modules,
            "sdk": sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")),
        })
        """
    )
    assert run.result == {"ray": False, "sdk": []}
