"""Testing workflows and handlers: declarative step suites, and replays of recorded
histories against changed code.

Nothing here imports Ray: everything runs in-process on a fresh memory.
"""

from arvo_ray import _lazy
from arvo_ray.testing._kit import StepsFailed, TestCase, TestStep, check_steps, run_steps
from arvo_ray.testing._replay import (
    Divergence,
    ReplayReport,
    load_history,
    replay,
    replay_async,
)

__all__ = [
    "Divergence",
    "ReplayReport",
    "StepsFailed",
    "TestCase",
    "TestStep",
    "check_steps",
    "load_history",
    "replay",
    "replay_async",
    "run_steps",
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__])
