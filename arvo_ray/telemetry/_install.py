"""Install the OpenTelemetry SDK in this process from a :class:`TelemetryConfig`, idempotently.

``install_telemetry(config)`` may be called in every process (the driver, the broker actor,
each workflow actor, each handler task) as often as convenient: a repeated call with an equal
config returns at once. OpenTelemetry's global providers can be set only once per process, so
the first call sets them and later calls with another config *re-route* instead:

- spans go through one routing span processor whose exporters are swapped per config (a
  reused Ray worker serving a second runtime writes to that runtime's span file);
- metrics go to an always-present pair of in-memory readers (cumulative, for
  :func:`~arvo_ray.telemetry.collect_metrics`, and delta, for shipping increments between
  processes) and, if the first config exports metrics (console/OTLP), a periodic reader whose
  exporters are swapped per config;
- the ``service.name`` resource, the metric export interval and whether metrics are exported
  at all stay those of the first call.

If the application already installed an SDK tracer provider, its provider is kept and the
routing processor is added to it; a meter provider installed by someone else is kept as is
(arvo_ray then records into it, and the in-memory readers are unavailable).

The SDK is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from arvo_ray.telemetry._config import TelemetryConfig
from arvo_ray.telemetry._logging import configure_logging

__all__ = [
    "flush_telemetry",
    "install_telemetry",
    "installed_config",
    "recent_spans",
    "shutdown_telemetry",
]

_logger = logging.getLogger("arvo_ray.telemetry")


@dataclass
class _State:
    config: TelemetryConfig | None = None
    tracer_provider: Any = None
    span_router: Any = None
    meter_provider: Any = None
    cumulative_reader: Any = None
    delta_reader: Any = None
    periodic_reader: Any = None
    metric_router: Any = None
    owned_meter_provider: bool = False
    recent: Any = None
    warned: set[str] = field(default_factory=set)


_state = _State()
_lock = threading.RLock()


def recent_spans() -> list[dict[str, Any]]:
    """This process's last finished spans, oldest first, as the JSON objects of a span file.

    Kept only with ``TelemetryConfig(recent_spans=N)``; empty otherwise.
    """
    recent = _state.recent
    return recent.spans() if recent is not None else []


def installed_config() -> TelemetryConfig | None:
    """The config installed in this process (``None`` before install or after shutdown)."""
    return _state.config


def install_telemetry(config: TelemetryConfig) -> bool:
    """Install tracing, metrics and logging for this process as ``config`` says.

    Safe to call in every process and on every task: an equal config already installed is a
    no-op (a field comparison). See the module docstring for what a different config changes.

    Args:
        config: What to install.

    Returns:
        ``True`` if something was (re)configured, ``False`` if ``config`` was already installed.

    Raises:
        TypeError: ``config`` is not a :class:`TelemetryConfig`.
        ImportError: ``otlp_endpoint`` is set but the OTLP exporter package is not installed
            (nothing is changed then).
    """
    current = _state.config
    if current is config or (current is not None and current == config):
        return False
    if not isinstance(config, TelemetryConfig):
        raise TypeError(f"install_telemetry() takes a TelemetryConfig, got {type(config).__name__}")
    with _lock:
        if _state.config == config:
            return False
        # Build every exporter first: a missing package fails before anything changes.
        recent = _recent_exporter(config)
        span_processors = _span_processors(config, recent) if config.tracing else []
        metric_exporters = _metric_exporters(config) if config.metrics else []
        if config.tracing:
            _ensure_tracer_provider(config)
        _route_spans(span_processors)
        _state.recent = recent
        if config.metrics:
            _ensure_meter_provider(config)
        _route_metrics(metric_exporters)
        configure_logging(config.log_format, level=config.log_level)
        _state.config = config
        return True


def flush_telemetry(timeout_millis: int = 10_000) -> bool:
    """Export everything buffered (spans, periodic metrics) now; ``True`` if all made it.

    Call before killing an actor or ending a process that may not run its exit hooks.
    """
    with _lock:
        done = True
        if _state.span_router is not None:
            done = _state.span_router.force_flush(timeout_millis) and done
        if _state.periodic_reader is not None:
            # Only the periodic reader: flushing the in-memory readers would collect (and, for
            # the delta reader, drop) data that collect_metrics() has not read yet.
            done = bool(_state.periodic_reader.force_flush(timeout_millis)) and done
        return done


def shutdown_telemetry(timeout_millis: int = 10_000) -> bool:
    """Flush, then detach this process's exporters and logging handler.

    The global providers stay (OpenTelemetry allows setting them only once), recording
    nothing anywhere until :func:`install_telemetry` is called again, which re-attaches.
    Metric values in the in-memory readers are kept.

    Returns:
        Whether the final flush completed in time.
    """
    with _lock:
        done = flush_telemetry(timeout_millis)
        _route_spans([])
        _route_metrics([])
        if _state.config is not None and _state.config.log_format is not None:
            configure_logging(None)
        _state.config = None
        return done


# -- tracing ---------------------------------------------------------------------------------


def _resource(config: TelemetryConfig) -> Any:
    from opentelemetry.sdk.resources import Resource

    from arvo_ray._version import __version__

    return Resource.create(
        {
            "service.name": config.service_name,
            "process.pid": os.getpid(),
            "arvo_ray.version": __version__,
        }
    )


def _ensure_tracer_provider(config: TelemetryConfig) -> None:
    if _state.span_router is not None:
        return
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        provider = TracerProvider(resource=_resource(config))
        trace.set_tracer_provider(provider)
    elif not isinstance(provider, TracerProvider):
        _warn_once(
            "tracer",
            "A non-SDK tracer provider (%s) is already installed; arvo_ray cannot export spans",
            type(provider).__name__,
        )
        return
    router = _span_router_class()()
    provider.add_span_processor(router)
    _state.tracer_provider = provider
    _state.span_router = router


def _recent_exporter(config: TelemetryConfig) -> Any:
    if not (config.tracing and config.recent_spans):
        return None
    from arvo_ray.telemetry._span_file import RecentSpanExporter

    return RecentSpanExporter(config.recent_spans)


def _span_processors(config: TelemetryConfig, recent: Any) -> list[Any]:
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    processors: list[Any] = []
    if recent is not None:
        processors.append(SimpleSpanProcessor(recent))
    if config.span_file is not None:
        from arvo_ray.telemetry._span_file import FileSpanExporter

        # Synchronous: the line is on disk when the span ends, so nothing is lost when Ray
        # kills a worker, and a test can read the file right after the run.
        processors.append(SimpleSpanProcessor(FileSpanExporter(config.span_file)))
    if config.console:
        processors.append(BatchSpanProcessor(ConsoleSpanExporter()))
    if config.otlp_endpoint is not None:
        processors.append(BatchSpanProcessor(_otlp("traces", config)))
    return processors


def _route_spans(processors: list[Any]) -> None:
    router = _state.span_router
    if router is None:
        for processor in processors:
            processor.shutdown()
        return
    router.set_processors(processors)


def _span_router_class() -> type:
    from opentelemetry.sdk.trace import SpanProcessor

    class _RoutingSpanProcessor(SpanProcessor):
        """Forwards to the processors of the installed config (swapped atomically)."""

        def __init__(self) -> None:
            self._processors: tuple[Any, ...] = ()

        def set_processors(self, processors: list[Any]) -> None:
            previous, self._processors = self._processors, tuple(processors)
            for processor in previous:
                processor.force_flush()
                processor.shutdown()

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            for processor in self._processors:
                processor.on_start(span, parent_context=parent_context)

        def _on_ending(self, span: Any) -> None:
            for processor in self._processors:
                processor._on_ending(span)

        def on_end(self, span: Any) -> None:
            for processor in self._processors:
                processor.on_end(span)

        def shutdown(self) -> None:
            self.set_processors([])

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return all([p.force_flush(timeout_millis) for p in self._processors])

    return _RoutingSpanProcessor


# -- metrics ---------------------------------------------------------------------------------


def _ensure_meter_provider(config: TelemetryConfig) -> None:
    if _state.meter_provider is not None:
        return
    from opentelemetry import metrics
    from opentelemetry.metrics import _internal as metrics_api
    from opentelemetry.sdk.metrics import (
        Counter,
        Histogram,
        MeterProvider,
        ObservableCounter,
        ObservableGauge,
        ObservableUpDownCounter,
        UpDownCounter,
    )
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        InMemoryMetricReader,
        PeriodicExportingMetricReader,
    )

    existing = metrics.get_meter_provider()
    if not isinstance(existing, metrics_api._ProxyMeterProvider):
        _warn_once(
            "meter",
            "A meter provider (%s) is already installed; arvo_ray records into it, and "
            "collect_metrics() has no in-memory reader to read",
            type(existing).__name__,
        )
        _state.meter_provider = existing
        return
    delta: dict[type, AggregationTemporality] = {
        kind: AggregationTemporality.DELTA
        for kind in (
            Counter,
            UpDownCounter,
            Histogram,
            ObservableCounter,
            ObservableUpDownCounter,
            ObservableGauge,
        )
    }
    cumulative_reader = InMemoryMetricReader()
    delta_reader = InMemoryMetricReader(preferred_temporality=delta)
    readers: list[Any] = [cumulative_reader, delta_reader]
    router = periodic_reader = None
    if config.console or config.otlp_endpoint is not None:
        # Every reader aggregates every measurement, so the exporting one exists only when
        # the first config exports metrics somewhere.
        router = _metric_router_class()()
        periodic_reader = PeriodicExportingMetricReader(
            router, export_interval_millis=config.metric_export_interval * 1000
        )
        readers.append(periodic_reader)
    provider = MeterProvider(resource=_resource(config), metric_readers=readers)
    metrics.set_meter_provider(provider)
    _state.meter_provider = provider
    _state.owned_meter_provider = True
    _state.cumulative_reader = cumulative_reader
    _state.delta_reader = delta_reader
    _state.periodic_reader = periodic_reader
    _state.metric_router = router


def _metric_exporters(config: TelemetryConfig) -> list[Any]:
    exporters: list[Any] = []
    if config.console:
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        exporters.append(ConsoleMetricExporter())
    if config.otlp_endpoint is not None:
        exporters.append(_otlp("metrics", config))
    return exporters


def _route_metrics(exporters: list[Any]) -> None:
    router = _state.metric_router
    if router is None:
        if exporters and _state.meter_provider is not None:
            _warn_once(
                "metric-exporters",
                "Metric exporters (console/OTLP) are chosen by the first install_telemetry() "
                "of a process, which exported metrics nowhere; these are ignored",
            )
        for exporter in exporters:
            exporter.shutdown()
        return
    if router.exporters and _state.periodic_reader is not None:
        # The outgoing exporters get what accumulated so far before they are detached.
        _state.periodic_reader.force_flush()
    router.set_exporters(exporters)


def _metric_router_class() -> type:
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    class _RoutingMetricExporter(MetricExporter):
        """Forwards periodic exports to the exporters of the installed config."""

        def __init__(self) -> None:
            super().__init__()
            self.exporters: tuple[Any, ...] = ()

        def set_exporters(self, exporters: list[Any]) -> None:
            previous, self.exporters = self.exporters, tuple(exporters)
            for exporter in previous:
                exporter.shutdown()

        def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> Any:
            result = MetricExportResult.SUCCESS
            for exporter in self.exporters:
                try:  # one failing exporter must not keep the others from their data
                    outcome = exporter.export(metrics_data, timeout_millis=timeout_millis)
                except Exception:
                    _logger.exception("Metric exporter %r failed", exporter)
                    outcome = MetricExportResult.FAILURE
                if outcome is not MetricExportResult.SUCCESS:
                    result = MetricExportResult.FAILURE
            return result

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return all([e.force_flush(timeout_millis=timeout_millis) for e in self.exporters])

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            self.set_exporters([])

    return _RoutingMetricExporter


# -- OTLP ------------------------------------------------------------------------------------

_OTLP_MODULES = {
    ("http/protobuf", "traces"): (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "OTLPSpanExporter",
    ),
    ("http/protobuf", "metrics"): (
        "opentelemetry.exporter.otlp.proto.http.metric_exporter",
        "OTLPMetricExporter",
    ),
    ("grpc", "traces"): (
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
        "OTLPSpanExporter",
    ),
    ("grpc", "metrics"): (
        "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
        "OTLPMetricExporter",
    ),
}
_OTLP_PACKAGES = {
    "http/protobuf": "opentelemetry-exporter-otlp-proto-http",
    "grpc": "opentelemetry-exporter-otlp-proto-grpc",
}


def _otlp(signal: str, config: TelemetryConfig) -> Any:
    """An OTLP exporter for ``signal`` ("traces" | "metrics"), or a clear ImportError."""
    import importlib

    module_name, class_name = _OTLP_MODULES[(config.otlp_protocol, signal)]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        package = _OTLP_PACKAGES[config.otlp_protocol]
        raise ImportError(
            f"TelemetryConfig(otlp_endpoint={config.otlp_endpoint!r}, "
            f"otlp_protocol={config.otlp_protocol!r}) needs the OTLP exporter, which is not "
            f"installed (it is not an arvo_ray dependency): pip install {package}. "
            "Or drop otlp_endpoint and use console=True or span_file=... instead."
        ) from exc
    endpoint = str(config.otlp_endpoint)
    if config.otlp_protocol == "http/protobuf" and urlparse(endpoint).path in ("", "/"):
        # The HTTP exporters take the full URL of their signal; a bare collector address
        # gets the standard path appended (as OTEL_EXPORTER_OTLP_ENDPOINT does).
        endpoint = endpoint.rstrip("/") + f"/v1/{signal}"
    return getattr(module, class_name)(endpoint=endpoint)


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key not in _state.warned:
        _state.warned.add(key)
        _logger.warning(message, *args)


def _readers() -> tuple[Any, Any]:
    """The (cumulative, delta) in-memory metric readers, ``None`` before metrics install."""
    return _state.cumulative_reader, _state.delta_reader
