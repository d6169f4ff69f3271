"""Fixtures for the handler tests: the OpenTelemetry SDK."""

from __future__ import annotations

from otel_fixtures import span_exporter

__all__ = ["span_exporter"]
