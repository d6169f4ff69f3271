"""HTML for Jupyter: events, run results, workflow records and runtime counters as tables.

Each displayable object's ``_repr_html_`` calls one ``*_html`` function here. Everything that
comes from an event, a record or an error is HTML-escaped, and long values are cut, so a
hostile or huge payload neither breaks the page nor floods it. Pure Python: no Ray, no
IPython, and nothing from arvo_ray at import time (the subject decoder is imported on use, so
``arvo_ray.core`` can call in here without an import cycle).

The styles are inline because notebook front ends and exported HTML apply their own CSS to
``pre`` and table cells, and an inline style is the one thing they all keep: JSON is set in a
monospace font, ids never wrap (a UUID broken at a hyphen reads as two ids), and long text
wraps only between words. JSON values are made readable rather than exact: an orchestration
subject (base64 of zlib) is shown decoded, its raw text in a tooltip, and an ``errorStack``
moves out of the JSON into a folded ``<pre>`` with its real line breaks.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "dead_letter_html",
    "dead_letters_html",
    "escape",
    "event_html",
    "events_html",
    "execution_result_html",
    "id_html",
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
MONOSPACE = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"
"""Set on every ``<pre>``: front ends' own CSS may set ``pre`` in a proportional font."""
NOWRAP = "white-space:nowrap"
"""Set on ids and times, which browsers would otherwise break at a hyphen."""
# ``break-word`` (unlike ``anywhere``) leaves a column's minimum width at its longest word, so
# a narrow table cell wraps between words instead of after every few letters.
_PRE = (
    "margin:0;white-space:pre-wrap;overflow-wrap:break-word;text-align:left;font-size:0.9em;"
    + MONOSPACE
)


def escape(value: Any) -> str:
    """``str(value)`` with ``& < > " '`` escaped."""
    return html.escape(str(value), quote=True)


def _code(value: Any) -> str:
    return f"<code>{escape(value)}</code>"


def id_html(value: Any) -> str:
    """An id (or a time) as code that never wraps."""
    return f'<code style="{NOWRAP}">{escape(value)}</code>'


def _pre(text: str) -> str:
    return f'<pre style="{_PRE}">{escape(text)}</pre>'


def _null() -> str:
    return '<i style="opacity:0.6">null</i>'


# Private-use characters stand for a decoded subject or a moved stack inside the JSON text, so
# they can be swapped for HTML once the text is escaped.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARK = re.compile(f"&quot;{_OPEN}([JS])(\\d+){_CLOSE}&quot;")
_MARK_PIECE = re.compile(f"(&quot;)?{_OPEN}[JS]?\\d*{_CLOSE}?(&quot;)?")
# zlib output starts with 0x78, so a subject's base64 starts with "e"; a cheap test that spares
# decoding every string of a large context.
_SUBJECT_LIKE = re.compile(r"e[A-Za-z0-9+/_-]{15,}={0,2}")


def _subject_content(subject: str) -> Mapping[str, Any] | None:
    """The decoded orchestration subject, or ``None`` when ``subject`` is not one."""
    if not _SUBJECT_LIKE.fullmatch(subject):
        return None
    from arvo_ray.core import ArvoOrchestrationSubject

    try:
        return ArvoOrchestrationSubject.parse(subject)
    except Exception:  # a display must never raise: whatever fails to decode stays raw
        return None


class _Moved:
    """What :func:`_marked` took out of a value: subjects to decode and stacks to fold."""

    def __init__(self) -> None:
        self.subjects: list[tuple[str, Mapping[str, Any]]] = []
        self.stacks: list[tuple[str, str]] = []

    def subject(self, raw: str, content: Mapping[str, Any]) -> str:
        self.subjects.append((raw, content))
        return f"{_OPEN}J{len(self.subjects) - 1}{_CLOSE}"

    def stack(self, path: str, stack: str) -> str:
        self.stacks.append((path, stack))
        return f"{_OPEN}S{len(self.stacks) - 1}{_CLOSE}"


def _marked(value: Any, path: str, moved: _Moved) -> Any:
    """A copy of ``value`` whose subjects and ``errorStack`` strings are marks for ``moved``."""
    if isinstance(value, Mapping):
        copy: dict[Any, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "errorStack" and isinstance(item, str) and item:
                copy[key] = moved.stack(where, item)
            else:
                copy[key] = _marked(item, where, moved)
        return copy
    if isinstance(value, (list, tuple)):
        return [_marked(item, f"{path}[{index}]", moved) for index, item in enumerate(value)]
    if isinstance(value, str):
        content = _subject_content(value)
        if content is not None:
            return moved.subject(value, content)
    return value


def _decoded(content: Mapping[str, Any]) -> str:
    orchestrator, execution = content["orchestrator"], content["execution"]
    text = f"{orchestrator['name']} v{orchestrator['version']} · execution {execution['id']}"
    if execution.get("domain"):
        text += f" · domain {execution['domain']}"
    return text


def _headline(stack: str, *, keep: int = 100) -> str:
    """The line of a stack that names the error: the last of a Python traceback, the first of
    a JavaScript stack (``Error: message`` then the ``at`` frames)."""
    lines = [line.strip() for line in stack.strip().splitlines() if line.strip()] or [""]
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    return line if len(line) <= keep else f"{line[:keep]}…"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text) - limit} more characters)"


def json_html(value: Any, *, limit: int = MAX_JSON_CHARS) -> str:
    """``value`` as indented JSON in a monospace ``<pre>`` (non-JSON values through ``repr``),
    cut at ``limit``.

    Orchestration subjects inside it read decoded (the raw subject in a tooltip); each
    ``errorStack`` string is folded below the JSON in a ``<details>``, with real line breaks.
    """
    moved = _Moved()
    try:
        text = json.dumps(_marked(value, "", moved), indent=2, ensure_ascii=False, default=repr)
        if text.count(_OPEN) != len(moved.subjects) + len(moved.stacks):
            # The value itself holds a mark character: show it exactly, undecoded.
            moved = _Moved()
            text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        moved = _Moved()
        text = repr(value)
    shown = escape(_cut(text, limit))
    if moved.subjects or moved.stacks:
        shown = _MARK.sub(lambda match: _mark_html(match, moved), shown)
        shown = _MARK_PIECE.sub("…", shown)  # a mark the cut went through
    parts = [f'<pre style="{_PRE}">{shown}</pre>']
    for path, stack in moved.stacks:
        parts.append(
            f"<details><summary>{escape(path)} ({_lines(stack)}): "
            f"{_code(_headline(stack))}</summary>{_pre(_cut(stack, limit))}</details>"
        )
    return "".join(parts)


def _lines(text: str) -> str:
    count = text.count("\n") + 1
    return f"{count} line{'' if count == 1 else 's'}"


def _mark_html(match: re.Match[str], moved: _Moved) -> str:
    index = int(match.group(2))
    if match.group(1) == "J":
        raw, content = moved.subjects[index]
        return (
            f'<span title="{escape(raw)}" style="{NOWRAP}">'
            f"«subject {escape(_decoded(content))}»</span>"
        )
    _, stack = moved.stacks[index]
    return f'<i title="{escape(_headline(stack))}">«{_lines(stack)}, folded below»</i>'


def short_subject(subject: str, *, keep: int = 12) -> str:
    """``orchestrator#execution-id-prefix`` for orchestration subjects, else the first characters."""
    content = _subject_content(subject)
    if content is not None:
        return f"{content['orchestrator']['name']}#{content['execution']['id'][:8]}"
    return subject if len(subject) <= keep else f"{subject[:keep]}…"


def subject_html(subject: str) -> str:
    """A subject, decoded when it is an orchestration subject; the full text stays in a tooltip."""
    title = escape(subject)
    content = _subject_content(subject)
    if content is None:
        shown = subject if len(subject) <= 40 else f"{subject[:40]}…"
        return f'<code title="{title}">{escape(shown)}</code>'
    orchestrator, execution = content["orchestrator"], content["execution"]
    parts = [
        f'<code title="{title}">{escape(orchestrator["name"])}</code>',
        f"v{escape(orchestrator['version'])}",
        f"execution {id_html(execution['id'])}",
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

_ID_FIELDS = frozenset(("id", "parentid", "time"))


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
        elif name in _ID_FIELDS:
            rows.append((name, id_html(value)))
        else:
            rows.append((name, _scalar(value)))
    if unset:
        rows.append(("unset", escape(", ".join(unset))))
    return key_value_table(rows, caption=f"ArvoEvent {event.type}")


def _short_subject_html(subject: str) -> str:
    return (
        f'<code title="{escape(subject)}" style="{NOWRAP}">{escape(short_subject(subject))}</code>'
    )


def events_html(events: Sequence[Any], *, caption: str | None = None) -> str:
    """Events as one table, a row each: type, source → to, short subject (full in a tooltip), id.

    ``caption`` defaults to the count of events.
    """
    rows = (
        (
            escape(index),
            _code(event.type),
            _route(event),
            _short_subject_html(event.subject),
            id_html(event.id),
        )
        for index, event in enumerate(events)
    )
    shown = f"{len(events)} event{'' if len(events) == 1 else 's'}" if caption is None else caption
    return table(("#", "type", "source → to", "subject", "id"), rows, caption=shown)


def _error_rows(letters: Iterable[Any]) -> Iterable[Sequence[str]]:
    for letter in letters:
        yield (
            _code(type(letter.error).__name__),
            _pre(str(letter.error)),
            _code(letter.event.type),
            _short_subject_html(letter.event.subject),
            id_html(letter.event.id),
        )


_ERROR_HEADERS = ("error", "message", "event type", "subject", "event id")


def dead_letter_html(letter: Any) -> str:
    """A ``DeadLetter``: the error with its message, then the event it was raised for."""
    return table(_ERROR_HEADERS, _error_rows([letter]), caption="DeadLetter") + event_html(
        letter.event
    )


def dead_letters_html(letters: Sequence[Any], *, caption: str | None = None) -> str:
    """Dead letters as one table, a row each: error, message, and the event's type, subject, id.

    ``caption`` defaults to the count of dead letters.
    """
    count = len(letters)
    shown = f"{count} dead letter{'' if count == 1 else 's'}" if caption is None else caption
    return table(_ERROR_HEADERS, _error_rows(letters), caption=shown)


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
        ("late", escape(len(result.late))),
        ("hops", escape(result.hops)),
        ("seconds", escape(f"{result.seconds:.3f}")),
    ]
    if result.redelivered:
        rows.append(("redelivered", "yes: the initial event had been consumed before"))
    parts = [key_value_table(rows, caption=f"RunResult ({status})")]
    if result.errors:
        parts.append(dead_letters_html(result.errors, caption="errors"))
    if result.trace is not None:
        parts.append(events_html(result.trace, caption=f"trace ({len(result.trace)} events)"))
    return "".join(parts)


def execution_result_html(result: Any) -> str:
    """An ``ExecutionResult``: its flags, then the events to publish and any stored answer."""
    rows: list[tuple[str, str]] = [
        ("events", escape(len(result.events))),
        ("committed", _code(result.committed)),
    ]
    for name in ("duplicate", "late"):
        if getattr(result, name):
            rows.append((name, _code(True)))
    if result.orphan is not None:
        rows.append(("orphan", _pre(result.orphan)))
    if result.retry_in is not None:
        rows.append(("retry in", escape(f"{result.retry_in:.3f} s")))
    parts = [key_value_table(rows, caption=f"ExecutionResult ({len(result.events)} events)")]
    if result.events:
        parts.append(events_html(result.events, caption="events"))
    if result.answer:
        parts.append(events_html(result.answer, caption="stored answer"))
    return "".join(parts)


def replay_report_html(report: Any) -> str:
    """A replay: clean or where it diverges, the divergence's recorded and replayed values
    side by side."""
    divergence = report.divergence
    rows: list[tuple[str, str]] = [
        ("workflow", _code(report.workflow)),
        ("steps replayed", escape(f"{report.steps} of {report.recorded}")),
    ]
    if report.dropped:
        rows.append(("not kept", escape(f"{report.dropped} later steps")))
    caption = "replay: same as recorded"
    if divergence is not None:
        caption = f"replay: diverges at step {divergence.step}"
        rows += [
            ("event", f"{_code(divergence.event_type)} {id_html(divergence.event_id)}"),
            ("differs", escape(f"{divergence.what} at {divergence.where}")),
            ("expected", json_html(divergence.expected)),
            ("got", json_html(divergence.got)),
        ]
    return key_value_table(rows, caption=caption)


# -- workflow records and counters ---------------------------------------------------------

_RECORD_SUMMARY = ("status", "executionStatus", "value", "initEventId")
_RECORD_SHOWN = frozenset(
    (*_RECORD_SUMMARY, "subject", "parentSubject", "state", "state$$", "events", "stalled")
)


def record_html(record: Mapping[str, Any]) -> str:
    """A stored workflow record: status, subject, context, output, last events; the rest folded."""
    rows: list[tuple[str, str]] = []
    subject = record.get("subject")
    if isinstance(subject, str):
        rows.append(("subject", subject_html(subject)))
    for name in _RECORD_SUMMARY:
        if name in record:
            value = record[name]
            rows.append((name, id_html(value) if name == "initEventId" else _scalar(value)))
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
    if record.get("stalled") is not None:
        # Why the workflow waits: the violation its last event raised.
        rows.append(("stalled", json_html(record["stalled"])))
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
