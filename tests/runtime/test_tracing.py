"""One trace per workflow across the driver, the broker actor, handler tasks and workflow actors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from telemetry._isolated import run_isolated

SCRIPT = """
import os, tempfile
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_AUTH_MODE"] = "disabled"
os.environ.pop("RAY_ADDRESS", None)
import ray
from opentelemetry import trace
from arvo_ray.core import create_arvo_orchestrator_event_factory
from arvo_ray.examples.number_domain import SQLiteKeyValueStore, build_number_domain, number_modifier_contract
from arvo_ray.runtime import ArvoRuntime
from arvo_ray.telemetry import TelemetryConfig, read_span_file

folder = {folder!r}
ray.init(num_cpus=2, object_store_memory=200 * 1024 * 1024, include_dashboard=False, log_to_driver=False)
config = TelemetryConfig(service_name="arvo-trace-test", span_file=os.path.join(folder, "spans.jsonl"), metrics=True)
domain = build_number_domain(store=SQLiteKeyValueStore(os.path.join(folder, "values.sqlite3")))
runtime = ArvoRuntime(handlers=domain.handlers, workflows=domain.workflows, placement="sharded",
                      sqlite_path=os.path.join(folder, "memory.sqlite3"), telemetry=config)
factory = create_arvo_orchestrator_event_factory(number_modifier_contract.version("0.0.1"))
with trace.get_tracer("test").start_as_current_span("driver") as root:
    init = factory.init(source="com.trace.test", data={{"parentSubject$$": None, "init": 5, "modifier": 4,
                        "operation": "decrement", "trend": "linear"}})
    result = runtime.run(init, timeout=120)
stats = runtime.stats()
runtime.shutdown()
ray.shutdown()
from arvo_ray.telemetry import flush_telemetry
flush_telemetry()
emit({{"final": result.final.data, "root": format(root.get_span_context().span_id, "016x"),
       "spans": read_span_file(config.span_file), "metrics": stats.get("metrics", {{}})}})
"""


def test_a_nested_orchestration_is_one_connected_trace_across_processes(tmp_path: Path) -> None:
    """Every span of a number.modifier run (driver, broker, hosts, handler tasks) is in one
    trace, chained parent to child through the events' traceparent."""
    done = run_isolated(SCRIPT.format(folder=str(tmp_path)), timeout=300)
    result = done.result
    assert result["final"] == {"success": True, "error": [], "final": 1}
    spans = result["spans"]
    by_id = {span["span_id"]: span for span in spans}
    traces = Counter(span["trace_id"] for span in spans)
    assert len(traces) == 1, traces
    names = Counter(span["name"] for span in spans)
    assert (
        names["Orchestrator<#/test/orchestrator/number/modifier>@<arvo.orc.number.modifier>"] == 1
    )
    assert names["Orchestrator<#/test/orchestrator/decrement>@<arvo.orc.dec>"] == 1
    assert names["Handler<#/test/handler/value/write>"] == 1
    assert names["Handler<#/test/handler/value/read>"] == 1
    assert names["Handler<#/test/handler/decrement>"] == 1
    assert sum(1 for span in spans if span["name"].startswith("send ")) == 9  # one per hop
    pids = {span["pid"] for span in spans}
    assert len(pids) >= 4, pids  # driver, broker, workflow host(s), handler worker(s)

    def parent_name(span: dict) -> str | None:
        parent = by_id.get(span.get("parent_span_id") or "")
        return parent["name"] if parent else None

    def single(name: str) -> dict:
        (span,) = [s for s in spans if s["name"] == name]
        return span

    # The chain of the trace: each hop's span is a child of the span that emitted its event.
    write = single("Handler<#/test/handler/value/write>")
    assert (
        parent_name(write)
        == "Orchestrator<#/test/orchestrator/number/modifier>@<arvo.orc.number.modifier>"
    )
    after_write = single(
        "Orchestrator<#/test/orchestrator/number/modifier>@<evt.value.write.success>"
    )
    assert parent_name(after_write) == "Handler<#/test/handler/value/write>"
    child_init = single("Orchestrator<#/test/orchestrator/decrement>@<arvo.orc.dec>")
    assert parent_name(child_init) == after_write["name"]
    read = single("Handler<#/test/handler/value/read>")
    assert parent_name(read) == child_init["name"]
    completion = single("Orchestrator<#/test/orchestrator/number/modifier>@<arvo.orc.dec.done>")
    assert (
        parent_name(completion)
        == "Orchestrator<#/test/orchestrator/decrement>@<evt.decrement.number.success>"
    )
    # ... all the way up to the driver's span.
    span = completion
    while span.get("parent_span_id") in by_id:
        span = by_id[span["parent_span_id"]]
    assert span["span_id"] == result["root"] and span["name"] == "driver"
    metrics = result["metrics"]
    assert metrics["workflows_started"] == 2 and metrics["workflows_completed"] == 2
    assert metrics["events_handled"] >= 9
