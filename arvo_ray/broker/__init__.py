"""The in-process event bus: ``SimpleEventBroker`` and ``create_simple_event_broker``.

Its runs return the same result types as ``ArvoRuntime`` on Ray (``RunResult``, ``DeadLetter``,
``OrphanEventError``), re-exported here.
"""

from arvo_ray import _lazy
from arvo_ray._results import DeadLetter, OrphanEventError, RunResult
from arvo_ray.broker._simple import SimpleEventBroker, create_simple_event_broker

__all__ = [
    "DeadLetter",
    "OrphanEventError",
    "RunResult",
    "SimpleEventBroker",
    "create_simple_event_broker",
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__])
