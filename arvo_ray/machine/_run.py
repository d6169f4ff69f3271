"""The mutable scratch state of one macrostep (one ``transition`` or ``initial_transition``).

A :class:`Run` is created from a snapshot, mutated by the algorithm and the built-in actions,
and turned back into a new snapshot dict; the caller's snapshot is never touched. It plays the
role of XState's intermediate snapshot objects plus the internal event queue.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._node import StateNode

__all__ = ["Run"]


class Run:
    """State threaded through one macrostep.

    Attributes:
        context: The current context dict (replaced, never mutated, by ``assign``).
        nodes: The active configuration as an insertion-ordered dict (node -> None). Its order
            is XState's ``_nodes`` order, which decides region order for ``always`` selection.
        history: Recorded history, history node id -> tuple of state nodes.
        status: ``"active"`` or ``"done"``.
        output: The machine output once done.
        emitted: Objects passed to ``emit`` in action order.
        queue: The internal FIFO event queue (raised events and done events).
        version: Bumped whenever XState would produce a new snapshot object (an ``assign``, a
            configuration or history change, finishing). ``always`` transitions are selected
            again only if a microstep changed it.
        value: The state value for ``nodes``, computed lazily (``None`` when stale).
    """

    __slots__ = (
        "context",
        "emitted",
        "history",
        "nodes",
        "output",
        "queue",
        "status",
        "value",
        "version",
    )

    def __init__(
        self,
        context: dict[str, Any],
        nodes: dict[StateNode, None],
        history: dict[str, tuple[StateNode, ...]],
        value: Any,
    ) -> None:
        self.context = context
        self.nodes = nodes
        self.history = history
        self.status = "active"
        self.output: Any = None
        self.emitted: list[Any] = []
        self.queue: deque[dict[str, Any]] = deque()
        self.version = 0
        self.value = value
