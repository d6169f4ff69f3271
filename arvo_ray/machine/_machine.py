"""``StateMachine`` and its constructors ``setup(...).create_machine`` and ``create_machine``.

A machine is built once from an XState-shaped config dict (validated, compiled into a node
tree) and then used as a pure function: ``initial_transition(input)`` and
``transition(snapshot, event)`` each return ``(new_snapshot, emitted)`` and never mutate their
arguments. There is no actor, clock or I/O here; running the emitted objects is the caller's job.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from arvo_ray.core.errors import ConfigViolation

from ._algorithm import macrostep, microstep
from ._constants import DEFAULT_MAX_MICROSTEPS, INIT_EVENT_TYPE
from ._errors import InvalidSnapshotError
from ._node import NodeTree, build_tree
from ._run import Run
from ._snapshot import current_value, restore_nodes, revive_history, serialize_history
from ._types import ContextArgs, MachineSnapshot
from ._validation import raise_problems, validate_machine

__all__ = [
    "MachineSetup",
    "StateMachine",
    "create_machine",
    "initial_transition",
    "setup",
    "transition",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class StateMachine:
    """A validated statechart with XState v5 semantics, used as a pure transition function.

    Build one with :func:`create_machine` or ``setup(...).create_machine(config)``.

    Attributes:
        id: The machine id (``config["id"]``, or ``"(machine)"``).
        config: The original config dict, unchanged.

    Example:
        >>> machine = setup().create_machine({"id": "toggle", "initial": "off", "states": {
        ...     "off": {"on": {"TOGGLE": "on"}}, "on": {"on": {"TOGGLE": "off"}}}})
        >>> machine
        <StateMachine 'toggle' (3 states)>
        >>> snapshot, emitted = machine.initial_transition()
        >>> machine.transition(snapshot, {"type": "TOGGLE"})[0]["value"]
        'on'
        >>> snapshot["value"]  # the input snapshot is never mutated
        'off'
    """

    __slots__ = ("_actions", "_guards", "_tree", "config", "id")

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        actions: Mapping[str, Any] | None = None,
        guards: Mapping[str, Any] | None = None,
        max_microsteps: int = DEFAULT_MAX_MICROSTEPS,
    ) -> None:
        if not isinstance(max_microsteps, int) or max_microsteps < 1:
            raise ValueError(f"max_microsteps must be a positive int, got {max_microsteps!r}")
        self._actions: Mapping[str, Any] = MappingProxyType(dict(actions or {}))
        self._guards: Mapping[str, Any] = MappingProxyType(dict(guards or {}))
        problems = validate_machine(config, self._actions, self._guards)
        machine_id = config.get("id") if isinstance(config, Mapping) else None
        self.id: str = machine_id if isinstance(machine_id, str) and machine_id else "(machine)"
        if not isinstance(config, Mapping):
            raise_problems(self.id, problems)
        self.config: Mapping[str, Any] = config
        self._tree: NodeTree = build_tree(
            config, self._actions, self._guards, problems, max_microsteps=max_microsteps
        )
        raise_problems(self.id, problems)

    def __reduce__(self) -> tuple[Any, ...]:
        # The node tree holds identity sentinels and cross-references: ship the definition and
        # rebuild the tree on the other side (machines travel to Ray workers).
        return (
            _rebuild_machine,
            (self.config, dict(self._actions), dict(self._guards), self._tree.max_microsteps),
        )

    @property
    def has_parallel_states(self) -> bool:
        """Whether any state is parallel (Arvo locks the workflow's memory if so)."""
        return self._tree.has_parallel

    @property
    def max_microsteps(self) -> int:
        """The cap on microsteps per event, past which a ``MachineLoopError`` is raised."""
        return self._tree.max_microsteps

    def provide(
        self,
        *,
        actions: Mapping[str, Any] | None = None,
        guards: Mapping[str, Any] | None = None,
    ) -> StateMachine:
        """A copy of this machine with some named actions/guards replaced or added.

        Like XState's ``machine.provide``, useful to swap implementations in tests.
        """
        return StateMachine(
            self.config,
            actions={**self._actions, **(actions or {})},
            guards={**self._guards, **(guards or {})},
            max_microsteps=self._tree.max_microsteps,
        )

    def initial_transition(self, input: Any = None) -> tuple[MachineSnapshot, list[Any]]:
        """Start the machine: build the context, enter the initial states, settle.

        Runs the context factory, entry actions, ``always`` transitions and raised events, all
        with the event ``{"type": "xstate.init", "input": input}``.

        Args:
            input: Passed to a ``context`` factory as ``ContextArgs(input)``.

        Returns:
            ``(snapshot, emitted)``: the first persisted snapshot and the objects emitted while
            starting, in order.

        Raises:
            MachineLoopError: ``always`` transitions or raised events did not settle.
            Exception: Whatever a user action, guard or context factory raised, unchanged.
        """
        tree = self._tree
        context = _initial_context(self.config.get("context"), input)
        run = Run(context, {tree.root: None}, {}, None)
        event = {"type": INIT_EVENT_TYPE, "input": input}
        microstep(run, tree, [tree.initial_transition], event, is_initial=True)
        macrostep(run, tree, event, is_init=True)
        history = serialize_history(run.history) if run.history else {}
        return _snapshot(run, tree, history), run.emitted

    def transition(
        self, snapshot: Mapping[str, Any], event: Mapping[str, Any]
    ) -> tuple[MachineSnapshot, list[Any]]:
        """Process one event: a pure function from snapshot to (next snapshot, emitted).

        The given snapshot is never mutated (the result may share unchanged parts with it).
        A snapshot that is not ``active`` (done, error, stopped) is returned as is with no
        emitted objects; an event nothing handles returns an equal snapshot.

        Args:
            snapshot: A snapshot from this machine (possibly read back from JSON).
            event: A dict with a string ``"type"``; other keys are payload.

        Returns:
            ``(snapshot, emitted)``: the new snapshot and the emitted objects in action order.

        Raises:
            TypeError: ``event`` is not a dict with a string ``"type"``.
            InvalidSnapshotError: The snapshot does not fit this machine.
            MachineLoopError: ``always`` transitions or raised events did not settle.
            Exception: Whatever a user action or guard raised, unchanged.
        """
        if not isinstance(snapshot, Mapping) or "value" not in snapshot:
            raise InvalidSnapshotError(
                self.id, "expected a dict with 'status' and 'value' (from initial_transition)"
            )
        if snapshot.get("status", "active") != "active":
            return snapshot, []  # type: ignore[return-value]
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            raise TypeError(f"An event must be a dict with a string 'type', got {event!r}")
        tree = self._tree
        value = snapshot["value"]
        nodes = restore_nodes(tree.root, value, tree.machine_id, tree.value_cache)
        persisted_history = snapshot.get("historyValue") or _EMPTY
        history = revive_history(persisted_history, tree.by_id) if persisted_history else {}
        context = snapshot.get("context")
        run = Run(context if context is not None else {}, nodes, history, None)
        if isinstance(value, str) and len(nodes) == 2:
            run.value = value  # the common flat case: the value is already exact
        macrostep(run, tree, event)
        if run.history is history:
            persisted = persisted_history if persisted_history is not _EMPTY else {}
        else:
            persisted = serialize_history(run.history)
        return _snapshot(run, tree, persisted), run.emitted

    def to_mermaid(self) -> str:
        """The machine as a Mermaid ``stateDiagram-v2`` (paste into any Mermaid renderer).

        Transitions between the same two states share one arrow, one label line each.

        Example:
            >>> machine = create_machine({"id": "door", "initial": "shut", "states": {
            ...     "shut": {"on": {"OPEN": "open"}}, "open": {"on": {"SHUT": "shut"}}}})
            >>> print(machine.to_mermaid())
            stateDiagram-v2
                direction LR
                [*] --> door_shut
                state "shut" as door_shut
                state "open" as door_open
                door_shut --> door_open : OPEN
                door_open --> door_shut : SHUT
        """
        from ._mermaid import to_mermaid

        return to_mermaid(self._tree)

    def to_svg(self) -> str:
        """The machine drawn as a standalone SVG document, with no script, font or network.

        Unlike Mermaid source, it shows wherever SVG does: exported HTML, classic notebooks,
        offline front ends, files. The same machine always gives the same text.

        Example:
            >>> machine = create_machine({"id": "door", "initial": "shut", "states": {
            ...     "shut": {"on": {"OPEN": "open"}}, "open": {"type": "final"}}})
            >>> svg = machine.to_svg()
            >>> svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
            True
            >>> ">OPEN</tspan>" in svg and ">open</text>" in svg
            True
        """
        from ._svg import to_svg

        return to_svg(self._tree)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter's display: Mermaid where the front end draws it, our own SVG everywhere else.

        JupyterLab 4.1+ ranks ``text/vnd.mermaid`` above SVG and draws it itself; exported
        HTML, older or offline front ends fall back to the SVG, and plain-text ones show the
        Mermaid source. There is deliberately no ``text/markdown``: front ends rank markdown
        above SVG, and a fenced ``mermaid`` block is blank wherever no script draws it.
        """
        shown = {
            "text/vnd.mermaid": self.to_mermaid,
            "image/svg+xml": self.to_svg,
            "text/plain": self.to_mermaid,
        }
        return {
            mime: render()
            for mime, render in shown.items()
            if (not include or mime in include) and not (exclude and mime in exclude)
        }

    def __repr__(self) -> str:
        return f"<StateMachine {self.id!r} ({len(self._tree.nodes)} states)>"


def _snapshot(run: Run, tree: NodeTree, history: Mapping[str, Any]) -> MachineSnapshot:
    return {
        "status": run.status,  # type: ignore[typeddict-item]
        "value": current_value(run, tree.root),
        "historyValue": history,  # type: ignore[typeddict-item]
        "context": run.context,
        "children": {},
        "output": run.output,
        "error": None,
    }


def _initial_context(context: Any, input: Any) -> dict[str, Any]:
    if context is None:
        return {}
    if callable(context):
        result = context(ContextArgs(input))
        if result is None:
            return {}
        if not isinstance(result, Mapping):
            raise TypeError(f"The context factory must return a dict, got {type(result).__name__}")
        return dict(result)
    # A copy, so no run can ever reach (and mutate) the definition's own dict.
    return copy.deepcopy(dict(context))


def _rebuild_machine(
    config: Mapping[str, Any],
    actions: Mapping[str, Any],
    guards: Mapping[str, Any],
    max_microsteps: int,
) -> StateMachine:
    return StateMachine(config, actions=actions, guards=guards, max_microsteps=max_microsteps)


class MachineSetup:
    """Named actions and guards, ready to create machines that refer to them by name.

    Returned by :func:`setup`; mirrors XState's ``setup({actions, guards})``.

    Example:
        >>> payments = setup(actions={"record": assign({"paid": lambda a: a.event["amount"]})},
        ...                  guards={"positive": lambda a: a.event["amount"] > 0})
        >>> machine = payments.create_machine({"id": "payment", "context": {"paid": 0},
        ...     "initial": "pending", "states": {"pending": {"on": {"PAY": {
        ...         "guard": "positive", "target": "paid", "actions": "record"}}},
        ...     "paid": {"type": "final"}}})
        >>> snapshot, _ = machine.initial_transition()
        >>> machine.transition(snapshot, {"type": "PAY", "amount": 0})[0]["value"]
        'pending'
        >>> machine.transition(snapshot, {"type": "PAY", "amount": 5})[0]["context"]
        {'paid': 5}
    """

    __slots__ = ("_actions", "_guards")

    def __init__(self, actions: Mapping[str, Any], guards: Mapping[str, Any]) -> None:
        self._actions = MappingProxyType(dict(actions))
        self._guards = MappingProxyType(dict(guards))

    @property
    def actions(self) -> Mapping[str, Any]:
        """The named actions (read-only)."""
        return self._actions

    @property
    def guards(self) -> Mapping[str, Any]:
        """The named guards (read-only)."""
        return self._guards

    def create_machine(
        self, config: Mapping[str, Any], *, max_microsteps: int = DEFAULT_MAX_MICROSTEPS
    ) -> StateMachine:
        """Validate ``config`` against these implementations and build the machine.

        Args:
            config: An XState-shaped config dict.
            max_microsteps: Cap on microsteps per event (guards against ``always`` loops).

        Returns:
            The machine.

        Raises:
            ConfigViolation: One error listing every problem in the config, with paths.
        """
        return StateMachine(
            config, actions=self._actions, guards=self._guards, max_microsteps=max_microsteps
        )


def setup(
    *,
    actions: Mapping[str, Any] | None = None,
    guards: Mapping[str, Any] | None = None,
    actors: Any = None,
    delays: Any = None,
) -> MachineSetup:
    """Register named actions and guards, like XState v5's ``setup``.

    Args:
        actions: Name -> callable ``(ActionArgs) -> None`` or a built-in action (``assign``,
            ``emit``, ``raise_``). Configs refer to them as ``"name"`` or
            ``{"type": "name", "params": ...}``.
        guards: Name -> callable ``(ActionArgs) -> bool``, a combinator or another guard's name.
        actors: Not supported (Arvo machines have no actors); passing it raises.
        delays: Not supported (Arvo machines have no timers); passing it raises.

    Returns:
        A :class:`MachineSetup` whose ``create_machine(config)`` builds machines.

    Raises:
        ConfigViolation: ``actors`` or ``delays`` was given.
    """
    problems = []
    if actors is not None:
        problems.append("'actors' is not supported in Arvo machines: there are no actors")
    if delays is not None:
        problems.append("'delays' is not supported in Arvo machines: there are no timers")
    if problems:
        raise ConfigViolation("; ".join(problems), metadata={"path": "setup"})
    return MachineSetup(actions or {}, guards or {})


def create_machine(
    config: Mapping[str, Any],
    *,
    actions: Mapping[str, Any] | None = None,
    guards: Mapping[str, Any] | None = None,
    max_microsteps: int = DEFAULT_MAX_MICROSTEPS,
) -> StateMachine:
    """Validate an XState-shaped config and build the machine.

    Args:
        config: The config dict (``id``, ``initial``, ``states``, ``on``, ``context``...).
        actions: Named actions the config refers to (see :func:`setup`).
        guards: Named guards the config refers to (see :func:`setup`).
        max_microsteps: Cap on microsteps per event (guards against ``always`` loops).

    Returns:
        The machine.

    Raises:
        ConfigViolation: One error listing every problem in the config, with paths.
    """
    return StateMachine(config, actions=actions, guards=guards, max_microsteps=max_microsteps)


def initial_transition(
    machine: StateMachine, input: Any = None
) -> tuple[MachineSnapshot, list[Any]]:
    """Functional form of :meth:`StateMachine.initial_transition`."""
    return machine.initial_transition(input)


def transition(
    machine: StateMachine, snapshot: Mapping[str, Any], event: Mapping[str, Any]
) -> tuple[MachineSnapshot, list[Any]]:
    """Functional form of :meth:`StateMachine.transition`: snapshot in, snapshot out."""
    return machine.transition(snapshot, event)
