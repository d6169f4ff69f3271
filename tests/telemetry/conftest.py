"""Fixtures for the telemetry tests: an ``async def`` runner and the in-memory span exporter.

Anything that calls ``install_telemetry`` runs in a fresh interpreter (:mod:`._isolated`) or a
spawned process (:mod:`._workers`): OpenTelemetry's global providers can be set only once per
process, and the other test folders assume none is installed in the pytest process.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest
from otel_fixtures import span_exporter

__all__ = ["span_exporter"]

TEST_TIMEOUT_SECONDS = 20


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop (the project has no asyncio plugin)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = inspect.signature(pyfuncitem.obj).parameters
    coroutine = pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names})
    asyncio.run(asyncio.wait_for(coroutine, TEST_TIMEOUT_SECONDS))
    return True
