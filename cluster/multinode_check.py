"""Run number-domain orchestrations on a multi-node cluster and check every result.

    cluster/local_cluster.sh start
    RAY_ADDRESS=127.0.0.1:6390 python cluster/multinode_check.py --workflows 50

The two workflow host actors are pinned to the two worker nodes (custom resources ``worker_a``
and ``worker_b``), the memory actor to the head node; handler tasks run wherever CPUs are.
Exits non-zero if a result is wrong or the hosts did not run on two different worker nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import ray

from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    number_modifier_init,
)
from arvo_ray.runtime import ArvoRuntime, Sharded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=50)
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS", "127.0.0.1:6390"))
    args = parser.parse_args()
    ray.init(address=args.address, namespace="arvo-multinode", log_to_driver=False)
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
        namespace="arvo-multinode",
        sqlite_path=workdir / "memory.sqlite3",
    )
    try:
        results = runtime.run_many(events, progress=False, timeout=600)
        expected = [i + 3 if i % 2 else i - 3 for i in range(args.workflows)]
        got = [r.final.data["final"] if r.final else None for r in results]
        wrong = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
        hosts = [
            ray.get(ray.get_actor(name, namespace="arvo-multinode").stats.remote())
            for name in runtime.actor_names()
        ]
        nodes = {node["NodeID"]: node["Resources"] for node in ray.nodes() if node["Alive"]}
        placed = {
            host["name"]: sorted(k for k in nodes[host["node"]] if k.startswith("worker_"))
            for host in hosts
        }
        report = {
            "workflows": len(events),
            "correct": len(events) - len(wrong),
            "wrong": wrong[:5],
            "hosts": placed,
            "steps_per_host": {host["name"]: host["steps"] for host in hosts},
            "errors": sum(len(r.errors) for r in results),
        }
        print(json.dumps(report, indent=2))
        ok = (
            not wrong
            and report["errors"] == 0
            and sorted(w for names in placed.values() for w in names) == ["worker_a", "worker_b"]
            and all(steps > 0 for steps in report["steps_per_host"].values())
        )
        return 0 if ok else 1
    finally:
        runtime.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
