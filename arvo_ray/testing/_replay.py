"""Replay a recorded workflow history against the code you are about to deploy.

A workflow record keeps its first steps in ``history`` (see
:attr:`~arvo_ray.workflow.WorkflowHandler.keep_history`): each consumed event, the events the
step emitted, and the state it left. Replaying feeds the consumed events, in order, to a
workflow on a fresh in-process memory and compares each step with the recording. Emitted
event ids and child subjects are derived from the consumed event, so unchanged code emits the
very same events; only ``time`` and the trace headers may differ. The first step that differs
is reported: changed code would treat running workflows differently from that step on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arvo_ray.core import ArvoEvent
from arvo_ray.memory import SimpleMachineMemory
from arvo_ray.workflow import WorkflowHandler, step_state

__all__ = ["Divergence", "ReplayReport", "load_history", "replay", "replay_async"]

VOLATILE_FIELDS = ("time", "traceparent", "tracestate")
"""Event fields that differ from run to run without meaning anything: never compared."""


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first step where the replayed workflow did something else than the recording.

    Attributes:
        step: The step's index (0: the init event).
        event: The consumed event of that step.
        what: ``"events"`` (it emitted other events), ``"state"`` (it left another state) or
            ``"error"`` (it raised where the recording went on).
        where: The first differing place, e.g. ``"events[0].data.value"`` or
            ``"state.value"``.
        expected, got: The recorded and the replayed value at ``where``.

    Example:
        >>> divergence = Divergence(step=1, event_type="evt.value.read.success",
        ...     event_id="e-2", what="state", where="state.value", expected="fetch",
        ...     got="fetching")
        >>> print(divergence)
        step 1 (evt.value.read.success id=e-2): state differs at state.value: expected 'fetch', got 'fetching'
    """

    step: int
    event_type: str
    event_id: str
    what: str
    where: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        return (
            f"step {self.step} ({self.event_type} id={self.event_id}): {self.what} differs at "
            f"{self.where}: expected {_short(self.expected)}, got {_short(self.got)}"
        )


@dataclass(slots=True)
class ReplayReport:
    """What a replay did: the steps it ran and the first divergence (``None``: none).

    Attributes:
        workflow: The replayed workflow's ``source``.
        steps: How many recorded steps were replayed (up to and including a divergence).
        recorded: How many steps the history holds.
        divergence: The first step that differs, or ``None``.
        dropped: Steps the record did not keep (beyond its history bound); never replayed.

    Example:
        >>> report = ReplayReport(workflow="arvo.orc.inc", steps=3, recorded=3)
        >>> report.ok, str(report)
        (True, 'arvo.orc.inc: 3 of 3 recorded steps replayed the same')
    """

    workflow: str
    steps: int
    recorded: int
    divergence: Divergence | None = None
    dropped: int = 0
    emitted: list[list[ArvoEvent]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def __str__(self) -> str:
        if self.divergence is not None:
            return f"{self.workflow}: diverges at {self.divergence}"
        text = f"{self.workflow}: {self.steps} of {self.recorded} recorded steps replayed the same"
        return text + (f" ({self.dropped} later steps were not kept)" if self.dropped else "")

    def _repr_html_(self) -> str:
        """Jupyter: clean, or the divergence with its recorded and replayed values."""
        from arvo_ray._display import replay_report_html

        return replay_report_html(self)

    def raise_for_divergence(self) -> None:
        """``AssertionError`` with the divergence, for tests; nothing when the replay is clean."""
        if self.divergence is not None:
            raise AssertionError(str(self))


def load_history(source: str | Path | Iterable[str]) -> list[dict[str, Any]]:
    """The steps of a JSONL history (one step per line, as ``arvo-ray export`` writes it),
    from a file path or from lines."""
    lines = Path(source).read_text().splitlines() if isinstance(source, str | Path) else source
    return [json.loads(line) for line in lines if line.strip()]


def replay(
    workflow: WorkflowHandler, history: Sequence[Mapping[str, Any]] | Mapping[str, Any]
) -> ReplayReport:
    """Run a recorded history through ``workflow`` in-process, and report the first step that
    differs from the recording.

    Args:
        workflow: The workflow as it is now (an orchestrator or a resumable). Its memory is
            swapped for a fresh in-process one while the replay runs, then put back.
        history: The recorded steps (``runtime.history(subject)``, :func:`load_history`), or
            a whole workflow record holding them under ``"history"``.
    """
    return asyncio.run(replay_async(workflow, history))


async def replay_async(
    workflow: WorkflowHandler, history: Sequence[Mapping[str, Any]] | Mapping[str, Any]
) -> ReplayReport:
    """``await``-able :func:`replay` (for notebooks and async tests)."""
    dropped = 0
    if isinstance(history, Mapping):
        dropped = int(history.get("historyDropped") or 0)
        history = history.get("history") or []
    report = ReplayReport(workflow.source, 0, len(history), dropped=dropped)
    memory = SimpleMachineMemory()
    saved = (workflow.memory, workflow.track_outbox, workflow.keep_history)
    workflow.memory, workflow.track_outbox, workflow.keep_history = memory, False, 0
    try:
        for index, step in enumerate(history):
            event = ArvoEvent.from_dict(step["consumed"])
            report.steps = index + 1
            report.divergence = await _replay_step(workflow, memory, index, event, step, report)
            if report.divergence is not None:
                break
    finally:
        workflow.memory, workflow.track_outbox, workflow.keep_history = saved
    return report


async def _replay_step(
    workflow: WorkflowHandler,
    memory: SimpleMachineMemory,
    index: int,
    event: ArvoEvent,
    step: Mapping[str, Any],
    report: ReplayReport,
) -> Divergence | None:
    def differs(what: str, where: str, expected: Any, got: Any) -> Divergence:
        return Divergence(index, event.type, event.id, what, where, expected, got)

    try:
        result = await workflow.execute(event)
    except Exception as error:
        return differs("error", "execute", "the step to commit", f"{type(error).__name__}: {error}")
    report.emitted.append(list(result.events))
    expected_events = [_comparable(e) for e in step.get("produced") or ()]
    got_events = [_comparable(e.to_dict()) for e in result.events]
    where = _first_difference(expected_events, got_events, "events")
    if where is not None:
        return differs("events", *where)
    record = await memory.read(event.subject)
    got_state = step_state(record) if record is not None else None
    where = _first_difference(step.get("state"), got_state, "state")
    if where is not None:
        return differs("state", *where)
    return None


def _comparable(event: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key not in VOLATILE_FIELDS}


def _first_difference(expected: Any, got: Any, path: str) -> tuple[str, Any, Any] | None:
    """(path, expected, got) of the first place where two JSON values differ."""
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        for key in [*expected, *(k for k in got if k not in expected)]:
            if key not in got or key not in expected:
                return (f"{path}.{key}", expected.get(key, "<absent>"), got.get(key, "<absent>"))
            found = _first_difference(expected[key], got[key], f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):  # an event more or less: the two lists say it best
            return (f"{path} (length)", _types(expected), _types(got))
        for position, (left, right) in enumerate(zip(expected, got, strict=True)):
            found = _first_difference(left, right, f"{path}[{position}]")
            if found is not None:
                return found
        return None
    if expected != got:  # 2 == 2.0: a JSON store may write either
        return (path, expected, got)
    return None


def _types(items: list[Any]) -> list[Any]:
    """Events by their type (a length difference is read best as the two lists of types)."""
    return [item.get("type", item) if isinstance(item, Mapping) else item for item in items]


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
