"""``arvo-ray``: the command line (demo, inspect, unlock).

Only the public API is used here. Ray is imported by the commands that need it, so
``arvo-ray --help`` and ``arvo-ray inspect`` stay quick.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arvo_ray._version import __version__

__all__ = ["main"]


def _short_subject(subject: str) -> str:
    from arvo_ray.core import ArvoOrchestrationSubject

    try:
        content = ArvoOrchestrationSubject.parse(subject)
    except ValueError:
        return subject[:12]
    return f"{content['orchestrator']['name']}#{content['execution']['id'][:8]}"


def _format_event(index: int, event: Any) -> str:
    data = json.dumps(event.data, ensure_ascii=False)
    if len(data) > 70:
        data = data[:67] + "..."
    return (
        f"{index:>3}  {event.type:<32} {event.source} -> {event.to}\n"
        f"     subject {_short_subject(event.subject)}  data {data}"
    )


def _demo(args: argparse.Namespace) -> int:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from arvo_ray.examples.number_domain import (
        SQLiteKeyValueStore,
        build_number_domain,
        number_modifier_init,
    )
    from arvo_ray.runtime import ArvoRuntime, Instance, Sharded

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="arvo-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    memory_path = Path(args.memory) if args.memory else workdir / "memory.sqlite3"
    print(f"arvo-ray {__version__} demo: number-domain orchestrations on a local Ray cluster")
    print(f"  memory (SQLite): {memory_path}")
    started = time.perf_counter()
    ray.init(
        num_cpus=args.num_cpus,
        include_dashboard=False,
        namespace="arvo",
        log_to_driver=False,
        object_store_memory=args.object_store_mb * 1024 * 1024,
    )
    print(f"  ray: {_cpus():.0f} CPUs, started in {time.perf_counter() - started:.1f} s")
    domain = build_number_domain(store=SQLiteKeyValueStore(str(workdir / "values.sqlite3")))

    def init_event(index: int) -> Any:
        """Odd values are decremented by 4, even ones incremented."""
        return number_modifier_init(
            index, operation="decrement" if index % 2 else "increment", source="com.demo.client"
        )

    placement = Sharded(num_hosts=args.hosts) if args.placement == "sharded" else Instance()
    runtime = ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        placement=placement,
        sqlite_path=str(memory_path),
    )
    try:
        print(f"  runtime: {runtime.name} (placement={args.placement})\n")
        first = init_event(1)
        result = runtime.run(first, trace=True, timeout=args.timeout)
        print("One number.modifier workflow (init 1, decrement by 4), every event of its chain:")
        for index, event in enumerate(result.trace or []):
            print(_format_event(index, event))
        for letter in result.errors:
            print(f"  error: {letter.error} (event {letter.event.type})")
        if result.final is None:
            print("\nThe workflow produced no completion event.", file=sys.stderr)
            return 1
        print(
            f"\nResult: {result.final.type} {json.dumps(result.final.data)}  ({result.hops} hops, {result.seconds * 1000:.0f} ms)"
        )
        record = runtime.record(first.subject)
        status, value = (record.status, record.get("value")) if record else (None, None)
        print(
            f"Stored record: status={status} value={value} subject={_short_subject(first.subject)}"
        )
        if args.workflows > 1:
            events = [init_event(i) for i in range(args.workflows)]
            print(f"\nRunning {len(events)} workflows (placement={args.placement})...")
            started = time.perf_counter()
            results = runtime.run_many(events, progress=True, timeout=args.timeout)
            elapsed = time.perf_counter() - started
            expected = [i - 4 if i % 2 else i + 4 for i in range(len(events))]
            correct = sum(
                1
                for r, want in zip(results, expected, strict=True)
                if r.final is not None and r.final.data.get("final") == want
            )
            hops = sum(r.hops for r in results)
            print(
                f"{correct}/{len(events)} correct in {elapsed:.2f} s: "
                f"{len(events) / elapsed:.1f} workflows/s, {hops / elapsed:.0f} event hops/s"
            )
            if correct != len(events):
                return 1
        stats = runtime.stats()
        print(
            f"\nBroker: {stats['events_routed']} events routed, {stats['errors']} errors, {stats['dead_letters']} dead letters"
        )
        print(f"Inspect a workflow: arvo-ray inspect <subject> --memory {memory_path}")
        return 0
    finally:
        runtime.shutdown()
        ray.shutdown()


def _open_memory(path: str) -> Any:
    from arvo_ray.memory import SQLiteMachineMemory

    if not Path(path).exists():
        raise SystemExit(f"arvo-ray: no memory file at {path}")
    return SQLiteMachineMemory(path)


def _cpus() -> float:
    import ray

    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return resources.get("CPU", 0.0)


def _inspect(args: argparse.Namespace) -> int:
    memory = _open_memory(args.memory)

    async def go() -> int:
        if args.subject is None:
            ids = await memory.list_ids()
            locks = {lock["id"]: lock for lock in await memory.locks()}
            print(f"{len(ids)} workflow records in {args.memory}")
            for subject in ids:
                record = await memory.read(subject) or {}
                lock = locks.get(subject)
                flag = ""
                if lock is not None:
                    flag = " LOCK EXPIRED" if lock["expired"] else f" LOCKED by {lock['owner']}"
                print(
                    f"  {_short_subject(subject):<40} status={record.get('status', record.get('executionStatus'))}{flag}\n"
                    f"    {subject}"
                )
            return 0
        record = await memory.read(args.subject)
        if record is None:
            print(f"arvo-ray: no record for that subject in {args.memory}", file=sys.stderr)
            return 1
        meta = await memory.read_meta(args.subject)
        held = [lock for lock in await memory.locks() if lock["id"] == args.subject]
        print(json.dumps({"meta": meta, "locks": held, "record": record}, indent=2, default=str))
        return 0

    return asyncio.run(go())


def _unlock(args: argparse.Namespace) -> int:
    memory = _open_memory(args.memory)
    released = asyncio.run(memory.force_unlock(args.subject))
    print("released" if released else "no lock was held")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arvo-ray",
        description="Arvo event handlers, orchestrators and resumable workflows on Ray.",
    )
    parser.add_argument("--version", action="version", version=f"arvo-ray {__version__}")
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser(
        "demo", help="run number-domain orchestrations on a local Ray cluster"
    )
    demo.add_argument(
        "--workflows", type=int, default=1, help="how many workflows to run (default 1)"
    )
    demo.add_argument("--placement", choices=("instance", "sharded"), default="instance")
    demo.add_argument("--hosts", type=int, default=2, help="host actors of the sharded placement")
    demo.add_argument("--memory", help="SQLite memory file (default: in a new temporary folder)")
    demo.add_argument("--workdir", help="folder for the demo's files")
    demo.add_argument(
        "--num-cpus", type=int, default=None, help="CPUs for the local Ray (default: all)"
    )
    demo.add_argument("--object-store-mb", type=int, default=300)
    demo.add_argument("--timeout", type=float, default=600.0, help="seconds before giving up")
    demo.set_defaults(func=_demo)
    inspect = commands.add_parser("inspect", help="print stored workflow records")
    inspect.add_argument("subject", nargs="?", help="a workflow subject (omit to list all)")
    inspect.add_argument("--memory", required=True, help="the SQLite memory file")
    inspect.set_defaults(func=_inspect)
    unlock = commands.add_parser("unlock", help="force-release a stuck workflow lock")
    unlock.add_argument("subject")
    unlock.add_argument("--memory", required=True, help="the SQLite memory file")
    unlock.set_defaults(func=_unlock)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
