"""``arvo_ray.telemetry``: the documented metric names, and an import that stays light.

(Its ``__all__`` is pinned with every other package's in ``tests/test_exports.py``.)
"""

from __future__ import annotations

import arvo_ray.telemetry as telemetry

from ._isolated import run_isolated


def test_the_metric_names_are_the_documented_ones() -> None:
    """The eight documented instruments, by name."""
    assert telemetry.METRIC_NAMES == (
        "arvo.events.handled",
        "arvo.events.errors",
        "arvo.violations",
        "arvo.handler.duration",
        "arvo.workflows.started",
        "arvo.workflows.completed",
        "arvo.workflows.failed",
        "arvo.workflow_actors.active",
        "arvo.handler.retries",
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
