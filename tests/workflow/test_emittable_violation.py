"""A workflow's emitted event with bad data: a ContractViolation alone, with pydantic's errors.

The same rule as ``tests/core/test_contract_violation_errors.py``, for the events a workflow
step builds: no chained pydantic traceback, the errors kept on the violation.
"""

from __future__ import annotations

import traceback

import pytest

from arvo_ray.core import ContractViolation, create_arvo_event
from arvo_ray.examples.number_domain import increment_contract, increment_orchestrator_contract
from arvo_ray.workflow._emittable import EmitContext, build_emittables


class TestEmittableViolation:
    def test_a_workflow_emittable_violation_has_no_cause_and_keeps_the_errors(self) -> None:
        """A workflow's service call with bad data: the violation alone, with the errors."""
        source_event = create_arvo_event(
            type="arvo.orc.inc", source="com.test.client", subject="s", data={}
        )
        context = EmitContext(
            source="arvo.orc.inc",
            source_event=source_event,
            self_contract=increment_orchestrator_contract.version("0.0.1"),
            services={"increment": increment_contract.version("0.0.1")},
            executionunits=None,
            init_event_id=source_event.id,
            parent_subject=None,
            headers={"traceparent": None, "tracestate": None},
        )
        with pytest.raises(ContractViolation) as info:
            build_emittables(
                [{"type": "com.increment.number", "data": {"init": "x", "increment": 1}}],
                context,
            )
        error = info.value
        assert error.__cause__ is None and error.__suppress_context__ is True
        printed = "".join(traceback.format_exception(error))
        assert "ValidationError" not in printed and "direct cause" not in printed
        assert "Event type: com.increment.number" in str(error)
        assert error.metadata is not None and error.metadata["type"] == "com.increment.number"
        assert {issue["loc"][0] for issue in error.errors} == {"init"}
