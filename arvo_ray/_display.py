"""HTML for Jupyter: events, run results, workflow records and runtime counters as tables.

Each displayable object's ``_repr_html_`` calls one ``*_html`` function here. Everything that
comes from an event, a record or an error is HTML-escaped, and long values are cut, so a
hostile or huge payload neither breaks the page nor floods it. Pure Python: no Ray, no
IPython, and nothing from arvo_ray at import time (the subject decoder is imported on use, so
``arvo_ray.core`` can call in here without an import cycle).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "dead_letter_html",
    "escape",
    "event_html",
    "json_html",
    "key_value_table",
    "record_html",
    "run_result_html",
    "short_subject",
    "stats_html",
    "subject_html",
    "table",
]

MAX_JSON_CHARS = 4000
"""Longer pretty-printed JSON is cut (with a note saying how much was left out)."""
MAX_ROWS = 200
"""Tables show at most this many rows (a note counts the rest)."""

_TABLE = '<table class="arvo-table" style="border-collapse:collapse;margin:0.3em 0">'
_CELL = "text-align:left;vertical-align:top;padding:2px 8px"
_PRE = "margin:0;white-space:pre-wrap;overflow-wrap:anywhere;text-align:left;font-size:0.9em"


def escape(value: Any) -> str:
    """``str(value)`` with ``& < > " '`` escaped."""
    return html.escape(str(value), quote=True)


def _code(value: Any) -> str:
    return f"<code>{escape(value)}</code>"


def _null() -> str:
    return '<i style="opacity:0.6">null</i>'


def json_html(value: Any, *, limit: int = MAX_JSON_CHARS) -> str:
    """``value`` as indented JSON in a ``<pre>`` (non-JSON values through ``repr``), cut at ``limit``."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    if len(text) > limit:
        text = f"{text[:limit]}\n… ({len(text) - limit} more characters)"
    return f'<pre style="{_PRE}">{escape(text)}</pre>'


def short_subject(subject: str, *, keep: int = 12) -> str:
    """``orchestrator#execution-id-prefix`` for orchestration subjects, else the first characters."""
    from arvo_ray.core import ArvoOrchestrationSubject

    try:
        content = ArvoOrchestrationSubject.parse(subject)
        return f"{content['orchestrator']['name']}#{content['execution']['id'][:8]}"
    except Exception:
        return subject if len(subject) <= keep else f"{subject[:keep]}…"


def subject_html(subject: str) -> str:
    """A subject, decoded when it is an orchestration subject; the full text stays in a tooltip."""
    from arvo_ray.core import ArvoOrchestrationSubject

    title = escape(subject)
    try:
        content = ArvoOrchestrationSubject.parse(subject)
    except Exception:
        shown = subject if len(subject) <= 40 else f"{subject[:40]}…"
        return f'<code title="{title}">{escape(shown)}</code>'
    orchestrator, execution = content["orchestrator"], content["execution"]
    parts = [
        f'<code title="{title}">{escape(orchestrator["name"])}</code>',
        f"v{escape(orchestrator['version'])}",
        f"execution <code>{escape(execution['id'])}</code>",
    ]
    if execution.get("domain"):
        parts.append(f"domain <code>{escape(execution['domain'])}</code>")
    return " · ".join(parts)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, caption: str = "") -> str:
    """A table whose ``headers`` are escaped and whose ``rows`` are HTML fragments (escape them first).

    At most :data:`MAX_ROWS` rows are shown; a final row counts the ones left out.
    """
    parts = [_TABLE]
    if caption:
        parts.append(
            f'<caption style="text-align:left;font-weight:bold;white-space:nowrap">{escape(caption)}</caption>'
        )
    if headers:
        cells = "".join(f'<th style="{_CELL}">{escape(h)}</th>' for h in headers)
        parts.append(f"<thead><tr>{cells}</tr></thead>")
    parts.append("<tbody>")
    width = max(len(headers), 1)
    shown = 0
    hidden = 0
    for row in rows:
        if shown >= MAX_ROWS:
            hidden += 1
            continue
        shown += 1
        parts.append("<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row) + "</tr>")
    if hidden:
        parts.append(
            f'<tr><td style="{_CELL}" colspan="{width}"><i>… {hidden} more rows</i></td></tr>'
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def key_value_table(rows: Iterable[tuple[str, str]], *, caption: str = "") -> str:
    """A two-column table: escaped names (bold) and HTML values."""
    return table((), ((f"<b>{escape(name)}</b>", value) for name, value in rows), caption=caption)


def _scalar(value: Any) -> str:
    if value is None:
        return _null()
    if isinstance(value, (dict, list, tuple)):
        return json_html(value)
    return _code(value)


# -- events --------------------------------------------------------------------------------


def _route(event: Any) -> str:
    return f"{_code(event.source)} → {_code(event.to) if event.to else _null()}"


def event_html(event: Any) -> str:
    """An ``ArvoEvent`` as a two-column table of its set fields; data as indented JSON."""
    fields = event.to_dict()
    rows: list[tuple[str, str]] = []
    unset: list[str] = []
    for name, value in fields.items():
        if value is None:
            unset.append(name)
        elif name == "subject":
            rows.append((name, subject_html(value)))
        elif name == "data":
            rows.append((name, json_html(value)))
        else:
            rows.append((name, _scalar(value)))
    if unset:
        rows.append(("unset", escape(", ".join(unset))))
    return key_value_table(rows, caption=f"ArvoEvent {event.type}")


def _events_table(events: Sequence[Any], *, caption: str) -> str:
    rows = (
        (
            escape(index),
            _code(event.type),
            _route(event),
            f'<code title="{escape(event.subject)}">{escape(short_subject(event.subject))}</code>',
        )
        for index, event in enumerate(events)
    )
    return table(("#", "type", "source → to", "subject"), rows, caption=caption)


def _error_rows(letters: Sequence[Any]) -> Iterable[Sequence[str]]:
    for letter in letters:
        yield (
            _code(type(letter.error).__name__),
            f'<pre style="{_PRE}">{escape(letter.error)}</pre>',
            _code(letter.event.type),
            _code(letter.event.id),
        )


_ERROR_HEADERS = ("error", "message", "event type", "event id")


def dead_letter_html(letter: Any) -> str:
    """A ``DeadLetter``: the error with its message, then the event it was raised for."""
    return table(_ERROR_HEADERS, _error_rows([letter]), caption="DeadLetter") + event_html(
        letter.event
    )


def run_result_html(result: Any) -> str:
    """A ``RunResult``: the final event and the counts, the errors, then the trace (if any)."""
    final = result.final
    status = "ok" if result.ok else f"{len(result.errors)} error(s)"
    rows: list[tuple[str, str]] = [
        ("final", f"{_code(final.type)} ({_route(final)})" if final is not None else _null())
    ]
    if final is not None:
        rows.append(("final data", json_html(final.data)))
    rows += [
        ("outputs", escape(len(result.outputs))),
        ("errors", escape(len(result.errors))),
        ("domained", escape(len(result.domained))),
        ("hops", escape(result.hops)),
        ("seconds", escape(f"{result.seconds:.3f}")),
    ]
    if result.redelivered:
        rows.append(("redelivered", "yes: the initial event had been consumed before"))
    parts = [key_value_table(rows, caption=f"RunResult ({status})")]
    if result.errors:
        parts.append(table(_ERROR_HEADERS, _error_rows(result.errors), caption="errors"))
    if result.trace is not None:
        parts.append(_events_table(result.trace, caption=f"trace ({len(result.trace)} events)"))
    return "".join(parts)


# -- workflow records and counters ---------------------------------------------------------

_RECORD_SUMMARY = ("status", "executionStatus", "value", "initEventId")
_RECORD_SHOWN = frozenset(
    (*_RECORD_SUMMARY, "subject", "parentSubject", "state", "state$$", "events")
)


def record_html(record: Mapping[str, Any]) -> str:
    """A stored workflow record: status, subject, context, output, last events; the rest folded."""
    rows: list[tuple[str, str]] = []
    subject = record.get("subject")
    if isinstance(subject, str):
        rows.append(("subject", subject_html(subject)))
    for name in _RECORD_SUMMARY:
        if name in record:
            rows.append((name, _scalar(record[name])))
    parent = record.get("parentSubject")
    if isinstance(parent, str):
        rows.append(("parentSubject", subject_html(parent)))
    state = record.get("state")
    if isinstance(state, Mapping):
        # An orchestrator's machine snapshot.
        if "context" in state:
            rows.append(("context", json_html(state["context"])))
        if state.get("output") is not None:
            rows.append(("output", json_html(state["output"])))
        if state.get("error") is not None:
            rows.append(("error", json_html(state["error"])))
    if "state$$" in record:
        # A resumable's context.
        rows.append(("context", json_html(record["state$$"])))
    events = record.get("events")
    if isinstance(events, Mapping):
        consumed = events.get("consumed")
        if isinstance(consumed, Mapping):
            rows.append(("last consumed", _code(consumed.get("type"))))
        produced = events.get("produced")
        if isinstance(produced, list) and produced:
            types = ", ".join(str(e.get("type")) for e in produced if isinstance(e, Mapping))
            rows.append(("last produced", _code(types)))
    rest = {key: value for key, value in record.items() if key not in _RECORD_SHOWN}
    if rest:
        rows.append(
            (
                "other fields",
                f"<details><summary>{escape(', '.join(rest))}</summary>{json_html(rest)}</details>",
            )
        )
    return key_value_table(rows, caption="workflow record")


def stats_html(stats: Mapping[str, Any]) -> str:
    """Runtime counters as a two-column table, in their order."""
    return key_value_table(
        ((str(name), _scalar(value)) for name, value in stats.items()), caption="runtime stats"
    )
