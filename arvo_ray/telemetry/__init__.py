"""Observability for arvo_ray: install exporters, read metrics, structured logs, routing spans.

What is always there (in the pure core, OpenTelemetry API only): every handler and workflow
``execute`` opens a span, records the ``arvo.*`` metrics (:mod:`arvo_ray.core.otel`) and
tags its log lines with the event's id, type and subject. Without an SDK all of it is a cheap
no-op. This package is the SDK side:

- :class:`TelemetryConfig` + :func:`install_telemetry` (idempotent, per process) set up
  tracing (console, OTLP, a shared JSON-lines span file), metrics (in-memory readers plus
  console/OTLP) and logging (``"json"``/``"text"``); :func:`flush_telemetry` and
  :func:`shutdown_telemetry` flush and detach; :func:`recent_spans` reads the last spans kept
  in this process's memory.
- :func:`collect_metrics`, :func:`merge_metrics`, :func:`summarize_metrics`: the figures as
  plain dicts, per process and added up.
- :func:`routing_span`, :func:`continue_trace`: spans for the runtime's own hops.

Nothing here imports Ray, and the OpenTelemetry SDK is imported only when used
(:func:`install_telemetry`, :class:`FileSpanExporter`, :func:`read_span_file`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arvo_ray import _lazy
from arvo_ray.core.otel import METRIC_NAMES, log_event_failure
from arvo_ray.telemetry._collect import collect_metrics, merge_metrics, summarize_metrics
from arvo_ray.telemetry._config import TelemetryConfig
from arvo_ray.telemetry._install import (
    flush_telemetry,
    install_telemetry,
    installed_config,
    recent_spans,
    shutdown_telemetry,
)
from arvo_ray.telemetry._logging import (
    EventFieldsFilter,
    JsonFormatter,
    TextFormatter,
    configure_logging,
)
from arvo_ray.telemetry._spans import continue_trace, routing_span

if TYPE_CHECKING:  # pragma: no cover
    from arvo_ray.telemetry._span_file import FileSpanExporter, read_span_file

__all__ = [
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

# Names whose module imports the OpenTelemetry SDK: loaded on first access.
__getattr__, __dir__ = _lazy.lazy_exports(
    __name__, {"arvo_ray.telemetry._span_file": ["FileSpanExporter", "read_span_file"]}
)
_lazy.set_public_module(__name__, [globals()[name] for name in __all__ if name in globals()])
