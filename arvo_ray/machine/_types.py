"""Values user callables receive, and the shapes of events and snapshots.

Calling convention (mirrors XState v5's ``({context, event}, params)`` as one object):

* actions, guards, ``assign``/``emit``/``raise_`` callables and action/guard ``params`` callables
  are called with one :class:`ActionArgs` ``(context, event, params)``;
* a ``context`` factory is called with one :class:`ContextArgs` ``(input)``;
* an ``output`` callable is called with :class:`ActionArgs` whose ``event`` is the done event
  (root output) or the current event (final-state output) and ``params`` is ``None``.

Both are ``NamedTuple``: immutable, cheap to build on the hot path, and readable by attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, TypedDict

__all__ = [
    "ActionArgs",
    "ContextArgs",
    "Event",
    "MachineSnapshot",
    "ModelEvent",
    "SnapshotStatus",
]

#: An event is a dict with a ``"type"`` key; every other key is payload (in Arvo, the CloudEvent).
Event = Mapping[str, Any]

SnapshotStatus = Literal["active", "done", "error", "stopped"]


class ModelEvent(dict[str, Any]):
    """An event's JSON that also carries its data as a validated contract model.

    Arvo orchestrators hand their machines events like this, so actions and guards can read
    ``args.data.result`` (typed) instead of ``args.event["data"]["result"]``; the dict itself
    is the event as XState would see it.

    Example:
        >>> event = ModelEvent({"type": "evt.x.success", "data": {"n": 1}}, model="<model>")
        >>> event["data"], event.model
        ({'n': 1}, '<model>')
    """

    __slots__ = ("model",)

    def __init__(self, event: Mapping[str, Any], model: Any) -> None:
        super().__init__(event)
        self.model = model


def _model_of(event: Any) -> Any:
    model = getattr(event, "model", None)
    if model is None and isinstance(event, Mapping):
        model = getattr(event.get("input"), "model", None)  # the init event, while starting
    return model


class ActionArgs(NamedTuple):
    """What an action, guard, assigner, emitter or output callable is given.

    Attributes:
        context: The context at the moment the callable runs (after earlier assigns of the same
            step). Treat it as read-only; return changes through ``assign``.
        event: The event being processed (for ``always`` transitions, the event that started
            the step; while starting, ``{"type": "xstate.init", "input": ...}``).
        params: The resolved ``params`` of a ``{"type": name, "params": ...}`` reference, else
            ``None``.

    Example:
        >>> over_limit = lambda args: args.event["amount"] > args.params["limit"]
        >>> over_limit(ActionArgs({"total": 0}, {"type": "PAY", "amount": 5}, {"limit": 3}))
        True
        >>> ActionArgs(context={}, event={"type": "PAY"}).params is None
        True
    """

    context: Mapping[str, Any]
    event: Mapping[str, Any]
    params: Any = None

    @property
    def data(self) -> Any:
        """The event's data as its contract model, in Arvo machines (``None`` for events
        without one, such as raised or done events)."""
        return _model_of(self.event)


class ContextArgs(NamedTuple):
    """What a ``context`` factory is given.

    Attributes:
        input: The ``input`` passed to ``initial_transition`` (in Arvo, the init event JSON).

    Example:
        >>> machine = setup().create_machine({
        ...     "id": "counter", "context": lambda args: {"count": args.input["start"]},
        ...     "initial": "counting", "states": {"counting": {}}})
        >>> machine.initial_transition({"start": 5})[0]["context"]
        {'count': 5}
    """

    input: Any

    @property
    def data(self) -> Any:
        """The init event's data as its contract model, in Arvo machines."""
        return _model_of(self.input)


class MachineSnapshot(TypedDict):
    """A persisted snapshot, shaped like XState's ``actor.getPersistedSnapshot()``.

    ``historyValue`` maps a history node id to ``[{"id": <state id>}, ...]``; ``children`` is
    always empty because Arvo machines have no actors.

    Example:
        >>> import json
        >>> machine = setup().create_machine({"id": "light", "initial": "green",
        ...     "states": {"green": {"on": {"TIMER": "red"}}, "red": {}}})
        >>> snapshot, _ = machine.initial_transition()
        >>> snapshot["status"], snapshot["value"], snapshot["context"]
        ('active', 'green', {})
        >>> stored = json.loads(json.dumps(snapshot))  # what a machine memory gives back
        >>> machine.transition(stored, {"type": "TIMER"})[0]["value"]
        'red'
    """

    status: SnapshotStatus
    value: str | dict[str, Any]
    historyValue: dict[str, list[dict[str, str]]]
    context: dict[str, Any]
    children: dict[str, Any]
    output: Any
    error: Any
