"""``ArvoMachine``: a statechart bound to contracts, the logic of an ``ArvoOrchestrator``.

``setup_arvo_machine(self_contract=..., services=..., actions=...).create_machine(config)``
checks the wiring (services, version, forbidden keys) once, at definition time. At run time the machine
is driven by :func:`execute_machine`: events in, the events to emit and the completion
output out. Emitted events come from XState's ``emit`` and from Arvo's built-in
``enqueueArvoEvent`` action; all ``emit``-ed events of a step come before all enqueued ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from arvo_ray.core import (
    ArvoEvent,
    ConfigViolation,
    VersionedArvoContract,
    is_orchestrator_contract,
)
from arvo_ray.core.kit import InputValidation, validate_input, validate_services
from arvo_ray.machine._assign import assign
from arvo_ray.machine._machine import StateMachine, setup
from arvo_ray.machine._types import ActionArgs

__all__ = [
    "ArvoMachine",
    "ArvoMachineSetup",
    "enqueue_arvo_event",
    "setup_arvo_machine",
]

ENQUEUE_ACTION = "enqueueArvoEvent"
_FORBIDDEN_KEYS = ("invoke", "after", ENQUEUE_ACTION)


def _enqueue(args: ActionArgs) -> dict[str, Any]:
    arvo = dict(args.context.get("arvo$$") or {})
    volatile = dict(arvo.get("volatile$$") or {})
    volatile["eventQueue$$"] = [*(volatile.get("eventQueue$$") or []), args.params]
    arvo["volatile$$"] = volatile
    return {"arvo$$": arvo}


def enqueue_arvo_event(params: Mapping[str, Any] | Callable[[ActionArgs], Any]) -> dict[str, Any]:
    """The built-in action that queues an event to emit after the step's ``emit``-ed events.

    ``params`` is a raw event dict (``type``, ``data``, optional ``to``, ``domain``, ...) or a
    function of :class:`ActionArgs` returning one. Use it anywhere an action goes::

        "entry": [enqueue_arvo_event({"type": "com.notif.test", "data": {}})]
    """
    return {"type": ENQUEUE_ACTION, "params": params}


def _forbidden_what(key: str) -> str:
    # The original's wording: the built-in action's name is "reserved", the rest "not supported".
    return f"Reserved action name '{key}'" if key == ENQUEUE_ACTION else f"'{key}' not supported"


def _forbidden_paths(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    """Every (forbidden key, path) in a states tree: a purely key-based scan, as the original."""
    found: list[tuple[str, tuple[str, ...]]] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = (*path, str(key))
            if key in _FORBIDDEN_KEYS:
                found.append((str(key), here))
            found.extend(_forbidden_paths(value, here))
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            found.extend(_forbidden_paths(value, (*path, str(index))))
    return found


_JSON_SCALARS = (str, int, float, bool, type(None))


def _is_opaque(value: Any) -> bool:
    # Callables and action/guard objects (assign(...), emit(...), and_(...)) are functions in
    # XState, which JSON.stringify drops from objects and turns into null inside arrays.
    return not isinstance(value, (Mapping, list, tuple, *_JSON_SCALARS))


def _json_definition(config: Mapping[str, Any]) -> str:
    """The config as JSON with functions dropped (as ``JSON.stringify`` does)."""

    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): strip(v) for k, v in value.items() if not _is_opaque(v)}
        if isinstance(value, list | tuple):
            return [None if _is_opaque(v) else strip(v) for v in value]
        return value

    return json.dumps(strip(config), separators=(",", ":"), default=lambda _: None)


class ArvoMachine:
    """A versioned orchestration statechart with its self and service contracts.

    Attributes:
        id: The machine id.
        version: The self contract version this machine implements.
        self_contract: The versioned orchestrator contract this machine implements.
        services: ``{name: VersionedArvoContract}``, the contracts of the services it calls.
        contracts: Both, as the original names them: ``{"self": ..., "services": ...}``.
        logic: The underlying :class:`StateMachine`.
        requires_resource_locking: Whether steps must hold the workflow's memory lock: true
            when the machine has parallel states or a service can answer with several events.

    Example:
        >>> from arvo_ray.examples.number_domain import arithmetic_machine
        >>> machine = arithmetic_machine("increment", "0.0.2")
        >>> machine
        ArvoMachine(id='machineV002', source='arvo.orc.inc', version='0.0.2')
        >>> sorted(machine.services), machine.requires_resource_locking
        (['increment', 'value_reader'], True)
    """

    def __init__(
        self,
        *,
        id: str,
        version: str,
        self_contract: VersionedArvoContract,
        services: Mapping[str, VersionedArvoContract] | None = None,
        logic: StateMachine,
        requires_resource_locking: bool,
    ) -> None:
        self_contract, services = _checked_contracts(self_contract, services)
        if version != self_contract.version:
            raise ConfigViolation(
                f"Version mismatch: Machine version must be '{self_contract.version}', "
                f"received '{version}'"
            )
        if not isinstance(logic, StateMachine):
            raise TypeError(
                f"logic must be a StateMachine, got {type(logic).__name__}; build machines with "
                "setup_arvo_machine(...).create_machine(config)"
            )
        self.id = id
        self.version = version
        self.self_contract = self_contract
        self.services = services
        self.logic = logic
        self.requires_resource_locking = requires_resource_locking
        self.machine_definition = _json_definition(logic.config)
        # Event type -> model of every service request, for requests emitted as models.
        self.request_schemas = {
            service.accepts.type: service.accepts.schema for service in services.values()
        }

    @property
    def contracts(self) -> dict[str, Any]:
        """``{"self": self_contract, "services": services}``, the original's shape."""
        return {"self": self.self_contract, "services": self.services}

    @property
    def source(self) -> str:
        """The init event type (``arvo.orc.<name>``) that starts this machine."""
        return str(self.self_contract.accepts.type)

    def validate_input(self, event: ArvoEvent) -> InputValidation:
        """Which contract ``event`` belongs to (self or a service) and whether it fits."""
        return validate_input(event, self.self_contract, self.services)

    def to_mermaid(self) -> str:
        """The machine as Mermaid source: :meth:`StateMachine.to_mermaid` of its logic."""
        return self.logic.to_mermaid()

    def to_svg(self) -> str:
        """The machine as a standalone SVG: :meth:`StateMachine.to_svg` of its logic."""
        return self.logic.to_svg()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return self.logic._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        return f"ArvoMachine(id={self.id!r}, source={self.source!r}, version={self.version!r})"


class ArvoMachineSetup:
    """Contracts plus named actions/guards; ``create_machine(config)`` builds :class:`ArvoMachine`s.

    Example:
        >>> from arvo_ray.examples.number_domain import (
        ...     increment_contract, increment_orchestrator_contract)
        >>> machine_setup = setup_arvo_machine(
        ...     self_contract=increment_orchestrator_contract.version("0.0.1"),
        ...     services={"increment": increment_contract.version("0.0.1")})
        >>> machine_setup.create_machine({"id": "inc", "initial": "compute", "states": {
        ...     "compute": {"on": {"evt.increment.number.success": "done"}},
        ...     "done": {"type": "final"}}})
        ArvoMachine(id='inc', source='arvo.orc.inc', version='0.0.1')
    """

    def __init__(
        self,
        self_contract: VersionedArvoContract,
        services: Mapping[str, VersionedArvoContract] | None,
        actions: Mapping[str, Any],
        guards: Mapping[str, Any],
    ) -> None:
        self.self_contract, self.services = _checked_contracts(self_contract, services)
        if ENQUEUE_ACTION in actions:
            raise ConfigViolation(
                f"Reserved action name '{ENQUEUE_ACTION}' cannot be used in the machine "
                "actions: it is Arvo's built-in action to queue events"
            )
        self._setup = setup(actions={**actions, ENQUEUE_ACTION: assign(_enqueue)}, guards=guards)

    def create_machine(self, config: Mapping[str, Any]) -> ArvoMachine:
        """Validate ``config`` (an XState-shaped dict) and build the machine.

        Raises:
            ConfigViolation: no ``id``, a ``version`` other than the self contract's, a state
                config using ``invoke``/``after``/``enqueueArvoEvent`` as a key, or any
                statechart problem (all listed at once).
        """
        self_contract = self.self_contract
        machine_id = config.get("id")
        if not isinstance(machine_id, str) or not machine_id:
            raise ConfigViolation("Machine configuration must have an 'id' (a non-empty string)")
        version = config.get("version")
        if version is not None and version != self_contract.version:
            raise ConfigViolation(
                f"Version mismatch: Machine version must be '{self_contract.version}' or "
                f"undefined, received '{version}'"
            )
        forbidden = _forbidden_paths(config.get("states"), ("states",))
        if forbidden:
            raise ConfigViolation(
                "\n".join(
                    f"Configuration Error: {_forbidden_what(key)}\nLocation: {' > '.join(path)}\n"
                    "Arvo machines are synchronous and event-driven: call services by emitting "
                    "events, and use the built-in action only as {'type': 'enqueueArvoEvent', ...}"
                    for key, path in forbidden
                ),
                metadata={"paths": [" > ".join(path) for _, path in forbidden]},
            )
        logic = self._setup.create_machine(config)
        multi_emit = any(len(c.emits) > 1 for c in self.services.values())
        return ArvoMachine(
            id=machine_id,
            version=self_contract.version,
            self_contract=self_contract,
            services=self.services,
            logic=logic,
            requires_resource_locking=logic.has_parallel_states or multi_emit,
        )


def _checked_contracts(
    self_contract: object, services: Mapping[str, VersionedArvoContract] | None
) -> tuple[VersionedArvoContract, dict[str, VersionedArvoContract]]:
    if not isinstance(self_contract, VersionedArvoContract) or not is_orchestrator_contract(
        self_contract
    ):
        raise ConfigViolation(
            "self_contract must be a versioned orchestrator contract, e.g. "
            "create_arvo_orchestrator_contract(...).version('1.0.0')"
        )
    checked = dict(services or {})
    validate_services(self_contract, checked, kind="ArvoMachine")
    return self_contract, checked


def setup_arvo_machine(
    *,
    self_contract: VersionedArvoContract,
    services: Mapping[str, VersionedArvoContract] | None = None,
    actions: Mapping[str, Any] | None = None,
    guards: Mapping[str, Any] | None = None,
    actors: Any = None,
    delays: Any = None,
) -> ArvoMachineSetup:
    """Declare an orchestration machine's contracts and named actions/guards.

    Args:
        self_contract: The versioned orchestrator contract the machine implements
            (``contracts.self`` in the original).
        services: ``{name: service_contract.version("1.0.0"), ...}``, the contracts of the
            services the machine calls (``contracts.services`` in the original).
        actions: Named actions (callables of :class:`ActionArgs`, or ``assign``/``emit``/...).
        guards: Named guards.
        actors: Not supported in Arvo machines (raises).
        delays: Not supported in Arvo machines (raises).

    Raises:
        ConfigViolation: ``actors``/``delays`` given, a reserved action name, services sharing
            a URI, or the machine listed as its own service.

    Example:
        >>> machine = setup_arvo_machine(  # doctest: +SKIP
        ...     self_contract=inc_contract.version("1.0.0"),
        ...     services={"adder": add_contract.version("1.0.0")},
        ... ).create_machine({"id": "inc", "context": ..., "initial": "add", "states": {...}})
    """
    if actors is not None:
        raise ConfigViolation(
            "Configuration Error: 'actor' not supported in Arvo machines. Arvo machines call "
            "services by emitting events."
        )
    if delays is not None:
        raise ConfigViolation(
            "Configuration Error: 'delays' not supported in Arvo machines. Arvo machines are "
            "driven by events only (no timers)."
        )
    return ArvoMachineSetup(self_contract, services, actions or {}, guards or {})
