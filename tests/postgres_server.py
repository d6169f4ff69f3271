"""A throwaway, real PostgreSQL server for the tests that need one (memory suite, benchmarks).

``tests/conftest.py`` imports the ``postgres_dsn`` fixture, so one server serves the session. It is a fresh
``initdb`` cluster in a temporary directory, started with ``pg_ctl`` on a free loopback port
(trust authentication, ``fsync`` off) and stopped at the end of the session. PostgreSQL refuses
to run as root, so under root the cluster belongs to, and runs as, the ``nobody`` user.

Missing PostgreSQL binaries fail the tests rather than skip them: CI (``.ci/run``) installs
them, and a silently skipped backend suite proves nothing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

UNPRIVILEGED_USER = "nobody"
"""Who owns and runs the cluster when the tests run as root."""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or ``None`` when there is none.

    Debian and Ubuntu keep them under ``/usr/lib/postgresql/<version>/bin`` and put only
    client tools on ``PATH``, so that is searched too (newest version first).
    """
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("pg_ctl") is not None:
        return Path(on_path).resolve().parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")
    candidates += ["/usr/local/pgsql/bin", "/opt/homebrew/bin"]
    for directory in sorted(candidates, key=_version_key, reverse=True):
        if (Path(directory) / "initdb").is_file() and (Path(directory) / "pg_ctl").is_file():
            return Path(directory)
    return None


def _version_key(directory: str) -> tuple[int, ...]:
    digits = "".join(ch if ch.isdigit() else " " for ch in directory).split()
    return tuple(int(d) for d in digits)


def _as_unprivileged(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is not None:
        return [runuser, "-u", UNPRIVILEGED_USER, "--", *command]
    return ["su", UNPRIVILEGED_USER, "-s", "/bin/sh", "-c", " ".join(map(_quote, command))]


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


class PostgresServer:
    """A cluster in ``workdir``: ``start()`` it, use :attr:`dsn`, ``stop()`` it."""

    def __init__(self, bin_dir: Path, workdir: Path) -> None:
        self.bin_dir = bin_dir
        self.workdir = workdir
        self.data = workdir / "data"
        self.log = workdir / "server.log"
        self.port = free_port()
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def _run(self, *command: str, timeout: float = 60) -> None:
        result = subprocess.run(
            _as_unprivileged(list(command)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed with exit {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{log}"
            )

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, user=UNPRIVILEGED_USER)
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        options = (
            f"-k {self.workdir} -c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self._wait_until_accepting()

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL did not accept connections on port {self.port}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                "stop",
            )  # fmt: skip


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A libpq DSN of a real PostgreSQL server on a free loopback port, for the session."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under "
            "/usr/lib/postgresql/<version>/bin, so the PostgreSQL memory tests cannot run; "
            "install them (e.g. apt-get install postgresql)"
        )
    # Not under pytest's tmp_path: its parents are private to root, and the server may run as
    # another user.
    workdir = Path(tempfile.mkdtemp(prefix="arvo-postgres-"))
    server = PostgresServer(bin_dir, workdir)
    try:
        try:
            server.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"could not start a PostgreSQL server for the tests: {exc}")
        yield server.dsn
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
