"""Which machine handles an event: the one whose version the event's subject names."""

from __future__ import annotations

from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject
from arvo_ray.machine._arvo_machine import ArvoMachine

__all__ = ["MachineRegistry"]


class MachineRegistry:
    """Machines of one orchestrator, looked up by ``(name, version)`` from the event's subject.

    The version comes from the subject, fixed when the workflow started, so a running
    workflow keeps its machine version even after newer versions are deployed.

    Raises:
        ValueError: no machines given.

    Example:
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     arithmetic_machine, increment_orchestrator_contract)
        >>> registry = MachineRegistry(
        ...     arithmetic_machine("increment", "0.0.1"), arithmetic_machine("increment", "0.0.2"))
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     increment_orchestrator_contract.version("0.0.2"))
        >>> init = factory.init(source="com.number.client", data={
        ...     "key": "n", "modifier": 2, "trend": "exponential", "parentSubject$$": None})
        >>> registry.resolve(init)  # the subject names version 0.0.2
        ArvoMachine(id='machineV002', source='arvo.orc.inc', version='0.0.2')
    """

    def __init__(self, *machines: ArvoMachine) -> None:
        if not machines:
            raise ValueError(
                "Machine registry initialization failed: No machines provided. At least one "
                "machine must be registered."
            )
        self.machines = list(machines)
        self._by_key = {(m.source, m.version): m for m in machines}

    def resolve(self, event: ArvoEvent) -> ArvoMachine | None:
        """The machine for ``event``'s subject, or ``None``.

        Raises:
            InvalidSubjectError: the subject is not an orchestration subject.
        """
        orchestrator = ArvoOrchestrationSubject.parse(event.subject)["orchestrator"]
        return self._by_key.get((orchestrator["name"], orchestrator["version"]))
