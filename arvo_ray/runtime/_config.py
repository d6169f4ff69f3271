"""The runtime's configuration values: the placement of workflow instances (``Sharded`` or
``Instance``, each with only its own options) and ``BrokerConfig``, everything a broker actor
needs, shipped to it once at creation. Nothing here imports Ray.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from arvo_ray.egress import EventSink, SinkRouting
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory
from arvo_ray.telemetry import TelemetryConfig
from arvo_ray.timers import ITimerStore, timer_cancel_contract, timer_contract
from arvo_ray.workflow import WorkflowHandler

__all__ = ["BrokerConfig", "Instance", "Placement", "Sharded", "Timers", "placement_of"]


@dataclass(frozen=True, slots=True)
class Sharded:
    """``num_hosts`` host actors, each hosting every instance whose subject hashes to it.

    The throughput mode: each Ray actor is a whole worker process, so thousands of concurrent
    workflows are multiplexed over a few.

    Args:
        num_hosts: How many host actors.
        host_options: Ray actor options per host (cycled), e.g.
            ``[{"resources": {"worker_a": 1}}, {"resources": {"worker_b": 1}}]``.

    Example:
        >>> Sharded(num_hosts=4)
        Sharded(num_hosts=4, host_options=())
        >>> Sharded(num_hosts=0)
        Traceback (most recent call last):
        ...
        ValueError: Sharded(num_hosts=0): num_hosts must be at least 1
    """

    num_hosts: int = 2
    host_options: Sequence[Mapping[str, Any]] = ()

    kind: Literal["sharded"] = field(default="sharded", init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.num_hosts, bool) or not isinstance(self.num_hosts, int):
            raise TypeError(f"Sharded(num_hosts=...) takes an int, got {self.num_hosts!r}")
        if self.num_hosts < 1:
            raise ValueError(f"Sharded(num_hosts={self.num_hosts}): num_hosts must be at least 1")
        object.__setattr__(self, "host_options", tuple(dict(o) for o in self.host_options))


@dataclass(frozen=True, slots=True)
class Instance:
    """One named Ray actor per workflow instance, at most ``max_live`` alive at once.

    An instance actor is passivated when its workflow finishes, after ``idle_timeout`` seconds
    without events, or to make room (least recently used first); the next event re-activates
    it from memory. The mode for few, long-lived workflows, and for looking into one instance.

    Args:
        max_live: Cap on live instance actors.
        idle_timeout: Seconds after which an idle instance actor is passivated.
        actor_options: Ray actor options of every instance actor, e.g.
            ``{"scheduling_strategy": "SPREAD"}``.

    Example:
        >>> Instance(max_live=8, idle_timeout=5.0)
        Instance(max_live=8, idle_timeout=5.0, actor_options={})
    """

    max_live: int = 16
    idle_timeout: float = 30.0
    actor_options: Mapping[str, Any] = field(default_factory=dict)

    kind: Literal["instance"] = field(default="instance", init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_live, bool) or not isinstance(self.max_live, int):
            raise TypeError(f"Instance(max_live=...) takes an int, got {self.max_live!r}")
        if self.max_live < 1:
            raise ValueError(f"Instance(max_live={self.max_live}): max_live must be at least 1")
        if not self.idle_timeout > 0:
            raise ValueError(
                f"Instance(idle_timeout={self.idle_timeout!r}): must be a positive number of seconds"
            )
        object.__setattr__(self, "actor_options", dict(self.actor_options))


Placement = Sharded | Instance


@dataclass(frozen=True, slots=True)
class Timers:
    """The durable timer service of a runtime (:mod:`arvo_ray.timers`): workflows send
    ``com.arvo.timer`` and get ``evt.arvo.timer.success`` when it is due.

    Pending timers are rows in the runtime's memory backend, so they hold no actor and no CPU
    slot while they wait, and survive any process. One broker shard fires them: it delivers
    each reply and only then removes its timer, so a crash in between fires it again with the
    same id, which the workflow ignores once consumed.

    Args:
        store: Where timers wait. Default: beside the runtime's memory (the SQLite file its
            memory actor serves, or its Redis); give one for any other memory.
        clock: Seconds since the epoch (picklable: it runs in the broker actor); tests move
            it instead of sleeping.
        poll: The longest the firing loop sleeps: how late a timer set for sooner than the
            next one already waiting can fire.

    Example:
        >>> Timers(poll=0.5)
        Timers(store=None, poll=0.5)
        >>> Timers(poll=0)
        Traceback (most recent call last):
        ...
        ValueError: Timers(poll=0): poll must be a positive number of seconds
    """

    store: ITimerStore | None = None
    clock: Callable[[], float] = field(default=time.time, repr=False)
    poll: float = 0.25

    def __post_init__(self) -> None:
        if not self.poll > 0:
            raise ValueError(
                f"Timers(poll={self.poll!r}): poll must be a positive number of seconds"
            )


def placement_of(value: Placement | str) -> Placement:
    """A placement value; ``"sharded"`` and ``"instance"`` stand for their defaults.

    Raises:
        ValueError: any other string.
        TypeError: neither a placement nor a string.
    """
    if isinstance(value, Sharded | Instance):
        return value
    if value == "sharded":
        return Sharded()
    if value == "instance":
        return Instance()
    if isinstance(value, str):
        raise ValueError(
            f"placement must be Sharded(...), Instance(...), 'sharded' or 'instance'; got {value!r}"
        )
    raise TypeError(f"placement must be Sharded(...) or Instance(...), got {type(value).__name__}")


@dataclass(frozen=True)
class Routed:
    """Whether the runtime delivers events addressed to a ``to`` itself: a topic of its
    handlers, workflows or timer service, or one a sink takes. Anything else goes back to the
    caller (:attr:`~arvo_ray.workflow.WorkflowHandler.routed`)."""

    topics: frozenset[str]
    sinks: SinkRouting

    def __call__(self, to: str) -> bool:
        return to in self.topics or self.sinks.for_topic(to) is not None


@dataclass
class BrokerConfig:
    """The routing table's parts and every knob of routing, retries and recovery.

    ``retry_window`` is how long a workflow step that failed transiently (a lock still held by
    a dead process, a memory that is restarting) is retried before it is reported; ``None``
    means the memory's lock TTL plus a margin, so a lock left by a crash has lapsed by then.
    """

    name: str
    namespace: str
    handlers: list[IArvoEventHandler]
    workflows: list[WorkflowHandler]
    memory: IMachineMemory
    placement: Placement = field(default_factory=Instance)
    brokers: int = 1
    max_in_flight: int = 4096
    max_batch: int = 64
    handler_options: dict[str, Any] = field(default_factory=dict)
    keep_last: int = 10_000
    ack_delay: float = 2.0
    recovery_interval: float = 30.0
    recovery_age: float = 10.0
    completion_timeout: float = 600.0
    retry_window: float | None = None
    telemetry: TelemetryConfig | None = None
    outbox: bool = True
    history: int = 100
    sinks: dict[str, EventSink] = field(default_factory=dict)
    timers: Timers | None = None
    """With ``store`` set: the runtime resolved where its timers wait."""

    def routed(self) -> Routed:
        """What the runtime delivers itself, for its workflow hosts (see :class:`Routed`)."""
        topics = {h.source for h in self.handlers} | {w.source for w in self.workflows}
        if self.timers is not None:
            topics |= {timer_contract.type, timer_cancel_contract.type}
        return Routed(frozenset(topics), SinkRouting(self.sinks))

    def handler_options_for(self, source: str) -> dict[str, Any]:
        """Ray options of handler ``source``: the shared ones, then its own (given under its
        topic as a key)."""
        topics = {handler.source for handler in self.handlers}
        shared = {k: v for k, v in self.handler_options.items() if k not in topics}
        return {**shared, **dict(self.handler_options.get(source) or {})}

    @property
    def step_retry_window(self) -> float:
        if self.retry_window is not None:
            return self.retry_window
        return self.memory.lock_ttl * 1.25 + 5.0
