"""Where the CPU goes per event hop, and what the busiest single actor allows, with k brokers.

    python benchmarks/scale_out.py                     # cluster: k = 1, 2, 4; then one node
    python benchmarks/scale_out.py --workflows 600 --brokers 1 2    # smaller
    python benchmarks/scale_out.py --cluster --workload nested    # children on other shards
    python benchmarks/scale_out.py --cluster --address auto --redis-url redis://...  # real nodes

**Cluster.** Starts the local multi-node cluster of ``cluster/local_cluster.sh`` (a head and
two 1-CPU worker nodes on this machine) and runs increment orchestrations (6 event hops each;
``--workload nested``: number-modifier ones, whose child's chain runs on its own shard)
on the sharded placement with the host actors on the worker nodes: first with the default
memory (a SQLite memory actor on the head node) and one broker, then with Redis (the memory
for many nodes: no actor serves it) once per broker count k. For every Ray process (and the
redis-server) it reads the CPU time from ``/proc`` before and after, and prints CPU-ms per hop
by role, the busiest single actor's CPU-ms per hop, and the **structural ceiling** 1000 / that
figure in hops/s: what the busiest single actor allows, however many nodes do the rest.

**A real cluster.** ``--address`` runs the same on a running cluster instead (``arvo_ray``
installed on every node; the driver on the head node, where the default memory's file is),
with ``--redis-url`` a Redis every node reaches for the k sweep. A probe actor on every node
reads that node's ``/proc``, so every process of the cluster is counted, wherever it runs:

    python benchmarks/scale_out.py --cluster --address auto --redis-url redis://10.0.0.5:6379

**One node.** A local Ray of 2 CPUs with default settings (one broker, sharded placement):
total CPU-ms per hop, and event hops/s alternating with the raw-Ray baseline of
``ray_runtime.py`` (a broker actor driving a task and a named actor), medians of the runs.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import procs  # benchmarks/procs.py
import ray
from memory import redis_server  # benchmarks/memory.py
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from ray_runtime import baseline, init_events  # benchmarks/ray_runtime.py

from arvo_ray.core import ArvoEvent
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    number_modifier_init,
)
from arvo_ray.memory import RedisMachineMemory
from arvo_ray.runtime import ArvoRuntime, Sharded

ROOT = Path(__file__).resolve().parent.parent
ACTORS = ("BrokerActor", "WorkflowHostActor", "MemoryActor", "HandlerExecutorActor")
WORKERS = [{"resources": {"worker_a": 1}}, {"resources": {"worker_b": 1}}]


def domain_runtime(folder: Path, name: str, *, files: bool = True, **options: Any) -> ArvoRuntime:
    """The number domain's runtime; its handlers' values in a SQLite file on this machine, or
    (``files=False``, for nodes on other machines) in each handler's own copy."""
    store: MutableMapping[str, float] = (
        SQLiteKeyValueStore(str(folder / "values.sqlite3")) if files else {}
    )
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


def _increments(count: int, offset: int) -> tuple[list[ArvoEvent], Callable[[int, Any], bool]]:
    return init_events(count, offset), lambda _, data: bool(data.get("success"))


def _nested(count: int, offset: int) -> tuple[list[ArvoEvent], Callable[[int, Any], bool]]:
    def right(index: int, data: Any) -> bool:
        value = offset + index
        return bool(data.get("final") == (value + 3 if value % 2 else value - 3))

    return [number_modifier_init(offset + i, modifier=3) for i in range(count)], right


# What the runs start: increment orchestrations (a chain on one shard), or number-modifier
# ones (a parent whose child's chain runs on the child's shard, often another).
WORKLOADS = {"increment": _increments, "nested": _nested}


def run_workflows(
    runtime: ArvoRuntime, count: int, offset: int, workload: str = "increment"
) -> tuple[int, float]:
    """(hops routed, seconds) of ``count`` workflows of the ``workload``, all checked."""
    events, right = WORKLOADS[workload](count, offset)
    before = runtime.stats()["events_routed"]
    started = time.perf_counter()
    results = runtime.run_many(events, progress=False, window=count)
    elapsed = time.perf_counter() - started
    failed = [r for i, r in enumerate(results) if r.final is None or not right(i, r.final.data)]
    assert not failed, f"{len(failed)} workflows failed, e.g. {failed[0].describe()}"
    return runtime.stats()["events_routed"] - before, elapsed


def node_probes() -> list[Any]:
    """One actor on every alive node that reads there every Ray process's, redis-server's and
    this driver's CPU seconds and the machine's clock ticks (``/proc``): a remote node's
    processes are seen only on it. An actor of its own, so it never shares a process with a
    handler task; its class is defined in here, and ``procs`` is registered, so Ray ships their
    code (the benchmarks are not installed on the nodes)."""

    class NodeProbe:
        def read(
            self, driver: tuple[str, int]
        ) -> tuple[str, dict[int, tuple[str, float]], tuple[int, int]]:
            host = socket.gethostname()
            found = procs.processes(
                lambda pid, line: (
                    not line.startswith("ray::NodeProbe")
                    and ("ray" in line or "redis-server" in line or (host, pid) == driver)
                )
            )
            used = procs.cpu_seconds(list(found))
            return host, {pid: (found[pid], used[pid]) for pid in used}, procs.machine_ticks()

    ray.cloudpickle.register_pickle_by_value(procs)  # shipped with the probe's code
    actor = ray.remote(num_cpus=0)(NodeProbe)
    nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"]]  # type: ignore[no-untyped-call]
    return [
        actor.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote()
        for node in nodes
    ]


DRIVER = (socket.gethostname(), os.getpid())
Snapshot = tuple[dict[tuple[str, int], tuple[str, float]], dict[str, tuple[int, int]]]


def snapshot(probes: list[Any]) -> Snapshot:
    """CPU seconds of every Ray process, redis-server and this driver of the cluster, keyed by
    (host, pid), and each machine's (all, idle) ticks. Nodes that share a machine (the local
    cluster) report the same processes, counted once."""
    processes: dict[tuple[str, int], tuple[str, float]] = {}
    machines: dict[str, tuple[int, int]] = {}
    for host, found, ticks in ray.get([probe.read.remote(DRIVER) for probe in probes]):
        processes.update({(host, pid): item for pid, item in found.items()})
        machines[host] = ticks
    return processes, machines


def cpu_profile(
    runtime: ArvoRuntime, count: int, offset: int, probes: list[Any], workload: str = "increment"
) -> dict[str, Any]:
    """CPU seconds of every Ray process (and redis-server) over one run, by role and by actor."""
    before = runtime.stats()
    start, machines = snapshot(probes)
    hops, elapsed = run_workflows(runtime, count, offset, workload)
    end, machines_after = snapshot(probes)  # new task workers too
    ticks = sum(machines_after[h][0] - machines[h][0] for h in machines)
    idle = sum(machines_after[h][1] - machines[h][1] for h in machines)
    after = runtime.stats()
    calls = {key: after[key] - before[key] for key in _CALLS}
    by_role: dict[str, float] = defaultdict(float)
    by_actor: dict[tuple[str, int], tuple[str, float]] = {}
    for key, (line, used) in end.items():
        spent = used - start.get(key, (line, 0.0))[1]
        if key == DRIVER:
            name = "driver"
        elif "redis-server" in line:
            name = "redis-server"
        else:
            name = procs.role(-1, line)
        by_role[name] += spent
        if name in ACTORS:
            by_actor[key] = (name, spent)
    return {
        "hops": hops,
        "seconds": elapsed,
        "roles": dict(by_role),
        "actors": by_actor,
        "calls": calls,
        "machine_busy": 1 - idle / max(1, ticks),
        "machines": len(machines),
    }


# Events and the calls that carried them: how full the batches were.
_CALLS = (
    "workflow_events",
    "host_batches",
    "handler_events",
    "handler_batches",
    "handed_to_shards",
    "shard_calls",
)


def print_profile(label: str, profile: dict[str, Any]) -> float:
    hops = profile["hops"]
    per_hop = {name: 1000 * spent / hops for name, spent in profile["roles"].items()}
    busiest_name, busiest = max(profile["actors"].values(), key=lambda item: item[1])
    busiest_ms = 1000 * busiest / hops
    print(
        f"\n{label}: {hops:,} hops in {profile['seconds']:.1f} s = {hops / profile['seconds']:,.0f}"
        f" hops/s; total {sum(per_hop.values()):.3f} CPU-ms/hop; the CPUs of "
        f"{profile['machines']} machine(s) {profile['machine_busy']:.0%} busy"
    )
    for name, ms in sorted(per_hop.items(), key=lambda item: -item[1]):
        count = sum(1 for actor, _ in profile["actors"].values() if actor == name)
        shown = f"{name} ({count})" if count else name
        print(f"  {shown:<28} {ms:8.3f} CPU-ms/hop  {ms / sum(per_hop.values()):5.0%}")
    calls = profile["calls"]
    print(
        f"  events per call: {calls['workflow_events'] / max(1, calls['host_batches']):.1f} per "
        f"host call, {calls['handler_events'] / max(1, calls['handler_batches']):.1f} per handler "
        f"batch; {calls['handed_to_shards']:,} handed between shards in "
        f"{calls['shard_calls']:,} calls"
    )
    print(
        f"  busiest single actor: {busiest_name}, {busiest_ms:.3f} CPU-ms/hop -> structural "
        f"ceiling {1000 / busiest_ms:,.0f} hops/s"
    )
    return 1000 / busiest_ms


def cluster_part(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="arvo-scale-"))
    if args.address:
        on_cluster(args, folder, args.address, local=False)
        return
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
        on_cluster(args, folder, address, local=True)
    finally:
        subprocess.run(["bash", str(script), "stop"], env=env, check=False)


def on_cluster(args: argparse.Namespace, folder: Path, address: str, *, local: bool) -> None:
    """The default-memory run and the k sweep on the cluster at ``address``: the local one
    (hosts pinned to its two worker nodes) or a real one (hosts where the runtime puts them,
    next to their broker shard; handler values kept in each handler's own copy, as no file
    is shared between machines)."""
    ray.init(address=address, namespace="arvo-bench", log_to_driver=False)
    try:
        nodes = [n for n in ray.nodes() if n["Alive"]]  # type: ignore[no-untyped-call]
        cpus = [int(n["Resources"].get("CPU", 0)) for n in nodes]
        print(
            f"Ray {ray.__version__}: {len(nodes)} nodes with {cpus} CPUs, {args.workflows:,} "
            f"{args.workload} workflows per run; "
            + ("hosts on the 2 worker nodes" if local else "hosts next to their broker shard")
        )
        probes = node_probes()
        placement = Sharded(num_hosts=2, host_options=WORKERS if local else ())

        def profiled(label: str, **options: Any) -> float:
            runtime = domain_runtime(folder, label, placement=placement, files=local, **options)
            try:
                run_workflows(runtime, 200, 10_000, args.workload)  # warm-up
                profile = cpu_profile(runtime, args.workflows, 0, probes, args.workload)
            finally:
                runtime.shutdown()
            return print_profile(label, profile)

        profiled("default memory (SQLite memory actor on the head node), k = 1", brokers=1)
        if not local and args.redis_url is None:
            print("\nno --redis-url: the k sweep needs a Redis every node reaches")
            return
        ceilings: dict[int, float] = {}
        with redis_server(args.redis_url) as url:
            assert url is not None, "the k sweep needs redis-server"
            for k in args.brokers:
                memory = RedisMachineMemory(url, prefix=f"scale-k{k}-{uuid.uuid4().hex[:6]}")
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
        print_profile("one node", cpu_profile(runtime, args.workflows, 0, node_probes()))
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
    parser.add_argument(
        "--workload",
        choices=sorted(WORKLOADS),
        default="increment",
        help="the cluster part's workflows: increment orchestrations, or nested ones whose "
        "children cross between shards (the one-node part always runs increments)",
    )
    parser.add_argument("--brokers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one-node", action="store_true", help="only the one-node part")
    parser.add_argument("--cluster", action="store_true", help="only the cluster part")
    parser.add_argument(
        "--address", help="run the cluster part on this running cluster (ray.init address)"
    )
    parser.add_argument(
        "--redis-url", help="a Redis every node reaches, for the k sweep on --address"
    )
    args = parser.parse_args()
    if args.address and args.workload == "nested":
        # Nested workflows keep values under their own subjects, which a handler on another
        # machine must read back: on --address the handlers' values are not shared.
        parser.error("--workload nested needs a value store every node shares: not on --address")
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
