"""Rich Jupyter display: events, run results, dead letters, workflow records and runtime stats.

Each ``_repr_html_`` is a table of the object's key content, with everything taken from an event,
a record or an error HTML-escaped (the shared helpers live in ``arvo_ray._display``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from arvo_ray import _display
from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject, ContractViolation, create_arvo_event
from arvo_ray.runtime import DeadLetter, RunResult, RuntimeStats, WorkflowRecord

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
EXECUTION_ID = "0d5e4b8a-1c2f-4f3e-9a7b-6c5d4e3f2a1b"
SUBJECT = ArvoOrchestrationSubject.new(
    orchestrator="arvo.orc.calc",
    version="1.2.3",
    initiator="com.test.client",
    execution_id=EXECUTION_ID,
)


def event(
    type: str = "com.calc.add",
    *,
    source: str = "com.test.client",
    data: dict[str, Any] | None = None,
    subject: str = SUBJECT,
    **fields: Any,
) -> ArvoEvent:
    return create_arvo_event(
        source=source,
        type=type,
        subject=subject,
        data={"a": 1, "b": 2} if data is None else data,
        disable_telemetry=True,
        **fields,
    )


class TestEventHtml:
    def test_is_a_two_column_table_of_the_set_fields(self) -> None:
        """Every field that has a value gets a row; the null ones are listed in one last row."""
        shown = event(executionunits=2, parentid="parent-1")._repr_html_()
        assert shown.startswith('<table class="arvo-table"')
        assert "ArvoEvent com.calc.add</caption>" in shown
        for name in ("id", "source", "type", "subject", "data", "time", "to", "parentid"):
            assert f"<b>{name}</b>" in shown
        assert "<code>2</code>" in shown
        assert "<b>unset</b>" in shown
        assert "accesscontrol, redirectto, traceparent, tracestate, domain" in shown

    def test_data_is_indented_json(self) -> None:
        """data is pretty-printed JSON inside a <pre>, one key per line."""
        shown = event(data={"a": 1, "nested": {"b": [1, 2]}})._repr_html_()
        assert '<pre style="' in shown
        assert "\n  &quot;a&quot;: 1,\n  &quot;nested&quot;: {\n    &quot;b&quot;: [" in shown

    def test_an_orchestration_subject_is_decoded(self) -> None:
        """The subject shows the orchestrator, its version and the execution id; the raw subject is a tooltip."""
        shown = event()._repr_html_()
        assert f'<code title="{SUBJECT}">arvo.orc.calc</code> · v1.2.3' in shown
        assert f"execution <code>{EXECUTION_ID}</code>" in shown

    def test_another_subject_is_shortened_with_a_tooltip(self) -> None:
        """A plain subject longer than 40 characters is cut, the full text kept in the title."""
        subject = "plain-subject-" + "x" * 60
        shown = event(subject=subject)._repr_html_()
        assert f'<code title="{subject}">{subject[:40]}…</code>' in shown

    def test_values_are_html_escaped(self) -> None:
        """Markup in data and extensions is shown as text, never injected."""
        shown = event(data={"note": HOSTILE}, extensions={"label": HOSTILE})._repr_html_()
        assert "<script>" not in shown
        assert ESCAPED in shown
        assert f"<code>{ESCAPED}</code>" in shown  # the extension row

    def test_huge_data_is_cut(self) -> None:
        """Data beyond the display limit is cut with a note of how much was left out."""
        shown = event(data={"blob": "y" * (_display.MAX_JSON_CHARS * 2)})._repr_html_()
        assert "more characters)" in shown
        assert len(shown) < _display.MAX_JSON_CHARS * 2


def letter(message: str = "bad data") -> DeadLetter:
    error = ContractViolation(message)
    return DeadLetter(error=error, event=event("arvo.orc.calc", data={"x": 1}))


class TestRunResultHtml:
    def test_shows_the_final_event_and_the_counts(self) -> None:
        """final type and route, final data, outputs, errors, domained, hops and seconds."""
        final = event("evt.calc.add.success", source="com.calc.add", data={"total": 3})
        result = RunResult(final=final, outputs=[final], hops=4, seconds=0.25)
        shown = result._repr_html_()
        assert "RunResult (ok)</caption>" in shown
        assert "<code>evt.calc.add.success</code>" in shown
        assert "<code>com.calc.add</code> → <code>com.calc.add</code>" not in shown
        assert "<code>com.calc.add</code> → <code>evt.calc.add.success</code>" in shown
        assert "&quot;total&quot;: 3" in shown
        for name, value in (("outputs", "1"), ("errors", "0"), ("hops", "4"), ("seconds", "0.250")):
            assert f"<b>{name}</b></td><td style=" in shown
            assert f">{value}</td>" in shown
        assert "trace (" not in shown
        assert "redelivered" not in shown

    def test_a_chain_without_an_answer_says_null(self) -> None:
        """No final event: the final row says null and there is no final data row."""
        shown = RunResult()._repr_html_()
        assert "<b>final</b>" in shown and ">null</i>" in shown
        assert "final data" not in shown

    def test_the_trace_is_a_table_of_type_route_and_short_subject(self) -> None:
        """One row per traced event: index, type, source → to, orchestrator#execution prefix."""
        init = event("arvo.orc.calc")
        answer = event("arvo.orc.calc.done", source="arvo.orc.calc", to="com.test.client")
        plain = event("com.other.thing", subject="not-an-orchestration-subject-at-all")
        shown = RunResult(final=answer, trace=[init, answer, plain])._repr_html_()
        assert "trace (3 events)</caption>" in shown
        assert "<th" in shown and ">source → to</th>" in shown
        assert "<code>arvo.orc.calc</code> → <code>com.test.client</code>" in shown
        assert f">arvo.orc.calc#{EXECUTION_ID[:8]}</code>" in shown
        assert ">not-an-orche…</code>" in shown
        assert shown.count("<tr>") == 7 + 1 + 3  # summary rows, trace header and rows

    def test_errors_are_listed_and_escaped(self) -> None:
        """Each dead letter: error type, escaped message, event type and id."""
        bad = letter(f"field {HOSTILE} is wrong")
        shown = RunResult(errors=[bad])._repr_html_()
        assert "RunResult (1 error(s))</caption>" in shown
        assert "<code>ContractViolation</code>" in shown
        assert f"field {ESCAPED} is wrong" in shown
        assert "<script>" not in shown
        assert f"<code>{bad.event.id}</code>" in shown

    def test_a_redelivered_run_says_so(self) -> None:
        """redelivered=True adds a row explaining it."""
        assert "consumed before" in RunResult(redelivered=True)._repr_html_()

    def test_a_long_trace_is_cut(self) -> None:
        """At most MAX_ROWS trace rows, and a row counting the rest."""
        trace = [event() for _ in range(_display.MAX_ROWS + 5)]
        shown = RunResult(trace=trace)._repr_html_()
        assert "… 5 more rows" in shown
        assert f"<code>{trace[-1].id}</code>" not in shown

    def test_markdown_is_kept(self) -> None:
        """The Markdown view is still there for front ends without HTML."""
        assert "| hops | 2 |" in RunResult(hops=2)._repr_markdown_()


class TestDeadLetterHtml:
    def test_shows_the_error_and_the_event(self) -> None:
        """The error row comes first, then the event's own table."""
        bad = letter(HOSTILE)
        shown = bad._repr_html_()
        assert "DeadLetter</caption>" in shown
        assert "ArvoEvent arvo.orc.calc</caption>" in shown
        assert ESCAPED in shown and "<script>" not in shown


ORCHESTRATOR_RECORD: dict[str, Any] = {
    "executionStatus": "normal",
    "initEventId": "init-1",
    "subject": SUBJECT,
    "parentSubject": None,
    "status": "done",
    "value": "done",
    "state": {
        "status": "done",
        "value": "done",
        "context": {"total": 3, "note": HOSTILE},
        "output": {"success": True, "final": 3},
        "error": None,
    },
    "events": {
        "consumed": {"type": "evt.calc.add.success"},
        "produced": [{"type": "arvo.orc.calc.done"}, {"type": "com.notify.done"}],
    },
    "machineDefinition": '{"id": "machine"}',
    "consumedEventIds": ["init-1", "answer-1"],
}

RESUMABLE_RECORD: dict[str, Any] = {
    "executionStatus": "normal",
    "status": "active",
    "initEventId": "init-2",
    "parentSubject": SUBJECT,
    "subject": "child-subject",
    "state$$": {"modifications": [{"key": "a", "value": 1}]},
    "consumedEventIds": ["init-2"],
}


class TestWorkflowRecord:
    def test_is_the_plain_record(self) -> None:
        """A WorkflowRecord equals, and reads like, the dict it wraps."""
        record = WorkflowRecord(ORCHESTRATOR_RECORD)
        assert record == ORCHESTRATOR_RECORD
        assert isinstance(record, dict)
        assert record["status"] == "done"
        assert json.loads(json.dumps(record)) == ORCHESTRATOR_RECORD

    def test_properties_find_the_common_fields(self) -> None:
        """subject, status, context and output, for orchestrator and resumable records alike."""
        orchestrator = WorkflowRecord(ORCHESTRATOR_RECORD)
        assert orchestrator.subject == SUBJECT
        assert orchestrator.status == "done"
        assert orchestrator.context == {"total": 3, "note": HOSTILE}
        assert orchestrator.output == {"success": True, "final": 3}
        resumable = WorkflowRecord(RESUMABLE_RECORD)
        assert resumable.status == "active"
        assert resumable.context == {"modifications": [{"key": "a", "value": 1}]}
        assert resumable.output is None

    def test_an_orchestrator_record_shows_status_context_output_and_events(self) -> None:
        """The summary rows, the machine context and output as JSON, the last events; the rest folded."""
        shown = WorkflowRecord(ORCHESTRATOR_RECORD)._repr_html_()
        assert "workflow record</caption>" in shown
        assert f"execution <code>{EXECUTION_ID}</code>" in shown
        for name in ("status", "executionStatus", "value", "initEventId", "context", "output"):
            assert f"<b>{name}</b>" in shown
        assert "&quot;total&quot;: 3" in shown
        assert "&quot;final&quot;: 3" in shown
        assert "<code>evt.calc.add.success</code>" in shown
        assert "<code>arvo.orc.calc.done, com.notify.done</code>" in shown
        assert "<details><summary>machineDefinition, consumedEventIds</summary>" in shown
        assert "&lt;script&gt;alert(" in shown and "<script>" not in shown
        assert "<b>parentSubject</b>" not in shown  # a root workflow

    def test_a_resumable_record_shows_its_persisted_context(self) -> None:
        """state$$ is shown as the context, and the parent subject is decoded."""
        shown = WorkflowRecord(RESUMABLE_RECORD)._repr_html_()
        assert "<b>context</b>" in shown and "&quot;modifications&quot;" in shown
        assert "<b>parentSubject</b>" in shown and f"<code>{EXECUTION_ID}</code>" in shown
        assert "<summary>consumedEventIds</summary>" in shown


class TestRuntimeStats:
    def test_is_a_plain_dict(self) -> None:
        """RuntimeStats equals the dict of its counters."""
        counters = {"runs": 3, "placement": "sharded", "hosts": 2}
        stats = RuntimeStats(counters)
        assert stats == counters and isinstance(stats, dict)
        assert dict(stats) == counters

    def test_html_lists_every_counter_in_order(self) -> None:
        """A two-column table, in the counters' order, values escaped."""
        stats = RuntimeStats({"runs": 3, "placement": "sharded", "memory": HOSTILE})
        shown = stats._repr_html_()
        assert "runtime stats</caption>" in shown
        assert (
            shown.index("<b>runs</b>")
            < shown.index("<b>placement</b>")
            < shown.index("<b>memory</b>")
        )
        assert "<code>3</code>" in shown and "<code>sharded</code>" in shown
        assert f"<code>{ESCAPED}</code>" in shown and "<script>" not in shown


class TestDisplayHelpers:
    @pytest.mark.parametrize(
        ("subject", "expected"),
        [
            (SUBJECT, f"arvo.orc.calc#{EXECUTION_ID[:8]}"),
            ("short", "short"),
            ("a-rather-long-plain-subject", "a-rather-lon…"),
        ],
    )
    def test_short_subject(self, subject: str, expected: str) -> None:
        """Orchestration subjects become name#execution-prefix; others are cut at 12 characters."""
        assert _display.short_subject(subject) == expected

    def test_table_escapes_headers_and_counts_hidden_rows(self) -> None:
        """Headers are escaped; rows past MAX_ROWS are counted, not shown."""
        rows = [(str(i),) for i in range(_display.MAX_ROWS + 2)]
        shown = _display.table(("<h>",), rows)
        assert ">&lt;h&gt;</th>" in shown
        assert "… 2 more rows" in shown

    def test_json_html_falls_back_to_repr(self) -> None:
        """Values JSON cannot encode are shown through repr, escaped."""
        assert "&lt;object object at" in _display.json_html({"x": object()})

    def test_display_loads_neither_ray_nor_ipython(self) -> None:
        """Rendering an event in a fresh interpreter imports no Ray, IPython or matplotlib."""
        code = (
            "import json, sys\n"
            "from arvo_ray.core import create_arvo_event\n"
            "e = create_arvo_event(source='com.a.b', type='com.a.b', subject='s', data={})\n"
            "assert e._repr_html_().startswith('<table')\n"
            "print(json.dumps(sorted(m for m in ('ray', 'IPython', 'matplotlib') if m in sys.modules)))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
        )
        assert json.loads(result.stdout) == []
