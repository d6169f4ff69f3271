"""Fixtures for the memory tests: an ``async def`` test runner and a throwaway redis-server."""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

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


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_or_skip(reason: str) -> None:
    """Skip with ``reason``, except in CI (``CI`` or ``ARVO_RAY_CI`` set), where it fails.

    A missing Redis must not turn the Redis suite green by skipping it where it matters.
    """
    if os.environ.get("CI") or os.environ.get("ARVO_RAY_CI"):
        pytest.fail(f"{reason} (CI/ARVO_RAY_CI is set, so this fails instead of skipping)")
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, with persistence off, for the session."""
    executable = shutil.which("redis-server")
    if executable is None:
        require_or_skip(
            "redis-server is not on PATH, so the Redis memory tests cannot run; "
            "install it (e.g. apt-get install redis-server)"
        )
    assert executable is not None
    workdir = tmp_path_factory.mktemp("redis")
    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not _ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port} (exit {process.poll()})")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
