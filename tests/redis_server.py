"""A throwaway, real redis-server for the tests that need one (memory suite, runtime chaos).

Import the ``redis_url`` fixture into a conftest. Outside CI a missing ``redis-server`` skips
those tests with the reason; in CI (``CI`` or ``ARVO_RAY_CI`` set) it fails them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest


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
