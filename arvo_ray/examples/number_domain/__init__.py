"""The number domain: the reference sample of the original, recreated.

A key-value store (``com.value.read``/``com.value.write``), arithmetic services
(``com.increment.number``/``com.decrement.number``), statechart orchestrators
(``arvo.orc.inc``, ``arvo.orc.dec``, ``arvo.orc.number.modifier``, each in two versions) and
resumables (``arvo.orc.dec``, and a fan-out ``arvo.orc.inc``), and an approval with a deadline
(``arvo.orc.number.approval``: an outside party answers ``com.number.approval``, the timer
service ``com.arvo.timer`` keeps the time). :func:`build_number_domain` wires everything for one
run; :func:`number_modifier_init` and :func:`approval_init` make the events that start the
``arvo.orc.number.modifier`` and ``arvo.orc.number.approval`` workflows, and
:func:`approval_reply` the outside party's answer.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal, Unpack

from arvo_ray.core import ArvoEvent, EventOptions, create_arvo_orchestrator_event_factory
from arvo_ray.examples.number_domain.approval import (
    approval_init,
    approval_machine,
    approval_orchestrator,
    approval_reply,
)
from arvo_ray.examples.number_domain.contracts import (
    approval_contract,
    approval_orchestrator_contract,
    decrement_contract,
    decrement_orchestrator_contract,
    increment_contract,
    increment_orchestrator_contract,
    increment_resumable_contract,
    number_modifier_contract,
    value_read_contract,
    value_write_contract,
)
from arvo_ray.examples.number_domain.handlers import (
    decrement_handler,
    increment_handler,
    value_read_handler,
    value_write_handler,
)
from arvo_ray.examples.number_domain.orchestrators import (
    arithmetic_machine,
    decrement_orchestrator,
    increment_orchestrator,
    number_modifier_machine,
    number_modifier_orchestrator,
)
from arvo_ray.examples.number_domain.resumables import decrement_resumable, increment_resumable
from arvo_ray.examples.number_domain.store import SQLiteKeyValueStore
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory
from arvo_ray.timers import TimerService

__all__ = [
    "NumberDomain",
    "SQLiteKeyValueStore",
    "approval_contract",
    "approval_init",
    "approval_machine",
    "approval_orchestrator",
    "approval_orchestrator_contract",
    "approval_reply",
    "arithmetic_machine",
    "build_number_domain",
    "decrement_contract",
    "decrement_handler",
    "decrement_orchestrator",
    "decrement_orchestrator_contract",
    "decrement_resumable",
    "increment_contract",
    "increment_handler",
    "increment_orchestrator",
    "increment_orchestrator_contract",
    "increment_resumable",
    "increment_resumable_contract",
    "number_modifier_contract",
    "number_modifier_init",
    "number_modifier_machine",
    "number_modifier_orchestrator",
    "value_read_contract",
    "value_read_handler",
    "value_write_contract",
    "value_write_handler",
]


@dataclass
class NumberDomain:
    """The handlers and workflows of one wiring, sharing one store and one memory."""

    store: MutableMapping[str, float]
    memory: IMachineMemory
    handlers: list[Any] = field(default_factory=list)
    workflows: list[Any] = field(default_factory=list)
    """The orchestrators, or the resumables."""
    timers: TimerService | None = None
    """The timer service whose handlers are among :attr:`handlers`, if the wiring has one:
    something must call its ``deliver_due`` (or ``fire_due``) for deadlines to pass."""

    @property
    def all(self) -> list[Any]:
        return [*self.handlers, *self.workflows]


def build_number_domain(
    *,
    memory: IMachineMemory | None = None,
    store: MutableMapping[str, float] | None = None,
    kind: Literal["orchestrators", "resumables"] = "orchestrators",
    timers: TimerService | None = None,
) -> NumberDomain:
    """Wire the domain: the four handlers plus the orchestrators (default) or the resumables.

    ``kind="orchestrators"`` gives inc, dec and number.modifier orchestrators;
    ``"resumables"`` gives the dec resumable (and the inc fan-out resumable).

    With ``timers``, the approval workflow joins either kind (it has no resumable twin), and
    the timer service's two handlers join the handlers: the workflow is useless without
    them. Without it the wiring is unchanged, so deployments that run no timer service
    keep their topics.
    """
    memory = memory if memory is not None else SimpleMachineMemory()
    store = store if store is not None else {}
    handlers: list[IArvoEventHandler] = [
        increment_handler(),
        decrement_handler(),
        value_read_handler(store),
        value_write_handler(store),
    ]
    flows: list[Any]
    if kind == "orchestrators":
        flows = [
            increment_orchestrator(memory),
            decrement_orchestrator(memory),
            number_modifier_orchestrator(memory),
        ]
    elif kind == "resumables":
        flows = [increment_resumable(memory), decrement_resumable(memory)]
    else:
        raise ValueError(f"kind must be 'orchestrators' or 'resumables', got {kind!r}")
    if timers is not None:
        handlers += timers.handlers
        flows.append(approval_orchestrator(memory))
    return NumberDomain(
        store=store, memory=memory, handlers=handlers, workflows=flows, timers=timers
    )


_TRENDS: dict[str, Literal["linear", "exponential"]] = {
    "0.0.1": "linear",
    "0.0.2": "exponential",
}


def number_modifier_init(
    value: int | float,
    *,
    modifier: int | float = 4,
    operation: Literal["increment", "decrement"] | None = None,
    source: str = "com.number.client",
    version: Literal["0.0.1", "0.0.2"] = "0.0.1",
    **options: Unpack[EventOptions],
) -> ArvoEvent:
    """The init event of a root ``arvo.orc.number.modifier`` workflow: ``value`` +/- ``modifier``.

    The one place that knows this workflow's init payload (and which ``trend`` each contract
    version requires), so demos, notebooks, scripts and tests do not each spell it out.

    Args:
        value: The number to start from (``init``).
        modifier: How much to add or subtract.
        operation: ``"increment"`` or ``"decrement"``; ``None`` increments odd values and
            decrements even ones, so a run of consecutive values exercises both.
        source: Who starts the workflow (and receives its completion event).
        version: The contract version: ``"0.0.1"`` (trend ``linear``) or ``"0.0.2"``
            (``exponential``).
        **options: Further event fields (``redirectto``, ``domain``...), as the factory takes.

    Example:
        >>> event = number_modifier_init(3)
        >>> event.type, event.data["operation"], event.data["init"]
        ('arvo.orc.number.modifier', 'increment', 3)
    """
    if operation is None:
        operation = "increment" if value % 2 else "decrement"
    factory = create_arvo_orchestrator_event_factory(number_modifier_contract.version(version))
    return factory.init(
        source=source,
        data={
            "parentSubject$$": None,
            "init": value,
            "modifier": modifier,
            "operation": operation,
            "trend": _TRENDS[version],
        },
        **options,
    )
