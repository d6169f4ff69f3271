"""Fixtures for the telemetry tests: the in-memory span exporter.

Anything that calls ``install_telemetry`` runs in a fresh interpreter (:mod:`._isolated`) or a
spawned process (:mod:`._workers`): OpenTelemetry's global providers can be set only once per
process, and the other test folders assume none is installed in the pytest process.
"""

from __future__ import annotations

from otel_fixtures import span_exporter

__all__ = ["span_exporter"]
