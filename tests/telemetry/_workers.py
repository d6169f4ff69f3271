"""Entry points of the spawned processes of the span-file test.

Kept apart from the tests so that a spawned process imports only this module and arvo_ray
(not pytest) before it starts.
"""

from __future__ import annotations

import os
from typing import Any


def write_spans(config: Any, count: int, barrier: Any, results: Any) -> None:
    """Install telemetry from ``config``, then end ``count`` spans (a parent and children)."""
    try:
        from opentelemetry import trace

        from arvo_ray.telemetry import install_telemetry, shutdown_telemetry

        install_telemetry(config)
        tracer = trace.get_tracer("test.workers")
        barrier.wait(timeout=30)  # all processes write at the same time
        with tracer.start_as_current_span(f"parent-{os.getpid()}"):
            for index in range(count - 1):
                with tracer.start_as_current_span(f"child-{index}") as span:
                    span.set_attribute("index", index)
        shutdown_telemetry()
        results.put((os.getpid(), "ok"))
    except BaseException as error:  # reported to the test instead of dying silently
        results.put((os.getpid(), f"{type(error).__name__}: {error}"))
