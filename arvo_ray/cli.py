"""``arvo-ray``: the command line (demo, inspect, unlock, serve, send, status, stop).

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
    domain = build_number_domain(store=SQLiteKeyValueStore(str(workdir / "values.sqlite3")))

    def init_event(index: int) -> Any:
        """Odd values are decremented by 4, even ones incremented."""
        return number_modifier_init(
            index, operation="decrement" if index % 2 else "increment", source="com.demo.client"
        )

    placement = Sharded(num_hosts=args.hosts) if args.placement == "sharded" else Instance()
    started = time.perf_counter()
    # The runtime starts Ray as it does in a notebook: quietly, and stops it at shutdown.
    runtime = ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        placement=placement,
        sqlite_path=str(memory_path),
        namespace="arvo",
        ray_init_options={
            "num_cpus": args.num_cpus,
            "object_store_memory": args.object_store_mb * 1024 * 1024,
        },
    )
    try:
        print(f"  ray: {_cpus():.0f} CPUs, started in {time.perf_counter() - started:.1f} s")
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


def _open_memory(path: str) -> Any:
    """A SQLite memory file, or a ``redis://`` or ``postgresql://`` URL."""
    from arvo_ray import memory

    if path.startswith(("redis://", "rediss://", "unix://")):
        return memory.RedisMachineMemory(path)
    if path.startswith(("postgresql://", "postgres://")):
        return memory.PostgresMachineMemory(path)
    if not Path(path).exists():
        raise SystemExit(f"arvo-ray: no memory file at {path}")
    return memory.SQLiteMachineMemory(path)


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


def _export(args: argparse.Namespace) -> int:
    record = asyncio.run(_open_memory(args.memory).read(args.subject))
    if record is None:
        print(f"arvo-ray: no record for that subject in {args.memory}", file=sys.stderr)
        return 1
    steps = record.get("history") or []
    lines = "".join(json.dumps(step, separators=(",", ":")) + "\n" for step in steps)
    if args.output == "-":
        sys.stdout.write(lines)
    else:
        Path(args.output).write_text(lines)
    dropped = record.get("historyDropped")
    more = f" ({dropped} later steps were not kept)" if dropped else ""
    print(f"arvo-ray: {len(steps)} steps exported{more}", file=sys.stderr)
    return 0


def _load_workflow(spec: str, source: str | None) -> Any:
    """The workflow ``module:attribute`` names: a workflow, a function building one (given a
    fresh memory if it takes an argument), or a domain with ``workflows`` (the one whose
    source the history's first event is for)."""
    import inspect

    from arvo_ray._specs import import_attribute
    from arvo_ray.memory import SimpleMachineMemory
    from arvo_ray.workflow import WorkflowHandler

    try:
        target = import_attribute(spec, "A workflow")
    except ValueError as error:
        raise SystemExit(f"arvo-ray: {error}") from None
    if callable(target) and not isinstance(target, WorkflowHandler):
        required = [
            p
            for p in inspect.signature(target).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        target = target(SimpleMachineMemory()) if required else target()
    if not isinstance(target, WorkflowHandler):
        matching = [w for w in getattr(target, "workflows", ()) if w.source == source]
        if not matching:
            raise SystemExit(f"arvo-ray: {spec} gives no workflow for {source!r}")
        target = matching[0]
    return target


def _replay(args: argparse.Namespace) -> int:
    from arvo_ray.testing import load_history, replay

    history = load_history(args.history)
    if not history:
        raise SystemExit(f"arvo-ray: {args.history} holds no steps")
    report = replay(_load_workflow(args.workflow, history[0]["consumed"].get("to")), history)
    print(report)
    return 0 if report.ok else 1


def _serve(args: argparse.Namespace) -> int:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from arvo_ray.runtime import load_app, run_service, state_file

    app = load_app(args.app)
    return run_service(
        app,
        name=args.name,
        host=args.host,
        port=args.port,
        token=os.environ.get(args.token_env) or None,
        state=state_file(args.name, args.state_dir),
    )


def _service_url(args: argparse.Namespace) -> str:
    """The ingress URL given, else the one the named local service wrote down."""
    if args.url:
        return str(args.url).rstrip("/") + "/"
    from arvo_ray.runtime import state_file

    state = state_file(args.name, args.state_dir)
    if not state.exists():
        raise SystemExit(
            f"arvo-ray: no service {args.name!r} runs here ({state} is missing); give --url"
        )
    return str(json.loads(state.read_text())["url"])


def _http(
    args: argparse.Namespace,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    sent = dict(headers or {})
    token = os.environ.get(args.token_env)
    if token:
        sent["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        _service_url(args) + path, data=body, headers=sent, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode("utf-8", "replace")
    except urllib.error.URLError as error:
        raise SystemExit(f"arvo-ray: cannot reach {_service_url(args)}: {error.reason}") from None


def _send(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except ValueError as error:
        print(f"arvo-ray: {args.file} is not JSON: {error}", file=sys.stderr)
        return 2
    batch = isinstance(value, list)
    content_type = "application/cloudevents-batch+json" if batch else "application/cloudevents+json"
    query = f"?wait={args.wait}" if args.wait is not None else ""
    status, body = _http(
        args, "POST", f"events{query}", text.encode("utf-8"), {"content-type": content_type}
    )
    print(body)
    if status >= 400:
        print(f"arvo-ray: the service answered {status}", file=sys.stderr)
        return 1
    return 0


def _status(args: argparse.Namespace) -> int:
    health_status, health = _http(args, "GET", "healthz")
    status, body = _http(args, "GET", "stats")
    if status != 200:
        print(f"arvo-ray: the service answered {status}: {body}", file=sys.stderr)
        return 1
    stats = json.loads(body)
    ingress = stats.pop("ingress", {})
    print(
        f"runtime {stats.pop('runtime', '?')} at {_service_url(args)}: "
        f"{'healthy' if health_status == 200 else 'UNHEALTHY ' + health}"
    )
    print("  ingress: " + ", ".join(f"{key} {value}" for key, value in ingress.items()))
    for key in (
        "runs",
        "runs_active",
        "events_routed",
        "errors",
        "dead_letters",
        "workflows_finished",
        "recovered_events",
    ):
        if key in stats:
            print(f"  {key:<20} {stats[key]}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    import signal

    from arvo_ray.runtime import state_file

    state = state_file(args.name, args.state_dir)
    if not state.exists():
        print(f"arvo-ray: no service {args.name!r} runs here ({state} is missing)", file=sys.stderr)
        return 1
    pid = int(json.loads(state.read_text())["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        state.unlink(missing_ok=True)
        print(f"arvo-ray: the service {args.name!r} had already exited", file=sys.stderr)
        return 1
    deadline = time.monotonic() + args.timeout
    while state.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if state.exists():
        print(
            f"arvo-ray: {args.name!r} (pid {pid}) did not stop within {args.timeout:g} s",
            file=sys.stderr,
        )
        return 1
    print(f"stopped {args.name!r}")
    return 0


def _service_options(parser: argparse.ArgumentParser, *, url: bool = True) -> None:
    parser.add_argument("--name", default="arvo-service", help="the service's runtime name")
    if url:
        parser.add_argument("--url", help="the ingress URL (default: the local service --name)")
    parser.add_argument(
        "--token-env",
        default="ARVO_RAY_TOKEN",
        help="environment variable holding the bearer token (default ARVO_RAY_TOKEN)",
    )
    parser.add_argument("--state-dir", help="where local services note their URL and pid")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before giving up")


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
    export = commands.add_parser(
        "export", help="write the steps a workflow record kept as JSONL (for replay)"
    )
    export.add_argument("subject")
    export.add_argument(
        "--memory", required=True, help="the SQLite memory file, or a redis:// or postgresql:// URL"
    )
    export.add_argument("-o", "--output", default="-", help="the JSONL file (default: stdout)")
    export.set_defaults(func=_export)
    replay = commands.add_parser(
        "replay", help="replay a recorded history against a workflow; exit 1 where it diverges"
    )
    replay.add_argument(
        "workflow", help="module:attribute naming a workflow, its factory, or a domain"
    )
    replay.add_argument("history", help="a JSONL history (arvo-ray export)")
    replay.set_defaults(func=_replay)
    serve = commands.add_parser(
        "serve", help="run a runtime as a service taking CloudEvents over HTTP (Ray Serve)"
    )
    serve.add_argument("app", help="module:attribute naming the handlers and workflows")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _service_options(serve, url=False)
    serve.set_defaults(func=_serve)
    send = commands.add_parser("send", help="post an event (or a JSON array of them)")
    send.add_argument("file", nargs="?", default="-", help="a JSON file (default: stdin)")
    send.add_argument("--wait", type=float, help="seconds to wait for the final event")
    _service_options(send)
    send.set_defaults(func=_send)
    status = commands.add_parser("status", help="print a service's health and figures")
    _service_options(status)
    status.set_defaults(func=_status)
    stop = commands.add_parser("stop", help="stop a local service cleanly")
    _service_options(stop, url=False)
    stop.set_defaults(func=_stop)
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
