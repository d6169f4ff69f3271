"""Durable time for workflows, in Arvo's idiom: a timer is a service a workflow calls with an
event, and its reply is an event when the timer is due. Nothing here imports Ray."""

from arvo_ray import _lazy
from arvo_ray.timers._contract import (
    TimerCancel,
    TimerCancelled,
    TimerFired,
    TimerRequest,
    timer_cancel_contract,
    timer_contract,
)
from arvo_ray.timers._service import TimerService
from arvo_ray.timers._store import ITimerStore, PendingTimer, SimpleTimerStore

__all__ = [
    "ITimerStore",
    "PendingTimer",
    "SimpleTimerStore",
    "TimerCancel",
    "TimerCancelled",
    "TimerFired",
    "TimerRequest",
    "TimerService",
    "timer_cancel_contract",
    "timer_contract",
]

_lazy.set_public_module(__name__, [globals()[n] for n in __all__ if not n.endswith("_contract")])
