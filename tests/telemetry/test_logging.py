"""Structured logs: the formatters, ``configure_logging``, event fields on every line, and
violations logged exactly once (by the broker), errors once (by the handler)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import ContractViolation, create_arvo_event, create_simple_arvo_contract
from arvo_ray.handler import HandlerInput, create_arvo_event_handler
from arvo_ray.telemetry import EventFieldsFilter, JsonFormatter, TextFormatter, configure_logging

CALLER = "com.test.caller"


class Numbers(BaseModel):
    value: int


class Doubled(BaseModel):
    result: int


CONTRACT = create_simple_arvo_contract(
    uri="#/test/telemetry/double",
    type="test.double",
    versions={"1.0.0": {"accepts": Numbers, "emits": Doubled}},
)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def arvo_records() -> Iterator[list[logging.LogRecord]]:
    """Every record of the ``arvo_ray`` logger tree during the test (restored afterwards).

    The handler carries :class:`EventFieldsFilter`, so records keep the execution's event
    fields although they are formatted after the execution ended.
    """
    logger = logging.getLogger("arvo_ray")
    handler, level = _Collect(), logger.level
    handler.addFilter(EventFieldsFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _handler(behaviour: str = "ok") -> Any:
    def double(inp: HandlerInput) -> dict[str, Any]:
        logging.getLogger("arvo_ray.user").info("doubling")
        if behaviour == "raise":
            raise RuntimeError("cannot double today")
        return {"type": "evt.test.double.success", "data": {"result": inp.event.data["value"] * 2}}

    return create_arvo_event_handler(contract=CONTRACT, executionunits=1, handler={"1.0.0": double})


def _event(value: Any = 2) -> Any:
    return create_arvo_event(
        type="com.test.double",
        source=CALLER,
        subject="subject-1",
        dataschema="#/test/telemetry/double/1.0.0",
        data={"value": value},
    )


def _record(**arvo: Any) -> logging.LogRecord:
    record = logging.LogRecord(
        "arvo_ray.broker", logging.WARNING, __file__, 1, "hello %s", ("you",), None
    )
    record.arvo = arvo
    return record


class TestJsonFormatter:
    def test_line_is_json_with_flattened_fields(self) -> None:
        """Timestamp, level, logger, message and the arvo fields at the top level."""
        line = json.loads(
            JsonFormatter().format(_record(event_id="e-1", event_type="t", subject="s", n=1))
        )
        assert line["message"] == "hello you"
        assert (line["level"], line["logger"]) == ("WARNING", "arvo_ray.broker")
        assert line["timestamp"].endswith("Z")
        assert (line["event_id"], line["event_type"], line["subject"], line["n"]) == (
            "e-1",
            "t",
            "s",
            1,
        )
        assert "trace_id" not in line  # no span, no ids

    def test_reserved_names_are_not_overwritten(self) -> None:
        """A field called ``message`` is kept as ``arvo.message``."""
        line = json.loads(JsonFormatter().format(_record(message="mine")))
        assert (line["message"], line["arvo.message"]) == ("hello you", "mine")

    def test_exceptions_and_odd_values_serialise(self) -> None:
        """Tracebacks go to ``exception``; non-JSON values are stringified."""
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            record = _record(obj=object())
            record.exc_info = sys.exc_info()
        line = json.loads(JsonFormatter().format(record))
        assert "ValueError: boom" in line["exception"]
        assert line["obj"].startswith("<object object")


class TestTextFormatter:
    def test_appends_event_fields_first(self) -> None:
        """``key=value`` pairs follow the message, event id/type/subject first; nested skipped."""
        text = TextFormatter().format(
            _record(to="x", subject="s 1", event_type="t", event_id="e-1", event={"id": "e-1"})
        )
        assert text.endswith('hello you event_id=e-1 event_type=t subject="s 1" to=x')
        assert " WARNING arvo_ray.broker: " in text


class TestConfigureLogging:
    def test_attaches_one_handler_and_restores_on_none(self) -> None:
        """Reconfiguring replaces the handler; None removes it and restores level/propagation."""
        logger = logging.getLogger("arvo_ray")
        before = (list(logger.handlers), logger.level, logger.propagate)
        stream = io.StringIO()
        try:
            configure_logging("text", stream=io.StringIO())
            handler = configure_logging("json", level="DEBUG", stream=stream)
            assert [h for h in logger.handlers if h not in before[0]] == [handler]
            assert (logger.level, logger.propagate) == (logging.DEBUG, False)
            logging.getLogger("arvo_ray.somewhere").debug("visible", extra={"arvo": {"k": "v"}})
            logging.getLogger("other").warning("not ours")
        finally:
            configure_logging(None)
        assert (list(logger.handlers), logger.level, logger.propagate) == before
        (line,) = stream.getvalue().splitlines()
        assert json.loads(line)["k"] == "v"

    def test_rejects_unknown_formats_and_levels(self) -> None:
        """Misuse is a ValueError naming the choices."""
        with pytest.raises(ValueError, match="'json', 'text' or None"):
            configure_logging("xml")
        with pytest.raises(ValueError, match="Unknown log level"):
            configure_logging("json", level="LOUD")


class TestEventFieldsOnEveryLine:
    async def test_lines_inside_execute_carry_the_event(
        self, arvo_records: list[logging.LogRecord]
    ) -> None:
        """A line logged by user code inside a handler gets the event's id, type and subject."""
        event = _event()
        await _handler().execute(event)
        (record,) = [r for r in arvo_records if r.getMessage() == "doubling"]
        text = TextFormatter().format(record)
        assert f"event_id={event.id} event_type=com.test.double subject=subject-1" in text
        assert "handler=com.test.double" in text

    async def test_no_fields_leak_after_execute(
        self, arvo_records: list[logging.LogRecord]
    ) -> None:
        """Outside execute, a line has only its own fields."""
        await _handler().execute(_event())
        logging.getLogger("arvo_ray.after").warning("later")
        (record,) = [r for r in arvo_records if r.getMessage() == "later"]
        assert "event_id" not in json.loads(JsonFormatter().format(record))


class TestLoggedOnce:
    @staticmethod
    def _violation_lines(
        records: list[logging.LogRecord], event_id: str
    ) -> list[logging.LogRecord]:
        """Records about ``event_id`` that report a violation."""
        return [
            r
            for r in records
            if getattr(r, "arvo", {}).get("event_id") == event_id
            and ("ViolationError" in r.getMessage() or "violation_type" in r.arvo)  # type: ignore[attr-defined]
        ]

    async def test_a_violation_is_logged_once_by_the_broker(
        self, arvo_records: list[logging.LogRecord]
    ) -> None:
        """The handler raises without logging; the broker logs it once, at ERROR, with the event."""
        event = _event(value="two")
        run = await create_simple_event_broker([_handler()]).run(event)
        assert [type(e.error) for e in run.errors] == [ContractViolation]
        lines = self._violation_lines(arvo_records, event.id)
        assert len(lines) == 1
        (record,) = lines
        assert (record.name, record.levelno) == ("arvo_ray.broker", logging.ERROR)
        fields = record.arvo  # type: ignore[attr-defined]
        assert (fields["event_id"], fields["event_type"], fields["subject"]) == (
            event.id,
            "com.test.double",
            "subject-1",
        )
        assert fields["violation_type"] == "Contract"

    async def test_still_once_with_tracing_on(
        self, span_exporter: InMemorySpanExporter, arvo_records: list[logging.LogRecord]
    ) -> None:
        """With an SDK the span records the violation; the log still has it only once."""
        event = _event(value="two")
        await create_simple_event_broker([_handler()]).run(event)
        assert len(self._violation_lines(arvo_records, event.id)) == 1
        (span,) = [s for s in span_exporter.get_finished_spans() if s.name.startswith("Handler<")]
        assert [e.name for e in span.events] == ["exception"]

    async def test_an_error_returned_as_event_is_logged_once_by_the_handler(
        self, arvo_records: list[logging.LogRecord]
    ) -> None:
        """A raising implementation: one WARNING with the event and the traceback."""
        event = _event()
        result = await _handler("raise").execute(event)
        assert [e.type for e in result.events] == ["sys.com.test.double.error"]
        failures = [r for r in arvo_records if "cannot double today" in r.getMessage()]
        assert len(failures) == 1
        (record,) = failures
        assert (record.name, record.levelno) == ("arvo_ray.handler", logging.WARNING)
        assert record.arvo["event_id"] == event.id  # type: ignore[attr-defined]
        assert record.exc_info is not None
