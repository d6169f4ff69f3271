"""The embedded cluster memory: one actor on the head node serving a SQLite file to everyone.

``SimpleMachineMemory`` lives inside one process, and a SQLite file is only safe to share
between processes of one machine. On a Ray cluster, workflow actors may run on any node, so
the default memory is this actor, pinned to the head node, with a client
(:class:`ActorMachineMemory`) that any process can hold. Each client has its own owner token,
so locks and fencing work per workflow actor exactly as with a local memory.

A client running on the head node itself opens the SQLite file directly instead (SQLite is
safe across the processes of one machine): every step then saves two actor round trips, which
is most of a step's cost on a single-node cluster. Both paths use the same file, the same
transactions and the same lock table, so they can be mixed freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import ray

from arvo_ray.memory import DEFAULT_LOCK_TTL, MemoryBackendError, SQLiteMachineMemory
from arvo_ray.runtime._batcher import Batcher
from arvo_ray.runtime._collector import settle_collector
from arvo_ray.runtime._spawn import named_actor
from arvo_ray.timers import ITimerStore, PendingTimer, SQLiteTimerStore

__all__ = ["ActorMachineMemory", "ActorTimerStore", "MemoryActor", "start_memory_actor"]

HEAD_NODE_RESOURCE = "node:__internal_head__"


class MemoryActor:
    """Serves one ``SQLiteMachineMemory`` file; errors are returned, not raised, to keep their type.

    Example:
        The runtime starts it as a Ray actor (:func:`start_memory_actor`); the class itself is
        plain Python, so its calls can be shown here without Ray:

        >>> client = start_memory_actor(name="memory", namespace="arvo",
        ...     path="/tmp/arvo.sqlite")  # doctest: +SKIP
        >>> import asyncio, os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> actor = MemoryActor(os.path.join(folder.name, "memory.sqlite"))
        >>> asyncio.run(actor.call("driver", "write", "subject-1", {"status": "active"}, None))
        (True, None)
        >>> asyncio.run(actor.call("driver", "read", "subject-1"))
        (True, {'status': 'active'})
        >>> asyncio.run(actor.call("driver", "write", "subject-1", {"status": "done"}, None))
        (False, StaleRecordError("Machine memory write for 'subject-1' rejected: ..."))
        >>> actor.describe()["owners"]
        1
        >>> actor.memory.close()
        >>> folder.cleanup()
    """

    def __init__(self, path: str, lock_ttl: float = DEFAULT_LOCK_TTL) -> None:
        self.path = path
        self.memory = SQLiteMachineMemory(path, lock_ttl=lock_ttl)
        self.timers = SQLiteTimerStore(path)  # a table of its own in the same file
        self._views: dict[str, SQLiteMachineMemory] = {}
        settle_collector()

    def _view(self, owner: str) -> SQLiteMachineMemory:
        view = self._views.get(owner)
        if view is None:
            # Views remember which ids their owner locked (for fencing): keep one per owner.
            view = self._views[owner] = self.memory.for_owner(owner)
        return view

    async def call(self, owner: str, operation: str, *args: Any) -> tuple[bool, Any]:
        try:
            return True, await getattr(self._view(owner), operation)(*args)
        except Exception as error:
            return False, error

    async def call_batch(
        self, calls: list[tuple[str, str, tuple[Any, ...]]]
    ) -> list[tuple[bool, Any]]:
        """Several calls in one actor call, in order (each a short SQLite transaction)."""
        return [await self.call(owner, operation, *args) for owner, operation, args in calls]

    async def timer_call(self, operation: str, *args: Any) -> tuple[bool, Any]:
        """One call to the timer store kept in this memory's file."""
        try:
            return True, await getattr(self.timers, operation)(*args)
        except Exception as error:
            return False, error

    def discard(self) -> None:
        """Close and delete the file (with its journal and folder, if empty): the temporary
        memory of an unnamed runtime, at its shutdown."""
        self.memory.close()
        self.timers.close()
        path = Path(self.path)
        for leftover in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()

    def release_owner(self, owner: str) -> None:
        """Forget an owner's view (its actor is gone)."""
        self._views.pop(owner, None)

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "owners": len(self._views), "lock_ttl": self.memory.lock_ttl}

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()


class ActorMachineMemory:
    """An :class:`~arvo_ray.memory.IMachineMemory` client of a :class:`MemoryActor`.

    Picklable: ship it to any Ray process; call :meth:`for_owner` there to get an owner token
    of that process's own. A copy running on the memory actor's node opens the file itself
    unless ``direct=False``.

    Example:
        >>> memory = start_memory_actor(name="memory", namespace="arvo",
        ...     path="/tmp/arvo.sqlite")  # doctest: +SKIP
        >>> asyncio.run(memory.write("subject-1", {"status": "active"}, None))  # doctest: +SKIP
        >>> asyncio.run(memory.read("subject-1"))  # doctest: +SKIP
        {'status': 'active'}

        The actor handle is only used when a call is made, so a placeholder shows the rest
        without Ray: each process's copy gets an owner token of its own.

        >>> import pickle
        >>> memory = ActorMachineMemory(None, path="/tmp/arvo.sqlite", node_id="head",
        ...     owner="driver")
        >>> memory
        ActorMachineMemory(owner='driver')
        >>> worker = pickle.loads(pickle.dumps(memory)).for_owner("worker-1")
        >>> worker.owner, worker.path, worker.lock_ttl
        ('worker-1', '/tmp/arvo.sqlite', 30.0)
    """

    def __init__(
        self,
        actor: Any,
        *,
        path: str,
        node_id: str,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        owner: str | None = None,
        direct: bool = True,
    ) -> None:
        self.actor = actor
        self.path = path
        self.node_id = node_id
        self.direct = direct
        self._lock_ttl = lock_ttl
        self._owner = owner or f"arvo-{uuid.uuid4().hex}"
        self._direct: SQLiteMachineMemory | bool | None = False  # False: not decided yet

    def __getstate__(self) -> dict[str, Any]:
        # The direct connection belongs to this process; the receiver decides for itself.
        return {**self.__dict__, "_direct": False}

    def _direct_memory(self) -> SQLiteMachineMemory | None:
        """The SQLite file itself, when this process runs on the memory actor's node."""
        if self._direct is False:
            same_node = self.direct and (
                ray.is_initialized() and ray.get_runtime_context().get_node_id() == self.node_id
            )
            self._direct = (
                SQLiteMachineMemory(self.path, lock_ttl=self._lock_ttl, owner=self._owner)
                if same_node and Path(self.path).exists()
                else None
            )
        return self._direct if isinstance(self._direct, SQLiteMachineMemory) else None

    @property
    def owner(self) -> str:
        return self._owner

    @property
    def lock_ttl(self) -> float:
        return self._lock_ttl

    def for_owner(self, owner: str) -> Self:
        return type(self)(
            self.actor,
            path=self.path,
            node_id=self.node_id,
            lock_ttl=self._lock_ttl,
            owner=owner,
            direct=self.direct,
        )

    async def _call(self, operation: str, *args: Any) -> Any:
        direct = self._direct_memory()
        if direct is not None:
            return await getattr(direct, operation)(*args)
        try:
            ok, value = await _batcher_for(self.actor).submit((self._owner, operation, args))
        except ray.exceptions.RayError as exc:
            raise MemoryBackendError(
                f"The memory actor is unreachable ({type(exc).__name__}): {exc}",
                operation=operation,
                backend="ray-actor",
            ) from exc
        if not ok:
            raise value
        return value

    async def read(self, id: str) -> dict[str, Any] | None:
        return await self._call("read", id)  # type: ignore[no-any-return]

    async def write(self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> None:
        await self._call("write", id, _plain(data), None if prev is None else _plain(prev))

    async def lock(self, id: str) -> bool:
        return bool(await self._call("lock", id))

    async def unlock(self, id: str) -> bool:
        return bool(await self._call("unlock", id))

    async def lock_and_read(self, id: str) -> tuple[bool, dict[str, Any] | None]:
        """Lock and read in one call to the memory actor (one SQLite transaction there)."""
        acquired, record = await self._call("lock_and_read", id)
        return bool(acquired), record

    async def write_and_unlock(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None
    ) -> bool:
        """Write and unlock in one call to the memory actor (one SQLite transaction there)."""
        return bool(
            await self._call(
                "write_and_unlock", id, _plain(data), None if prev is None else _plain(prev)
            )
        )

    async def list_ids(self, prefix: str = "") -> list[str]:
        return await self._call("list_ids", prefix)  # type: ignore[no-any-return]

    async def list_outboxes(self) -> dict[str, list[dict[str, Any]]]:
        return await self._call("list_outboxes")  # type: ignore[no-any-return]

    async def locks(self) -> list[Any]:
        return await self._call("locks")  # type: ignore[no-any-return]

    async def force_unlock(self, id: str) -> bool:
        return bool(await self._call("force_unlock", id))

    async def delete(self, id: str, prev: Mapping[str, Any]) -> bool:
        return bool(await self._call("delete", id, _plain(prev)))

    async def read_meta(self, id: str) -> Any:
        return await self._call("read_meta", id)

    def timer_store(self) -> ITimerStore:
        """The timers kept in this memory's SQLite file, through the memory actor."""
        return ActorTimerStore(self)

    def __repr__(self) -> str:
        return f"ActorMachineMemory(owner={self._owner!r})"


class ActorTimerStore:
    """An :class:`~arvo_ray.timers.ITimerStore` kept in the file a :class:`MemoryActor`
    serves: pending timers live in the runtime's memory, reachable from any node. A copy on
    the memory actor's node opens the file itself, as the memory client does.

    Example:
        >>> memory = start_memory_actor(name="memory", namespace="arvo",
        ...     path="/tmp/arvo.sqlite")  # doctest: +SKIP
        >>> store = memory.timer_store()  # doctest: +SKIP
        >>> asyncio.run(store.pending())  # doctest: +SKIP
        0
    """

    def __init__(self, memory: ActorMachineMemory) -> None:
        self.memory = memory
        self._direct: SQLiteTimerStore | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"memory": self.memory, "_direct": None}

    async def _call(self, operation: str, *args: Any) -> Any:
        if self.memory._direct_memory() is not None:
            if self._direct is None:
                self._direct = SQLiteTimerStore(self.memory.path)
            return await getattr(self._direct, operation)(*args)
        try:
            ok, value = await self.memory.actor.timer_call.remote(operation, *args)
        except ray.exceptions.RayError as exc:
            raise MemoryBackendError(
                f"The memory actor is unreachable ({type(exc).__name__}): {exc}",
                operation=f"timers.{operation}",
                backend="ray-actor",
            ) from exc
        if not ok:
            raise value
        return value

    async def add(self, timer: PendingTimer) -> bool:
        return bool(await self._call("add", timer))

    async def cancel(self, id: str) -> bool:
        return bool(await self._call("cancel", id))

    async def due(self, now: float, limit: int) -> list[PendingTimer]:
        return await self._call("due", now, limit)  # type: ignore[no-any-return]

    async def remove(self, ids: list[str]) -> int:
        return int(await self._call("remove", ids))

    async def pending(self) -> int:
        return int(await self._call("pending"))

    async def next_due(self) -> float | None:
        return await self._call("next_due")  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"ActorTimerStore({self.memory.path!r})"


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """A dict to hand on; a dict stays itself, keeping a text or digest already computed for
    it (:func:`arvo_ray.memory._json.for_write`)."""
    return record if isinstance(record, dict) else dict(record)


_BATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Batcher[Any, Any]]] = (
    weakref.WeakKeyDictionary()
)


def _batcher_for(actor: Any) -> Batcher[tuple[str, str, tuple[Any, ...]], tuple[bool, Any]]:
    """The calls of every client of ``actor`` in this process and event loop, batched: a host
    with hundreds of steps in flight sends them in a few actor calls, not hundreds."""
    per_actor = _BATCHERS.setdefault(asyncio.get_running_loop(), {})
    key = actor._actor_id.hex()
    batcher = per_actor.get(key)
    if batcher is None:
        batcher = per_actor[key] = Batcher(
            lambda calls: actor.call_batch.remote(calls), max_batch=256, max_inflight=2
        )
    return batcher


def start_memory_actor(
    *,
    name: str,
    namespace: str,
    path: str,
    lock_ttl: float = DEFAULT_LOCK_TTL,
    direct: bool = True,
) -> ActorMachineMemory:
    """Start (or find) the named memory actor on the head node and return a client.

    With ``direct=False`` every call goes through the actor, even from the head node.
    """
    actor = named_actor(
        MemoryActor,
        name,
        namespace,
        max_concurrency=1000,
        resources={HEAD_NODE_RESOURCE: 0.001},
    ).remote(path, lock_ttl)
    node_id: str = ray.get(actor.node_id.remote())
    return ActorMachineMemory(actor, path=path, node_id=node_id, lock_ttl=lock_ttl, direct=direct)
