"""A JSON-lines span exporter that many processes can share, and its reader.

Each finished span becomes one JSON object on one line (name, ids, parent, kind, attributes,
status, events, pid, service). A batch is written with a single ``write`` on a file opened
with ``O_APPEND`` while holding an exclusive ``flock``, so lines from concurrent processes
never interleave. The file is opened per batch, so a deleted or rotated file is recreated.

This module imports the OpenTelemetry SDK; :mod:`arvo_ray.telemetry` loads it on first use.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

try:  # POSIX; elsewhere O_APPEND alone keeps whole-line writes in practice
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FileSpanExporter", "RecentSpanExporter", "read_span_file", "span_to_dict"]


def _hex(value: int, width: int) -> str:
    return f"{value:0{width}x}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, Sequence):
        return [_jsonable(item) for item in value]
    return str(value)


def span_to_dict(span: ReadableSpan) -> dict[str, Any]:
    """The JSON object written for one finished span."""
    context = span.get_span_context()
    parent = span.parent
    resource = dict(span.resource.attributes) if span.resource is not None else {}
    return {
        "name": span.name,
        "trace_id": _hex(context.trace_id, 32) if context else None,
        "span_id": _hex(context.span_id, 16) if context else None,
        "parent_span_id": _hex(parent.span_id, 16) if parent is not None else None,
        "parent_is_remote": bool(parent.is_remote) if parent is not None else None,
        "kind": span.kind.name,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": {
            "code": span.status.status_code.name,
            "description": span.status.description,
        },
        "attributes": {k: _jsonable(v) for k, v in (span.attributes or {}).items()},
        "events": [
            {
                "name": event.name,
                "timestamp": event.timestamp,
                "attributes": {k: _jsonable(v) for k, v in (event.attributes or {}).items()},
            }
            for event in span.events
        ],
        "links": [
            {"trace_id": _hex(link.context.trace_id, 32), "span_id": _hex(link.context.span_id, 16)}
            for link in span.links
        ],
        "service": resource.get("service.name"),
        "pid": os.getpid(),
    }


class FileSpanExporter(SpanExporter):
    """Append finished spans to ``path`` as JSON lines (safe for several processes).

    Args:
        path: The file; its directory is created if missing.

    Example:
        :func:`~arvo_ray.telemetry.install_telemetry` adds one for a config with a
        ``span_file``; here it is put on a tracer provider of its own:

        >>> import os, tempfile
        >>> from opentelemetry.sdk.resources import Resource
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, "traces", "spans.jsonl")
        >>> provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
        >>> provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(path)))
        >>> tracer = provider.get_tracer("demo")
        >>> with tracer.start_as_current_span("route com.increment.number"):
        ...     with tracer.start_as_current_span("execute com.increment.number"):
        ...         pass
        >>> provider.shutdown()
        >>> spans = read_span_file(path)
        >>> [(span["name"], span["service"]) for span in spans]
        [('execute com.increment.number', 'orders'), ('route com.increment.number', 'orders')]
        >>> spans[0]["parent_span_id"] == spans[1]["span_id"]
        True
        >>> folder.cleanup()
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        payload = "".join(
            json.dumps(span_to_dict(span), separators=(",", ":"), default=str) + "\n"
            for span in spans
        ).encode("utf-8")
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                view = memoryview(payload)
                while view:  # a regular file takes it in one write; loop for safety
                    written = os.write(fd, view)
                    view = view[written:]
            finally:
                os.close(fd)  # closing releases the lock
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every export is written before it returns

    def __repr__(self) -> str:
        return f"FileSpanExporter(path={self.path!r})"


def read_span_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every span written to ``path`` (in file order); a missing file has none.

    Raises:
        ValueError: a line is not a JSON object (names the line number).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    spans: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not a JSON span line ({exc})") from exc
        if not isinstance(value, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
        spans.append(value)
    return spans


class RecentSpanExporter(SpanExporter):
    """Keeps the last ``max_spans`` finished spans of this process in memory.

    Bounded, so it can stay on in a long-running worker; read it with
    :func:`~arvo_ray.telemetry.recent_spans` (in a notebook, the driver's own spans).
    """

    def __init__(self, max_spans: int) -> None:
        self._spans: deque[ReadableSpan] = deque(maxlen=max_spans)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self._spans.extend(spans)
        return SpanExportResult.SUCCESS

    def spans(self) -> list[dict[str, Any]]:
        with self._lock:
            kept = list(self._spans)
        return [span_to_dict(span) for span in kept]
