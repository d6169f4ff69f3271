"""Run number-domain orchestrations on a multi-node cluster and check every result.

    cluster/local_cluster.sh start
    RAY_ADDRESS=127.0.0.1:6390 python cluster/multinode_check.py --workflows 50
    RAY_ADDRESS=127.0.0.1:6390 python cluster/multinode_check.py --brokers 2 --kill-shard

The workflow host actors are pinned to the two worker nodes (custom resources ``worker_a``
and ``worker_b``), the memory actor to the head node; handler tasks run wherever CPUs are.
With ``--brokers 2`` two broker shards share the chains (a parent and its child often on
different shards); ``--kill-shard`` SIGKILLs shard 1 while the workflows run.
Exits non-zero if a result is wrong or missing, an output shows twice in a result, an outbox
is left non-empty, a shard carried no chain, or the hosts did not run on both worker nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ray

from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    number_modifier_init,
)
from arvo_ray.runtime import ArvoRuntime, Sharded

NAMESPACE = "arvo-multinode"


def _shards(runtime: ArvoRuntime) -> list[Any]:
    names = (
        [runtime.name + "-broker"]
        if runtime.brokers == 1
        else [f"{runtime.name}-broker-{index}" for index in range(runtime.brokers)]
    )
    return [ray.get_actor(name, namespace=NAMESPACE) for name in names]


def _pid(actor: Any) -> int:
    return int(ray.get(actor.__ray_call__.remote(lambda self: os.getpid()), timeout=60))


def _left_in_outboxes(runtime: ArvoRuntime, subjects: list[str], wait: float) -> int:
    """Outbox events still unacknowledged after at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        left = sum(len((runtime.record(s) or {}).get("outbox") or []) for s in subjects)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=50)
    parser.add_argument("--brokers", type=int, default=None)
    parser.add_argument("--kill-shard", action="store_true")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS", "127.0.0.1:6390"))
    args = parser.parse_args()
    ray.init(address=args.address, namespace=NAMESPACE, log_to_driver=False)
    workdir = Path(tempfile.mkdtemp(prefix="arvo-multinode-"))
    domain = build_number_domain(store=SQLiteKeyValueStore(str(workdir / "values.sqlite3")))
    events = [
        number_modifier_init(index, modifier=3, source="com.multinode.check")
        for index in range(args.workflows)
    ]
    runtime = ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        placement=Sharded(
            num_hosts=2,
            host_options=[{"resources": {"worker_a": 1}}, {"resources": {"worker_b": 1}}],
        ),
        brokers=args.brokers,
        namespace=NAMESPACE,
        sqlite_path=workdir / "memory.sqlite3",
        recovery_interval=2.0,
        recovery_age=1.0,
    )
    try:
        shards = _shards(runtime)
        killed = None
        refs = [runtime.submit(event) for event in events]
        if args.kill_shard:
            ray.wait(refs, num_returns=max(1, len(refs) // 10), timeout=300)
            killed = _pid(shards[-1])
            os.kill(killed, signal.SIGKILL)  # the cluster is on this machine
        results = ray.get(refs, timeout=900)
        expected = [i + 3 if i % 2 else i - 3 for i in range(args.workflows)]
        got = [r.final.data["final"] if r.final else None for r in results]
        wrong = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
        hosts = [
            ray.get(ray.get_actor(name, namespace=NAMESPACE).stats.remote())
            for name in runtime.actor_names()
        ]
        nodes = {node["NodeID"]: node["Resources"] for node in ray.nodes() if node["Alive"]}
        placed = {
            host["name"]: sorted(k for k in nodes[host["node"]] if k.startswith("worker_"))
            for host in hosts
        }
        shard_stats = ray.get([shard.stats.remote() for shard in shards])
        report = {
            "workflows": len(events),
            "correct": len(events) - len(wrong),
            "wrong": wrong[:5],
            "brokers": runtime.brokers,
            "hosts": placed,
            "steps_per_host": {host["name"]: host["steps"] for host in hosts},
            "runs_per_shard": [s["runs"] for s in shard_stats],
            "handed_between_shards": sum(s["handed_to_shards"] for s in shard_stats),
            "shard_killed": killed is not None,
            "shard_restarted": killed is not None and _pid(shards[-1]) != killed,
            "duplicate_outputs": sum(
                len(r.outputs) - len({e.id for e in r.outputs}) for r in results
            ),
            "left_in_outboxes": _left_in_outboxes(runtime, [e.subject for e in events], 120),
            "errors": sum(len(r.errors) for r in results),
        }
        print(json.dumps(report, indent=2))
        ok = (
            not wrong
            and (report["errors"] == 0 or killed is not None)
            and report["duplicate_outputs"] == 0
            and report["left_in_outboxes"] == 0
            and {w for names in placed.values() for w in names} == {"worker_a", "worker_b"}
            and all(steps > 0 for steps in report["steps_per_host"].values())
            and (runtime.brokers == 1 or report["handed_between_shards"] > 0)
            and all(runs > 0 for runs in report["runs_per_shard"])
            and (killed is None or report["shard_restarted"])
        )
        return 0 if ok else 1
    finally:
        runtime.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
