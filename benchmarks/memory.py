"""Machine-memory throughput: lock → read → write → unlock cycles per second, per backend.

One cycle is what the workflow wrapper does for every event (lock, read, compare-and-set
write, unlock) on a record of about 1 KB. Each backend runs ``--runs`` timed runs of
``--cycles`` cycles on one asyncio task, alternating the four calls with the fused two
(``lock_and_read`` + ``write_and_unlock``), and the table shows the median (and the spread)
of each, with the fused/four-call ratio.

Usage::

    python benchmarks/memory.py                      # simple, sqlite, redis, postgres
    python benchmarks/memory.py --backends sqlite --runs 9
    python benchmarks/memory.py --redis-url redis://localhost:6379/0
    python benchmarks/memory.py --postgres-dsn postgresql://user@db:5432/arvo

Redis: without ``--redis-url`` a throwaway ``redis-server`` is started on a free loopback
port (persistence off) if one is on ``PATH``; otherwise the Redis row is skipped.

PostgreSQL: without ``--postgres-dsn`` a throwaway cluster is made with ``initdb`` and started
with ``pg_ctl`` on a free loopback port (``fsync`` off, as the nobody user under root) if the
server binaries are on ``PATH`` or under ``/usr/lib/postgresql/<version>/bin``; otherwise the
PostgreSQL row is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from arvo_ray.memory import (
    IMachineMemory,
    SimpleMachineMemory,
    SQLiteMachineMemory,
    lock_and_read,
    write_and_unlock,
)

IDS = 32
"""Cycles rotate over this many subjects, so records and locks are spread like real workflows."""


def sample_record(step: int) -> dict[str, Any]:
    """A workflow-like record of about 1 KB."""
    return {
        "executionStatus": "normal",
        "status": "active",
        "value": {"processing": "awaiting_result"},
        "state": {"context": {"step": step, "values": list(range(20)), "note": "x" * 200}},
        "events": {
            "consumed": {"id": f"e-{step}", "type": "com.calculator.add", "data": {"a": 1}},
            "produced": [{"id": f"p-{step}-{n}", "type": "com.number.notify"} for n in range(3)],
        },
        "parentSubject": None,
        "initEventId": "init-0",
    }


async def one_run(
    memory: IMachineMemory, cycles: int, subjects: list[str], *, fused: bool = False
) -> float:
    """Time ``cycles`` lock/read/write/unlock cycles; returns cycles per second.

    With ``fused``, each cycle is ``lock_and_read`` + ``write_and_unlock`` (two calls).
    """
    started = time.perf_counter()
    for n in range(cycles):
        subject = subjects[n % len(subjects)]
        if fused:
            locked, prev = await lock_and_read(memory, subject)
            if not locked:
                raise RuntimeError(f"benchmark lock on {subject!r} was refused")
            await write_and_unlock(memory, subject, sample_record(n), prev)
            continue
        if not await memory.lock(subject):
            raise RuntimeError(f"benchmark lock on {subject!r} was refused")
        prev = await memory.read(subject)
        await memory.write(subject, sample_record(n), prev)
        await memory.unlock(subject)
    return cycles / (time.perf_counter() - started)


async def measure(
    memory: IMachineMemory, cycles: int, runs: int
) -> tuple[list[float], list[float]]:
    """Warm up, then time ``runs`` runs of four calls and of the fused two, alternating;
    closes the backend's connections at the end."""
    subjects = [f"bench-{uuid.uuid4().hex}-{n}" for n in range(IDS)]
    try:
        await one_run(memory, min(cycles, 200), subjects)
        await one_run(memory, min(cycles, 200), subjects, fused=True)
        four, fused = [], []
        for _ in range(runs):
            four.append(await one_run(memory, cycles, subjects))
            fused.append(await one_run(memory, cycles, subjects, fused=True))
        return four, fused
    finally:
        aclose = getattr(memory, "aclose", None)
        if aclose is not None:
            await aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str | None]:
    """Yield ``url``, or a throwaway local redis-server's URL, or ``None`` if neither exists."""
    if url is not None:
        yield url
        return
    executable = shutil.which("redis-server")
    if executable is None:
        yield None
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=5)


def _postgres_bin_dir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: len(p))
    return Path(found[-1]).parent if found else None


@contextlib.contextmanager
def postgres_server(dsn: str | None) -> Iterator[str | None]:
    """Yield ``dsn``, or a throwaway local cluster's DSN, or ``None`` if neither exists."""
    if dsn is not None:
        yield dsn
        return
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        yield None
        return
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "nobody", "--"]
    workdir = tempfile.mkdtemp(prefix="arvo-bench-postgres-")
    if as_user:
        shutil.chown(workdir, user="nobody")
    data, port = f"{workdir}/data", _free_port()
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    try:
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
             "--no-sync"],
            check=True, **quiet,
        )  # fmt: skip
        options = f"-k {workdir} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off"
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", data, "-l", f"{workdir}/log", "-o",
             options, "-w", "start"],
            check=True, **quiet,
        )  # fmt: skip
        try:
            yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        finally:
            subprocess.run(
                [*as_user, str(bin_dir / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"],
                check=False, **quiet,
            )  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--backends", default="simple,sqlite,redis,postgres", help="comma-separated"
    )
    parser.add_argument("--cycles", type=int, default=2000, help="cycles per timed run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per backend (>= 5)")
    parser.add_argument("--redis-url", default=None, help="use this Redis instead of a local one")
    parser.add_argument(
        "--postgres-dsn", default=None, help="use this PostgreSQL instead of a local one"
    )
    args = parser.parse_args(argv)
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]

    rows: list[tuple[str, list[float] | None, str]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        redis_server(args.redis_url if "redis" in backends else "unused") as url,
        postgres_server(args.postgres_dsn if "postgres" in backends else "unused") as dsn,
    ):
        makers: dict[str, tuple[Callable[[], IMachineMemory] | None, str]] = {
            "simple": (SimpleMachineMemory, "in-process dict"),
            "sqlite": (
                lambda: SQLiteMachineMemory(Path(tmp) / "bench.db"),
                "WAL, synchronous=NORMAL, local disk",
            ),
        }
        if url is not None and url != "unused":
            from arvo_ray.memory import RedisMachineMemory

            makers["redis"] = (
                lambda: RedisMachineMemory(url, prefix=f"bench-{uuid.uuid4().hex}"),
                "loopback redis-server" if args.redis_url is None else url,
            )
        else:
            makers["redis"] = (None, "skipped: no redis-server on PATH and no --redis-url")
        if dsn is not None and dsn != "unused":
            from arvo_ray.memory import PostgresMachineMemory

            makers["postgres"] = (
                lambda: PostgresMachineMemory(dsn, table_prefix=f"bench_{uuid.uuid4().hex}"),
                "loopback PostgreSQL, fsync=off" if args.postgres_dsn is None else "--postgres-dsn",
            )
        else:
            makers["postgres"] = (
                None,
                "skipped: no PostgreSQL server binaries (initdb) and no --postgres-dsn",
            )
        for name in backends:
            make, note = makers.get(name, (None, "unknown backend"))
            if make is None:
                rows.append((name, None, note))
                continue
            four, fused = asyncio.run(measure(make(), args.cycles, args.runs))
            rows.append((name, four, note))
            ratio = statistics.median(fused) / statistics.median(four)
            rows.append((f"{name} fused", fused, f"lock_and_read + write_and_unlock: {ratio:.2f}x"))

    print(f"lock+read+write+unlock cycles/s, ~1 KB record, {args.cycles} cycles x {args.runs} runs")
    print(f"{'backend':<14} {'median':>10} {'min':>10} {'max':>10} {'us/cycle':>9}  notes")
    for name, samples, note in rows:
        if samples is None:
            print(f"{name:<14} {'-':>10} {'-':>10} {'-':>10} {'-':>9}  {note}")
            continue
        median = statistics.median(samples)
        print(
            f"{name:<14} {median:>10,.0f} {min(samples):>10,.0f} {max(samples):>10,.0f} "
            f"{1e6 / median:>9.1f}  {note}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
