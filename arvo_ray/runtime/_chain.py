"""What a broker remembers about the chains it routes: one run's result while it is routed, how
a delivery ended (for routes of the same event that joined it), and which events it handed on.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from arvo_ray._results import DeadLetter, RunResult
from arvo_ray.core import ArvoEvent

__all__ = ["REMEMBERED_IDS", "ChainRun", "Delivery", "Remembered", "event_identity"]

REMEMBERED_IDS = 65_536
"""How many handed-on outbox event ids (and returned output ids) a broker remembers."""


def event_identity(event: ArvoEvent | dict[str, Any]) -> int:
    """Which event this is: CloudEvents' ``source`` + ``id``, and the subject (producers
    reuse ids across workflows). Hashed: a broker remembers many of them."""
    if isinstance(event, ArvoEvent):
        return hash((event.source, event.id, event.subject))
    return hash((event["source"], event["id"], event["subject"]))


@dataclass
class ChainRun:
    """One chain's result while it is routed, with what it has already shown."""

    result: RunResult
    answers: list[ArvoEvent] = field(default_factory=list)
    deferred: bool = False
    """A handler's retry in this chain waits on a timer: the chain goes on after it ends."""
    _seen: set[tuple[str, int]] = field(default_factory=set)

    def first(self, kind: str, event: ArvoEvent) -> bool:
        """True the first time ``event`` is shown as ``kind`` in this run."""
        key = (kind, event_identity(event))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def add_error(self, letter: DeadLetter) -> None:
        if self.first("error", letter.event):
            self.result.errors.append(letter)

    def merge(self, other: RunResult, answers: list[ArvoEvent]) -> None:
        """Show what ``other`` produced: a run that delivered the same event first, or the
        part of this chain another broker shard routed."""
        for kind, events, into in (
            ("output", other.outputs, self.result.outputs),
            ("domained", other.domained, self.result.domained),
            ("late", other.late, self.result.late),
        ):
            into.extend(event for event in events if self.first(kind, event))
        self.answers.extend(answers)

    def absorb(self, part: RunResult, answers: list[ArvoEvent], deferred: bool) -> None:
        """Take in the part of this chain that another broker shard routed."""
        self.merge(part, answers)
        self.deferred |= deferred
        self.result.hops += part.hops
        self.result.redelivered |= part.redelivered
        if self.result.trace is not None and part.trace:
            self.result.trace.extend(part.trace)

    def answer_to(self, caller: str) -> ArvoEvent | None:
        """The last event returned to ``caller``: routed in this chain, else a stored answer."""
        for events in (self.result.outputs, self.answers):
            answers = [e for e in events if e.to == caller and not e.domain]
            if answers:
                return answers[-1]
        return None


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a delivery of one event ended, for routes of the same id that joined it."""

    handed_on: bool
    letters: tuple[DeadLetter, ...]
    run: ChainRun


class Remembered(OrderedDict[int, Any]):
    """A bounded LRU of event identities (oldest forgotten first)."""

    def remember(self, key: int, value: Any = None) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > REMEMBERED_IDS:
            self.popitem(last=False)
