"""The Arvo error tree: violations are raised, everything else becomes a ``sys.*.error`` event.

::

    Exception
    └── ViolationError                 name "ViolationError<type>"; retry / dead-letter material
        ├── ContractViolation          "Contract": data or dataschema does not fit the contract
        ├── ConfigViolation            "Config": wiring problem (wrong handler, unknown version, bad machine)
        ├── ExecutionViolation         "Execution": the developer asked for it to bubble up
        └── TransactionViolation       "OrchestratorTransaction": lock / read / write of machine memory failed

A handler never swallows a violation and never turns it into an event: violations say "this
event cannot be processed here as things stand", which is for the infrastructure (retry, dead
letter queue) to act on. Any other exception raised by user code is a business outcome and is
returned as a ``sys.<type>.error`` event instead.

The message text keeps the original's ``ViolationError<Type> <message>`` prefix so logs and
events read the same in Python and TypeScript services. Every violation pickles (Ray ships
them between processes) and keeps its structured details in :attr:`ViolationError.metadata`.

A :class:`ContractViolation` that comes from a pydantic ``ValidationError`` is raised without
it as its cause: the message already names every field at fault, and the chained traceback
would bury it under a dozen frames of validation internals. The pydantic errors stay on the
violation (:attr:`ContractViolation.errors`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

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


def _restore(cls: type[ViolationError], state: dict[str, Any]) -> ViolationError:
    error = cls.__new__(cls)
    Exception.__init__(error, state["message"])
    error.__dict__.update(state)
    return error


class ViolationError(Exception):
    """An error that must be raised to the caller rather than emitted as an event.

    Attributes:
        type: The violation kind, e.g. ``"Contract"``; it appears in :attr:`name`.
        message: The full message, prefixed with ``ViolationError<type>``.
        metadata: Structured details (offending event id, field, version...), or ``None``.

    Example:
        >>> err = ViolationError("RATE_LIMIT", "slow down", metadata={"retry_after": 10})
        >>> err.name, str(err)
        ('ViolationError<RATE_LIMIT>', 'ViolationError<RATE_LIMIT> slow down')
    """

    is_arvo_violation_error: bool = True

    def __init__(self, type: str, message: str, *, metadata: dict[str, Any] | None = None) -> None:
        self.type = type
        self.message = f"ViolationError<{type}> {message}"
        self.metadata = metadata
        super().__init__(self.message)

    @property
    def name(self) -> str:
        return f"ViolationError<{self.type}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), dict(self.__dict__)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ContractViolation(ViolationError):
    """The event's data or dataschema does not match the contract (input or output).

    Attributes:
        errors: The pydantic errors that made the data not fit (``metadata["errors"]``), one
            dict per problem with its ``loc``, ``msg`` and ``input``; empty when the violation
            did not come from validation.

    Example:
        >>> error = ContractViolation("'data.value': Field required", metadata={"field": "value"})
        >>> error.name, str(error)
        ('ViolationError<Contract>', "ViolationError<Contract> 'data.value': Field required")
        >>> is_violation_error(error), error.errors
        (True, [])

        From a factory, the violation carries the validation errors but not their traceback:

        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import increment_contract
        >>> factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
        >>> try:
        ...     factory.accepts(source="com.test.client", data={"increment": 2})
        ... except ContractViolation as violation:
        ...     error = violation
        >>> str(error)
        "ViolationError<Contract> Accept Event data validation failed: 'data.init': Field
        required (got {'increment': 2}, dict)"
        >>> [(problem["loc"], problem["type"]) for problem in error.errors]
        [(('init',), 'missing')]
        >>> error.__cause__ is None and error.__suppress_context__
        True
    """

    def __init__(self, message: str, *, metadata: dict[str, Any] | None = None) -> None:
        super().__init__("Contract", message, metadata=metadata)

    @classmethod
    def from_validation_error(
        cls, message: str, error: ValidationError, *, metadata: dict[str, Any] | None = None
    ) -> ContractViolation:
        """The violation for data that failed validation, keeping pydantic's errors.

        Raise it ``from None``: the errors travel on the violation, not as its cause. An
        input that is not plain data is kept as its ``repr``, so the violation still pickles
        when the data held, say, a lock or an open file.
        """
        issues = [
            {**issue, "input": _plain(issue["input"])} if "input" in issue else dict(issue)
            for issue in error.errors(include_url=False, include_context=False)
        ]
        return cls(message, metadata={**(metadata or {}), "errors": issues})

    @property
    def errors(self) -> list[dict[str, Any]]:
        found = (self.metadata or {}).get("errors")
        return list(found) if isinstance(found, list) else []


def _plain(value: Any) -> Any:
    """``value`` if it is JSON-shaped data (which always pickles), else its ``repr``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if type(value) in (list, tuple):
        return type(value)(_plain(item) for item in value)
    if type(value) is dict and all(isinstance(key, str) for key in value):
        return {key: _plain(item) for key, item in value.items()}
    return repr(value)


class ConfigViolation(ViolationError):
    """The event reached a handler that is not configured for it, or a definition is invalid.

    Example:
        >>> error = ConfigViolation("Handler com.number.increment got com.number.decrement")
        >>> error.type, str(error)
        ('Config', 'ViolationError<Config> Handler com.number.increment got com.number.decrement')
    """

    def __init__(self, message: str, *, metadata: dict[str, Any] | None = None) -> None:
        super().__init__("Config", message, metadata=metadata)


class ExecutionViolation(ViolationError):
    """Raised on purpose by user code (or for a malformed subject) to bypass ``sys.*.error`` events.

    Example:
        >>> try:
        ...     raise ExecutionViolation("Rate limit reached", metadata={"retry_after": 30})
        ... except ViolationError as error:
        ...     print(error.name, error.metadata)
        ViolationError<Execution> {'retry_after': 30}
    """

    def __init__(self, message: str, *, metadata: dict[str, Any] | None = None) -> None:
        super().__init__("Execution", message, metadata=metadata)


class TransactionViolationCause(StrEnum):
    """Why a machine-memory transaction failed; the value appears in the message as ``[CAUSE]``.

    Example:
        >>> TransactionViolationCause.READ_FAILURE.value
        'READ_MACHINE_MEMORY_FAILURE'
        >>> TransactionViolation("LOCK_UNACQUIRED", "memory is locked").cause
        <TransactionViolationCause.LOCK_UNACQUIRED: 'LOCK_UNACQUIRED'>
    """

    READ_FAILURE = "READ_MACHINE_MEMORY_FAILURE"
    LOCK_FAILURE = "LOCK_MACHINE_MEMORY_FAILURE"
    WRITE_FAILURE = "WRITE_MACHINE_MEMORY_FAILURE"
    LOCK_UNACQUIRED = "LOCK_UNACQUIRED"
    INVALID_SUBJECT = "INVALID_SUBJECT"


class TransactionViolation(ViolationError):
    """Locking, reading or writing the workflow's machine memory failed; retrying is safe.

    Attributes:
        cause: A :class:`TransactionViolationCause` value.

    Example:
        >>> error = TransactionViolation(
        ...     TransactionViolationCause.LOCK_UNACQUIRED, "the subject's memory is locked")
        >>> str(error)
        "ViolationError<OrchestratorTransaction> [LOCK_UNACQUIRED] the subject's memory is locked"
        >>> is_transaction_violation_error(error, TransactionViolationCause.LOCK_UNACQUIRED)
        True
    """

    def __init__(
        self,
        cause: TransactionViolationCause | str,
        message: str,
        *,
        initiating_event: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.cause = TransactionViolationCause(cause)
        meta = dict(metadata or {})
        if initiating_event is not None:
            meta["initiating_event"] = initiating_event
        super().__init__(
            "OrchestratorTransaction", f"[{self.cause.value}] {message}", metadata=meta or None
        )

    @property
    def initiating_event(self) -> Any:
        return (self.metadata or {}).get("initiating_event")


def is_violation_error(error: object) -> bool:
    """Duck-typed check, true for any exception that carries the Arvo violation markers.

    Like the original it does not rely on the class alone, so a violation rebuilt from another
    runtime (a different class with the same fields) is still recognised.
    """
    if not isinstance(error, BaseException):
        return False
    if getattr(error, "is_arvo_violation_error", None) is not True:
        return False
    for field in ("type", "name", "message"):
        value = getattr(error, field, None)
        if not isinstance(value, str) or not value:
            return False
    return True


def is_transaction_violation_error(
    error: object, cause: TransactionViolationCause | str | None = None
) -> bool:
    """True for a :class:`TransactionViolation`, optionally with the given ``cause``."""
    if not is_violation_error(error) or getattr(error, "type", None) != "OrchestratorTransaction":
        return False
    return cause is None or getattr(error, "cause", None) == TransactionViolationCause(cause)
