"""Machine memory: where workflow (orchestration) state is persisted between events.

Everything a workflow needs is :class:`IMachineMemory` (read, compare-and-set write, owner +
TTL lock, tolerant unlock); the backends are

* :class:`SimpleMachineMemory`: in-process, for tests, notebooks and single processes;
* :class:`SQLiteMachineMemory`: one durable file shared by the processes of a machine;
* :class:`RedisMachineMemory`: for many nodes (needs ``pip install 'arvo-ray[redis]'``; its
  module, and ``redis``, are imported on first use);
* :class:`PostgresMachineMemory`: for many nodes, in a PostgreSQL database (needs
  ``pip install 'arvo-ray[postgres]'``; ``psycopg`` is imported on first use).

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

from typing import TYPE_CHECKING

from arvo_ray import _lazy
from arvo_ray.memory._base import DEFAULT_LOCK_TTL
from arvo_ray.memory._cached import CachedMachineMemory
from arvo_ray.memory._errors import (
    LockExpiredError,
    LockNotHeldError,
    MachineMemoryError,
    MemoryBackendError,
    StaleRecordError,
)
from arvo_ray.memory._fused import lock_and_read, write_and_unlock
from arvo_ray.memory._json import CarriedHistory
from arvo_ray.memory._protocol import IMachineMemory, InspectableMachineMemory, LockInfo, RecordMeta
from arvo_ray.memory._simple import SimpleMachineMemory
from arvo_ray.memory._sqlite import SQLiteMachineMemory

if TYPE_CHECKING:
    from arvo_ray.memory._postgres import PostgresMachineMemory
    from arvo_ray.memory._redis import RedisMachineMemory

__all__ = [
    "CachedMachineMemory",
    "CarriedHistory",
    "DEFAULT_LOCK_TTL",
    "IMachineMemory",
    "InspectableMachineMemory",
    "LockExpiredError",
    "LockInfo",
    "LockNotHeldError",
    "MachineMemoryError",
    "MemoryBackendError",
    "PostgresMachineMemory",
    "RecordMeta",
    "RedisMachineMemory",
    "SQLiteMachineMemory",
    "SimpleMachineMemory",
    "StaleRecordError",
    "lock_and_read",
    "write_and_unlock",
]

# redis.asyncio (~0.3 s to import) and psycopg are optional dependencies: load them on demand.
__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "arvo_ray.memory._postgres": ["PostgresMachineMemory"],
        "arvo_ray.memory._redis": ["RedisMachineMemory"],
    },
)
_lazy.set_public_module(__name__, [globals()[name] for name in __all__ if name in globals()])
