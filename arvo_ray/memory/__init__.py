"""Machine memory: where workflow (orchestration) state is persisted between events.

Everything a workflow needs is :class:`IMachineMemory` (read, compare-and-set write, owner +
TTL lock, tolerant unlock); the backends are

* :class:`SimpleMachineMemory`: in-process, for tests, notebooks and single processes;
* :class:`SQLiteMachineMemory`: one durable file shared by the processes of a machine;
* :class:`RedisMachineMemory`: for many nodes (needs ``pip install 'arvo-ray[redis]'``; its
  module, and ``redis``, are imported on first use).

The workflow layer turns outcomes here into ``TransactionViolation`` causes; this package does
not depend on it (or on Ray):

=====================================================  ===================================
outcome                                                cause
=====================================================  ===================================
``lock`` returns ``False``                             ``LOCK_UNACQUIRED``
``lock`` raises (``MemoryBackendError``)               ``LOCK_FAILURE``
``read`` raises (``MemoryBackendError``)               ``READ_FAILURE``
``write`` raises ``StaleRecordError``,                 ``WRITE_FAILURE``
``LockNotHeldError``/``LockExpiredError`` or
``MemoryBackendError``
``unlock`` raises                                      logged, never raised (tolerant)
=====================================================  ===================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arvo_ray.memory._base import DEFAULT_LOCK_TTL
from arvo_ray.memory._cached import CachedMachineMemory
from arvo_ray.memory._errors import (
    LockExpiredError,
    LockNotHeldError,
    MachineMemoryError,
    MemoryBackendError,
    StaleRecordError,
)
from arvo_ray.memory._protocol import IMachineMemory, InspectableMachineMemory, LockInfo, RecordMeta
from arvo_ray.memory._simple import SimpleMachineMemory
from arvo_ray.memory._sqlite import SQLiteMachineMemory

if TYPE_CHECKING:
    from arvo_ray.memory._redis import RedisMachineMemory

__all__ = [
    "CachedMachineMemory",
    "DEFAULT_LOCK_TTL",
    "IMachineMemory",
    "InspectableMachineMemory",
    "LockExpiredError",
    "LockInfo",
    "LockNotHeldError",
    "MachineMemoryError",
    "MemoryBackendError",
    "RecordMeta",
    "RedisMachineMemory",
    "SQLiteMachineMemory",
    "SimpleMachineMemory",
    "StaleRecordError",
]


def __getattr__(name: str) -> Any:
    # redis.asyncio costs ~0.3 s to import and is an optional dependency: load it on demand.
    if name == "RedisMachineMemory":
        from arvo_ray.memory._redis import RedisMachineMemory

        globals()[name] = RedisMachineMemory
        return RedisMachineMemory
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
