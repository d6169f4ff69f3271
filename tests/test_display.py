"""Rich Jupyter display: events, run results, dead letters, workflow records and runtime stats.

Each ``_repr_html_`` is a table of the object's key content, with everything taken from an event,
a record or an error HTML-escaped (the shared helpers live in ``arvo_ray._display``). The lists a
run result holds render as tables too, and still equal plain lists. JSON is set in monospace,
ids never wrap, subjects read decoded wherever they appear, and an ``errorStack`` is folded
below its JSON with real line breaks.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from typing import Any

import pytest

from arvo_ray import _display, _results
from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject, ContractViolation, create_arvo_event
from arvo_ray.handler import ExecutionResult
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
CHILD_EXECUTION_ID = "7f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a09f"
CHILD_SUBJECT = ArvoOrchestrationSubject.new(
    orchestrator="arvo.orc.calc.child",
    version="0.0.1",
    initiator="arvo.orc.calc",
    execution_id=CHILD_EXECUTION_ID,
    domain="external",
)
EventList = _results.EventList
DeadLetterList = _results.DeadLetterList
MONOSPACE = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"
PYTHON_STACK = (
    "Traceback (most recent call last):\n"
    '  File "calc.py", line 3, in add\n'
    "    return a + b\n"
    "TypeError: unsupported operand type(s) for +: 'int' and 'str'"
)
JS_STACK = "Error: division by zero\n    at divide (calc.js:3:9)\n    at run (calc.js:9:3)"


def nowrap(text: str) -> str:
    """An id as displayed: code that never wraps."""
    return f'<code style="white-space:nowrap">{text}</code>'


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
        assert f"execution {nowrap(EXECUTION_ID)}" in shown

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
        assert nowrap(plain.id) in shown
        assert shown.count("<tr>") == 8 + 1 + 3  # summary rows, trace header and rows

    def test_errors_are_listed_and_escaped(self) -> None:
        """Each dead letter: error type, escaped message, event type and id."""
        bad = letter(f"field {HOSTILE} is wrong")
        shown = RunResult(errors=[bad])._repr_html_()
        assert "RunResult (1 error(s))</caption>" in shown
        assert "<code>ContractViolation</code>" in shown
        assert f"field {ESCAPED} is wrong" in shown
        assert "<script>" not in shown
        assert nowrap(bad.event.id) in shown

    def test_a_redelivered_run_says_so(self) -> None:
        """redelivered=True adds a row explaining it."""
        assert "consumed before" in RunResult(redelivered=True)._repr_html_()

    def test_a_long_trace_is_cut(self) -> None:
        """At most MAX_ROWS trace rows, and a row counting the rest."""
        trace = [event() for _ in range(_display.MAX_ROWS + 5)]
        shown = RunResult(trace=trace)._repr_html_()
        assert "… 5 more rows" in shown
        assert nowrap(trace[_display.MAX_ROWS - 1].id) in shown
        assert trace[-1].id not in shown

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
        assert f"execution {nowrap(EXECUTION_ID)}" in shown
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
        assert "<b>parentSubject</b>" in shown and nowrap(EXECUTION_ID) in shown
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


def sys_error(stack: str | None = PYTHON_STACK, **extra: Any) -> ArvoEvent:
    return event(
        "sys.com.calc.add.error",
        source="com.calc.add",
        data={
            "errorName": "TypeError",
            "errorMessage": "bad operand",
            "errorStack": stack,
            **extra,
        },
    )


class TestReadableJson:
    def test_json_is_set_in_monospace(self) -> None:
        """Event data, record context and error messages carry an inline monospace font."""
        for shown in (
            event()._repr_html_(),
            WorkflowRecord(ORCHESTRATOR_RECORD)._repr_html_(),
            letter()._repr_html_(),
        ):
            assert '<pre style="margin:0;white-space:pre-wrap;' in shown
            assert shown.count("<pre ") == shown.count(MONOSPACE)

    def test_long_text_wraps_between_words_only(self) -> None:
        """No "break anywhere" rule, which squeezes table columns into mid-word breaks."""
        shown = RunResult(final=sys_error(), errors=[letter("a long message " * 20)])._repr_html_()
        assert "overflow-wrap:anywhere" not in shown
        assert "overflow-wrap:break-word" in shown

    def test_an_error_stack_is_folded_with_real_newlines(self) -> None:
        """errorStack leaves the JSON for a <details><pre> with its line breaks, headed by the error."""
        shown = sys_error()._repr_html_()
        assert "&quot;errorStack&quot;: <i title=" in shown
        assert "«4 lines, folded below»</i>" in shown
        summary = (
            "<details><summary>errorStack (4 lines): <code>TypeError: unsupported operand "
            "type(s) for +: &#x27;int&#x27; and &#x27;str&#x27;</code></summary>"
        )
        assert summary in shown
        folded = shown[shown.index(summary) + len(summary) :]
        assert folded.startswith('<pre style="')
        assert MONOSPACE in folded[: folded.index(">")]
        assert "Traceback (most recent call last):\n  File &quot;calc.py&quot;, line 3" in folded
        assert "\\n" not in shown  # no literal backslash-n anywhere
        assert folded.index("</pre></details>") > folded.index("TypeError: unsupported")

    def test_a_javascript_stack_is_headed_by_its_first_line(self) -> None:
        """A stack from a TypeScript service names its error on the first line."""
        shown = sys_error(JS_STACK)._repr_html_()
        assert "errorStack (3 lines): <code>Error: division by zero</code></summary>" in shown
        assert "at divide (calc.js:3:9)\n    at run" in shown

    def test_a_nested_stack_is_folded_under_its_path(self) -> None:
        """Stacks anywhere in a value are folded, each labelled with where it was."""
        shown = _display.json_html({"errors": [{"errorStack": JS_STACK}, {"errorStack": "one"}]})
        assert "<summary>errors[0].errorStack (3 lines)" in shown
        assert "<summary>errors[1].errorStack (1 line)" in shown
        assert shown.count("<details>") == 2

    def test_a_null_stack_stays_in_the_json(self) -> None:
        """Nothing to fold: the JSON keeps its null."""
        shown = sys_error(None)._repr_html_()
        assert "&quot;errorStack&quot;: null" in shown
        assert "<details>" not in shown

    def test_subjects_inside_a_record_context_are_decoded(self) -> None:
        """Base64 subjects in a context read decoded, the raw subject kept in a tooltip."""
        context = {"parentSubject$$": SUBJECT, "children": [CHILD_SUBJECT], "note": "plain"}
        record = {
            **ORCHESTRATOR_RECORD,
            "state": {**ORCHESTRATOR_RECORD["state"], "context": context},
        }
        shown = WorkflowRecord(record)._repr_html_()
        child = (
            f'<span title="{CHILD_SUBJECT}" style="white-space:nowrap">«subject '
            f"arvo.orc.calc.child v0.0.1 · execution {CHILD_EXECUTION_ID} · domain external»</span>"
        )
        assert child in shown
        assert (
            f'&quot;parentSubject$$&quot;: <span title="{SUBJECT}" '
            f'style="white-space:nowrap">«subject arvo.orc.calc v1.2.3 · execution {EXECUTION_ID}»'
        ) in shown
        assert shown.count(CHILD_SUBJECT) == 1  # in the tooltip only
        assert "&quot;note&quot;: &quot;plain&quot;" in shown

    def test_subjects_inside_event_data_are_decoded(self) -> None:
        """A child's init event names its parent in data: that subject reads decoded too."""
        shown = event(data={"parentSubject$$": SUBJECT})._repr_html_()
        assert f"«subject arvo.orc.calc v1.2.3 · execution {EXECUTION_ID}»" in shown

    def test_a_string_that_only_looks_like_a_subject_stays_as_it_is(self) -> None:
        """Strings that fail to decode are shown unchanged."""
        lookalike = "eJxthisisnotreallyasubjectatall=="
        shown = _display.json_html({"s": lookalike})
        assert f"&quot;{lookalike}&quot;" in shown and "«subject" not in shown

    def test_a_value_holding_the_mark_characters_is_shown_exactly(self) -> None:
        """Private-use characters in the data never turn into decoded subjects."""
        shown = _display.json_html({"a": "\ue000J0\ue001", "s": SUBJECT})
        assert "&quot;\ue000J0\ue001&quot;" in shown
        assert f"&quot;{SUBJECT}&quot;" in shown and "«subject" not in shown

    def test_a_cut_never_leaves_half_a_mark(self) -> None:
        """Wherever the length limit falls, no mark character reaches the page."""
        value = {"s": SUBJECT, "errorStack": JS_STACK, "t": CHILD_SUBJECT}
        for limit in range(1, 60):
            shown = _display.json_html(value, limit=limit)
            assert "\ue000" not in shown and "\ue001" not in shown, limit
            assert "more characters)" in shown

    def test_a_stalled_record_says_why(self) -> None:
        """The violation noted on a stalled record gets its own row."""
        note = {"eventId": "e-1", "eventType": "evt.x.success", "error": "ContractViolation"}
        shown = WorkflowRecord({**RESUMABLE_RECORD, "stalled": note})._repr_html_()
        assert "<b>stalled</b>" in shown and "&quot;eventId&quot;: &quot;e-1&quot;" in shown


class TestIdsDoNotWrap:
    def test_event_ids_and_times_do_not_wrap(self) -> None:
        """id, parentid and time of an event are code that never wraps."""
        shown = event(parentid="parent-1", time="2024-01-02T03:04:05.000+00:00")._repr_html_()
        assert nowrap("parent-1") in shown
        assert nowrap("2024-01-02T03:04:05.000+00:00") in shown
        assert shown.count('style="white-space:nowrap">') >= 4  # id, parentid, time, execution

    def test_record_ids_do_not_wrap(self) -> None:
        """A record's initEventId and its execution id never wrap."""
        shown = WorkflowRecord(ORCHESTRATOR_RECORD)._repr_html_()
        assert nowrap("init-1") in shown and nowrap(EXECUTION_ID) in shown

    def test_list_ids_and_subjects_do_not_wrap(self) -> None:
        """Event ids and short subjects in list tables never wrap."""
        events = [event(), event()]
        shown = EventList(events)._repr_html_()
        for item in events:
            assert nowrap(item.id) in shown
        assert (
            f'<code title="{SUBJECT}" style="white-space:nowrap">arvo.orc.calc#{EXECUTION_ID[:8]}</code>'
            in shown
        )


class TestEventList:
    def test_is_a_plain_list(self) -> None:
        """Equal to the plain list, a list, sliced and pickled like one."""
        events = [event(), event("com.calc.sub")]
        listed = EventList(events)
        assert listed == events and events == listed and isinstance(listed, list)
        assert listed[:1] == events[:1]
        copy = pickle.loads(pickle.dumps(listed))
        assert type(copy) is EventList and copy == events
        assert repr(listed) == repr(events)

    def test_html_is_a_table_with_a_row_per_event(self) -> None:
        """Caption counts the events; columns #, type, source → to, subject, id."""
        events = [event(), event("com.calc.sub", to="com.calc.sub"), event(subject="plain")]
        shown = EventList(events)._repr_html_()
        assert shown.startswith('<table class="arvo-table"')
        assert "3 events</caption>" in shown
        for header in ("#", "type", "source → to", "subject", "id"):
            assert f">{header}</th>" in shown
        assert shown.count("<tr>") == 1 + 3
        assert "<code>com.calc.sub</code>" in shown
        assert ">plain</code>" in shown

    def test_counts_read_naturally(self) -> None:
        """One event, or none."""
        assert "1 event</caption>" in EventList([event()])._repr_html_()
        assert "0 events</caption>" in EventList()._repr_html_()

    def test_values_are_escaped(self) -> None:
        """A hostile subject (URI-encoded by the event) is shown as text, never as markup."""
        hostile = event(subject=HOSTILE)
        shown = EventList([hostile])._repr_html_()
        assert "<script>" not in shown
        assert f'<code title="{hostile.subject}"' in shown


class TestDeadLetterList:
    def test_is_a_plain_list(self) -> None:
        """Equal to the plain list of letters, and pickled as one."""
        letters = [letter(), letter("other")]
        listed = DeadLetterList(letters)
        assert listed == letters and isinstance(listed, list)
        copy = pickle.loads(pickle.dumps(listed))
        assert type(copy) is DeadLetterList
        assert [str(item.error) for item in copy] == [str(item.error) for item in letters]

    def test_html_is_a_table_with_a_row_per_letter(self) -> None:
        """Error, message (monospace, real line breaks), event type, subject and id."""
        letters = [letter("first line\nsecond line"), letter(HOSTILE)]
        shown = DeadLetterList(letters)._repr_html_()
        assert "2 dead letters</caption>" in shown
        for header in ("error", "message", "event type", "subject", "event id"):
            assert f">{header}</th>" in shown
        assert shown.count("<tr>") == 1 + 2
        assert "first line\nsecond line</pre>" in shown
        assert shown.count(MONOSPACE) == 2
        assert ESCAPED in shown and "<script>" not in shown
        for item in letters:
            assert nowrap(item.event.id) in shown
        assert "1 dead letter</caption>" in DeadLetterList(letters[:1])._repr_html_()


class TestRunResultLists:
    def test_its_lists_display_as_tables_and_equal_plain_lists(self) -> None:
        """outputs, trace, domained and late are EventLists; errors a DeadLetterList."""
        outputs, trace, errors = [event()], [event(), event()], [letter()]
        result = RunResult(outputs=outputs, trace=trace, errors=errors, domained=[], late=[])
        for name in ("outputs", "trace", "domained", "late"):
            assert type(getattr(result, name)) is EventList, name
        assert type(result.errors) is DeadLetterList
        assert result.outputs == outputs and result.trace == trace and result.errors == errors
        assert RunResult().trace is None
        assert "2 events</caption>" in result.trace._repr_html_()
        assert "1 dead letter</caption>" in result.errors._repr_html_()

    def test_lists_filled_after_construction_stay_displayable(self) -> None:
        """A broker appends to the lists of a result it made: they keep their display."""
        result = RunResult(trace=[])
        assert result.trace is not None
        result.trace.append(event())
        result.outputs.append(event())
        result.errors.append(letter())
        assert "1 event</caption>" in result.trace._repr_html_()
        assert type(result.outputs) is EventList and type(result.errors) is DeadLetterList

    def test_pickles_with_its_lists(self) -> None:
        """A result crosses processes with its lists intact."""
        final = event("arvo.orc.calc.done")
        result = RunResult(final=final, outputs=[final], trace=[final], hops=2, seconds=0.5)
        copy = pickle.loads(pickle.dumps(result))
        assert type(copy.outputs) is EventList and copy.outputs == [final]
        assert copy.trace == [final] and copy.final == final and copy.hops == 2

    def test_repr_is_a_one_line_summary(self) -> None:
        """A short line: status, final type, counts, hops, seconds; no event dumps."""
        final = event("arvo.orc.calc.done")
        result = RunResult(
            final=final, outputs=[final] * 30, trace=[final] * 60, hops=59, seconds=1.25
        )
        assert repr(result) == (
            "RunResult(ok, final='arvo.orc.calc.done', outputs=30, errors=0, hops=59, "
            "seconds=1.250, trace=60)"
        )

    def test_repr_of_a_failed_run_names_the_errors(self) -> None:
        """The error kinds, and the lists only when they hold something."""
        failed = RunResult(
            errors=[letter(), DeadLetter(ValueError("x"), event())],
            late=[event()],
            redelivered=True,
        )
        assert repr(failed) == (
            "RunResult(2 errors: ContractViolation, ValueError, final=None, outputs=0, "
            "errors=2, late=1, hops=0, seconds=0.000, redelivered)"
        )
        assert "\n" not in repr(failed) and len(repr(failed)) < 200


class TestExecutionResultHtml:
    def test_shows_the_flags_and_the_events(self) -> None:
        """The count, committed, then the events to publish as a table."""
        events = [event("evt.calc.add.success"), event("com.notify.done")]
        shown = _display.execution_result_html(ExecutionResult(events=events, committed=True))
        assert "ExecutionResult (2 events)</caption>" in shown
        assert "<b>committed</b>" in shown and "<code>True</code>" in shown
        assert "events</caption>" in shown and shown.count(MONOSPACE) == 0
        for item in events:
            assert nowrap(item.id) in shown
        assert "<b>duplicate</b>" not in shown and "stored answer" not in shown
        assert ExecutionResult(events=events, committed=True)._repr_html_() == shown

    def test_a_late_event_shows_the_stored_answer(self) -> None:
        """Duplicate and late flags, the orphan reason escaped, the answer as its own table."""
        answer = [event("arvo.orc.calc.done")]
        result = ExecutionResult(
            duplicate=True, late=True, orphan=f"no workflow {HOSTILE}", answer=answer, retry_in=2
        )
        shown = _display.execution_result_html(result)
        assert "<b>duplicate</b>" in shown and "<b>late</b>" in shown
        assert f"no workflow {ESCAPED}" in shown and "<script>" not in shown
        assert "stored answer</caption>" in shown and nowrap(answer[0].id) in shown
        assert "2.000 s" in shown


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
