"""The JSON-lines span file: one valid JSON object per finished span, shared by processes."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from arvo_ray.telemetry import FileSpanExporter, TelemetryConfig, read_span_file

from ._workers import write_spans

SPAN_KEYS = {
    "name",
    "trace_id",
    "span_id",
    "parent_span_id",
    "kind",
    "attributes",
    "status",
    "pid",
    "service",
    "start_time",
    "end_time",
    "events",
}


def _private_tracer(path: Path) -> TracerProvider:
    """A provider used directly (never made global), exporting to ``path``."""
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(path))))
    return provider


class TestFileSpanExporter:
    def test_writes_one_json_object_per_span(self, tmp_path: Path) -> None:
        """Each span is a line with ids, parent, kind, attributes, status, events and pid."""
        path = tmp_path / "sub" / "spans.jsonl"
        tracer = _private_tracer(path).get_tracer("test")
        with (
            tracer.start_as_current_span("parent", kind=SpanKind.PRODUCER) as parent,
            tracer.start_as_current_span("child", attributes={"n": 1, "tags": ["a"]}) as child,
        ):
            child.add_event("log", {"log.message": "hi"})
            child.set_status(Status(StatusCode.ERROR, "bad"))
        lines = path.read_text().splitlines()
        assert len(lines) == 2
        first, second = (json.loads(line) for line in lines)
        assert set(first) >= SPAN_KEYS
        assert (first["name"], second["name"]) == ("child", "parent")
        assert first["parent_span_id"] == f"{parent.get_span_context().span_id:016x}"
        assert second["parent_span_id"] is None
        assert (
            first["trace_id"] == second["trace_id"] == f"{parent.get_span_context().trace_id:032x}"
        )
        assert first["span_id"] == f"{child.get_span_context().span_id:016x}"
        assert (first["kind"], second["kind"]) == ("INTERNAL", "PRODUCER")
        assert first["attributes"] == {"n": 1, "tags": ["a"]}
        assert first["status"] == {"code": "ERROR", "description": "bad"}
        assert first["events"][0]["name"] == "log"
        assert first["pid"] == os.getpid()

    def test_read_span_file_reads_back_and_names_a_bad_line(self, tmp_path: Path) -> None:
        """The reader returns the objects in order; a corrupt line is reported with its number."""
        path = tmp_path / "spans.jsonl"
        tracer = _private_tracer(path).get_tracer("test")
        for name in ("a", "b"):
            with tracer.start_as_current_span(name):
                pass
        assert [span["name"] for span in read_span_file(path)] == ["a", "b"]
        assert read_span_file(tmp_path / "missing.jsonl") == []
        with path.open("a") as handle:
            handle.write("not json\n")
        with pytest.raises(ValueError, match=r"spans.jsonl:3"):
            read_span_file(path)

    def test_two_spawned_processes_share_one_file(self, tmp_path: Path) -> None:
        """Two processes installing the same config append whole, valid lines to one file."""
        path = tmp_path / "shared.jsonl"
        config = TelemetryConfig(service_name="multi", span_file=str(path), metrics=False)
        count = 200
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(2), context.Queue()
        processes = [
            context.Process(target=write_spans, args=(config, count, barrier, results))
            for _ in range(2)
        ]
        for process in processes:
            process.start()
        outcomes = dict(results.get(timeout=60) for _ in processes)
        for process in processes:
            process.join(timeout=30)
        assert list(outcomes.values()) == ["ok", "ok"], outcomes

        lines = path.read_text().splitlines()
        assert len(lines) == 2 * count
        spans = [json.loads(line) for line in lines]  # every line is one whole JSON object
        assert {span["pid"] for span in spans} == set(outcomes)
        assert {span["service"] for span in spans} == {"multi"}
        for pid in outcomes:
            own = [span for span in spans if span["pid"] == pid]
            (parent,) = [span for span in own if span["parent_span_id"] is None]
            assert parent["name"] == f"parent-{pid}"
            children = [span for span in own if span is not parent]
            assert len(children) == count - 1
            assert {span["parent_span_id"] for span in children} == {parent["span_id"]}
            assert {span["trace_id"] for span in own} == {parent["trace_id"]}
