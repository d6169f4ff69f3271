"""The violation error tree (spec §6; upstream tests/error.spec.ts)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from arvo_ray.core import (
    ConfigViolation,
    ContractViolation,
    ExecutionViolation,
    TransactionViolation,
    TransactionViolationCause,
    ViolationError,
    is_transaction_violation_error,
    is_violation_error,
)


class CustomViolation(ViolationError):
    """A user-defined violation."""

    def __init__(self, message: str) -> None:
        super().__init__("CUSTOM", message)


class ForeignError(Exception):
    """An exception from another runtime that carries the violation markers."""

    def __init__(self, **fields: Any) -> None:
        super().__init__(fields.get("message", ""))
        self.__dict__.update(fields)


class TestUpstreamViolationError:
    def test_should_create_a_violation_error(self) -> None:
        """name is ViolationError<type> and the message carries the same prefix."""
        error = ViolationError("precondition", "test error")
        assert error.name == "ViolationError<precondition>"
        assert error.message == "ViolationError<precondition> test error"
        assert str(error) == "ViolationError<precondition> test error"
        assert error.type == "precondition"

    def test_should_create_a_violation_error_with_metadata(self) -> None:
        """metadata is kept as given."""
        assert ViolationError(
            "precondition", "test error", metadata={"key": "value", "count": 42}
        ).metadata == {
            "key": "value",
            "count": 42,
        }

    def test_should_create_a_violation_error_without_metadata(self) -> None:
        """metadata defaults to None."""
        assert ViolationError("precondition", "test error").metadata is None

    def test_should_have_the_arvo_violation_flag(self) -> None:
        """is_arvo_violation_error is True."""
        assert ViolationError("precondition", "test error").is_arvo_violation_error is True


class TestUpstreamIsViolationError:
    def test_true_for_an_instance(self) -> None:
        """A ViolationError is recognised."""
        assert is_violation_error(ViolationError("precondition", "x")) is True

    def test_true_for_a_subclass(self) -> None:
        """Subclasses are recognised."""
        assert is_violation_error(CustomViolation("x")) is True

    @pytest.mark.parametrize("value", [None, "string", 42, True, object()], ids=repr)
    def test_false_for_none_and_primitives(self, value: Any) -> None:
        """None, strings, numbers, booleans and bare objects (JS: Symbol) are not violations."""
        assert is_violation_error(value) is False

    def test_false_for_a_plain_exception(self) -> None:
        """An ordinary exception is not a violation."""
        assert is_violation_error(Exception("x")) is False

    def test_false_for_a_plain_object_with_all_fields(self) -> None:
        """A dict carrying every field is still not an exception."""
        fields = {
            "is_arvo_violation_error": True,
            "type": "t",
            "name": "ViolationError<t>",
            "message": "m",
        }
        assert is_violation_error(fields) is False

    def test_false_for_incomplete_objects(self) -> None:
        """An exception with the flag but without type or message is not a violation."""
        assert is_violation_error(ForeignError(is_arvo_violation_error=True)) is False
        assert is_violation_error(ForeignError(is_arvo_violation_error=True, type="t")) is False

    def test_false_for_an_empty_type(self) -> None:
        """A violation whose type is '' is not recognised."""
        assert is_violation_error(ViolationError("", "msg")) is False

    def test_true_for_an_empty_message(self) -> None:
        """An empty message still has the prefix, so the violation is recognised."""
        assert is_violation_error(ViolationError("t", "")) is True

    def test_false_for_arrays(self) -> None:
        """Lists are not violations."""
        assert is_violation_error([ViolationError("t", "m")]) is False

    def test_false_for_a_non_string_type(self) -> None:
        """type must be a string."""
        assert is_violation_error(ViolationError(123, "m")) is False  # type: ignore[arg-type]

    def test_false_when_the_flag_is_false(self) -> None:
        """Clearing the flag makes it an ordinary error."""
        error = ViolationError("t", "m")
        error.is_arvo_violation_error = False
        assert is_violation_error(error) is False

    def test_true_for_a_foreign_exception_with_the_markers(self) -> None:
        """Duck typing: any exception with the flag, type, name and message counts."""
        foreign = ForeignError(
            is_arvo_violation_error=True, type="t", name="ViolationError<t>", message="m"
        )
        assert is_violation_error(foreign) is True


class TestViolationTree:
    @pytest.mark.parametrize(
        ("cls", "kind"),
        [
            (ContractViolation, "Contract"),
            (ConfigViolation, "Config"),
            (ExecutionViolation, "Execution"),
        ],
    )
    def test_named_violations_carry_their_type(self, cls: type[ViolationError], kind: str) -> None:
        """Each named violation is a ViolationError with its fixed type."""
        error = cls("went wrong", metadata={"event_id": "e-1"})
        assert isinstance(error, ViolationError)
        assert isinstance(error, Exception)
        assert error.type == kind
        assert error.name == f"ViolationError<{kind}>"
        assert str(error) == f"ViolationError<{kind}> went wrong"
        assert error.metadata == {"event_id": "e-1"}
        assert is_violation_error(error)

    def test_transaction_violation_puts_the_cause_in_the_message(self) -> None:
        """The cause appears as [CAUSE] and is kept as an enum."""
        error = TransactionViolation(TransactionViolationCause.LOCK_UNACQUIRED, "busy")
        assert error.type == "OrchestratorTransaction"
        assert error.name == "ViolationError<OrchestratorTransaction>"
        assert str(error) == "ViolationError<OrchestratorTransaction> [LOCK_UNACQUIRED] busy"
        assert error.cause is TransactionViolationCause.LOCK_UNACQUIRED
        assert error.metadata is None
        assert error.initiating_event is None

    def test_transaction_violation_accepts_the_cause_value(self) -> None:
        """A cause may be given as its string value."""
        error = TransactionViolation("READ_MACHINE_MEMORY_FAILURE", "io")
        assert error.cause is TransactionViolationCause.READ_FAILURE

    def test_transaction_violation_rejects_unknown_causes(self) -> None:
        """An unknown cause is a ValueError."""
        with pytest.raises(ValueError):
            TransactionViolation("NOPE", "x")

    def test_transaction_violation_keeps_the_initiating_event(self) -> None:
        """The initiating event is stored in metadata next to other details."""
        error = TransactionViolation(
            "WRITE_MACHINE_MEMORY_FAILURE", "x", initiating_event={"id": "e"}, metadata={"k": 1}
        )
        assert error.initiating_event == {"id": "e"}
        assert error.metadata == {"k": 1, "initiating_event": {"id": "e"}}

    def test_cause_values(self) -> None:
        """The cause values are the original's strings."""
        assert {cause.value for cause in TransactionViolationCause} == {
            "READ_MACHINE_MEMORY_FAILURE",
            "LOCK_MACHINE_MEMORY_FAILURE",
            "WRITE_MACHINE_MEMORY_FAILURE",
            "LOCK_UNACQUIRED",
            "INVALID_SUBJECT",
        }

    def test_is_transaction_violation_error(self) -> None:
        """True for transaction violations, optionally of one cause; False otherwise."""
        error = TransactionViolation("LOCK_UNACQUIRED", "busy")
        assert is_transaction_violation_error(error) is True
        assert is_transaction_violation_error(error, "LOCK_UNACQUIRED") is True
        assert (
            is_transaction_violation_error(error, TransactionViolationCause.READ_FAILURE) is False
        )
        assert is_transaction_violation_error(ContractViolation("x")) is False
        assert is_transaction_violation_error(Exception("x")) is False

    @pytest.mark.parametrize(
        "error",
        [
            ViolationError("RATE_LIMIT", "slow down", metadata={"retry_after": 10}),
            ContractViolation("bad", metadata={"field": "data.x"}),
            TransactionViolation("LOCK_UNACQUIRED", "busy", initiating_event={"id": "e"}),
            CustomViolation("custom"),
        ],
        ids=lambda error: type(error).__name__,
    )
    def test_violations_pickle_with_their_attributes(self, error: ViolationError) -> None:
        """Violations survive pickling (Ray ships them between processes)."""
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert str(again) == str(error)
        assert again.__dict__ == error.__dict__
        assert is_violation_error(again)

    def test_repr_shows_class_and_message(self) -> None:
        """repr names the class and the full message."""
        assert repr(ContractViolation("bad")) == "ContractViolation('ViolationError<Contract> bad')"
