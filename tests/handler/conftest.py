"""Fixtures for the handler tests: an ``async def`` test runner and the OpenTelemetry SDK."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from otel_fixtures import span_exporter

__all__ = ["span_exporter"]


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop (the project has no asyncio plugin)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = inspect.signature(pyfuncitem.obj).parameters
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True
