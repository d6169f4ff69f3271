"""The Arvo data model: events, contracts, orchestration subjects, factories and violations.

Pure Python (pydantic + OpenTelemetry API); nothing here knows about handlers, machines or Ray.
"""

from arvo_ray import _lazy
from arvo_ray.core._contract import (
    ArvoContract,
    ArvoErrorSchema,
    ContractVersion,
    EventDataschema,
    SchemaRecord,
    VersionedArvoContract,
    create_arvo_contract,
    create_arvo_error,
    create_simple_arvo_contract,
    format_validation_error,
    validate_with_schema,
)
from arvo_ray.core._event import (
    ArvoEvent,
    ArvoEventId,
    create_arvo_event,
    create_arvo_event_id,
    parse_arvo_event_id,
)
from arvo_ray.core._factory import (
    ArvoEventFactory,
    ArvoOrchestratorEventFactory,
    EventOptions,
    create_arvo_event_factory,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.core._orchestrator_contract import (
    ArvoOrchestratorContract,
    ArvoOrchestratorEventTypeGen,
    OrchestrationInitEventBase,
    create_arvo_orchestrator_contract,
    is_orchestrator_contract,
)
from arvo_ray.core._primitives import (
    ARVO_DATA_CONTENT_TYPE,
    WILDCARD_VERSION,
    clean_string,
    compare_semantic_versions,
    create_timestamp,
    is_valid_domain,
    is_valid_event_type,
    is_valid_semantic_version,
    is_wildcard_version,
    parse_semantic_version,
)
from arvo_ray.core._subject import (
    ArvoOrchestrationSubject,
    ArvoOrchestrationSubjectContent,
    InvalidSubjectError,
)
from arvo_ray.core._uri import decode_uri, encode_uri, validate_uri
from arvo_ray.core.errors import (
    ConfigViolation,
    ContractViolation,
    ExecutionViolation,
    TransactionViolation,
    TransactionViolationCause,
    ViolationError,
    is_transaction_violation_error,
    is_violation_error,
)

__all__ = [
    "ARVO_DATA_CONTENT_TYPE",
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
    "WILDCARD_VERSION",
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
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__])
