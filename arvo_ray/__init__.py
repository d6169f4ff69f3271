"""arvo_ray: the Arvo event-driven architecture in Python, placed onto Ray.

The names most programs need import from here: the data model (``ArvoEvent``, contracts,
factories, violations), the handlers and workflows, the in-process broker, the Ray runtime and
the memories. ``import arvo_ray`` loads nothing but this file: each name's module is imported on
first use, so scripts that only need the data model never pay for the rest, and Ray is imported
only when a runtime name is used. Every name also lives in its subpackage
(``arvo_ray.handler``, ``arvo_ray.runtime``, ...), next to the less common ones.
"""

# The names below are re-exported for type checkers only; ``__all__`` lists them.
# ruff: noqa: F401

from __future__ import annotations

from typing import TYPE_CHECKING

from arvo_ray import _lazy
from arvo_ray._version import __version__ as __version__

# Module -> the public names it gives this package.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "arvo_ray.core": (
        "ARVO_DATA_CONTENT_TYPE",
        "WILDCARD_VERSION",
        "ArvoContract",
        "ArvoErrorSchema",
        "ArvoEvent",
        "ArvoEventFactory",
        "ArvoEventId",
        "ArvoOrchestrationSubject",
        "ArvoOrchestrationSubjectContent",
        "ArvoOrchestratorContract",
        "ArvoOrchestratorEventFactory",
        "ArvoOrchestratorEventTypeGen",
        "ConfigViolation",
        "ContractVersion",
        "ContractViolation",
        "EventDataschema",
        "EventOptions",
        "ExecutionViolation",
        "InvalidSubjectError",
        "OrchestrationInitEventBase",
        "SchemaRecord",
        "TransactionViolation",
        "TransactionViolationCause",
        "VersionedArvoContract",
        "ViolationError",
        "clean_string",
        "compare_semantic_versions",
        "create_arvo_contract",
        "create_arvo_error",
        "create_arvo_event",
        "create_arvo_event_factory",
        "create_arvo_event_id",
        "create_arvo_orchestrator_contract",
        "create_arvo_orchestrator_event_factory",
        "create_simple_arvo_contract",
        "create_timestamp",
        "decode_uri",
        "encode_uri",
        "format_validation_error",
        "is_orchestrator_contract",
        "is_transaction_violation_error",
        "is_valid_domain",
        "is_valid_event_type",
        "is_valid_semantic_version",
        "is_violation_error",
        "is_wildcard_version",
        "parse_arvo_event_id",
        "parse_semantic_version",
        "validate_uri",
        "validate_with_schema",
    ),
    "arvo_ray.handler": (
        "ArvoDomain",
        "ArvoEventHandler",
        "ExecutionResult",
        "HandlerInput",
        "IArvoEventHandler",
        "create_arvo_event_handler",
    ),
    "arvo_ray.machine": ("ArvoMachine", "setup_arvo_machine"),
    "arvo_ray.workflow": (
        "ArvoOrchestrator",
        "ArvoResumable",
        "ResumableInput",
        "create_arvo_orchestrator",
        "create_arvo_resumable",
    ),
    "arvo_ray.broker": ("SimpleEventBroker", "create_simple_event_broker"),
    "arvo_ray._results": (
        "AnswerTimeoutError",
        "DeadLetter",
        "OrphanEventError",
        "RunResult",
        "WorkflowRecord",
        "WorkflowStalledError",
    ),
    "arvo_ray.runtime": ("ArvoRuntime", "Instance", "Sharded"),
    "arvo_ray.memory": (
        "IMachineMemory",
        "RedisMachineMemory",
        "SQLiteMachineMemory",
        "SimpleMachineMemory",
    ),
}

__all__ = sorted(["__version__", *(name for names in _EXPORTS.values() for name in names)])

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - static names for type checkers and IDEs
    from arvo_ray._results import (
        AnswerTimeoutError,
        DeadLetter,
        OrphanEventError,
        RunResult,
        WorkflowRecord,
        WorkflowStalledError,
    )
    from arvo_ray.broker import SimpleEventBroker, create_simple_event_broker
    from arvo_ray.core import *  # noqa: F403
    from arvo_ray.handler import (
        ArvoDomain,
        ArvoEventHandler,
        ExecutionResult,
        HandlerInput,
        IArvoEventHandler,
        create_arvo_event_handler,
    )
    from arvo_ray.machine import ArvoMachine, setup_arvo_machine
    from arvo_ray.memory import (
        IMachineMemory,
        RedisMachineMemory,
        SimpleMachineMemory,
        SQLiteMachineMemory,
    )
    from arvo_ray.runtime import ArvoRuntime, Instance, Sharded
    from arvo_ray.workflow import (
        ArvoOrchestrator,
        ArvoResumable,
        ResumableInput,
        create_arvo_orchestrator,
        create_arvo_resumable,
    )
