"""Fixtures for the memory tests: an ``async def`` test runner, and the shared redis-server."""

from __future__ import annotations

import asyncio
import inspect

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop, closing fixture connections on it.

    The project has no asyncio plugin; this is the few lines of one these tests need. Anything
    among the test's arguments with an async ``aclose`` (a memory factory) is closed on the same
    loop, because a Redis client must be closed on the loop it was used on.
    """
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = inspect.signature(pyfuncitem.obj).parameters
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}

    async def main() -> None:
        try:
            await pyfuncitem.obj(**kwargs)
        finally:
            for value in kwargs.values():
                aclose = getattr(value, "aclose", None)
                if aclose is not None and inspect.iscoroutinefunction(aclose):
                    await aclose()

    asyncio.run(main())
    return True


from redis_server import free_port, redis_url, require_or_skip  # noqa: E402,F401
