"""The Ray runtime: handler tasks and executors, workflow actors, broker actors and ``ArvoRuntime``.

This is the only package that imports ``ray``; it places the pure core onto tasks and actors
and never re-decides a rule of it.
"""

from arvo_ray import _lazy
from arvo_ray._results import (
    AnswerTimeoutError,
    DeadLetter,
    OrphanEventError,
    RunResult,
    WorkflowRecord,
    WorkflowStalledError,
)
from arvo_ray.runtime._config import Instance, Sharded, Timers
from arvo_ray.runtime._memory_actor import ActorMachineMemory, MemoryActor
from arvo_ray.runtime._outcome import RuntimeStats, StepOutcome
from arvo_ray.runtime._runtime import ArvoRuntime, default_memory_path
from arvo_ray.runtime._service import (
    ServiceApp,
    ingress_app,
    load_app,
    run_service,
    state_file,
)

__all__ = [
    "ActorMachineMemory",
    "AnswerTimeoutError",
    "ArvoRuntime",
    "DeadLetter",
    "Instance",
    "MemoryActor",
    "OrphanEventError",
    "RunResult",
    "RuntimeStats",
    "ServiceApp",
    "Sharded",
    "StepOutcome",
    "Timers",
    "WorkflowRecord",
    "WorkflowStalledError",
    "default_memory_path",
    "ingress_app",
    "load_app",
    "run_service",
    "state_file",
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__])
