"""The routing table of a runtime: which topics its handlers and workflows take, and which
broker shard owns a chain.

A chain is owned by the shard its event's subject hashes to. Every event of a workflow
carries the workflow's subject (its service calls, their answers, its completion), so a
workflow's whole chain stays on one shard; a child's init event carries the child's subject
(the child's shard), and its completion the parent's (back to the parent's shard).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

__all__ = ["RoutingTable", "broker_name", "shard_of"]


def shard_of(subject: str, shards: int) -> int:
    """The broker shard that owns the chains of ``subject``."""
    return zlib.crc32(subject.encode("utf-8")) % shards if shards > 1 else 0


def broker_name(runtime: str, index: int, shards: int) -> str:
    """The Ray actor name of broker shard ``index`` (one broker keeps the plain name)."""
    return f"{runtime}-broker" if shards == 1 else f"{runtime}-broker-{index}"


class RoutingTable:
    """Topics of the handlers and of the workflows: each taken by exactly one of them."""

    def __init__(self, handlers: Sequence[str], workflows: Sequence[str]) -> None:
        clash = set(handlers) & set(workflows)
        repeated = {s for s in handlers if list(handlers).count(s) > 1}
        repeated |= {s for s in workflows if list(workflows).count(s) > 1}
        if clash or repeated:
            raise ValueError(
                f"Each topic needs exactly one handler; repeated: {sorted(clash | repeated)}"
            )
        self.handlers = list(handlers)
        self.workflows = list(workflows)
        self._workflow_set = frozenset(workflows)

    def is_workflow(self, topic: str) -> bool:
        return topic in self._workflow_set

    def topics(self) -> dict[str, list[str]]:
        return {"handlers": self.handlers, "workflows": self.workflows}
