"""The number domain: the reference sample of the original, recreated.

A key-value store (``com.value.read``/``com.value.write``), arithmetic services
(``com.increment.number``/``com.decrement.number``), statechart orchestrators
(``arvo.orc.inc``, ``arvo.orc.dec``, ``arvo.orc.number.modifier``, each in two versions) and
resumables (``arvo.orc.dec``, and a fan-out ``arvo.orc.inc``). :func:`build_number_domain`
wires everything for one run.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from arvo_ray.examples.number_domain.contracts import (
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
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory

__all__ = [
    "NumberDomain",
    "SQLiteKeyValueStore",
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

    @property
    def all(self) -> list[Any]:
        return [*self.handlers, *self.workflows]


def build_number_domain(
    *,
    memory: IMachineMemory | None = None,
    store: MutableMapping[str, float] | None = None,
    kind: Literal["orchestrators", "resumables"] = "orchestrators",
) -> NumberDomain:
    """Wire the domain: the four handlers plus the orchestrators (default) or the resumables.

    ``kind="orchestrators"`` gives inc, dec and number.modifier orchestrators;
    ``"resumables"`` gives the dec resumable (and the inc fan-out resumable).
    """
    memory = memory if memory is not None else SimpleMachineMemory()
    store = store if store is not None else {}
    handlers = [
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
    return NumberDomain(store=store, memory=memory, handlers=handlers, workflows=flows)
