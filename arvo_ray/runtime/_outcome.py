"""Values that travel between the runtime's processes: step outcomes, dead letters, run results.

They are plain dataclasses of events and exceptions, so they pickle cheaply across Ray and
read well in a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arvo_ray.core import ArvoEvent

__all__ = ["DeadLetter", "RunResult", "StepOutcome"]


@dataclass(slots=True)
class StepOutcome:
    """What handling one event produced on a worker.

    Attributes:
        events: The events to route next.
        error: A violation (or an unexpected error) raised while handling the event.
        finished: The workflow instance reached a terminal state (done or failed).
        committed: A workflow step wrote its state (acknowledgements it carried are applied).
        duplicate: The workflow had already consumed the event (a redelivery).
    """

    events: list[ArvoEvent] = field(default_factory=list)
    error: BaseException | None = None
    finished: bool = False
    committed: bool = False
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event that could not be processed, with the error that says why."""

    error: BaseException
    event: ArvoEvent

    def __repr__(self) -> str:
        return f"DeadLetter({type(self.error).__name__}: {self.error}, event={self.event!r})"


@dataclass(slots=True)
class RunResult:
    """Everything one chain of events (started by one event) produced.

    Attributes:
        final: The last output addressed back to the initiating event's ``source`` (e.g. the
            workflow's completion or system error), or ``None``.
        outputs: Events no handler or workflow subscribes to, in arrival order; never dropped.
        errors: Events that raised a violation or failed, with the error.
        domained: Events addressed to another domain's bus.
        hops: How many events were routed to a handler or workflow.
        seconds: Wall-clock duration of the chain.
        trace: Every event of the chain in routing order (only when asked for: ``trace=True``).
        redelivered: The initial event had been consumed before (the run was retried, e.g.
            after the broker restarted); ``final`` then comes from the workflow's record or
            from its recovered chain.
    """

    final: ArvoEvent | None = None
    outputs: list[ArvoEvent] = field(default_factory=list)
    errors: list[DeadLetter] = field(default_factory=list)
    domained: list[ArvoEvent] = field(default_factory=list)
    hops: int = 0
    seconds: float = 0.0
    trace: list[ArvoEvent] | None = None
    redelivered: bool = False

    @property
    def ok(self) -> bool:
        """True when the chain ended without errors."""
        return not self.errors

    def _repr_markdown_(self) -> str:
        rows = [
            "| | |",
            "|---|---|",
            f"| final | `{self.final.type if self.final else None}` |",
            f"| outputs | {len(self.outputs)} |",
            f"| errors | {len(self.errors)} |",
            f"| domained | {len(self.domained)} |",
            f"| hops | {self.hops} |",
            f"| seconds | {self.seconds:.3f} |",
        ]
        if self.final is not None:
            rows.append(f"| final data | `{self.final.data}` |")
        return "\n".join(rows)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "final": self.final.to_dict() if self.final else None,
            "outputs": len(self.outputs),
            "errors": [f"{type(d.error).__name__}: {d.error}" for d in self.errors],
            "domained": len(self.domained),
            "hops": self.hops,
            "seconds": round(self.seconds, 6),
        }
