"""Where a runtime's timers wait: beside its memory, unless it is given a store.

Timers wait as rows in the runtime's memory backend, not in sleeping actors or tasks. Every
broker shard takes timer requests (a store write, answered by nothing until the timer is
due); broker shard 0 runs :class:`~arvo_ray.timers.TimerFiring`, which routes each due reply
like any event and removes its timer only once the reply was handed on. A crash in between
fires it again with the same reply id, which the workflow ignores once consumed: one effect
per timer.
"""

from __future__ import annotations

from dataclasses import replace

from arvo_ray.memory import IMachineMemory
from arvo_ray.runtime._config import Timers
from arvo_ray.runtime._memory_actor import ActorMachineMemory

__all__ = ["resolved_timers"]


def resolved_timers(timers: Timers | bool | None, memory: IMachineMemory) -> Timers | None:
    """``timers`` with its store decided: beside the runtime's memory unless given.

    Raises:
        ValueError: timers asked for with a memory that has no timer store of its own.
    """
    if timers is None or timers is False:
        return None
    chosen = Timers() if timers is True else timers
    if chosen.store is not None:
        return chosen
    if isinstance(memory, ActorMachineMemory):
        return replace(chosen, store=memory.timer_store())
    if _is(memory, "PostgresMachineMemory"):
        from arvo_ray.timers import PostgresTimerStore

        return replace(chosen, store=PostgresTimerStore.beside(memory))  # type: ignore[arg-type]
    url = getattr(memory, "url", None) if _is(memory, "RedisMachineMemory") else None
    if url is not None:
        from arvo_ray.timers import RedisTimerStore

        prefix = f"{getattr(memory, 'prefix', 'arvo')}:timers"
        return replace(chosen, store=RedisTimerStore(url, prefix=prefix))
    raise ValueError(
        f"Timers need a store next to the memory, and {type(memory).__name__} has none: pass "
        "timers=Timers(store=...) (an arvo_ray.timers.ITimerStore every node can reach)"
    )


def _is(memory: IMachineMemory, kind: str) -> bool:
    """Whether ``memory`` is the optional backend ``kind`` (a memory of a backend whose client
    library is not installed cannot be one)."""
    try:
        import arvo_ray.memory

        backend = getattr(arvo_ray.memory, kind)
    except ImportError:
        return False
    return isinstance(memory, backend)
