"""Events per second through the HTTP ingress (Ray Serve) beside ``runtime.submit``, in one run.

    python benchmarks/ingress.py                        # 2,000 events, 3 rounds
    python benchmarks/ingress.py --events 500 --repeat 1

A local Ray of ``--cpus`` CPUs, the number domain's ``com.increment.number`` handler (one hop per
event), the default memory. Each round runs the same number of fresh events three ways and
times them until every event's chain has ended:

* **submit**: ``runtime.submit`` for all, then ``ray.get`` (the Python driver's path);
* **structured**: one ``POST /events?wait=`` per event from ``--clients`` client threads;
* **batched**: ``POST /events?wait=`` with ``--batch`` events each, from ``--clients`` threads.

An HTTP event costs more than a submitted one: it is parsed, checked against the handler's
contract, and written to the memory before its ``202`` (and marked done after), which is what
makes the acknowledgement durable and de-duplicated. Medians of the rounds, and the ratios to
``submit`` measured side by side; the client threads share the machine with the cluster.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray
import requests

from arvo_ray.core import ArvoEvent, create_arvo_event_factory
from arvo_ray.examples.number_domain import increment_contract, increment_handler
from arvo_ray.runtime import ArvoRuntime

STRUCTURED = {"content-type": "application/cloudevents+json"}
BATCHED = {"content-type": "application/cloudevents-batch+json"}


def events(count: int) -> list[ArvoEvent]:
    factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
    return [
        factory.accepts(source="com.bench.client", data={"init": i, "increment": 2})
        for i in range(count)
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def via_submit(runtime: ArvoRuntime, batch: list[ArvoEvent]) -> None:
    results = ray.get([runtime.submit(event) for event in batch])
    assert all(r.final is not None for r in results)


def via_http(url: str, bodies: list[str], headers: dict[str, str], clients: int) -> None:
    local = threading.local()

    def post(body: str) -> None:
        if not hasattr(local, "session"):  # one kept-alive connection per client thread
            local.session = requests.Session()
        response = local.session.post(
            f"{url}events?wait=120", data=body, headers=headers, timeout=300
        )
        assert response.status_code == 200, response.text

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, bodies))


def timed(run: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    runtime = ArvoRuntime(
        handlers=[increment_handler()],
        name="ingress-bench",
        sqlite_path=Path(tempfile.mkdtemp(prefix="arvo-ingress-")) / "memory.sqlite3",
    )
    url = runtime.start_ingress(port=free_port(), max_batch=max(1000, args.batch))
    n = args.events
    rates: dict[str, list[float]] = {"submit": [], "structured": [], "batched": []}
    try:
        via_submit(runtime, events(200))  # warm-up: workers, imports, connections
        via_http(url, [e.to_json() for e in events(200)], STRUCTURED, args.clients)
        for _ in range(args.repeat):
            batch = events(n)
            rates["submit"].append(timed(lambda b=batch: via_submit(runtime, b), n))
            bodies = [e.to_json() for e in events(n)]
            rates["structured"].append(
                timed(lambda b=bodies: via_http(url, b, STRUCTURED, args.clients), n)
            )
            fresh = events(n)
            chunks = [
                "[" + ",".join(e.to_json() for e in fresh[i : i + args.batch]) + "]"
                for i in range(0, n, args.batch)
            ]
            rates["batched"].append(
                timed(lambda c=chunks: via_http(url, c, BATCHED, args.clients), n)
            )
    finally:
        runtime.shutdown()
        from ray import serve

        serve.shutdown()
        ray.shutdown()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"\n{n:,} events per way, {args.repeat} rounds, {args.cpus} CPUs, "
        f"{args.clients} client threads, batches of {args.batch}"
    )
    print(f"{'way':<12} {'events/s (median)':>18} {'vs submit':>10}  rounds")
    for name, median in medians.items():
        shown: list[Any] = [round(v) for v in rates[name]]
        print(f"{name:<12} {median:>18,.0f} {median / medians['submit']:>9.2f}x  {shown}")


if __name__ == "__main__":
    main()
