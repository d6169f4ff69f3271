"""Settings for the whole suite, and the runner of its ``async def`` tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from postgres_server import postgres_dsn  # noqa: F401  (one PostgreSQL server per session)

# Shared CI machines are small and noisy: a slow example is not a failure.
settings.register_profile(
    "arvo", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("arvo")

TESTS = Path(__file__).resolve().parent

ASYNC_TEST_TIMEOUTS: dict[str, float] = {
    # A broker bug shows up as a hang (a drain that never goes idle); fail fast instead.
    "broker": 5,
    # A workflow bug usually shows up as a hang (a chain that never ends).
    "workflow": 10,
    "telemetry": 20,
}
"""Seconds an ``async def`` test may run, by test folder; folders not listed have no limit."""


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop (the project has no asyncio plugin).

    A test runs at most its folder's :data:`ASYNC_TEST_TIMEOUTS`. Afterwards, anything among
    its arguments with an async ``aclose`` (a memory or a memory factory) is closed on the same
    loop, because a Redis client must be closed on the loop it was used on.
    """
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = inspect.signature(pyfuncitem.obj).parameters
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    timeout = ASYNC_TEST_TIMEOUTS.get(_folder(pyfuncitem.path))

    async def main() -> None:
        try:
            await asyncio.wait_for(pyfuncitem.obj(**kwargs), timeout)
        finally:
            await _close(kwargs.values())

    asyncio.run(main())
    return True


def _folder(path: Path) -> str:
    """The test folder (``broker``, ``workflow``...) a test file is in; ``""`` if none."""
    try:
        parts = path.resolve().relative_to(TESTS).parts
    except ValueError:
        return ""
    return parts[0] if len(parts) > 1 else ""


async def _close(values: Iterable[Any]) -> None:
    for value in values:
        aclose = getattr(value, "aclose", None)
        if aclose is not None and inspect.iscoroutinefunction(aclose):
            await aclose()
