"""Durable time for workflows, in Arvo's idiom: a timer is a service a workflow calls with an
event, and its reply is an event when the timer is due. Nothing here imports Ray."""

from typing import TYPE_CHECKING

from arvo_ray import _lazy
from arvo_ray.timers._contract import (
    TimerCancel,
    TimerCancelled,
    TimerFired,
    TimerRequest,
    timer_cancel_contract,
    timer_contract,
)
from arvo_ray.timers._firing import TimerFiring
from arvo_ray.timers._service import TimerService
from arvo_ray.timers._sqlite import SQLiteTimerStore
from arvo_ray.timers._store import ITimerStore, PendingTimer, SimpleTimerStore

if TYPE_CHECKING:
    from arvo_ray.timers._postgres import PostgresTimerStore
    from arvo_ray.timers._redis import RedisTimerStore

__all__ = [
    "ITimerStore",
    "PendingTimer",
    "PostgresTimerStore",
    "RedisTimerStore",
    "SQLiteTimerStore",
    "SimpleTimerStore",
    "TimerCancel",
    "TimerCancelled",
    "TimerFired",
    "TimerFiring",
    "TimerRequest",
    "TimerService",
    "timer_cancel_contract",
    "timer_contract",
]

# redis and psycopg are optional dependencies: load their stores on demand.
__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "arvo_ray.timers._postgres": ["PostgresTimerStore"],
        "arvo_ray.timers._redis": ["RedisTimerStore"],
    },
)
_lazy.set_public_module(
    __name__, [globals()[n] for n in __all__ if n in globals() and not n.endswith("_contract")]
)
