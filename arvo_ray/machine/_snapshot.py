"""Snapshots: state values <-> active state nodes, history (de)serialisation, ``matches``.

A snapshot is a plain JSON-able dict shaped like XState's persisted snapshot. Between events
only the ``value`` (and ``historyValue``) are kept; the active nodes are rebuilt from the value
exactly as XState's ``restoreSnapshot`` does, so the order of regions in a parallel value
(which XState uses to order region transitions) survives a JSON round trip. Nothing here runs
actions or picks transitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._constants import STATE_DELIMITER
from ._errors import InvalidSnapshotError

if TYPE_CHECKING:
    from ._node import StateNode
    from ._run import Run

__all__ = [
    "compute_value",
    "current_value",
    "matches_state",
    "restore_nodes",
    "revive_history",
    "serialize_history",
    "to_state_path",
    "to_state_value",
]


def to_state_path(state_id: str) -> list[str]:
    """Split ``"a.b.c"`` on unescaped dots (``\\.`` keeps a literal dot), like XState."""
    result: list[str] = []
    segment = ""
    i = 0
    while i < len(state_id):
        char = state_id[i]
        if char == "\\" and i + 1 < len(state_id):
            segment += state_id[i + 1]
            i += 2
            continue
        if char == STATE_DELIMITER:
            result.append(segment)
            segment = ""
        else:
            segment += char
        i += 1
    result.append(segment)
    return result


def to_state_value(value: str | Mapping[str, Any]) -> str | Mapping[str, Any]:
    """Turn a dotted path into a state value (``"a.b"`` -> ``{"a": "b"}``); dicts pass through."""
    if not isinstance(value, str):
        return value
    path = to_state_path(value)
    if len(path) == 1:
        return path[0]
    result: str | dict[str, Any] = path[-1]
    for key in reversed(path[:-1]):
        result = {key: result}
    return result


def matches_state(parent: str | Mapping[str, Any], child: str | Mapping[str, Any]) -> bool:
    """XState's ``matchesState``: is ``child`` (a full value) inside ``parent`` (a partial one)?"""
    if isinstance(child, str):
        return isinstance(parent, str) and parent == child
    if isinstance(parent, str):
        return parent in child
    for key, sub in parent.items():
        if key not in child or not matches_state(sub, child[key]):
            return False
    return True


def compute_value(root: StateNode, nodes: Mapping[StateNode, None]) -> str | dict[str, Any]:
    """The state value of an active configuration (XState's ``getStateValue``).

    Children of a parallel state appear in the order their nodes appear in ``nodes``.
    """
    if len(nodes) == 2 and root.type == "compound":
        # The common flat machine: [root, leaf].
        first, leaf = nodes
        if leaf is root:
            leaf = first
        if leaf.is_atomic and leaf.parent is root:
            return leaf.key
    adjacency: dict[StateNode, list[StateNode]] = {}
    for node in nodes:
        parent = node.parent
        if parent is not None:
            siblings = adjacency.get(parent)
            if siblings is None:
                adjacency[parent] = [node]
            else:
                siblings.append(node)
    return _value_from_adjacency(root, adjacency)


def _value_from_adjacency(
    node: StateNode, adjacency: dict[StateNode, list[StateNode]]
) -> str | dict[str, Any]:
    children = adjacency.get(node)
    if not children:
        return {}
    if node.type == "compound" and children[0].is_atomic:
        return children[0].key
    return {child.key: _value_from_adjacency(child, adjacency) for child in children}


def current_value(run: Run, root: StateNode) -> str | dict[str, Any]:
    """The run's state value, computed once per configuration change."""
    value: str | dict[str, Any] | None = run.value
    if value is None:
        value = run.value = compute_value(root, run.nodes)
    return value


def _child(node: StateNode, key: str, machine_id: str) -> StateNode:
    child = node.states.get(key) if isinstance(key, str) else None
    if child is None:
        known = ", ".join(repr(k) for k in node.states) or "none"
        raise InvalidSnapshotError(
            machine_id, f"state '{key}' does not exist on '{node.id}' (its states: {known})"
        )
    return child


def _collect_state_nodes(
    node: StateNode, value: Any, root: StateNode, out: list[StateNode], machine_id: str
) -> None:
    # XState's getStateNodes: [root, node, ...children in key order, ...their subtrees].
    if isinstance(value, str):
        out.append(node)
        out.append(_child(node, value, machine_id))
        return
    if not isinstance(value, Mapping):
        raise InvalidSnapshotError(
            machine_id, f"a state value must be a string or a dict, got {type(value).__name__}"
        )
    out.append(root)
    out.append(node)
    children = [_child(node, key, machine_id) for key in value]
    out.extend(children)
    for child, sub in zip(children, value.values(), strict=True):
        _collect_state_nodes(child, sub, root, out, machine_id)


def restore_nodes(
    root: StateNode, value: Any, machine_id: str, cache: dict[str, tuple[StateNode, ...]]
) -> dict[StateNode, None]:
    """Rebuild the active nodes from a state value, in XState's ``restoreSnapshot`` order.

    Raises:
        InvalidSnapshotError: The value names a state this machine does not have.
    """
    if isinstance(value, str):
        cached = cache.get(value)
        if cached is None:
            nodes: list[StateNode] = []
            _collect_state_nodes(root, value, root, nodes, machine_id)
            cached = cache[value] = tuple(dict.fromkeys(_complete(nodes)))
        return dict.fromkeys(cached)
    nodes = []
    _collect_state_nodes(root, value, root, nodes, machine_id)
    return dict.fromkeys(_complete(nodes))


def _complete(initial: list[StateNode]) -> list[StateNode]:
    # XState's getAllStateNodes: fill in initial states of compound states with no active child
    # and of parallel regions missing from the value, then add every ancestor.
    order = list(dict.fromkeys(initial))
    seen = set(order)
    has_active_child = {node.parent for node in order if node.parent is not None}

    def add(node: StateNode) -> None:
        if node not in seen:
            seen.add(node)
            order.append(node)

    i = 0
    while i < len(order):
        node = order[i]
        i += 1
        if node.type == "compound" and node not in has_active_child:
            for extra in node.initial_closure:
                add(extra)
        elif node.type == "parallel":
            for child in node.children:
                if child not in seen:
                    for extra in child.initial_closure:
                        add(extra)
    i = 0
    while i < len(order):
        parent = order[i].parent
        i += 1
        while parent is not None:
            add(parent)
            parent = parent.parent
    return order


def revive_history(
    persisted: Mapping[str, Any], node_by_id: Mapping[str, StateNode]
) -> dict[str, tuple[StateNode, ...]]:
    """Persisted ``{"hist": [{"id": ...}]}`` -> ``{"hist": (node, ...)}``; unknown ids are
    skipped, as XState does."""
    revived: dict[str, tuple[StateNode, ...]] = {}
    for key, items in persisted.items():
        nodes = []
        for item in items or ():
            state_id = item.get("id") if isinstance(item, Mapping) else None
            node = node_by_id.get(state_id) if isinstance(state_id, str) else None
            if node is not None:
                nodes.append(node)
        if nodes:
            revived[key] = tuple(nodes)
    return revived


def serialize_history(
    history: Mapping[str, tuple[StateNode, ...]],
) -> dict[str, list[dict[str, str]]]:
    """``{"hist": (node, ...)}`` -> the persisted ``{"hist": [{"id": ...}]}`` form."""
    return {key: [{"id": node.id} for node in nodes] for key, nodes in history.items()}
