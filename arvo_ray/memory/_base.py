"""What every backend shares: owner/TTL bookkeeping, the fencing and CAS decisions, messages.

The decisions are plain functions over plain values (who holds the lock, until when, which
version is stored) so that the in-process and SQLite backends run the very same rules, and the
Redis backend's Lua script can be checked against them. No I/O here.
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from collections.abc import Callable
from typing import Any, Self

from arvo_ray.memory._errors import (
    LockExpiredError,
    LockNotHeldError,
    MemoryBackendError,
    StaleRecordError,
    short_id,
)

__all__ = [
    "DEFAULT_LOCK_TTL",
    "BaseMachineMemory",
    "Clock",
    "check_fencing",
    "expired_error",
    "format_time",
    "not_held_error",
    "stale_error",
]

Clock = Callable[[], float]
"""Returns Unix time in seconds (``time.time`` by default; tests inject a fake)."""

DEFAULT_LOCK_TTL = 30.0
"""Seconds. Long enough for any single workflow step, short enough to unblock after a crash."""


def format_time(timestamp: float) -> str:
    """Unix time as an ISO-8601 UTC string with milliseconds, for messages."""
    moment = time.gmtime(timestamp)
    millis = int((timestamp % 1) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", moment) + f".{millis:03d}Z"


def stale_error(id: str, *, prev_given: bool, current_version: int | None) -> StaleRecordError:
    """The compare-and-set loss, worded for the three ways it happens."""
    name = short_id(id)
    if not prev_given:
        why = (
            f"a record already exists (version {current_version}) but prev=None claimed it "
            "was new; read the record and pass it as prev"
        )
    elif current_version is None:
        why = (
            "no record exists but prev was given; it was cleared or never written, "
            "so write with prev=None to create it"
        )
    else:
        why = (
            f"the stored record (version {current_version}) is not the prev that was read; "
            "another writer committed first, so re-read the record and retry the step"
        )
    return StaleRecordError(
        f"Machine memory write for {name!r} rejected: {why}.",
        id=id,
        current_version=current_version,
    )


def not_held_error(
    id: str, *, owner: str, holder: str, expires_at: float | None
) -> LockNotHeldError:
    """Another owner holds the lock: only the holder may write until it releases or lapses."""
    until = f" until {format_time(expires_at)}" if expires_at is not None else ""
    return LockNotHeldError(
        f"Machine memory write for {short_id(id)!r} rejected: the record is locked by owner "
        f"{holder!r}{until}, and only the lock holder may write (this is owner {owner!r}). "
        "Lock the id before writing, or retry after the holder releases it.",
        id=id,
        owner=owner,
        holder=holder,
    )


def expired_error(id: str, *, owner: str, holder: str | None, lock_ttl: float) -> LockExpiredError:
    """This owner locked the id but lost the lock before writing: another step may be running."""
    now = f"it is now held by {holder!r}" if holder else "nobody holds it now"
    return LockExpiredError(
        f"Machine memory write for {short_id(id)!r} rejected: owner {owner!r} locked it, but "
        f"the lock lapsed (TTL {lock_ttl:g} s) or was forced open before the write; {now}. "
        "Re-acquire the lock, re-read the record and retry the step; raise lock_ttl if "
        "steps take longer than the TTL.",
        id=id,
        owner=owner,
        holder=holder,
    )


def check_fencing(
    id: str,
    *,
    owner: str,
    expects_lock: bool,
    holder: str | None,
    holder_expires_at: float | None,
    now: float,
    lock_ttl: float,
) -> None:
    """Apply the fencing rules to the lock currently stored for ``id``.

    Args:
        id: The machine id being written.
        owner: The writer.
        expects_lock: The writer locked ``id`` and has not unlocked it, so it must still hold it.
        holder: The owner recorded in the lock, or ``None`` when there is no lock.
        holder_expires_at: When that lock lapses (``None`` when there is no lock).
        now: The current time on the same clock as ``holder_expires_at``.
        lock_ttl: The writer's TTL, for the message.

    Raises:
        LockExpiredError: ``expects_lock`` but the writer no longer holds a live lock.
        LockNotHeldError: another owner holds a live lock.
    """
    live = holder is not None and holder_expires_at is not None and holder_expires_at > now
    if expects_lock:
        if not (live and holder == owner):
            raise expired_error(id, owner=owner, holder=holder if live else None, lock_ttl=lock_ttl)
    elif live and holder != owner:
        assert holder is not None
        raise not_held_error(id, owner=owner, holder=holder, expires_at=holder_expires_at)


class BaseMachineMemory:
    """Owner, TTL and "which ids did this view lock" bookkeeping shared by the backends.

    Subclasses keep their storage handle in attributes that :meth:`for_owner` copies by
    reference, so views share storage while each has its own owner and lock set.
    """

    _owner: str
    _lock_ttl: float
    _held: set[str]

    def _init_owner(self, owner: str | None, lock_ttl: float) -> None:
        if owner is None:
            owner = uuid.uuid4().hex
        self._owner = _check_owner(owner)
        if isinstance(lock_ttl, bool) or not isinstance(lock_ttl, int | float):
            raise TypeError(f"lock_ttl must be a number of seconds, got {type(lock_ttl).__name__}")
        if not math.isfinite(lock_ttl) or lock_ttl <= 0:
            raise ValueError(
                f"lock_ttl must be a positive, finite number of seconds (got {lock_ttl!r}); "
                "locks are mandatory-TTL so that a crashed owner cannot block a workflow forever"
            )
        self._lock_ttl = float(lock_ttl)
        # Ids this view locked and has not unlocked: a write to one of them must still hold it.
        self._held = set()

    @property
    def owner(self) -> str:
        """The owner token this instance locks and writes as."""
        return self._owner

    @property
    def lock_ttl(self) -> float:
        """Seconds after which a lock taken by this instance lapses."""
        return self._lock_ttl

    def for_owner(self, owner: str) -> Self:
        """A view on the same storage and connection that acts as ``owner``.

        Args:
            owner: A non-empty owner token, e.g. ``f"{actor_name}:{event_id}"``.

        Returns:
            An instance of the same type sharing this one's storage, TTL and configuration,
            with its own owner and its own record of which ids it has locked.
        """
        view = object.__new__(type(self))
        # Not copy.copy: that goes through __getstate__/__setstate__, which (for the
        # picklable backends) would drop the shared connection instead of sharing it.
        view.__dict__.update(self.__dict__)
        view._owner = _check_owner(owner)
        view._held = set()
        return view

    async def unlock(self, id: str) -> bool:
        raise NotImplementedError

    async def _locked_and_decoded(
        self, id: str, decode: Callable[[], dict[str, Any] | None]
    ) -> tuple[bool, dict[str, Any] | None]:
        """What a fused ``lock_and_read`` that acquired ``id`` returns: the lock is held, and
        a stored record that cannot be decoded releases it before the error is raised."""
        self._held.add(id)
        try:
            return True, decode()
        except MemoryBackendError:
            with contextlib.suppress(Exception):
                await self.unlock(id)
            raise

    def _state_for_pickle(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_held"] = set()  # a lock taken in this process is not "held" by a copy elsewhere
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()}, owner={self._owner!r}, lock_ttl={self._lock_ttl:g})"

    def _describe(self) -> str:
        return ""


def _check_owner(owner: object) -> str:
    if not isinstance(owner, str) or not owner:
        raise ValueError(f"owner must be a non-empty str, got {owner!r}")
    return owner
