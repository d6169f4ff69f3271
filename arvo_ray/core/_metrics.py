"""Arvo's metric instruments and the small functions that record them (OpenTelemetry API only).

Every instrument arvo_ray records lives here, so the names, units and attributes are defined
once. Handlers, workflows and the runtime call the ``record_*`` functions; with no SDK
``MeterProvider`` installed each call returns after one module-attribute check (well under a
microsecond), which matters on the per-event hot path. The SDK side (providers, readers,
exporters) is :mod:`arvo_ray.telemetry`; nothing here imports it.

Instruments (all attributes are low-cardinality: handler sources, kinds, outcomes):

============================== ============== =====================================================
``arvo.events.handled``        counter        ``arvo.handler.source``, ``arvo.handler.kind``,
                                              ``arvo.outcome`` (``ok`` | ``error`` | ``violation``)
``arvo.events.errors``         counter        source, kind: executions whose error became
                                              ``sys.*.error`` events (violations not included)
``arvo.violations``            counter        source, kind, ``arvo.violation.type``
``arvo.handler.duration``      histogram (s)  source, kind
``arvo.workflows.started``     counter        source, kind: an init event created a record
``arvo.workflows.completed``   counter        source, kind: a record reached status ``done``
``arvo.workflows.failed``      counter        source, kind: a failure record was written
``arvo.workflow_actors.active`` up-down        source: live workflow actors (Ray runtime)
============================== ============== =====================================================
"""

from __future__ import annotations

import os
from typing import Any, Literal

from opentelemetry import metrics
from opentelemetry.metrics import _internal as _metrics_api

__all__ = [
    "ATTR_KIND",
    "ATTR_OUTCOME",
    "ATTR_SOURCE",
    "ATTR_VIOLATION_TYPE",
    "DURATION_BUCKETS",
    "METER_NAME",
    "METRIC_ACTORS_ACTIVE",
    "METRIC_DURATION",
    "METRIC_ERRORS",
    "METRIC_HANDLED",
    "METRIC_NAMES",
    "METRIC_VIOLATIONS",
    "METRIC_WORKFLOWS_COMPLETED",
    "METRIC_WORKFLOWS_FAILED",
    "METRIC_WORKFLOWS_STARTED",
    "ExecutionKind",
    "Outcome",
    "WorkflowEvent",
    "actor_activated",
    "actor_passivated",
    "metrics_enabled",
    "record_execution",
    "record_workflow",
]

ExecutionKind = Literal["handler", "orchestrator", "resumable"]
Outcome = Literal["ok", "error", "violation"]
WorkflowEvent = Literal["started", "completed", "failed"]

METER_NAME = "arvo_ray"

METRIC_HANDLED = "arvo.events.handled"
METRIC_ERRORS = "arvo.events.errors"
METRIC_VIOLATIONS = "arvo.violations"
METRIC_DURATION = "arvo.handler.duration"
METRIC_WORKFLOWS_STARTED = "arvo.workflows.started"
METRIC_WORKFLOWS_COMPLETED = "arvo.workflows.completed"
METRIC_WORKFLOWS_FAILED = "arvo.workflows.failed"
METRIC_ACTORS_ACTIVE = "arvo.workflow_actors.active"
METRIC_NAMES = (
    METRIC_HANDLED,
    METRIC_ERRORS,
    METRIC_VIOLATIONS,
    METRIC_DURATION,
    METRIC_WORKFLOWS_STARTED,
    METRIC_WORKFLOWS_COMPLETED,
    METRIC_WORKFLOWS_FAILED,
    METRIC_ACTORS_ACTIVE,
)

ATTR_SOURCE = "arvo.handler.source"
ATTR_KIND = "arvo.handler.kind"
ATTR_OUTCOME = "arvo.outcome"
ATTR_VIOLATION_TYPE = "arvo.violation.type"

DURATION_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
"""Histogram bounds in seconds (the SDK default buckets are sized for milliseconds)."""

_PROVIDER_FROM_ENV = "OTEL_PYTHON_METER_PROVIDER" in os.environ
_NOOP_PROVIDERS = (metrics.NoOpMeterProvider, _metrics_api._ProxyMeterProvider)


class _Instruments:
    """The instruments of one meter provider (rebuilt if the global provider changes)."""

    __slots__ = (
        "actors",
        "completed",
        "duration",
        "errors",
        "failed",
        "handled",
        "provider",
        "started",
        "violations",
    )

    def __init__(self, provider: metrics.MeterProvider) -> None:
        from arvo_ray._version import __version__

        meter = provider.get_meter(METER_NAME, __version__)
        self.provider = provider
        self.handled = meter.create_counter(
            METRIC_HANDLED, unit="{event}", description="Events executed by a handler or workflow"
        )
        self.errors = meter.create_counter(
            METRIC_ERRORS,
            unit="{event}",
            description="Executions whose error was returned as sys.*.error events",
        )
        self.violations = meter.create_counter(
            METRIC_VIOLATIONS, unit="{event}", description="Violations raised by executions"
        )
        self.duration = meter.create_histogram(
            METRIC_DURATION,
            unit="s",
            description="Duration of one execute() call",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.started = meter.create_counter(
            METRIC_WORKFLOWS_STARTED, unit="{workflow}", description="Workflow instances started"
        )
        self.completed = meter.create_counter(
            METRIC_WORKFLOWS_COMPLETED,
            unit="{workflow}",
            description="Workflow instances that reached status done",
        )
        self.failed = meter.create_counter(
            METRIC_WORKFLOWS_FAILED,
            unit="{workflow}",
            description="Workflow instances that wrote a failure record",
        )
        self.actors = meter.create_up_down_counter(
            METRIC_ACTORS_ACTIVE, unit="{actor}", description="Live workflow actors"
        )


_cache: _Instruments | None = None


def _instruments() -> _Instruments | None:
    """The instruments of the global SDK meter provider, or ``None`` when there is none."""
    global _cache
    # The module global is read first: no environment lookup and no proxy on the hot path.
    provider = _metrics_api._METER_PROVIDER
    if provider is None:
        if not _PROVIDER_FROM_ENV:
            return None
        provider = metrics.get_meter_provider()
    cache = _cache
    if cache is not None and cache.provider is provider:
        return cache
    if isinstance(provider, _NOOP_PROVIDERS):
        return None
    cache = _cache = _Instruments(provider)
    return cache


def metrics_enabled() -> bool:
    """True once an OpenTelemetry SDK meter provider is installed (else recording is a no-op)."""
    return _instruments() is not None


def record_execution(
    kind: str,
    source: str,
    seconds: float,
    outcome: Outcome,
    violation_type: str | None = None,
) -> None:
    """Record one ``execute`` call: handled (with outcome), errors/violations, duration.

    Args:
        kind: ``"handler"``, ``"orchestrator"`` or ``"resumable"``.
        source: The handler's source (its event type).
        seconds: Wall-clock duration of the call.
        outcome: ``"ok"``, ``"error"`` (became ``sys.*.error`` events) or ``"violation"``.
        violation_type: The violation's ``type`` (``"Contract"``, ``"Config"``...) when
            ``outcome`` is ``"violation"``.
    """
    instruments = _instruments()
    if instruments is None:
        return
    attributes: dict[str, Any] = {ATTR_SOURCE: source, ATTR_KIND: kind}
    instruments.duration.record(seconds, attributes)
    instruments.handled.add(1, {**attributes, ATTR_OUTCOME: outcome})
    if outcome == "error":
        instruments.errors.add(1, attributes)
    elif outcome == "violation":
        instruments.violations.add(
            1, {**attributes, ATTR_VIOLATION_TYPE: violation_type or "unknown"}
        )


def record_workflow(source: str, event: WorkflowEvent, kind: str = "orchestrator") -> None:
    """Count a workflow instance ``"started"``, ``"completed"`` or ``"failed"``."""
    instruments = _instruments()
    if instruments is None:
        return
    counter = {
        "started": instruments.started,
        "completed": instruments.completed,
        "failed": instruments.failed,
    }.get(event)
    if counter is None:
        raise ValueError(
            f"Unknown workflow event {event!r}; use 'started', 'completed' or 'failed'"
        )
    counter.add(1, {ATTR_SOURCE: source, ATTR_KIND: kind})


def actor_activated(source: str = "") -> None:
    """A workflow actor came up (``arvo.workflow_actors.active`` +1)."""
    instruments = _instruments()
    if instruments is not None:
        instruments.actors.add(1, {ATTR_SOURCE: source})


def actor_passivated(source: str = "") -> None:
    """A workflow actor went away (``arvo.workflow_actors.active`` -1)."""
    instruments = _instruments()
    if instruments is not None:
        instruments.actors.add(-1, {ATTR_SOURCE: source})
