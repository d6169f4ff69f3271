"""``BrokerConfig``: everything a broker actor needs, shipped to it once at creation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory
from arvo_ray.telemetry import TelemetryConfig
from arvo_ray.workflow import WorkflowHandler

__all__ = ["BrokerConfig", "Placement"]

Placement = Literal["instance", "sharded"]


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
    placement: Placement = "instance"
    num_hosts: int = 2
    max_live_instances: int = 16
    idle_timeout: float = 30.0
    max_in_flight: int = 4096
    max_batch: int = 64
    handler_options: dict[str, Any] = field(default_factory=dict)
    host_options: list[dict[str, Any]] = field(default_factory=list)
    instance_options: dict[str, Any] = field(default_factory=dict)
    keep_last: int = 10_000
    ack_delay: float = 2.0
    recovery_interval: float = 30.0
    recovery_age: float = 10.0
    completion_timeout: float = 600.0
    retry_window: float | None = None
    telemetry: TelemetryConfig | None = None
    outbox: bool = True

    @property
    def step_retry_window(self) -> float:
        if self.retry_window is not None:
            return self.retry_window
        return self.memory.lock_ttl * 1.25 + 5.0
