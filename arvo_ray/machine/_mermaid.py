"""Draw a machine as a Mermaid ``stateDiagram-v2`` so it renders itself in Jupyter and docs.

The drawing is derived from the compiled node tree: composite states nest, parallel regions
are separated by ``--``, initial states hang off ``[*]``, final states lead to ``[*]``, and
transitions are labelled ``event [guard]`` (``always`` for eventless, ``done`` for ``onDone``).
Targetless transitions change no state and are not drawn; neither are transitions declared on
the root itself (they apply in every state, and the root is the diagram, not a box in it).
"""

from __future__ import annotations

import re

from ._constants import DONE_STATE_PREFIX
from ._node import NodeTree, StateNode, Transition

__all__ = ["to_mermaid"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_RESERVED = frozenset({"state", "note", "end", "as", "direction", "class", "classDef", "click"})


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
        self.lines: list[str] = ["stateDiagram-v2"]

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
                for transition in _transitions_of(region):
                    self.transition(transition, depth)
            for history in node.history_children:
                self.state(history, depth)
            return
        if node.initial is not None:
            self.emit(depth, f"[*] --> {self.names[node.initial]}")
        for child in node.states.values():
            self.state(child, depth)
        for child in node.states.values():
            for transition in _transitions_of(child):
                self.transition(transition, depth)
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

    def transition(self, transition: Transition, depth: int) -> None:
        if not transition.targets:
            return
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
        source = self.names[transition.source]
        for target in transition.targets:
            self.emit(depth, f"{source} --> {self.names[target]} : {_label_text(label)}")


def _transitions_of(node: StateNode) -> list[Transition]:
    found = [t for group in node.transitions.values() for t in group]
    if node.always:
        found.extend(node.always)
    return found


def to_mermaid(tree: NodeTree) -> str:
    """Render the node tree as Mermaid ``stateDiagram-v2`` source."""
    return _Drawer(tree).draw()
