"""A ContractViolation from validation: its message alone, with pydantic's errors kept on it.

Wherever data fails a contract's model (a factory, a handler's input or output, and a
workflow's emitted events: ``tests/workflow/test_emittable_violation.py``) the violation is
raised ``from None``: a traceback shows the violation's clear message, not a dozen frames of
pydantic internals before it. The pydantic errors stay on the violation (``errors``, also in
``metadata["errors"]``) and survive pickling.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
import traceback
from typing import Any

import pytest

from arvo_ray.core import ContractViolation, create_arvo_event, create_arvo_event_factory
from arvo_ray.examples.number_domain import increment_contract, increment_handler
from arvo_ray.examples.number_domain.contracts import value_read_contract
from arvo_ray.handler import create_arvo_event_handler


def caught(action: Any) -> ContractViolation:
    with pytest.raises(ContractViolation) as info:
        action()
    return info.value


def assert_raised_alone(error: ContractViolation) -> None:
    """No chained cause, and a printed traceback that mentions no pydantic error."""
    assert error.__cause__ is None
    assert error.__suppress_context__ is True
    printed = "".join(traceback.format_exception(error))
    assert "ValidationError" not in printed
    assert "direct cause" not in printed and "During handling" not in printed
    assert printed.rstrip().endswith(str(error))


def value_read_handler_returning(data: dict[str, Any]) -> Any:
    return create_arvo_event_handler(
        contract=value_read_contract,
        executionunits=0,
        handler={"0.0.1": lambda inp: {"type": "evt.value.read.success", "data": data}},
    )


VALUE_READ = create_arvo_event(
    type="com.value.read", source="a.b.c", subject="s", data={"key": "k1"}
)


class TestFromValidationError:
    def test_a_factory_violation_has_no_cause_and_keeps_the_errors(self) -> None:
        """A factory's data check raises the violation alone, with pydantic's errors on it."""
        factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
        error = caught(lambda: factory.accepts(source="com.test.client", data={"increment": 2}))
        assert_raised_alone(error)
        assert str(error) == (
            "ViolationError<Contract> Accept Event data validation failed: 'data.init': "
            "Field required (got {'increment': 2}, dict)"
        )
        assert [(issue["loc"], issue["type"]) for issue in error.errors] == [(("init",), "missing")]
        assert error.metadata == {"errors": error.errors}

    def test_a_handler_input_violation_has_no_cause_and_keeps_the_errors(self) -> None:
        """Bad input data: the violation names the event and carries the errors, alone."""
        factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
        good = factory.accepts(source="com.test.client", data={"init": 1, "increment": 2})
        bad = create_arvo_event(
            **{**good.to_dict(), "data": {"init": "one", "increment": 2}, "id": "e-42"}
        )
        error = caught(lambda: asyncio.run(increment_handler().execute(bad)))
        assert_raised_alone(error)
        assert str(error).startswith(
            "ViolationError<Contract> Input event payload validation failed: 'data.init"
        )
        assert error.metadata is not None and error.metadata["event_id"] == "e-42"
        assert {issue["loc"][0] for issue in error.errors} == {"init"}
        assert all(issue["input"] == "one" for issue in error.errors)

    def test_a_handler_output_violation_has_no_cause_and_keeps_the_errors(self) -> None:
        """Output data that breaks the contract: the violation alone, naming the field."""
        error = caught(
            lambda: asyncio.run(
                value_read_handler_returning({"key": 1, "value": 2}).execute(VALUE_READ)
            )
        )
        assert_raised_alone(error)
        assert "'data.key'" in str(error)
        assert [issue["loc"] for issue in error.errors] == [("key",)]

    def test_the_errors_survive_pickling_even_when_the_input_would_not(self) -> None:
        """An input that cannot pickle (a lock) is kept as its repr; the violation pickles."""
        lock = threading.Lock()
        error = caught(
            lambda: asyncio.run(
                value_read_handler_returning({"key": lock, "value": 2}).execute(VALUE_READ)
            )
        )
        (issue,) = error.errors
        assert issue["input"] == repr(lock)
        copy = pickle.loads(pickle.dumps(error))
        assert isinstance(copy, ContractViolation)
        assert copy.errors == error.errors and str(copy) == str(error)

    def test_a_violation_not_from_validation_has_no_errors(self) -> None:
        """errors is empty when nothing was validated."""
        assert ContractViolation("dataschema names another contract").errors == []

    def test_from_validation_error_merges_the_given_metadata(self) -> None:
        """The caller's metadata is kept beside the errors."""
        from pydantic import BaseModel, ValidationError

        class Point(BaseModel):
            x: int

        with pytest.raises(ValidationError) as info:
            Point.model_validate({"x": [1, {"y": (2, 3)}]})
        error = ContractViolation.from_validation_error(
            "'data.x' must be int", info.value, metadata={"event_id": "e-1"}
        )
        assert error.metadata is not None and error.metadata["event_id"] == "e-1"
        (issue,) = error.errors
        assert issue["input"] == [1, {"y": (2, 3)}]
        assert "url" not in issue and "ctx" not in issue
