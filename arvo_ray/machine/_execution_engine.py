"""Run one event through an :class:`ArvoMachine`: snapshot in, events and output out.

The raw events of a step are the ``emit``-ed ones in action order followed by the ones queued
with ``enqueueArvoEvent``; the queue lives in ``context["arvo$$"]["volatile$$"]`` only for the
duration of the step and is never persisted. A completion output is reported only when it
changed since the previous snapshot, so an event reaching a finished machine does not complete
it twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from arvo_ray.core import ArvoEvent
from arvo_ray.machine._arvo_machine import ArvoMachine
from arvo_ray.machine._types import ModelEvent

__all__ = ["MachineExecutionResult", "execute_machine"]


@dataclass(frozen=True, slots=True)
class MachineExecutionResult:
    """The persisted snapshot after the step, the raw events to emit, and the new output.

    ``final_output`` is ``None`` unless this step completed the machine, so an orchestrator
    emits its completion event exactly once.

    Example:
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     arithmetic_machine, increment_orchestrator_contract)
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     increment_orchestrator_contract.version("0.0.2"))
        >>> init = factory.init(source="com.number.client", data={
        ...     "key": "n", "modifier": 2, "trend": "exponential", "parentSubject$$": None})
        >>> result = execute_machine(arithmetic_machine("increment", "0.0.2"), None, init)
        >>> result.state["value"], result.events, result.final_output
        ('fetch_value', [Key(key='n')], None)

        The machine emitted the value reader's request as its model (the orchestrator names
        its type, ``com.value.read``).
    """

    state: dict[str, Any]
    events: list[Any]  # event dicts, or the accepts models of services
    final_output: dict[str, Any] | None


def _take_queue(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    context = snapshot.get("context")
    if not isinstance(context, Mapping):
        return []
    arvo = context.get("arvo$$")
    if not isinstance(arvo, Mapping) or "volatile$$" not in arvo:
        return []
    queue = list((arvo.get("volatile$$") or {}).get("eventQueue$$") or [])
    # Copy on the way out: the snapshot may share structure with the interpreter's input.
    snapshot["context"] = {
        **context,
        "arvo$$": {k: v for k, v in arvo.items() if k != "volatile$$"},
    }
    return queue


def execute_machine(
    machine: ArvoMachine, state: Mapping[str, Any] | None, event: ArvoEvent, data: Any = None
) -> MachineExecutionResult:
    """Start the machine with ``event`` (no ``state``) or feed ``event`` to the restored one.

    The machine's ``input``, and every event it receives, is the whole event JSON, as a
    :class:`ModelEvent` that also carries the event's data as its contract model (``data``, or
    validated here), so actions read ``args.data``.

    Raises:
        Exception: a non-init event for a new machine ("Invalid initialization event"), or
            whatever a machine action, guard or context factory raised, unchanged.
    """
    if data is None:
        data = machine.validate_input(event).data
    payload: dict[str, Any] = event.to_dict() if data is None else ModelEvent(event.to_dict(), data)
    if state is None:
        if event.type != machine.source:
            raise RuntimeError(
                f"Invalid initialization event: Machine requires source event '{machine.source}' "
                f"to start, but received event '{event.type}' instead. This likely indicates a "
                "routing problem or a missing machine state."
            )
        snapshot, emitted = machine.logic.initial_transition(payload)
    else:
        snapshot, emitted = machine.logic.transition(state, payload)
    state_after: dict[str, Any] = dict(snapshot)
    # Emitted models (a service's accepts model) stay models: the workflow names their type.
    events = [item if isinstance(item, BaseModel) else dict(item) for item in emitted] + [
        dict(item) for item in _take_queue(state_after)
    ]
    output = state_after.get("output")
    previous = (state or {}).get("output")
    # Cheap equality first; JSON text decides only when the values look equal.
    if output is not None and output == (previous or {}) and _same_json(output, previous or {}):
        output = None
    return MachineExecutionResult(state=state_after, events=events, final_output=output)


def _same_json(a: Any, b: Any) -> bool:
    try:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError):
        return False
