"""Durable timers: how fast they are set and fired, how late they fire, what 100,000 cost.

For each timer store (in-process, SQLite, Redis) this sets ``--pending`` timers through
``TimerService.set`` (as the broker does for each ``com.arvo.timer`` event), then measures:

* **scheduled/s**: the median rate over chunks of 1,000 concurrent ``set`` calls;
* **memory**: what the pending timers take: the process's resident memory for the
  in-process store, the file (plus its WAL) for SQLite, ``used_memory`` for Redis;
* **fired/s**: ``--burst`` timers due at one instant, fired by the runtime's own firing loop
  (:class:`arvo_ray.timers.TimerFiring`, with a delivery that does nothing), while
  the ``--pending`` timers still wait;
* **lateness**: ``--spread`` timers due over two seconds, fired by the same loop with the
  runtime's default ``poll``; the time from each timer's due time to its delivery, p50/p99.

Usage::

    python benchmarks/timers.py                         # simple, sqlite, redis if available
    python benchmarks/timers.py --stores sqlite --pending 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from memory import redis_server

from arvo_ray.core import ArvoEvent, create_arvo_event_factory
from arvo_ray.runtime import Timers
from arvo_ray.timers import (
    ITimerStore,
    SimpleTimerStore,
    SQLiteTimerStore,
    TimerFiring,
    TimerService,
    timer_contract,
)

CHUNK = 1000


def requests(count: int, delay: Callable[[int], float]) -> list[ArvoEvent]:
    factory = create_arvo_event_factory(timer_contract.version("1.0.0"))
    return [
        factory.accepts(
            source="com.bench.flow",
            subject=f"bench-{uuid.uuid4().hex}",
            data={"delay": delay(n), "tag": "deadline"},
        )
        for n in range(count)
    ]


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def schedule(service: TimerService, events: list[ArvoEvent]) -> list[float]:
    """Set every timer in chunks of concurrent calls; the rate of each chunk."""
    rates = []
    for start in range(0, len(events), CHUNK):
        chunk = events[start : start + CHUNK]
        began = time.perf_counter()
        await asyncio.gather(*(service.set(event) for event in chunk))
        rates.append(len(chunk) / (time.perf_counter() - began))
    return rates


async def fire(service: TimerService, count: int, poll: float) -> tuple[float, list[float]]:
    """Run the firing loop until ``count`` replies were delivered: (seconds from the first
    delivery to the last, lateness of each)."""
    lateness: list[float] = []
    delivered: list[float] = []
    done = asyncio.Event()

    async def deliver(reply: ArvoEvent, attempt: int) -> bool:
        due = datetime.fromisoformat(reply.data["due"]).timestamp()
        delivered.append(time.time())
        lateness.append(delivered[-1] - due)
        if len(lateness) >= count:
            done.set()
        return True

    firing = TimerFiring(service, deliver, poll=poll)
    running = asyncio.create_task(firing.run())
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
    finally:
        firing.stop()
        await running
    return max(delivered) - min(delivered), lateness


def footprint(name: str, store: Any, redis_url: str | None, before: float) -> str:
    if name == "simple":
        return f"{rss_mib() - before:,.0f} MiB resident"
    if name == "sqlite":
        size = sum(p.stat().st_size for p in store.path.parent.glob(store.path.name + "*"))
        return f"{size / 2**20:,.0f} MiB on disk"
    import redis

    used = redis.Redis.from_url(redis_url).info("memory")["used_memory"]
    return f"{(used - before) / 2**20:,.0f} MiB in Redis"


async def bench(
    name: str, make: Callable[[], ITimerStore], args: Any, url: str | None
) -> dict[str, Any]:
    store = make()
    service = TimerService(store)
    pending = requests(args.pending, lambda n: 86_400.0 + n)
    if name == "redis":
        import redis

        before = redis.Redis.from_url(url).info("memory")["used_memory"]
    else:
        before = rss_mib()
    rates = await schedule(service, pending)
    size = footprint(name, store, url, before)
    assert await service.pending() == args.pending
    burst = requests(args.burst, lambda n: 1.0)
    await schedule(service, burst)
    burst_seconds, _ = await fire(service, args.burst, Timers().poll)
    spread = requests(args.spread, lambda n: 1.0 + random.random() * 2.0)
    await schedule(service, spread)
    _, lateness = await fire(service, args.spread, Timers().poll)
    lateness.sort()
    closer = getattr(store, "aclose", None)
    if closer is not None:
        await closer()
    return {
        "scheduled": statistics.median(rates),
        "size": size,
        "fired": args.burst / burst_seconds,
        "p50": lateness[len(lateness) // 2] * 1000,
        "p99": lateness[int(len(lateness) * 0.99)] * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stores", default="simple,sqlite,redis", help="comma-separated")
    parser.add_argument("--pending", type=int, default=100_000, help="timers left waiting")
    parser.add_argument("--burst", type=int, default=10_000, help="timers due at one instant")
    parser.add_argument("--spread", type=int, default=2_000, help="timers due over 2 s")
    parser.add_argument("--redis-url", default=None, help="use this Redis instead of a local one")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        redis_server(args.redis_url if "redis" in names else "unused") as url,
    ):
        makers: dict[str, Callable[[], ITimerStore]] = {
            "simple": SimpleTimerStore,
            "sqlite": lambda: SQLiteTimerStore(Path(tmp) / "timers.sqlite3"),
        }
        if url not in (None, "unused"):
            from arvo_ray.timers import RedisTimerStore

            makers["redis"] = lambda: RedisTimerStore(url, prefix=f"bench-{uuid.uuid4().hex}")
        for name in names:
            if name not in makers:
                print(f"{name}: skipped (unknown, or no redis-server on PATH)", file=sys.stderr)
                continue
            rows.append((name, asyncio.run(bench(name, makers[name], args, url))))
    print(
        f"timers: {args.pending:,} pending, a burst of {args.burst:,} due at once, "
        f"{args.spread:,} due over 2 s (poll {Timers().poll} s)"
    )
    print(
        f"{'store':<8} {'scheduled/s':>12} {'fired/s':>9} {'late p50':>9} {'late p99':>9}  pending"
    )
    for name, row in rows:
        print(
            f"{name:<8} {row['scheduled']:>12,.0f} {row['fired']:>9,.0f} "
            f"{row['p50']:>7.0f}ms {row['p99']:>7.0f}ms  {row['size']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
