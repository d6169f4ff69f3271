"""arvo_ray: the Arvo event-driven architecture in Python, placed onto Ray.

``import arvo_ray`` loads nothing but this file: every public name is imported on first use
(as attrs does), so scripts that only need the data model never pay for the rest, and nothing
here ever imports Ray unless a runtime name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from arvo_ray._version import __version__ as __version__

# Public name -> the subpackage that defines it.
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
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(["__version__", *_WHERE])


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'arvo_ray' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


if TYPE_CHECKING:  # pragma: no cover - static names for type checkers and IDEs
    from arvo_ray.core import *  # noqa: F403
