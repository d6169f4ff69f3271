"""I/O-bound handlers on Ray: how many calls wait at once, and what thousands in flight cost.

    python benchmarks/io_bound.py                      # N = 2,000, D = 2 s; 10,000 in flight
    python benchmarks/io_bound.py --events 500 --seconds 1 --in-flight 2000   # smaller

Three measurements on a local Ray of ``--cpus`` CPUs, sharded placement, default memory:

* **handlers**: N events whose ``async def`` handler awaits D seconds (an LLM or API call);
* **workflows**: N lookup orchestrations whose one service awaits D seconds;
* **in flight**: ``--in-flight`` such orchestrations at once, with the peak resident memory of
  all Ray processes.

For each: wall time, overlap factor (N·D / wall: how many calls waited at once, on average)
and per-run latency p50/p99. A warm-up run comes first (actors start, code is imported).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray
from procs import PeakSampler  # benchmarks/procs.py

from arvo_ray.core import create_arvo_event_factory
from arvo_ray.examples.slow_service import (
    lookup_contract,
    lookup_handler,
    lookup_init,
    lookup_resumable,
)
from arvo_ray.runtime import ArvoRuntime, RunResult, Sharded


def lookups(count: int, seconds: float) -> list[Any]:
    factory = create_arvo_event_factory(lookup_contract.version("0.0.1"))
    return [
        factory.accepts(source="com.bench.client", data={"query": f"q{i}", "seconds": seconds})
        for i in range(count)
    ]


def measure(runtime: ArvoRuntime, label: str, events: list[Any], seconds: float) -> dict[str, Any]:
    with PeakSampler() as memory:
        started = time.perf_counter()
        results: list[RunResult] = runtime.run_many(
            events, progress=False, window=len(events), timeout=900
        )
        wall = time.perf_counter() - started
    answered = sum(
        r.final is not None and r.final.data.get("answer") == event.data["query"].upper()
        for event, r in zip(events, results, strict=True)
    )
    latencies = sorted(r.seconds for r in results)
    figures = {
        "label": label,
        "n": len(events),
        "answered": answered,
        "wall_s": wall,
        "overlap": len(events) * seconds / wall,
        "p50_s": statistics.median(latencies),
        "p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "peak_rss_gib": memory.peak / 2**30,
    }
    print(
        f"{label:<34} {figures['n']:>6} {answered:>8} {wall:>8.2f} {figures['overlap']:>8.0f} "
        f"{figures['p50_s']:>7.2f} {figures['p99_s']:>7.2f} {figures['peak_rss_gib']:>8.2f}",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--in-flight", type=int, default=10_000)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    ray.init(
        num_cpus=args.cpus,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=300 * 1024 * 1024,
    )
    folder = Path(tempfile.mkdtemp(prefix="arvo-io-bench-"))
    runtime = ArvoRuntime(
        handlers=[lookup_handler()],
        workflows=[lookup_resumable()],
        placement=Sharded(),
        sqlite_path=folder / "memory.sqlite3",
        max_in_flight=max(4096, args.in_flight),
    )
    n, d = args.events, args.seconds
    print(f"local Ray, {args.cpus} CPUs, sharded placement, SQLite memory actor; D = {d:g} s")
    print(
        f"{'measurement':<34} {'N':>6} {'answered':>8} {'wall s':>8} {'overlap':>8} "
        f"{'p50 s':>7} {'p99 s':>7} {'RSS GiB':>8}"
    )
    try:
        runtime.run_many([*lookups(200, 0.1), lookup_init("warm", seconds=0.1)], progress=False)
        measure(runtime, "async handler", lookups(n, d), d)
        measure(
            runtime,
            "orchestration, one async service",
            [lookup_init(f"q{i}", seconds=d) for i in range(n)],
            d,
        )
        measure(
            runtime,
            f"{args.in_flight:,} orchestrations in flight",
            [lookup_init(f"f{i}", seconds=d) for i in range(args.in_flight)],
            d,
        )
        stats = runtime.stats()
        print(
            f"largest number of handler calls waiting at once: {stats['async_handler_calls_peak']}"
            f" (CPUs x batch = {args.cpus * 64})"
        )
    finally:
        runtime.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
