"""Structured log lines for the ``arvo_ray`` logger: JSON or text, with event fields on each.

arvo_ray code logs with ``extra={"arvo": {...}}`` (event id, type, subject, ...), and every
line written while a handler or workflow executes also gets the fields of the event being
handled (:func:`arvo_ray.core.otel.log_fields`). The formatters here flatten those
fields into the line, plus the active trace and span ids, so logs join traces.
:func:`configure_logging` attaches one handler to the ``arvo_ray`` logger only; the
application's own logging is left alone. Only the standard library and the OpenTelemetry API
are used.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import IO, Any

from opentelemetry import trace

from arvo_ray.core.otel import log_fields

__all__ = [
    "EventFieldsFilter",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "record_fields",
]

_LOGGER_NAME = "arvo_ray"
_RESERVED = ("timestamp", "level", "logger", "message", "pid", "trace_id", "span_id", "exception")
# Shown first on text lines, in this order.
_TEXT_FIRST = ("event_id", "event_type", "subject")


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``arvo`` fields of a record, completed with the current execution's event fields.

    Explicit fields (the record's ``arvo`` extra) win over the execution scope's.
    """
    given = getattr(record, "arvo", None)
    fields = log_fields()
    if isinstance(given, dict):
        fields.update(given)
    return fields


class EventFieldsFilter(logging.Filter):
    """Stamp the current execution's event fields (and trace ids) onto each record it sees.

    Formatting can happen later or elsewhere (a ``QueueHandler``, a test collecting records),
    when the execution is over; this filter runs when the record is handled, inside it. The
    handler :func:`configure_logging` adds carries one; add it to your own handlers to get
    ``record.arvo`` completed the same way. It never drops a record.

    Example:
        A handler of the number domain that logs, and a handler that keeps records to format
        them later, after the execution is over:

        >>> import json
        >>> import logging
        >>> import asyncio
        >>> from logging.handlers import BufferingHandler
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import increment_contract
        >>> from arvo_ray.handler import create_arvo_event_handler
        >>> def add(inp):
        ...     logging.getLogger("arvo_ray.demo").warning("adding")
        ...     total = inp.event.data["init"] + inp.event.data["increment"]
        ...     return {"type": "evt.increment.number.success", "data": {"result": total}}
        >>> handler = create_arvo_event_handler(contract=increment_contract, executionunits=0.1,
        ...     handler={"0.0.1": add, "0.0.2": add})
        >>> kept = BufferingHandler(capacity=10)
        >>> kept.addFilter(EventFieldsFilter())
        >>> logger = logging.getLogger("arvo_ray.demo")
        >>> logger.addHandler(kept)
        >>> factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
        >>> request = factory.accepts(source="com.test.client", data={"init": 1, "increment": 2})
        >>> result = asyncio.run(handler.execute(request))
        >>> logger.removeHandler(kept)
        >>> record = kept.buffer[0]
        >>> record.getMessage(), record.arvo["event_type"], record.arvo["handler"]
        ('adding', 'com.increment.number', 'com.increment.number')
        >>> record.arvo["event_id"] == request.id
        True
        >>> json.loads(JsonFormatter().format(record))["event_id"] == request.id
        True
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.arvo = record_fields(record)
        if not hasattr(record, "otel_trace_id"):
            record.otel_trace_id, record.otel_span_id = _trace_ids()
        return True


def _trace_ids() -> tuple[str | None, str | None]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def _record_trace_ids(record: logging.LogRecord) -> tuple[str | None, str | None]:
    if hasattr(record, "otel_trace_id"):
        return record.otel_trace_id, getattr(record, "otel_span_id", None)
    return _trace_ids()


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line.

    Keys: ``timestamp`` (UTC ISO 8601), ``level``, ``logger``, ``message``, ``pid``,
    ``trace_id``/``span_id`` (inside a span), every ``arvo`` field flattened (``event_id``,
    ``event_type``, ``subject``, ``source``, ``handler``, ...; a field that collides with one of
    those keys is written as ``arvo.<name>``), and ``exception`` (the formatted traceback).

    Example:
        >>> import logging
        >>> import json
        >>> record = logging.makeLogRecord({"name": "arvo_ray.runtime", "levelname": "INFO",
        ...     "msg": "routed %s", "args": ("com.increment.number",), "created": 0.0,
        ...     "arvo": {"event_id": "event-1", "subject": "demo", "message": "shadowed"}})
        >>> line = json.loads(JsonFormatter().format(record))
        >>> {key: line[key] for key in ("timestamp", "level", "logger", "message")}
        {'timestamp': '1970-01-01T00:00:00.000Z', 'level': 'INFO', 'logger': 'arvo_ray.runtime',
         'message': 'routed com.increment.number'}
        >>> line["event_id"], line["subject"], line["arvo.message"]
        ('event-1', 'demo', 'shadowed')
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": os.getpid(),
        }
        trace_id, span_id = _record_trace_ids(record)
        if trace_id is not None:
            line["trace_id"], line["span_id"] = trace_id, span_id
        for key, value in record_fields(record).items():
            line[f"arvo.{key}" if key in _RESERVED else key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message> event_id=... event_type=... subject=... ...``.

    Scalar ``arvo`` fields are appended as ``key=value`` (quoted when they hold spaces); nested
    values (such as a whole event envelope) are left to the JSON format. A traceback follows on
    the next lines.

    Example:
        >>> import logging
        >>> record = logging.makeLogRecord({"name": "arvo_ray", "levelname": "WARNING",
        ...     "msg": "retry", "created": 0.0, "arvo": {"subject": "demo", "event_id": "e1",
        ...     "reason": "lock held", "event": {"id": "e1", "type": "com.increment.number"}}})
        >>> print(TextFormatter().format(record))
        1970-01-01T00:00:00.000Z WARNING arvo_ray: retry event_id=e1 subject=demo reason="lock held"
    """

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"]
        fields = record_fields(record)
        trace_id, _span_id = _record_trace_ids(record)
        if trace_id is not None:
            fields.setdefault("trace_id", trace_id)
        ordered = [key for key in _TEXT_FIRST if key in fields]
        ordered += [key for key in fields if key not in _TEXT_FIRST]
        for key in ordered:
            value = fields[key]
            if isinstance(value, dict | list | tuple | set):
                continue
            text = "null" if value is None else str(value)
            if not text or any(ch.isspace() for ch in text) or '"' in text:
                text = json.dumps(text, ensure_ascii=False)
            parts.append(f"{key}={text}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            line += "\n" + record.exc_text
        return line


class _ArvoHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure_logging` owns (recognised when reconfiguring)."""


_saved: tuple[int, bool] | None = None


def configure_logging(
    format: str | None,
    *,
    level: int | str = "INFO",
    stream: IO[str] | None = None,
    propagate: bool = False,
) -> logging.Handler | None:
    """Send the ``arvo_ray`` logger's lines to ``stream`` (stderr) as ``"json"`` or ``"text"``.

    Calling again replaces the handler it added before; ``format=None`` removes it and puts the
    logger's level and propagation back. Other handlers and loggers are never touched.

    Args:
        format: ``"json"``, ``"text"`` or ``None``.
        level: The ``arvo_ray`` logger's level.
        stream: Where lines go (default ``sys.stderr``, which Ray forwards to the driver).
        propagate: Also pass records to the root logger's handlers (off, so lines are not
            printed twice when the application or Ray configured root logging).

    Returns:
        The handler added, or ``None``.

    Raises:
        ValueError: an unknown format or level.
    """
    global _saved
    if format not in (None, "json", "text"):
        raise ValueError(f"log format must be 'json', 'text' or None, got {format!r}")
    logger = logging.getLogger(_LOGGER_NAME)
    for handler in [h for h in logger.handlers if isinstance(h, _ArvoHandler)]:
        logger.removeHandler(handler)
        handler.close()
    if format is None:
        if _saved is not None:
            logger.setLevel(_saved[0])
            logger.propagate = _saved[1]
            _saved = None
        return None
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"Unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR")
    if _saved is None:
        _saved = (logger.level, logger.propagate)
    handler = _ArvoHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(EventFieldsFilter())
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(numeric)
    logger.propagate = propagate
    return handler
