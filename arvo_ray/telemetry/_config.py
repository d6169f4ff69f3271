"""``TelemetryConfig``: what :func:`~arvo_ray.telemetry.install_telemetry` sets up, as a value.

A frozen, picklable dataclass, so the Ray runtime can ship one config to every worker process
and each installs the same exporters. Nothing here imports the OpenTelemetry SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LogFormat", "OtlpProtocol", "TelemetryConfig"]

LogFormat = Literal["text", "json"]
OtlpProtocol = Literal["http/protobuf", "grpc"]

_LOG_FORMATS = ("text", "json")
_OTLP_PROTOCOLS = ("http/protobuf", "grpc")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True, kw_only=True)
class TelemetryConfig:
    """Where traces, metrics and logs of an arvo_ray process go. Every exporter is optional.

    Attributes:
        service_name: The ``service.name`` resource attribute of spans and metrics.
        console: Print finished spans (and, with ``metrics``, periodic metric dumps) to stdout.
        otlp_endpoint: Send spans and metrics over OTLP to this collector endpoint (needs the
            ``opentelemetry-exporter-otlp-proto-http`` or ``-grpc`` package; not a dependency).
        otlp_protocol: ``"http/protobuf"`` (default, e.g. ``http://collector:4318``) or
            ``"grpc"`` (e.g. ``http://collector:4317``).
        span_file: Append every finished span as one JSON object per line to this file; many
            processes can share one file (the cross-process trace test gathers it afterwards).
        recent_spans: Keep the last this many finished spans of each process in memory
            (:func:`~arvo_ray.telemetry.recent_spans`); 0 keeps none.
        tracing: Install a tracer provider (spans on). Off: metrics and logs only.
        metrics: Install a meter provider with an in-memory reader
            (:func:`~arvo_ray.telemetry.collect_metrics`) plus console/OTLP exporters if asked.
        metric_export_interval: Seconds between console/OTLP metric exports.
        log_format: ``"text"`` or ``"json"`` lines on stderr from the ``arvo_ray`` logger, or
            ``None`` to leave logging alone.
        log_level: Level of the ``arvo_ray`` logger when ``log_format`` is set.

    Example:
        >>> TelemetryConfig(service_name="orders", span_file="/tmp/spans.jsonl", log_format="json")
        TelemetryConfig(service_name='orders', ...)

        Every problem is reported at once, when the config is made (not in a worker later):

        >>> TelemetryConfig(log_format="xml", recent_spans=-1)
        Traceback (most recent call last):
            ...
        ValueError: Invalid TelemetryConfig (2 problem(s)): log_format must be ...
    """

    service_name: str = "arvo_ray"
    console: bool = False
    otlp_endpoint: str | None = None
    otlp_protocol: OtlpProtocol = "http/protobuf"
    span_file: str | None = None
    recent_spans: int = 0
    tracing: bool = True
    metrics: bool = True
    metric_export_interval: float = 60.0
    log_format: LogFormat | None = None
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not isinstance(self.service_name, str) or not self.service_name:
            problems.append(f"service_name must be a non-empty str, got {self.service_name!r}")
        if self.log_format is not None and self.log_format not in _LOG_FORMATS:
            problems.append(f"log_format must be 'text', 'json' or None, got {self.log_format!r}")
        if self.otlp_protocol not in _OTLP_PROTOCOLS:
            problems.append(
                f"otlp_protocol must be 'http/protobuf' or 'grpc', got {self.otlp_protocol!r}"
            )
        if self.otlp_endpoint is not None and (
            not isinstance(self.otlp_endpoint, str) or not self.otlp_endpoint
        ):
            problems.append(f"otlp_endpoint must be a URL or None, got {self.otlp_endpoint!r}")
        if self.span_file is not None and (
            not isinstance(self.span_file, str) or not self.span_file
        ):
            problems.append(
                f"span_file must be a path string or None, got {self.span_file!r} "
                "(pass str(path) for a pathlib.Path)"
            )
        if not isinstance(self.recent_spans, int) or self.recent_spans < 0:
            problems.append(f"recent_spans must be an int >= 0, got {self.recent_spans!r}")
        if str(self.log_level).upper() not in _LOG_LEVELS:
            problems.append(
                f"log_level must be one of {', '.join(_LOG_LEVELS)}, got {self.log_level!r}"
            )
        if not self.metric_export_interval > 0:
            problems.append(
                f"metric_export_interval must be > 0 seconds, got {self.metric_export_interval!r}"
            )
        if problems:
            raise ValueError(
                f"Invalid TelemetryConfig ({len(problems)} problem(s)): " + "; ".join(problems)
            )
