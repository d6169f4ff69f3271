"""Where the CPU goes per event hop, and what the busiest single actor allows, with k brokers.

    python benchmarks/scale_out.py                     # cluster: k = 1, 2, 4; then one node
    python benchmarks/scale_out.py --workflows 600 --brokers 1 2    # smaller

**Cluster.** Starts the local multi-node cluster of ``cluster/local_cluster.sh`` (a head and
two 1-CPU worker nodes on this machine) and runs increment orchestrations (6 event hops each)
on the sharded placement with the host actors on the worker nodes: first with the default
memory (a SQLite memory actor on the head node) and one broker, then with Redis (the memory
for many nodes: no actor serves it) once per broker count k. For every Ray process (and the
redis-server) it reads the CPU time from ``/proc`` before and after, and prints CPU-ms per hop
by role, the busiest single actor's CPU-ms per hop, and the **structural ceiling** 1000 / that
figure in hops/s: what the busiest single actor allows, however many nodes do the rest.

**One node.** A local Ray of 2 CPUs with default settings (one broker, sharded placement):
total CPU-ms per hop, and event hops/s alternating with the raw-Ray baseline of
``ray_runtime.py`` (a broker actor driving a task and a named actor), medians of the runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray
from memory import redis_server  # benchmarks/memory.py
from procs import cpu_seconds, machine_ticks, ray_processes, role  # benchmarks/procs.py
from ray_runtime import baseline, init_events  # benchmarks/ray_runtime.py

from arvo_ray.examples.number_domain import SQLiteKeyValueStore, build_number_domain
from arvo_ray.memory import RedisMachineMemory
from arvo_ray.runtime import ArvoRuntime, Sharded

ROOT = Path(__file__).resolve().parent.parent
ACTORS = ("BrokerActor", "WorkflowHostActor", "MemoryActor", "HandlerExecutorActor")
WORKERS = [{"resources": {"worker_a": 1}}, {"resources": {"worker_b": 1}}]


def domain_runtime(folder: Path, name: str, **options: Any) -> ArvoRuntime:
    store = SQLiteKeyValueStore(str(folder / "values.sqlite3"))
    for i in range(50):
        store[f"key-{i}"] = 1
    domain = build_number_domain(store=store)
    return ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        name=name,
        namespace="arvo-bench",
        sqlite_path=folder / f"{name}.sqlite3",
        **options,
    )


def run_workflows(runtime: ArvoRuntime, count: int, offset: int) -> tuple[int, float]:
    """(hops routed, seconds) of ``count`` increment orchestrations, all checked."""
    before = runtime.stats()["events_routed"]
    started = time.perf_counter()
    results = runtime.run_many(init_events(count, offset), progress=False, window=count)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.final is None or not r.final.data.get("success")]
    assert not failed, f"{len(failed)} workflows failed, e.g. {failed[0].describe()}"
    return runtime.stats()["events_routed"] - before, elapsed


def _redis_pids() -> dict[int, str]:
    return {pid: "redis-server" for pid, line in _all_processes().items() if "redis-server" in line}


def _all_processes() -> dict[int, str]:
    found = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                found[int(pid)] = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
    return found


def cpu_profile(runtime: ArvoRuntime, count: int, offset: int) -> dict[str, Any]:
    """CPU seconds of every Ray process (and redis-server) over one run, by role and by actor."""
    processes = {**ray_processes(), **_redis_pids()}
    before = runtime.stats()
    start = cpu_seconds(list(processes))
    ticks, idle = machine_ticks()
    hops, elapsed = run_workflows(runtime, count, offset)
    processes = {**processes, **ray_processes(), **_redis_pids()}  # new task workers too
    end = cpu_seconds(list(processes))
    ticks_after, idle_after = machine_ticks()
    busy = 1 - (idle_after - idle) / max(1, ticks_after - ticks)
    after = runtime.stats()
    calls = {key: after[key] - before[key] for key in _CALLS}
    by_role: dict[str, float] = defaultdict(float)
    by_actor: dict[int, tuple[str, float]] = {}
    for pid, used in end.items():
        spent = used - start.get(pid, 0.0)
        name = "redis-server" if "redis-server" in processes[pid] else role(pid, processes[pid])
        by_role[name] += spent
        if name in ACTORS:
            by_actor[pid] = (name, spent)
    return {
        "hops": hops,
        "seconds": elapsed,
        "roles": dict(by_role),
        "actors": by_actor,
        "calls": calls,
        "machine_busy": busy,
    }


# Events and the calls that carried them: how full the batches were.
_CALLS = ("workflow_events", "host_batches", "handler_events", "handler_batches")


def print_profile(label: str, profile: dict[str, Any]) -> float:
    hops = profile["hops"]
    per_hop = {name: 1000 * spent / hops for name, spent in profile["roles"].items()}
    busiest_name, busiest = max(profile["actors"].values(), key=lambda item: item[1])
    busiest_ms = 1000 * busiest / hops
    print(
        f"\n{label}: {hops:,} hops in {profile['seconds']:.1f} s = {hops / profile['seconds']:,.0f}"
        f" hops/s; total {sum(per_hop.values()):.3f} CPU-ms/hop; the machine's CPUs "
        f"{profile['machine_busy']:.0%} busy"
    )
    for name, ms in sorted(per_hop.items(), key=lambda item: -item[1]):
        count = sum(1 for actor, _ in profile["actors"].values() if actor == name)
        shown = f"{name} ({count})" if count else name
        print(f"  {shown:<28} {ms:8.3f} CPU-ms/hop  {ms / sum(per_hop.values()):5.0%}")
    calls = profile["calls"]
    print(
        f"  events per call: {calls['workflow_events'] / max(1, calls['host_batches']):.1f} per "
        f"host call, {calls['handler_events'] / max(1, calls['handler_batches']):.1f} per handler "
        "batch"
    )
    print(
        f"  busiest single actor: {busiest_name}, {busiest_ms:.3f} CPU-ms/hop -> structural "
        f"ceiling {1000 / busiest_ms:,.0f} hops/s"
    )
    return 1000 / busiest_ms


def cluster_part(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="arvo-scale-"))
    env = {
        **os.environ,
        "ARVO_CLUSTER_PORT": str(random.randint(20000, 40000)),
        "ARVO_CLUSTER_DIR": str(folder / "cluster"),
        "RAY": str(Path(sys.executable).parent / "ray"),
    }
    script = ROOT / "cluster" / "local_cluster.sh"
    address = subprocess.run(
        ["bash", str(script), "start"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    try:
        ray.init(address=address, namespace="arvo-bench", log_to_driver=False)
        nodes = [n for n in ray.nodes() if n["Alive"]]  # type: ignore[no-untyped-call]
        print(
            f"Ray {ray.__version__}: {len(nodes)} nodes (head with no CPU, 2 workers of 1 CPU), "
            f"{args.workflows:,} increment orchestrations per run; hosts on the worker nodes"
        )

        def profiled(label: str, **options: Any) -> float:
            runtime = domain_runtime(
                folder, label, placement=Sharded(num_hosts=2, host_options=WORKERS), **options
            )
            try:
                run_workflows(runtime, 200, 10_000)  # warm-up
                profile = cpu_profile(runtime, args.workflows, 0)
            finally:
                runtime.shutdown()
            return print_profile(label, profile)

        profiled("default memory (SQLite memory actor on the head node), k = 1", brokers=1)
        ceilings: dict[int, float] = {}
        with redis_server(None) as url:
            assert url is not None, "the k sweep needs redis-server"
            for k in args.brokers:
                memory = RedisMachineMemory(url, prefix=f"scale-k{k}")
                ceilings[k] = profiled(f"Redis memory, k = {k}", brokers=k, memory=memory)
        first = min(ceilings)
        for k, ceiling in ceilings.items():
            if k != first:
                linear = ceiling / ceilings[first] / (k / first)
                print(
                    f"ceiling k={k} / k={first}: {ceiling / ceilings[first]:.2f}x "
                    f"({linear:.2f} of linear)"
                )
    finally:
        ray.shutdown()
        subprocess.run(["bash", str(script), "stop"], env=env, check=False)


def one_node_part(args: argparse.Namespace) -> None:
    ray.init(num_cpus=2, include_dashboard=False, namespace="arvo-bench", log_to_driver=False)
    folder = Path(tempfile.mkdtemp(prefix="arvo-scale-one-"))
    runtime = domain_runtime(folder, "one-node", placement="sharded")
    print(
        f"\none node, 2 CPUs, defaults (brokers={getattr(runtime, 'brokers', 1)}, Sharded(num_hosts=2)), "
        f"{args.workflows:,} increment orchestrations per run, median of {args.repeat}"
    )
    try:
        run_workflows(runtime, 200, 10_000)
        print_profile("one node", cpu_profile(runtime, args.workflows, 0))
        arvo_rates, base_rates = [], []
        for repeat in range(args.repeat):
            base_rates.append(baseline(args.workflows, repeat))
            hops, seconds = run_workflows(runtime, args.workflows, (repeat + 1) * args.workflows)
            arvo_rates.append(hops / seconds)
    finally:
        runtime.shutdown()
        ray.shutdown()
    arvo, base = statistics.median(arvo_rates), statistics.median(base_rates)
    print(
        f"sharded: {arvo:,.0f} hops/s, raw-Ray baseline: {base:,.0f} hops/s, ratio "
        f"{arvo / base:.2f}x  (runs {[round(r) for r in arvo_rates]} vs "
        f"{[round(r) for r in base_rates]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=3000)
    parser.add_argument("--brokers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one-node", action="store_true", help="only the one-node part")
    parser.add_argument("--cluster", action="store_true", help="only the cluster part")
    args = parser.parse_args()
    if args.one_node:
        one_node_part(args)
        return
    cluster_part(args)
    if not args.cluster:
        # A process joins one Ray: the one-node part runs in a fresh one.
        command = [sys.executable, __file__, "--one-node", "--workflows", str(args.workflows)]
        subprocess.run([*command, "--repeat", str(args.repeat)], check=True)


if __name__ == "__main__":
    main()
