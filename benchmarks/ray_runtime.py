"""arvo_ray on Ray, side by side with a raw-Ray baseline, in one run on one machine.

    python benchmarks/ray_runtime.py                 # full run (3 repetitions each)
    python benchmarks/ray_runtime.py --quick         # smaller batches

Measures (median of the repetitions):

* **raw baseline**: an async broker actor drives "workflows" of 5 hops each, alternating a
  remote task and a named actor, on plain dicts (no Arvo) — event hops/s with many in flight;
* **sharded placement**: increment orchestrations (5 routed events each: init, read, read
  reply, increment, increment reply) — event hops/s and workflows/s, with 1,000 in flight,
  and the peak resident memory of all Ray processes meanwhile; the same with the outbox
  switched off (alternating runs), and with tracing on (spans kept by an in-memory exporter);
* **instance placement**: 200 workflows with at most ``--cap`` live workflow actors, checking
  the cap is never exceeded.
"""

from __future__ import annotations

import argparse
import asyncio
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

from arvo_ray.core import create_arvo_orchestrator_event_factory
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    increment_orchestrator_contract,
)
from arvo_ray.runtime import ArvoRuntime, Instance, Sharded
from arvo_ray.telemetry import TelemetryConfig

HOPS_PER_WORKFLOW = 5


# -- the raw-Ray baseline -----------------------------------------------------------------------


@ray.remote
def baseline_task(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "hops": event["hops"] + 1}


@ray.remote(num_cpus=0)
class BaselineWorkflow:
    def __init__(self) -> None:
        self.state: dict[str, int] = {}

    def step(self, event: dict[str, Any]) -> dict[str, Any]:
        self.state[event["id"]] = event["hops"]
        return {**event, "hops": event["hops"] + 1}


@ray.remote(num_cpus=0, max_concurrency=100_000)
class BaselineBroker:
    def __init__(self, name: str) -> None:
        self.workflow = BaselineWorkflow.options(name=name, get_if_exists=True).remote()

    async def run(self, workflow_id: str) -> int:
        event = {"id": workflow_id, "hops": 0}
        for hop in range(HOPS_PER_WORKFLOW):
            ref = self.workflow.step.remote(event) if hop % 2 == 0 else baseline_task.remote(event)
            event = await ref
        return event["hops"]


# -- measurements -------------------------------------------------------------------------------


def baseline(in_flight: int, repeat: int) -> float:
    # A fresh named workflow actor per run: killing a broker takes the actor it owns with it.
    broker = BaselineBroker.remote(f"baseline-workflow-{repeat}")
    ray.get([broker.run.remote(f"warm-{i}") for i in range(20)])
    started = time.perf_counter()
    results = ray.get([broker.run.remote(f"wf-{i}") for i in range(in_flight)])
    elapsed = time.perf_counter() - started
    assert all(hops == HOPS_PER_WORKFLOW for hops in results)
    ray.kill(broker)
    return in_flight * HOPS_PER_WORKFLOW / elapsed


def init_events(count: int, offset: int) -> list[Any]:
    factory = create_arvo_orchestrator_event_factory(
        increment_orchestrator_contract.version("0.0.2")
    )
    return [
        factory.init(
            source="com.bench.client",
            data={
                "parentSubject$$": None,
                "key": f"key-{(offset + i) % 50}",
                "modifier": 2,
                "trend": "exponential",
            },
        )
        for i in range(count)
    ]


def arvo_run(runtime: ArvoRuntime, count: int, offset: int) -> tuple[float, float]:
    events = init_events(count, offset)
    started = time.perf_counter()
    results = runtime.run_many(events, progress=False, window=count, timeout=1800)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.final is None or not r.final.data.get("success")]
    assert not failed, f"{len(failed)} workflows failed, e.g. {failed[0]}"
    hops = sum(r.hops for r in results)
    return hops / elapsed, count / elapsed


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=1000)
    parser.add_argument("--instance-workflows", type=int, default=200)
    parser.add_argument("--cap", type=int, default=8)
    args = parser.parse_args()
    in_flight = 200 if args.quick else args.in_flight
    instance_count = 20 if args.quick else args.instance_workflows
    ray.init(num_cpus=2, include_dashboard=False, namespace="arvo-bench", log_to_driver=False)
    workdir = Path(tempfile.mkdtemp(prefix="arvo-bench-"))
    store = SQLiteKeyValueStore(str(workdir / "values.sqlite3"))
    for i in range(50):
        store[f"key-{i}"] = 1
    domain = build_number_domain(store=store)
    print(
        f"Ray {ray.__version__}, {ray.cluster_resources().get('CPU')} CPUs; median of {args.repeat} runs"
    )

    rates = [baseline(3000 if not args.quick else 600, repeat) for repeat in range(args.repeat)]
    base = statistics.median(rates)
    print(
        f"raw baseline (broker actor -> task -> named actor): {base:,.0f} event hops/s  runs {[round(r) for r in rates]}"
    )

    def sharded_runtime(label: str, **options: Any) -> ArvoRuntime:
        runtime = ArvoRuntime(
            handlers=domain.handlers,
            workflows=domain.workflows,
            placement=Sharded(num_hosts=2),
            name=f"bench-{label}-{os.getpid()}",
            namespace="arvo-bench",
            sqlite_path=workdir / f"{label}.sqlite3",
            **options,
        )
        arvo_run(runtime, 50, 0)  # warm-up: workers, caches
        return runtime

    # Outbox on and off run alternately, so both see the same machine noise.
    with_outbox, without_outbox = (
        sharded_runtime("outbox"),
        sharded_runtime("no-outbox", outbox=False),
    )
    runs: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    try:
        with PeakSampler() as sampler:
            for repeat in range(args.repeat):
                offset = (repeat + 1) * in_flight
                runs["on"].append(arvo_run(with_outbox, in_flight, offset))
                runs["off"].append(arvo_run(without_outbox, in_flight, offset))
    finally:
        with_outbox.shutdown()
        without_outbox.shutdown()
    hop_rate, wf_rate = medians(runs["on"])
    print(
        f"sharded placement, {in_flight} in flight: {hop_rate:,.0f} event hops/s, {wf_rate:,.1f} workflows/s  "
        f"(ratio to baseline {hop_rate / base:.2f}x)  runs {[round(r[0]) for r in runs['on']]}"
    )
    print(
        f"peak RSS of all Ray processes with {in_flight} workflows in flight: {sampler.peak / 2**30:.2f} GiB"
    )
    off_hops, off_wf = medians(runs["off"])
    print(
        f"  outbox switched off: {off_hops:,.0f} event hops/s, {off_wf:,.1f} workflows/s; "
        f"the outbox costs {1 - hop_rate / off_hops:+.1%} of the event rate  "
        f"runs {[round(r[0]) for r in runs['off']]}"
    )

    # Tracing last: once a worker process has the SDK installed it keeps recording spans, so
    # "off" runs after this would not be off. Same configuration as the outbox-on runtime.
    traced = sharded_runtime(
        "traced", telemetry=TelemetryConfig(recent_spans=10_000, metrics=False)
    )
    try:
        traced_runs = [
            arvo_run(traced, in_flight, (repeat + 1) * in_flight) for repeat in range(args.repeat)
        ]
    finally:
        traced.shutdown()
    traced_hops, traced_wf = medians(traced_runs)
    print(
        f"  tracing on (in-memory span exporter, no console): {traced_hops:,.0f} event hops/s, "
        f"{traced_wf:,.1f} workflows/s; tracing costs {1 - traced_hops / hop_rate:+.1%} of the "
        f"event rate  runs {[round(r[0]) for r in traced_runs]}"
    )

    instance = ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        placement=Instance(max_live=args.cap),
        namespace="arvo-bench",
        name=f"bench-instance-{os.getpid()}",
        sqlite_path=workdir / "instance.sqlite3",
    )
    try:
        started = time.perf_counter()
        hop_rate, wf_rate = arvo_run(instance, instance_count, 10_000)
        stats = instance.stats()
        print(
            f"instance placement, {instance_count} workflows, cap {args.cap}: {wf_rate:.2f} workflows/s, "
            f"{hop_rate:.1f} hops/s, peak live workflow actors {stats['peak_live_instances']} "
            f"(cap respected: {stats['peak_live_instances'] <= args.cap}), actors created {stats['instances_created']}, "
            f"{time.perf_counter() - started:.0f} s"
        )
    finally:
        instance.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
