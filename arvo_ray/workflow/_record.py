"""The stored record of a workflow instance: its shape, and what is asked of it everywhere.

Orchestrators and resumables write one JSON object per instance (the original's shape, plus
``consumedEventIds``, ``outbox``, ``answer`` and ``stalled``); the runtime reads the same
records. Whether an instance has finished is asked in many places, so it is answered here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict, TypeGuard, TypeVar

from arvo_ray.core import ArvoEvent

__all__ = [
    "WorkflowRecordData",
    "is_done",
    "is_failed",
    "is_finished",
    "step_state",
    "stored_answer",
]

WorkflowRecordData = TypedDict(
    "WorkflowRecordData",
    {
        "executionStatus": Literal["normal", "failure"],
        "status": str,  # "active" or "done" (orchestrators: the machine snapshot's status)
        "initEventId": str,
        "subject": str,
        "parentSubject": str | None,
        "value": Any,  # orchestrators: the machine's state value
        "state": dict[str, Any],  # orchestrators: the machine snapshot
        "state$$": Any,  # resumables: the function's context
        "events": dict[str, Any],  # consumed, produced (and, for resumables, expected)
        "machineDefinition": str,  # orchestrators
        "error": dict[str, Any],  # failure records: name, message, stack
        "consumedEventIds": list[str],
        "outbox": list[dict[str, Any]],
        "answer": list[dict[str, Any]],
        "stalled": dict[str, Any],
        "history": list[dict[str, Any]],  # the first steps: consumed, produced, state
        "historyDropped": int,  # steps after those, counted only
    },
    total=False,
)
WorkflowRecordData.__doc__ = """A workflow record's keys (every key optional: a failure record has no ``state``, etc.).

Example:
    >>> record: WorkflowRecordData = {"executionStatus": "normal", "status": "done"}
    >>> is_finished(record), is_done(record), is_failed(record)
    (True, True, False)
"""


Record = TypeVar("Record", bound=Mapping[str, Any])


def is_failed(record: Record | None) -> TypeGuard[Record]:
    """The instance ended with an uncaught error (a failure record)."""
    return record is not None and record.get("executionStatus") == "failure"


def is_done(record: Record | None) -> TypeGuard[Record]:
    """The instance completed (its workflow emitted its completion)."""
    return record is not None and record.get("status") == "done"


def is_finished(record: Record | None) -> TypeGuard[Record]:
    """The instance is over, done or failed: nothing will change its record but acknowledgements."""
    return is_done(record) or is_failed(record)


def stored_answer(record: Mapping[str, Any] | None) -> list[ArvoEvent]:
    """The answer a finished workflow's record keeps (empty while it runs).

    Records written before answers were stored keep it in their last step's events.
    """
    if record is None or not is_finished(record):
        return []
    answer = record.get("answer")
    if answer is None:
        produced = (record.get("events") or {}).get("produced") or []
        if not is_failed(record):
            produced = [e for e in produced if str(e["type"]).endswith(".done")]
        answer = produced
    return [ArvoEvent.from_dict(item) for item in answer]


def step_state(record: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a record a step decides, compared when a history is replayed: the status,
    the machine's state value (orchestrators), the context (the machine's, or a resumable's),
    and for a failure the error's name and message.

    Example:
        >>> step_state({"status": "active", "value": "fetch", "state": {"context": {"n": 1}}})
        {'status': 'active', 'value': 'fetch', 'context': {'n': 1}}
        >>> step_state({"executionStatus": "failure", "error": {"name": "ValueError",
        ...     "message": "bad", "stack": "..."}})
        {'status': 'failure', 'error': {'name': 'ValueError', 'message': 'bad'}}
    """
    if is_failed(record):
        error = record.get("error") or {}
        return {
            "status": "failure",
            "error": {"name": error.get("name"), "message": error.get("message")},
        }
    state: dict[str, Any] = {"status": record.get("status")}
    if record.get("value") is not None:
        state["value"] = record["value"]
    if "state$$" in record:
        state["context"] = record["state$$"]
    elif isinstance(record.get("state"), Mapping):
        state["context"] = record["state"].get("context")
    return state
