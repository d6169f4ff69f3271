"""``WorkflowHost``: runs the workflow steps of many instances inside one process.

Both placements use it: an instance actor hosts exactly one workflow instance, a sharded host
actor hosts every instance whose subject hashes to it. Steps of one instance run one at a time
(a per-subject lock: async actors interleave coroutines); steps of different instances run
concurrently. Each step is the shared execution wrapper against the configured memory, kept
warm by a :class:`~arvo_ray.memory.CachedMachineMemory`. Nothing here imports Ray.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Sequence

from arvo_ray.core import ArvoEvent, TransactionViolation, is_violation_error
from arvo_ray.memory import CachedMachineMemory, IMachineMemory
from arvo_ray.runtime._outcome import StepOutcome
from arvo_ray.workflow import WorkflowHandler

__all__ = ["WorkflowHost"]

_logger = logging.getLogger("arvo_ray.runtime")


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
    ) -> None:
        self.memory = CachedMachineMemory(memory, max_entries=cache_entries)
        self.workflows: dict[str, WorkflowHandler] = {}
        for workflow in workflows:
            workflow.memory = self.memory
            workflow.track_outbox = outbox
            self.workflows[workflow.source] = workflow
        self.transaction_retries = transaction_retries
        self.retry_backoff = retry_backoff
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}
        self.steps = 0
        self.retries = 0
        self.duplicates = 0

    async def handle(self, event: ArvoEvent, acknowledged: Collection[str] = ()) -> StepOutcome:
        """Run one step; violations come back in the outcome, never raised.

        ``acknowledged`` are ids of events this instance emitted earlier that have been handed
        on: they leave its outbox with this step's write.
        """
        workflow = self.workflows.get(event.to or "")
        if workflow is None:
            return StepOutcome(error=LookupError(f"No workflow here for event to={event.to!r}"))
        subject = event.subject
        self._waiters[subject] = self._waiters.get(subject, 0) + 1
        lock = self._locks.setdefault(subject, asyncio.Lock())
        try:
            async with lock:
                return await self._step(workflow, event, acknowledged)
        finally:
            self._waiters[subject] -= 1
            if not self._waiters[subject]:
                del self._waiters[subject]
                del self._locks[subject]

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

    async def _step(
        self, workflow: WorkflowHandler, event: ArvoEvent, acknowledged: Collection[str]
    ) -> StepOutcome:
        self.steps += 1
        for attempt in range(self.transaction_retries + 1):
            try:
                result = await workflow.execute(event, acknowledged=acknowledged)
            except TransactionViolation as error:
                # A lost compare-and-set or a lock held elsewhere: re-read and try again.
                self.memory.forget(event.subject)
                if attempt == self.transaction_retries:
                    return StepOutcome(error=error)
                self.retries += 1
                await asyncio.sleep(self.retry_backoff * (2**attempt))
                continue
            except Exception as error:
                if not is_violation_error(error):
                    _logger.exception(
                        "Unexpected error in a workflow step",
                        extra={"arvo": {"event_id": event.id, "subject": event.subject}},
                    )
                return StepOutcome(error=error)
            self.duplicates += result.duplicate
            return StepOutcome(
                events=result.events,
                finished=await self._finished(event.subject),
                committed=result.committed,
                duplicate=result.duplicate,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _finished(self, subject: str) -> bool:
        record = await self.memory.read(subject)
        if record is None:
            return False
        return record.get("executionStatus") == "failure" or record.get("status") == "done"

    def forget(self, subject: str) -> None:
        """Drop the warm copy of an instance (it was passivated)."""
        self.memory.forget(subject)
