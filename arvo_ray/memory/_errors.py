"""Errors raised by machine-memory backends, grouped by what the caller can do about them.

::

    RuntimeError
    └── MachineMemoryError            any failure of a machine-memory operation (attribute ``id``)
        ├── StaleRecordError          compare-and-set lost: re-read and retry the step
        ├── LockNotHeldError          fencing: another owner holds the lock on this id
        │   └── LockExpiredError      fencing: this owner's own lock lapsed before the write
        └── MemoryBackendError        the store itself failed (I/O, corrupt file, no connection)

Plain misuse (an empty id, ``None`` data, a non-JSON record) raises ``ValueError`` or
``TypeError`` instead, with the original's message text where the spec fixes it.

The workflow layer maps these to ``TransactionViolation`` causes (``READ_FAILURE``,
``WRITE_FAILURE``, ``LOCK_FAILURE``); this module deliberately does not import it, so the
memory layer stays usable on its own. Every error pickles with its attributes, because the Ray
runtime ships them between processes.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LockExpiredError",
    "LockNotHeldError",
    "MachineMemoryError",
    "MemoryBackendError",
    "StaleRecordError",
    "short_id",
]

_MAX_ID_CHARS = 48


def short_id(id: str) -> str:
    """Shorten a long subject for messages, keeping both ends and the length.

    Subjects are base64 text of up to a few KB; quoting one whole drowns the message. The head
    and tail are usually enough to tell two subjects apart in a log.

    Example:
        >>> short_id("abc")
        'abc'
        >>> short_id("x" * 100)
        'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxx (100 chars)'
    """
    if len(id) <= _MAX_ID_CHARS:
        return id
    return f"{id[:30]}...{id[-12:]} ({len(id)} chars)"


def _restore(cls: type[MachineMemoryError], message: str, state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    RuntimeError.__init__(error, message)
    error.__dict__.update(state)
    return error


class MachineMemoryError(RuntimeError):
    """A machine-memory operation failed.

    Attributes:
        id: The machine id (workflow subject) the operation was about, or ``None``.
        message: The full message.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = SimpleMachineMemory()
        >>> asyncio.run(memory.write("order-1", {"n": 1}, None))
        >>> try:  # one except clause for every way a memory operation can fail
        ...     asyncio.run(memory.write("order-1", {"n": 2}, None))
        ... except MachineMemoryError as error:
        ...     print(type(error).__name__, error.id)
        StaleRecordError order-1
    """

    def __init__(self, message: str, *, id: str | None = None) -> None:
        self.id = id
        self.message = message
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.message, dict(self.__dict__)))


class StaleRecordError(MachineMemoryError):
    """The compare-and-set write lost: the stored record is not the ``prev`` the caller read.

    Someone else wrote the record (or created it, or deleted it) since this caller read it.
    Re-read the record and run the step again; do not retry the same write.

    Attributes:
        id: The machine id.
        current_version: The version now stored, or ``None`` when no record exists.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> memory = SimpleMachineMemory()
        >>> asyncio.run(memory.write("order-1", {"n": 1}, None))
        >>> try:  # this caller read {"n": 0}, but {"n": 1} was written since
        ...     asyncio.run(memory.write("order-1", {"n": 2}, {"n": 0}))
        ... except StaleRecordError as error:
        ...     print(error.id, error.current_version)
        order-1 1
    """

    def __init__(self, message: str, *, id: str, current_version: int | None) -> None:
        self.current_version = current_version
        super().__init__(message, id=id)


class LockNotHeldError(MachineMemoryError):
    """The write was fenced off: the record is locked by an owner other than the writer.

    Attributes:
        id: The machine id.
        owner: The writer's owner token.
        holder: The owner token holding the lock now, or ``None`` when nobody holds it.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> worker_a = SimpleMachineMemory(owner="worker-a")
        >>> asyncio.run(worker_a.lock("order-1"))
        True
        >>> try:
        ...     asyncio.run(worker_a.for_owner("worker-b").write("order-1", {"n": 1}, None))
        ... except LockNotHeldError as error:
        ...     print(error.owner, error.holder)
        worker-b worker-a
    """

    def __init__(self, message: str, *, id: str, owner: str, holder: str | None) -> None:
        self.owner = owner
        self.holder = holder
        super().__init__(message, id=id)


class LockExpiredError(LockNotHeldError):
    """The writer locked this id, but its lock lapsed (TTL passed or forced open) before the write.

    Another owner may have taken the lock and may be running the same step, so the write is
    refused even if the compare-and-set would pass. Re-acquire the lock, re-read, and retry; if
    steps routinely outlive the TTL, raise ``lock_ttl``.

    Example:
        >>> import asyncio
        >>> from arvo_ray.memory import SimpleMachineMemory
        >>> now = [0.0]
        >>> memory = SimpleMachineMemory(owner="worker-a", lock_ttl=30, clock=lambda: now[0])
        >>> asyncio.run(memory.lock("order-1"))
        True
        >>> now[0] = 60.0  # the step took longer than the 30 s TTL
        >>> try:
        ...     asyncio.run(memory.write("order-1", {"n": 1}, None))
        ... except LockExpiredError as error:
        ...     print(error.owner, error.holder)
        worker-a None
    """


class MemoryBackendError(MachineMemoryError):
    """The storage itself failed: I/O error, corrupt file, unusable path, refused connection.

    Attributes:
        id: The machine id, or ``None`` for failures not tied to one record (opening the store).
        operation: ``"open"``, ``"read"``, ``"write"``, ``"lock"``, ``"unlock"`` or an
            inspection helper's name.
        backend: A short description of the store, e.g. ``"SQLite '/var/arvo/memory.db'"``.

    Example:
        >>> import tempfile
        >>> from arvo_ray.memory import SQLiteMachineMemory
        >>> try:
        ...     SQLiteMachineMemory(tempfile.mkdtemp())  # a directory, not a database file
        ... except MemoryBackendError as error:
        ...     print(error.operation, error.id, error.backend)
        open None SQLite '...'
    """

    def __init__(
        self, message: str, *, operation: str, backend: str, id: str | None = None
    ) -> None:
        self.operation = operation
        self.backend = backend
        super().__init__(message, id=id)
