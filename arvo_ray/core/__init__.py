"""The Arvo data model: events, contracts, orchestration subjects, factories and violations."""

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
    "ConfigViolation",
    "ContractViolation",
    "ExecutionViolation",
    "TransactionViolation",
    "TransactionViolationCause",
    "ViolationError",
    "is_transaction_violation_error",
    "is_violation_error",
]
