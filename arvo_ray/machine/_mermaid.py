"""Draw a machine as a Mermaid ``stateDiagram-v2``, and the merged edge list both drawings share.

The drawing is derived from the compiled node tree: composite states nest, parallel regions
are separated by ``--``, initial states hang off ``[*]``, final states lead to ``[*]``, and
transitions are labelled ``event [guard]`` (``always`` for eventless, ``done`` for ``onDone``).
Transitions between the same two states become one arrow whose label lists each event on its
own line: a state such as ``error`` that many events reach would otherwise collect a fan of
arrows whose labels overlap. Targetless transitions change no state and are not drawn; neither
are transitions declared on the root itself (they apply in every state, and the root is the
diagram, not a box in it). The SVG drawing lives in ``_svg``; it reuses :func:`edges_from`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._constants import DONE_STATE_PREFIX
from ._node import NodeTree, StateNode, Transition

__all__ = ["DiagramEdge", "edges_from", "to_mermaid", "transition_label"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_RESERVED = frozenset({"state", "note", "end", "as", "direction", "class", "classDef", "click"})
_LINE_BREAK = "<br/>"
DIRECTION = "LR"
"""Left to right: event names are long, and a horizontal arrow has room for them."""


@dataclass(frozen=True)
class DiagramEdge:
    """One drawn arrow: every transition from ``source`` to ``target``, one label line each.

    Attributes:
        source: The state that declares the transitions.
        target: The state they lead to.
        labels: ``event [guard]`` texts in declaration order, duplicates dropped.
    """

    source: StateNode
    target: StateNode
    labels: tuple[str, ...]


def transition_label(transition: Transition) -> str:
    """The raw ``event [guard]`` text of a transition, before any format's escaping."""
    event = transition.event_type
    if event == "":
        label = "always"
    elif event.startswith(DONE_STATE_PREFIX):
        label = "done"
    else:
        label = event
    if transition.guard_label:
        label += f" [{transition.guard_label}]"
    if transition.reenter:
        label += " (reenter)"
    return label


def edges_from(node: StateNode) -> list[DiagramEdge]:
    """The merged arrows leaving ``node``, in the order their first transition was declared."""
    merged: dict[StateNode, list[str]] = {}
    for transition in _transitions_of(node):
        label = transition_label(transition)
        for target in transition.targets or ():
            labels = merged.setdefault(target, [])
            # The same event twice to one target (two guards, or none) reads as one line.
            if label not in labels:
                labels.append(label)
    return [DiagramEdge(node, target, tuple(labels)) for target, labels in merged.items()]


def _transitions_of(node: StateNode) -> list[Transition]:
    found = [t for group in node.transitions.values() for t in group]
    if node.always:
        found.extend(node.always)
    return found


def _label_text(text: str) -> str:
    # ':' ends a Mermaid label and ';' ends a statement; '#' starts an entity code.
    return text.replace(":", " ").replace(";", ",").replace("#", "").replace('"', "'")


class _Drawer:
    def __init__(self, tree: NodeTree) -> None:
        self.tree = tree
        self.names: dict[StateNode, str] = {}
        used: set[str] = set()
        for node in tree.nodes:
            base = _UNSAFE.sub("_", node.id) or "state"
            if base in _RESERVED:
                base += "_"
            name = base
            if name in used:
                name = f"{base}_{node.order}"
            used.add(name)
            self.names[node] = name
        self.lines: list[str] = ["stateDiagram-v2", f"    direction {DIRECTION}"]

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def draw(self) -> str:
        self.body(self.tree.root, 1)
        return "\n".join(self.lines)

    def body(self, node: StateNode, depth: int) -> None:
        """Draw the children of ``node`` (and their transitions) at ``depth``."""
        if node.is_parallel:
            for index, region in enumerate(node.children):
                if index:
                    self.emit(depth, "--")
                self.state(region, depth)
                self.edges(region, depth)
            for history in node.history_children:
                self.state(history, depth)
            return
        if node.initial is not None:
            self.emit(depth, f"[*] --> {self.names[node.initial]}")
        for child in node.states.values():
            self.state(child, depth)
        for child in node.states.values():
            self.edges(child, depth)
            if child.is_final:
                self.emit(depth, f"{self.names[child]} --> [*]")

    def state(self, node: StateNode, depth: int) -> None:
        name = self.names[node]
        if node.is_history:
            marker = "H*" if node.history == "deep" else "H"
            self.emit(depth, f'state "{marker}" as {name}')
            return
        label = _label_text(node.key)
        if label != name:
            self.emit(depth, f'state "{label}" as {name}')
        if node.states:
            self.emit(depth, f"state {name} {{")
            self.body(node, depth + 1)
            self.emit(depth, "}")
        elif label == name:
            self.emit(depth, name)

    def edges(self, node: StateNode, depth: int) -> None:
        for edge in edges_from(node):
            label = _LINE_BREAK.join(_label_text(text) for text in edge.labels)
            self.emit(depth, f"{self.names[edge.source]} --> {self.names[edge.target]} : {label}")


def to_mermaid(tree: NodeTree) -> str:
    """Render the node tree as Mermaid ``stateDiagram-v2`` source."""
    return _Drawer(tree).draw()
