"""The node tree: a config dict turned into linked :class:`StateNode` objects, once.

Everything the algorithm needs per step is precomputed here at definition time: ids, document
order, ancestors, compiled actions and guards, transitions per event descriptor, resolved
targets, initial states and history defaults. The builder is tolerant: it skips pieces that
``_validation`` already reported and records the problems only it can see (targets that resolve
nowhere, ``state_in`` ids), so all problems are raised together by ``create_machine``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ._action import CompiledAction, as_list, compile_actions
from ._constants import (
    DEFAULT_MAX_MICROSTEPS,
    DONE_STATE_PREFIX,
    STATE_DELIMITER,
    STATE_IDENTIFIER,
    WILDCARD,
)
from ._guards import CompiledGuard, GuardResolutionError, compile_guard
from ._snapshot import to_state_path

__all__ = ["NodeTree", "StateNode", "Transition", "build_tree"]

Problem = tuple[tuple[str, ...], str]

UNSET: Any = object()
_UNSET = UNSET
_CANDIDATE_CACHE_LIMIT = 1024


class Transition:
    """One candidate transition of a state node (``on``, ``always``, ``onDone`` or initial).

    Attributes:
        source: The state node that declares it.
        targets: Resolved target nodes, or ``None`` for a targetless transition.
        guard: Compiled guard or ``None``.
        actions: Compiled transition actions.
        reenter: ``True`` to exit and re-enter the source (XState's ``reenter``).
        event_type: The descriptor it was declared under (``""`` for ``always``).
        has_history_target: A target is a history node, so the domain depends on history.
    """

    __slots__ = (
        "_domain",
        "actions",
        "event_type",
        "guard",
        "guard_label",
        "has_history_target",
        "reenter",
        "source",
        "target_labels",
        "targets",
    )

    def __init__(
        self,
        source: StateNode,
        event_type: str,
        targets: tuple[StateNode, ...] | None,
        guard: CompiledGuard | None,
        actions: tuple[CompiledAction, ...],
        reenter: bool,
        guard_label: str | None = None,
    ) -> None:
        self.source = source
        self.event_type = event_type
        self.targets = targets
        self.guard = guard
        self.actions = actions
        self.reenter = reenter
        self.guard_label = guard_label
        self.target_labels: tuple[str, ...] = ()
        self.has_history_target = bool(targets) and any(t.is_history for t in targets or ())
        self._domain: Any = _UNSET

    def __repr__(self) -> str:
        targets = [t.id for t in self.targets] if self.targets is not None else None
        return f"<Transition {self.event_type!r} from {self.source.id!r} to {targets}>"


class StateNode:
    """One state of the machine, with everything about it precomputed.

    Attributes:
        key: The key under the parent's ``states`` (the machine id for the root).
        id: ``config["id"]`` or the dotted path from the machine id.
        type: ``"atomic"``, ``"compound"``, ``"parallel"``, ``"final"`` or ``"history"``.
        order: Document order (pre-order position, history nodes included), as in XState.
        parent: The parent node, ``None`` for the root.
        states: Child nodes by key, history nodes included.
        children: Child nodes that are not history nodes, in document order.
    """

    __slots__ = (
        "_candidates",
        "_wildcards",
        "always",
        "always_chain",
        "ancestor_set",
        "children",
        "config",
        "entry",
        "exit",
        "has_output",
        "history",
        "history_children",
        "history_default_is_parent_initial",
        "history_targets",
        "id",
        "initial",
        "initial_actions",
        "initial_closure",
        "is_atomic",
        "is_final",
        "is_history",
        "is_parallel",
        "key",
        "order",
        "output",
        "parent",
        "path",
        "proper_ancestors",
        "states",
        "transitions",
        "type",
    )

    def __init__(
        self, config: Mapping[str, Any], key: str, parent: StateNode | None, order: int, id: str
    ) -> None:
        self.config = config
        self.key = key
        self.parent = parent
        self.order = order
        self.id = id
        self.path: tuple[str, ...] = (*parent.path, key) if parent is not None else ()
        states_config = config.get("states")
        has_states = isinstance(states_config, Mapping) and len(states_config) > 0
        declared = config.get("type")
        if isinstance(declared, str):
            self.type = declared
        elif has_states:
            self.type = "compound"
        elif config.get("history"):
            self.type = "history"
        else:
            self.type = "atomic"
        self.is_final = self.type == "final"
        self.is_atomic = self.type in ("atomic", "final")
        self.is_parallel = self.type == "parallel"
        self.is_history = self.type == "history"
        history = config.get("history")
        self.history = "deep" if history == "deep" else "shallow"
        self.proper_ancestors: tuple[StateNode, ...] = (
            (parent, *parent.proper_ancestors) if parent is not None else ()
        )
        self.ancestor_set = frozenset(self.proper_ancestors)
        self.states: dict[str, StateNode] = {}
        self.children: tuple[StateNode, ...] = ()
        self.history_children: tuple[StateNode, ...] = ()
        self.entry: tuple[CompiledAction, ...] = ()
        self.exit: tuple[CompiledAction, ...] = ()
        self.initial: StateNode | None = None
        self.initial_actions: tuple[CompiledAction, ...] = ()
        self.initial_closure: tuple[StateNode, ...] = ()
        self.transitions: dict[str, tuple[Transition, ...]] = {}
        self.always: tuple[Transition, ...] | None = None
        self.always_chain: tuple[StateNode, ...] = ()
        self.history_targets: tuple[StateNode, ...] = ()
        self.history_default_is_parent_initial = False
        self.has_output = (self.is_final or parent is None) and "output" in config
        self.output = config.get("output") if self.has_output else None
        self._wildcards: tuple[str, ...] = ()
        self._candidates: dict[str, tuple[Transition, ...]] = {}

    def candidates(self, event_type: str) -> tuple[Transition, ...]:
        """Transitions for ``event_type`` in priority order (XState's ``getCandidates``).

        Exact descriptor first, then matching partial wildcards (longer first), then ``*``.
        """
        if not self._wildcards:
            return self.transitions.get(event_type, ())
        cached = self._candidates.get(event_type)
        if cached is None:
            matching = sorted(
                (
                    d
                    for d in self._wildcards
                    if d != event_type and matches_descriptor(event_type, d)
                ),
                key=len,
                reverse=True,
            )
            found = list(self.transitions.get(event_type, ()))
            for descriptor in matching:
                found.extend(self.transitions[descriptor])
            cached = tuple(found)
            if len(self._candidates) >= _CANDIDATE_CACHE_LIMIT:
                self._candidates.clear()
            self._candidates[event_type] = cached
        return cached

    def __repr__(self) -> str:
        return f"<StateNode #{self.id} ({self.type})>"


def is_wildcard(descriptor: str) -> bool:
    """True for ``*`` and partial wildcards such as ``mouse.*``."""
    return descriptor == WILDCARD or descriptor.endswith(".*")


def matches_descriptor(event_type: str, descriptor: str) -> bool:
    """XState's ``matchesEventDescriptor``: ``mouse.*`` matches ``mouse`` and ``mouse.click``."""
    if descriptor in (event_type, WILDCARD):
        return True
    if not descriptor.endswith(".*"):
        return False
    partial = descriptor.split(".")
    tokens = event_type.split(".")
    for index, token in enumerate(partial):
        if token == WILDCARD:
            return index == len(partial) - 1
        if index >= len(tokens) or token != tokens[index]:
            return False
    return True


class NodeTree:
    """The built tree plus per-machine caches the algorithm uses.

    Attributes:
        root: The root state node.
        machine_id: The machine id (``config["id"]`` or ``"(machine)"``).
        nodes: Every node in document order.
        by_id: Nodes by id.
        has_always: Whether any node has ``always`` transitions (skips selection otherwise).
        has_parallel: Whether any node is parallel.
        initial_transition: The synthetic transition that enters the initial configuration.
        max_microsteps: The loop cap per macrostep.
    """

    def __init__(self, root: StateNode, machine_id: str, nodes: list[StateNode]) -> None:
        self.root = root
        self.machine_id = machine_id
        self.nodes = nodes
        self.by_id: dict[str, StateNode] = {}
        for node in nodes:
            self.by_id.setdefault(node.id, node)
        self.has_always = False
        self.has_parallel = any(node.is_parallel for node in nodes)
        self.max_microsteps = DEFAULT_MAX_MICROSTEPS
        self.entry_cache: dict[
            tuple[Transition, ...], tuple[tuple[StateNode, ...], frozenset[StateNode]]
        ] = {}
        self.value_cache: dict[str, tuple[StateNode, ...]] = {}
        self.initial_transition = Transition(root, "", (), None, (), True)

    def lookup(self, ref: str) -> StateNode | None:
        """Find ``#id`` or ``#id.child.path`` (``None`` if there is no such node)."""
        text = ref[1:] if ref.startswith(STATE_IDENTIFIER) else ref
        node = self.by_id.get(text)
        if node is not None:
            return node
        path = to_state_path(text)
        node = self.by_id.get(path[0])
        for key in path[1:]:
            if node is None or not key:
                break
            node = node.states.get(key)
        return node


class _TargetError(Exception):
    pass


def _did_you_mean(word: str, options: Any) -> str:
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""


def _guard_label(ref: Any) -> str | None:
    if ref is None:
        return None
    if isinstance(ref, str):
        return ref
    if isinstance(ref, Mapping):
        declared = ref.get("type")
        if isinstance(declared, str):
            return declared
    name = getattr(ref, "__name__", None)
    return name if isinstance(name, str) and name != "<lambda>" else "guard"


class _Builder:
    def __init__(
        self,
        config: Mapping[str, Any],
        actions: Mapping[str, Any],
        guards: Mapping[str, Any],
        problems: list[Problem],
    ) -> None:
        self.config = config
        self.actions = actions
        self.guards = guards
        self.problems = problems
        machine_id = config.get("id")
        self.machine_id = machine_id if isinstance(machine_id, str) and machine_id else "(machine)"
        self.nodes: list[StateNode] = []
        self.config_paths: dict[StateNode, tuple[str, ...]] = {}
        self.tree: NodeTree

    # -- pass 1: nodes, ids, order ------------------------------------------------------------
    def create(
        self, config: Mapping[str, Any], key: str, parent: StateNode | None, path: tuple[str, ...]
    ) -> StateNode:
        custom_id = config.get("id")
        if parent is None:
            node_id = self.machine_id
        elif isinstance(custom_id, str) and custom_id:
            node_id = custom_id
        else:
            node_id = STATE_DELIMITER.join((self.machine_id, *(parent.path), key))
        node = StateNode(config, key, parent, len(self.nodes), node_id)
        self.nodes.append(node)
        self.config_paths[node] = path
        states = config.get("states")
        if isinstance(states, Mapping):
            for child_key, child_config in states.items():
                if isinstance(child_key, str) and isinstance(child_config, Mapping):
                    child = self.create(child_config, child_key, node, (*path, "states", child_key))
                    node.states[child_key] = child
        node.children = tuple(c for c in node.states.values() if not c.is_history)
        node.history_children = tuple(c for c in node.states.values() if c.is_history)
        return node

    # -- pass 2: everything that needs the whole tree -----------------------------------------
    def build(self) -> NodeTree:
        root = self.create(self.config, self.machine_id, None, ())
        tree = self.tree = NodeTree(root, self.machine_id, self.nodes)
        seen: dict[str, StateNode] = {}
        for node in self.nodes:
            if node.id in seen:
                self.problems.append(
                    (
                        (*self.config_paths[node], "id"),
                        f"duplicate state id '{node.id}' (also used by the state at "
                        f"'{_render(self.config_paths[seen[node.id]])}'); ids must be unique",
                    )
                )
            else:
                seen[node.id] = node
        for node in self.nodes:
            self.link(node)
        for node in self.nodes:
            node.initial_closure = tuple(_initial_states(node))
            if node.is_atomic:
                node.always_chain = tuple(
                    n for n in (node, *node.proper_ancestors) if n.always is not None
                )
        tree.has_always = any(node.always is not None for node in self.nodes)
        tree.initial_transition = Transition(root, "", tuple(_initial_states(root)), None, (), True)
        return tree

    def link(self, node: StateNode) -> None:
        config = node.config
        path = self.config_paths[node]
        node.entry = compile_actions(config.get("entry"), self.actions)
        node.exit = compile_actions(config.get("exit"), self.actions)
        if node.type == "compound":
            initial = config.get("initial")
            target_key = initial.get("target") if isinstance(initial, Mapping) else initial
            if isinstance(target_key, str) and target_key in node.states:
                node.initial = node.states[target_key]
                if isinstance(initial, Mapping):
                    node.initial_actions = compile_actions(initial.get("actions"), self.actions)
        transitions: dict[str, tuple[Transition, ...]] = {}
        on = config.get("on")
        if isinstance(on, Mapping):
            for descriptor, value in on.items():
                if isinstance(descriptor, str) and descriptor:
                    transitions[descriptor] = self.transitions(
                        node, descriptor, value, (*path, "on", descriptor)
                    )
        on_done = config.get("onDone")
        if on_done is not None:
            descriptor = f"{DONE_STATE_PREFIX}{node.id}"
            transitions[descriptor] = self.transitions(node, descriptor, on_done, (*path, "onDone"))
        node.transitions = transitions
        node._wildcards = tuple(d for d in transitions if is_wildcard(d))
        always = config.get("always")
        if always is not None:
            node.always = self.transitions(node, "", always, (*path, "always"))
        if node.is_history:
            self.link_history(node, path)

    def link_history(self, node: StateNode, path: tuple[str, ...]) -> None:
        parent = node.parent
        if parent is None:
            self.problems.append((path, "the root cannot be a history state"))
            return
        target = node.config.get("target")
        if target is None or target == "":
            if parent.is_parallel:
                node.history_targets = (parent,)
            elif parent.initial is not None:
                node.history_targets = (parent.initial,)
                node.history_default_is_parent_initial = True
            return
        resolved = []
        for item in as_list(target):
            try:
                if not isinstance(item, str):
                    raise _TargetError(f"a target must be a string, got {type(item).__name__}")
                found = self.by_path(parent, item)
                if found.is_history:
                    raise _TargetError("a history state's default target cannot be a history state")
                resolved.append(found)
            except _TargetError as error:
                self.problems.append(((*path, "target"), f"history target '{item}': {error}"))
        node.history_targets = tuple(resolved)

    def transitions(
        self, node: StateNode, descriptor: str, value: Any, path: tuple[str, ...]
    ) -> tuple[Transition, ...]:
        items = value if isinstance(value, list | tuple) else [value]
        result = []
        for index, item in enumerate(items):
            item_path = (*path, f"[{index}]") if isinstance(value, list | tuple) else path
            if item is None or isinstance(item, str):
                item = {"target": item}
            if not isinstance(item, Mapping):
                continue
            transition = self.transition(node, descriptor, item, item_path)
            if transition is not None:
                result.append(transition)
        return tuple(result)

    def transition(
        self, node: StateNode, descriptor: str, config: Mapping[str, Any], path: tuple[str, ...]
    ) -> Transition | None:
        raw_target = config.get("target")
        targets: tuple[StateNode, ...] | None = None
        labels: list[str] = []
        if raw_target is not None and raw_target != "":
            resolved = []
            for item in as_list(raw_target):
                if not isinstance(item, str):
                    continue  # reported by validation
                try:
                    resolved.append(self.resolve_target(node, item))
                    labels.append(item)
                except _TargetError as error:
                    self.problems.append(((*path, "target"), f"target '{item}': {error}"))
            targets = tuple(resolved)
        guard_ref = config.get("guard")
        guard: CompiledGuard | None = None
        if guard_ref is not None:
            try:
                guard = compile_guard(guard_ref, self.guards, self.tree.lookup, self.tree.root)
            except GuardResolutionError as error:
                if not error.reported:
                    self.problems.append(((*path, "guard"), str(error)))
                guard = _never
        transition = Transition(
            node,
            descriptor,
            targets,
            guard,
            compile_actions(config.get("actions"), self.actions),
            config.get("reenter") is True,
            _guard_label(guard_ref),
        )
        transition.target_labels = tuple(labels)
        return transition

    # -- target resolution (XState's resolveTarget / getStateNodeByPath) ----------------------
    def resolve_target(self, node: StateNode, target: str) -> StateNode:
        if target.startswith(STATE_IDENTIFIER):
            found = self.tree.lookup(target)
            if found is None:
                raise _TargetError(
                    f"no state has id '{target[1:]}'" + _did_you_mean(target[1:], self.tree.by_id)
                )
            return found
        if target.startswith(STATE_DELIMITER):
            if node.parent is None:
                return self.by_path(node, target[1:])
            return self.by_path(node.parent, node.key + target)
        if node.parent is None:
            raise _TargetError(
                f"'{target}' is not a valid target from the root node; did you mean '.{target}'?"
            )
        return self.by_path(node.parent, target)

    def by_path(self, node: StateNode, path: str) -> StateNode:
        if path.startswith(STATE_IDENTIFIER):
            found = self.tree.lookup(path)
            if found is not None:
                return found
        current = node
        for key in to_state_path(path):
            if not key:
                break
            if key.startswith(STATE_IDENTIFIER):
                found = self.tree.lookup(key)
                if found is None:
                    raise _TargetError(f"no state has id '{key[1:]}'")
                current = found
                continue
            child = current.states.get(key)
            if child is None:
                if not current.states:
                    raise _TargetError(
                        f"'{current.id}' has no child states, so '{key}' does not exist"
                    )
                raise _TargetError(
                    f"state '{key}' does not exist on '{current.id}' (its states: "
                    f"{', '.join(repr(k) for k in current.states)})"
                    + _did_you_mean(key, current.states)
                )
            current = child
        return current


def _never(run: Any, event: Any) -> bool:
    return False


def _initial_states(node: StateNode) -> list[StateNode]:
    """XState's getInitialStateNodes: the node and its default descendants, pre-order."""
    found: dict[StateNode, None] = {}

    def visit(current: StateNode) -> None:
        if current in found:
            return
        found[current] = None
        if current.type == "compound" and current.initial is not None:
            visit(current.initial)
        elif current.is_parallel:
            for child in current.children:
                visit(child)

    visit(node)
    return list(found)


def _render(path: tuple[str, ...]) -> str:
    return " > ".join(path) if path else "(root)"


def build_tree(
    config: Mapping[str, Any],
    actions: Mapping[str, Any],
    guards: Mapping[str, Any],
    problems: list[Problem],
    *,
    max_microsteps: int = DEFAULT_MAX_MICROSTEPS,
) -> NodeTree:
    """Build the node tree, appending problems only the tree can reveal to ``problems``."""
    tree = _Builder(config, actions, guards, problems).build()
    tree.max_microsteps = max_microsteps
    return tree
