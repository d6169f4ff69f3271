"""Workflows: ``ArvoOrchestrator`` (statecharts) and ``ArvoResumable`` (imperative functions).

Both run every event through one execution wrapper (lock → read → run → CAS write → unlock).
"""

from arvo_ray import _lazy
from arvo_ray.workflow._execution import CONSUMED_IDS_KEPT, StepInput, StepOutput, WorkflowHandler
from arvo_ray.workflow._orchestrator import ArvoOrchestrator, create_arvo_orchestrator
from arvo_ray.workflow._record import (
    WorkflowRecordData,
    is_done,
    is_failed,
    is_finished,
    step_state,
    stored_answer,
)
from arvo_ray.workflow._resumable import (
    ArvoResumable,
    ResumableFunction,
    ResumableInput,
    create_arvo_resumable,
)

__all__ = [
    "ArvoOrchestrator",
    "ArvoResumable",
    "CONSUMED_IDS_KEPT",
    "ResumableFunction",
    "ResumableInput",
    "StepInput",
    "StepOutput",
    "WorkflowHandler",
    "WorkflowRecordData",
    "create_arvo_orchestrator",
    "create_arvo_resumable",
    "is_done",
    "is_failed",
    "is_finished",
    "step_state",
    "stored_answer",
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__])
