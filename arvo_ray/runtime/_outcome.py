"""Values that travel between the runtime's processes (:class:`StepOutcome`), and the runtime's
counters (:class:`RuntimeStats`, a table in Jupyter). What a run gives back lives in
:mod:`arvo_ray._results`, shared with the in-process broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arvo_ray import _display
from arvo_ray.core import ArvoEvent
from arvo_ray.telemetry import merge_metrics, summarize_metrics

__all__ = ["RuntimeStats", "StepOutcome", "added_up"]


@dataclass(slots=True)
class StepOutcome:
    """What handling one event produced on a worker.

    Attributes:
        events: The events to route next.
        error: A violation (or an unexpected error) raised while handling the event.
        finished: The workflow instance reached a terminal state (done or failed).
        committed: A workflow step wrote its state (acknowledgements it carried are applied).
        duplicate: The workflow had already consumed the event (a redelivery).
        late: The workflow had already finished; the event changed nothing.
        orphan: Why the event belongs to no workflow instance (``None`` when it does).
        answer: The stored answer of a finished workflow, sent with duplicate and late events.
        untracked: Ids of ``events`` no outbox keeps (a finished workflow's answer to its
            caller): nothing acknowledges them.
        retry_in: The handler's retry policy calls again after this many seconds; the broker
            waits on a durable timer (holding no worker), then sends the next attempt.
        metrics: New metric figures of the worker process (first outcome of a batch only,
            when telemetry is configured), gathered by the broker for ``stats()``.

    Example:
        A handler task wraps what ``execute`` returned (or raised) exactly like this:

        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import increment_contract, increment_handler
        >>> factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
        >>> request = factory.accepts(source="com.test.client", data={"init": 1, "increment": 2})
        >>> result = asyncio.run(increment_handler().execute(request))
        >>> outcome = StepOutcome(events=result.events)
        >>> [(event.type, event.data) for event in outcome.events]
        [('evt.increment.number.success', {'result': 3})]
        >>> outcome.error, outcome.finished, outcome.committed
        (None, False, False)
    """

    events: list[ArvoEvent] = field(default_factory=list)
    error: BaseException | None = None
    finished: bool = False
    committed: bool = False
    duplicate: bool = False
    late: bool = False
    orphan: str | None = None
    answer: list[ArvoEvent] = field(default_factory=list)
    untracked: frozenset[str] = frozenset()
    retry_in: float | None = None
    metrics: dict[str, Any] | None = None


class RuntimeStats(dict[str, Any]):
    """``ArvoRuntime.stats()``: a plain ``dict`` of counters that renders as a table in Jupyter.

    Example:
        >>> stats = runtime.stats()  # doctest: +SKIP
        >>> stats = RuntimeStats({"runs": 1, "events_routed": 4, "placement": "instance"})
        >>> stats == {"runs": 1, "events_routed": 4, "placement": "instance"}, stats["runs"]
        (True, 1)
        >>> "runtime stats" in stats._repr_html_()
        True
    """

    def _repr_html_(self) -> str:
        return _display.stats_html(self)


def added_up(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """One view of the shards' stats: numbers added up (peaks too: an upper bound), the rest
    as the first shard says, metrics merged and summarised."""
    total: dict[str, Any] = {}
    for stats in shards:
        for key, value in stats.items():
            if key == "metrics":
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
            else:
                total.setdefault(key, value)
    metrics = merge_metrics([s["metrics"] for s in shards if s.get("metrics")])
    return {**({"metrics": summarize_metrics(metrics)} if metrics else {}), **total}
