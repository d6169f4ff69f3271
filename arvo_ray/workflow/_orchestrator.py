"""``ArvoOrchestrator``: runs versioned ``ArvoMachine`` statecharts, one instance per subject.

The machine version of an instance is the one named in its subject (fixed at init), so a
deployment can run several machine versions side by side. State between events is the
machine's persisted snapshot in the memory record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    ConfigViolation,
    VersionedArvoContract,
)
from arvo_ray.core.kit import InputValidation
from arvo_ray.core.otel import ArvoExecutionSpanKind
from arvo_ray.handler import DomainSpec
from arvo_ray.handler.kit import normalize_outputs
from arvo_ray.machine import ArvoMachine, MachineRegistry, execute_machine
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory
from arvo_ray.workflow._execution import StepInput, StepOutput, WorkflowHandler
from arvo_ray.workflow._record import WorkflowRecordData

__all__ = ["ArvoOrchestrator", "create_arvo_orchestrator"]


class ArvoOrchestrator(WorkflowHandler):
    """Event handler that drives statechart workflows (``ArvoMachine``) with persisted state.

    ``execute`` runs the shared workflow step (see :class:`WorkflowHandler.execute`): the
    "run" part resolves the machine by the subject's version, validates the event against the
    machine's contracts, and feeds it to the machine.

    Example:
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     arithmetic_machine, increment_orchestrator_contract, value_read_handler)
        >>> orchestrator = create_arvo_orchestrator(
        ...     machines=[arithmetic_machine("increment", "0.0.2")], memory=SimpleMachineMemory())
        >>> orchestrator
        ArvoOrchestrator(source='arvo.orc.inc', versions=['0.0.2'])
        >>> factory = create_arvo_orchestrator_event_factory(
        ...     increment_orchestrator_contract.version("0.0.2"))
        >>> init = factory.init(source="com.example.client", data={
        ...     "parentSubject$$": None, "key": "apples", "modifier": 2, "trend": "exponential"})
        >>> (request,) = asyncio.run(orchestrator.execute(init)).events
        >>> request.type, request.data
        ('com.value.read', {'key': 'apples'})
        >>> asyncio.run(orchestrator.memory.read(init.subject))["value"]
        'fetch_value'

        The machine waits in memory until the answer arrives, then takes its next step:

        >>> (reply,) = asyncio.run(value_read_handler({"apples": 3}).execute(request)).events
        >>> [(e.type, e.data) for e in asyncio.run(orchestrator.execute(reply)).events]
        [('com.increment.number', {'init': 3, 'multiplier': 2})]
        >>> asyncio.run(orchestrator.memory.read(init.subject))["value"]
        'increment'
    """

    handler_type = "orchestrator"
    span_kind_value = ArvoExecutionSpanKind.ORCHESTRATOR

    def __init__(
        self,
        *,
        machines: Sequence[ArvoMachine],
        memory: IMachineMemory | None = None,
        executionunits: int | float = 0,
        requires_resource_locking: bool | None = None,
        default_event_emission_domains: Mapping[str, Sequence[DomainSpec]] | None = None,
        span_name: Callable[[str, ArvoEvent], str] | None = None,
    ) -> None:
        if not machines:
            raise ValueError("At least one machine must be provided")
        source = machines[0].source
        seen: set[str] = set()
        for machine in machines:
            if machine.source != source:
                raise ConfigViolation(
                    f"All the machines in the orchestrator must have type '{source}'"
                )
            if machine.version in seen:
                raise ConfigViolation(
                    "An orchestrator must have unique machine versions. Machine "
                    f"ID:{machine.id} has duplicate version {machine.version}."
                )
            seen.add(machine.version)
        self.registry = MachineRegistry(*machines)
        first = self.registry.machines[0]
        self._self_contract: VersionedArvoContract = first.self_contract
        self.source = first.source
        self.memory = memory if memory is not None else SimpleMachineMemory()
        self.executionunits = executionunits
        self.requires_resource_locking = (
            requires_resource_locking
            if requires_resource_locking is not None
            else any(m.requires_resource_locking for m in machines)
        )
        self.default_event_emission_domains = self._default_domains(default_event_emission_domains)
        self._custom_span_name = span_name

    @property
    def machines(self) -> list[ArvoMachine]:
        return self.registry.machines

    @property
    def domain(self) -> str | None:
        return self._self_contract.domain

    @property
    def system_error_contract(self) -> VersionedArvoContract:
        return self._self_contract

    def _span_name(self, event: ArvoEvent) -> str:
        if self._custom_span_name is not None:
            return self._custom_span_name(self._self_contract.uri, event)
        return f"Orchestrator<{self._self_contract.uri}>@<{event.type}>"

    def __repr__(self) -> str:
        versions = [m.version for m in self.machines]
        return f"ArvoOrchestrator(source={self.source!r}, versions={versions!r})"

    def check_input(self, event: ArvoEvent) -> None:
        """Raise the violation a step would raise for ``event`` before touching any state: no
        machine for the subject's version, or an event its contracts do not accept.

        Raises:
            InvalidSubjectError: the subject is not an orchestration subject.
            ConfigViolation: no machine or contract of this orchestrator takes the event.
            ContractViolation: the dataschema or the data does not fit.
        """
        self._validated(event)

    def _validated(self, event: ArvoEvent) -> tuple[ArvoMachine, InputValidation]:
        machine = self.registry.resolve(event)
        if machine is None:
            orchestrator = ArvoOrchestrationSubject.parse(event.subject)["orchestrator"]
            raise ConfigViolation(
                "Machine resolution failed: No machine found matching orchestrator "
                f"name='{orchestrator['name']}' and version='{orchestrator['version']}'.",
                metadata={"event_id": event.id, "version": orchestrator["version"]},
            )
        validation = machine.validate_input(event)
        validation.raise_unless_valid(event, "machine")
        return machine, validation

    async def _run(self, step: StepInput) -> StepOutput:
        event = step.event
        machine, validation = self._validated(event)
        previous = step.record.get("state") if step.record else None
        result = execute_machine(machine, previous, event, validation.data)
        snapshot = result.state

        def finish(emitted: list[ArvoEvent]) -> WorkflowRecordData:
            return {
                "executionStatus": "normal",
                "initEventId": step.init_event_id,
                "subject": event.subject,
                "parentSubject": step.parent_subject,
                "status": snapshot["status"],
                "value": snapshot.get("value"),
                "state": snapshot,
                "events": {
                    "consumed": event.to_dict(),
                    "produced": [item.to_dict() for item in emitted],
                },
                "machineDefinition": machine.machine_definition,
            }

        return StepOutput(
            raw_events=normalize_outputs(
                result.events,
                where=f"Orchestrator {self.source} v{machine.version}",
                schemas=machine.request_schemas,
            ),
            completion=result.final_output,
            self_contract=machine.self_contract,
            services=machine.services,
            finish=finish,
            attributes={"arvo.orchestration.status": str(snapshot.get("status"))},
        )


def create_arvo_orchestrator(
    *,
    machines: Sequence[ArvoMachine],
    memory: IMachineMemory | None = None,
    executionunits: int | float = 0,
    requires_resource_locking: bool | None = None,
    default_event_emission_domains: Mapping[str, Sequence[DomainSpec]] | None = None,
    span_name: Callable[[str, ArvoEvent], str] | None = None,
) -> ArvoOrchestrator:
    """Create an orchestrator: the same as :class:`ArvoOrchestrator` (the original's name).

    Args:
        machines: ``ArvoMachine``s of the same orchestrator contract, one per version.
        memory: Where instance state lives (default: a fresh in-process ``SimpleMachineMemory``).
        executionunits: Cost stamped on emitted events unless overridden.
        requires_resource_locking: Lock each instance during a step; by default, true when any
            machine has parallel states or a multi-response service.
        default_event_emission_domains: ``{"services": [...], "complete": [...],
            "system_error": [...]}`` (defaults: local, orchestration context, orchestration
            context).
        span_name: ``fn(contract_uri, event) -> str`` to rename the execution span.

    Raises:
        ValueError: no machines.
        ConfigViolation: machines of different orchestrators, or a repeated version.
    """
    return ArvoOrchestrator(
        machines=machines,
        memory=memory,
        executionunits=executionunits,
        requires_resource_locking=requires_resource_locking,
        default_event_emission_domains=default_event_emission_domains,
        span_name=span_name,
    )
