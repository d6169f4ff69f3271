"""``WorkflowHost``: runs the workflow steps of many instances inside one process.

Both placements use it: an instance actor hosts exactly one workflow instance, a sharded host
actor hosts every instance whose subject hashes to it. Steps of one instance run one at a time
(a per-subject lock: async actors interleave coroutines); steps of different instances run
concurrently. Each step is the shared execution wrapper against the configured memory, kept
warm by a :class:`~arvo_ray.memory.CachedMachineMemory`. Nothing here imports Ray.

The cache stays as fresh as the memory, because everything that writes the host's instances
goes through the host: its steps, and the acknowledgements that empty their outboxes
(:meth:`WorkflowHost.acknowledge`). Whatever else writes (a second runtime, an operator) is
caught by compare-and-set: the step fails its write, the entry is dropped and the step re-runs
on a fresh read. The one decision taken on a read alone, re-publishing what a redelivered
event's step emitted, is always re-checked against a fresh read, so a stale copy can never
re-publish events already handed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager

from arvo_ray.core import (
    ArvoEvent,
    TransactionViolation,
    TransactionViolationCause,
    is_violation_error,
)
from arvo_ray.core.kit import QUOTE_LIMIT, quote
from arvo_ray.handler import ExecutionResult
from arvo_ray.memory import CachedMachineMemory, IMachineMemory, StaleRecordError
from arvo_ray.runtime._outcome import StepOutcome
from arvo_ray.workflow import WorkflowHandler, is_finished

__all__ = ["WorkflowHost", "acknowledge_all", "remove_acknowledged"]

_logger = logging.getLogger("arvo_ray.runtime")


async def remove_acknowledged(memory: IMachineMemory, subject: str, ids: Collection[str]) -> bool:
    """Drop ``ids`` from the outbox of ``subject``'s record (compare-and-set, retried once).

    Returns whether a write was needed (``False``: nothing to remove, or no record).

    Raises:
        Exception: the write lost twice, or the memory failed; the caller keeps the
            acknowledgements for later.
    """
    for attempt in range(2):
        record = await memory.read(subject)
        outbox = (record or {}).get("outbox") or []
        kept = [item for item in outbox if item["event"]["id"] not in ids]
        if record is None or len(kept) == len(outbox):
            if not isinstance(memory, CachedMachineMemory) or attempt == 1:
                return False
            # A warm copy may not show the events yet: "nothing to do" is decided on the store.
            memory.forget(subject)
            continue
        try:
            await memory.write(subject, {**record, "outbox": kept}, record)
            return True
        except StaleRecordError:
            if attempt == 1:
                raise
            if isinstance(memory, CachedMachineMemory):
                memory.forget(subject)
    raise AssertionError("unreachable")  # pragma: no cover


async def acknowledge_all(
    memory: IMachineMemory,
    acknowledged: Mapping[str, Collection[str]],
    hold: Callable[[str], AbstractAsyncContextManager[None]] | None = None,
) -> tuple[int, dict[str, list[str]]]:
    """:func:`remove_acknowledged` for many subjects at once (each inside ``hold(subject)``).

    Returns how many records were written, and the acknowledgements that could not be.
    """

    async def one(subject: str) -> bool | None:
        try:
            if hold is None:
                return await remove_acknowledged(memory, subject, acknowledged[subject])
            async with hold(subject):
                return await remove_acknowledged(memory, subject, acknowledged[subject])
        except Exception:
            return None

    subjects = list(acknowledged)
    outcomes = await asyncio.gather(*(one(subject) for subject in subjects))
    left = {
        s: sorted(acknowledged[s]) for s, o in zip(subjects, outcomes, strict=True) if o is None
    }
    return sum(o is True for o in outcomes), left


class WorkflowHost:
    """Workflow handlers bound to one memory, with per-instance serialisation.

    Args:
        workflows: Orchestrators and resumables; each is routed the events whose ``to`` is its
            ``source``. They are re-bound to ``memory`` (their own memory is not used).
        memory: The source of truth for instance state.
        cache_entries: How many instance records to keep warm.
        transaction_retries: How often a step that lost a compare-and-set or found its lock
            taken is re-run (with backoff) before it is reported.
        outbox: Keep each step's emitted events in the record until acknowledged (see
            :attr:`~arvo_ray.workflow.WorkflowHandler.track_outbox`).
        history: Steps each record keeps for replays (see
            :attr:`~arvo_ray.workflow.WorkflowHandler.keep_history`).
        routed: The ``to`` values the runtime delivers (see
            :attr:`~arvo_ray.workflow.WorkflowHandler.routed`).
    """

    def __init__(
        self,
        workflows: Iterable[WorkflowHandler],
        memory: IMachineMemory,
        *,
        cache_entries: int = 4096,
        transaction_retries: int = 4,
        retry_backoff: float = 0.05,
        outbox: bool = True,
        history: int = 0,
        routed: Callable[[str], bool] | None = None,
    ) -> None:
        self.memory = CachedMachineMemory(memory, max_entries=cache_entries)
        self.workflows: dict[str, WorkflowHandler] = {}
        for workflow in workflows:
            workflow.memory = self.memory
            workflow.track_outbox = outbox
            workflow.keep_history = history
            workflow.routed = routed
            self.workflows[workflow.source] = workflow
        self.transaction_retries = transaction_retries
        self.retry_backoff = retry_backoff
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}
        self.steps = 0
        self.retries = 0
        self.duplicates = 0
        self.acknowledged = 0

    @contextlib.asynccontextmanager
    async def _instance(self, subject: str) -> AsyncIterator[None]:
        """Hold the instance ``subject`` for one step (or one acknowledgement)."""
        self._waiters[subject] = self._waiters.get(subject, 0) + 1
        lock = self._locks.setdefault(subject, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            self._waiters[subject] -= 1
            if not self._waiters[subject]:
                del self._waiters[subject]
                del self._locks[subject]

    async def handle(self, event: ArvoEvent, acknowledged: Collection[str] = ()) -> StepOutcome:
        """Run one step; violations come back in the outcome, never raised.

        ``acknowledged`` are ids of events this instance emitted earlier that have been handed
        on: they leave its outbox with this step's write.
        """
        workflow = self.workflows.get(event.to or "")
        if workflow is None:
            return StepOutcome(error=LookupError(f"No workflow here for event to={event.to!r}"))
        async with self._instance(event.subject):
            return await self._step(workflow, event, acknowledged)

    async def handle_batch(
        self, events: Sequence[ArvoEvent], acknowledged: Sequence[Collection[str]] | None = None
    ) -> list[StepOutcome]:
        """Handle events concurrently across instances, in order within each instance."""
        acks: Sequence[Collection[str]] = acknowledged or [()] * len(events)
        if len(events) == 1:
            return [await self.handle(events[0], acks[0])]
        return list(
            await asyncio.gather(
                *(self.handle(event, ack) for event, ack in zip(events, acks, strict=True))
            )
        )

    async def acknowledge(
        self, acknowledged: Mapping[str, Collection[str]]
    ) -> tuple[int, dict[str, list[str]]]:
        """Remove handed-on events from the outboxes of instances hosted here.

        Returns how many records were written, and the acknowledgements that could not be
        (to be sent again later).
        """
        written, left = await acknowledge_all(self.memory, acknowledged, self._instance)
        self.acknowledged += written
        return written, left

    async def _step(
        self, workflow: WorkflowHandler, event: ArvoEvent, acknowledged: Collection[str]
    ) -> StepOutcome:
        self.steps += 1
        subject = event.subject
        fresh = False
        attempt = 0
        while True:
            try:
                result = await workflow.execute(event, acknowledged=acknowledged)
            except TransactionViolation as error:
                # A lost compare-and-set or a lock held elsewhere: re-read and try again.
                self.memory.forget(subject)
                await self._release_own_lock(subject)
                if attempt == self.transaction_retries:
                    return StepOutcome(error=error)
                self.retries += 1
                await asyncio.sleep(self.retry_backoff * (2**attempt))
                attempt += 1
                continue
            except Exception as error:
                if not is_violation_error(error):
                    _logger.exception(
                        "Unexpected error in a workflow step",
                        extra={"arvo": {"event_id": event.id, "subject": subject}},
                    )
                elif (failure := await self._note_stall(event, error)) is not None:
                    # Without the note, a caller asking later for the answer would wait for
                    # one that never comes: report a transient failure, so the event stays
                    # undelivered and is tried again (its violation then noted).
                    return StepOutcome(
                        error=TransactionViolation(
                            TransactionViolationCause.WRITE_FAILURE,
                            f"Event {event.id} stalls workflow {subject!r} ({error}), and the "
                            f"note saying so could not be written: {failure!r}",
                        )
                    )
                return StepOutcome(error=error)
            if result.duplicate and result.events and not fresh:
                # Re-publishing is decided on the record read: never on a cached copy.
                self.memory.forget(subject)
                fresh = True
                continue
            self.duplicates += result.duplicate
            return StepOutcome(
                events=result.events,
                finished=await self._finished(subject),
                committed=result.committed,
                untracked=self._untracked(subject, result),
                duplicate=result.duplicate,
                late=result.late,
                orphan=result.orphan,
                answer=result.answer,
            )

    async def _note_stall(self, event: ArvoEvent, error: Exception) -> Exception | None:
        """Note on an active workflow's record that an event for it raised a final violation.

        The workflow now waits for an event that may never come (the violating one committed
        nothing), so a caller asking for its answer is told why at once instead of waiting.
        Returns the failure that kept the note from being written (``None``: it is there, or
        the workflow is not active). A write whose reply was lost is found on the next try.
        """
        self.memory.forget(event.subject)  # decide on the stored record, never a warm copy
        try:
            record = await self.memory.read(event.subject)
            if record is None or record.get("status") != "active" or record.get("stalled"):
                return None
            note = {
                "eventId": quote(event.id),
                "eventType": quote(event.type),
                "error": type(error).__name__,
                "message": quote(str(error), limit=QUOTE_LIMIT * 4),
            }
            await self.memory.write(event.subject, {**record, "stalled": note}, record)
        except Exception as failure:
            self.memory.forget(event.subject)
            return failure
        return None

    async def _release_own_lock(self, subject: str) -> None:
        """Release a lock this host's owner left on ``subject`` (a lock or unlock call that
        failed halfway, e.g. when the memory's process died).

        Safe because steps of one instance are serialised in this process: while this step
        runs, no other step of this owner holds that lock. A lock held by another owner is
        left alone (unlock is owner-scoped).
        """
        with contextlib.suppress(Exception):
            await self.memory.unlock(subject)

    async def reclaim_locks(self, family: str) -> int:
        """Force open the locks that earlier incarnations of this host left behind.

        ``family`` is the owner-token prefix every incarnation of this host uses (its actor
        name). A host that was restarted is the only one of its name, so such locks belong
        to a dead process; their holders' late writes are refused by fencing. Without this, a
        restarted host would wait out the lock TTL for every instance that was mid-step.
        """
        locks = getattr(self.memory.inner, "locks", None)
        force_unlock = getattr(self.memory.inner, "force_unlock", None)
        if locks is None or force_unlock is None:
            return 0
        reclaimed = 0
        for lock in await locks():
            owner = lock["owner"]
            if owner.startswith(family) and owner != self.memory.owner and not lock["expired"]:
                reclaimed += bool(await force_unlock(lock["id"]))
        if reclaimed:
            _logger.warning(
                "Reclaimed %d locks left by an earlier incarnation of %s", reclaimed, family
            )
        return reclaimed

    def _untracked(self, subject: str, result: ExecutionResult) -> frozenset[str]:
        """The emitted events the step's record keeps out of its outbox."""
        if not result.committed or result.duplicate or not result.events:
            return frozenset()
        kept = self.memory.outbox_ids(subject)
        if kept is None:  # not warm (the write failed, so it committed nothing): all kept
            return frozenset()
        return frozenset(e.id for e in result.events if e.id not in kept)

    async def _finished(self, subject: str) -> bool:
        marks = self.memory.peek(subject)  # the step just wrote it: warm unless the write failed
        return is_finished(marks if marks is not None else await self.memory.read(subject))

    def forget(self, subject: str) -> None:
        """Drop the warm copy of an instance (it was passivated)."""
        self.memory.forget(subject)
