"""Fixtures for the core tests: the OpenTelemetry SDK exporter and shared contract models."""

from __future__ import annotations

from otel_fixtures import span_exporter

__all__ = ["span_exporter"]
