"""Fixtures for the broker tests: an ``async def`` test runner with a hang guard."""

from __future__ import annotations

import asyncio
import inspect

import pytest

# A broker bug shows up as a hang (a drain that never goes idle); fail fast instead.
TEST_TIMEOUT_SECONDS = 5


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop, failing any that runs over the guard."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = inspect.signature(pyfuncitem.obj).parameters
    coroutine = pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names})
    asyncio.run(asyncio.wait_for(coroutine, TEST_TIMEOUT_SECONDS))
    return True
