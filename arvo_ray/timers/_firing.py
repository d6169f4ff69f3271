"""``TimerFiring``: the loop that delivers what falls due, once per timer.

It sleeps until the next timer is due (at most ``poll`` seconds, so a timer set for sooner
is not missed), delivers every due reply concurrently, and removes a timer only once its
reply was handed on. A delivery that fails leaves its timer pending: it fires again on the
next turn, with the same reply id. The runtime runs one on a broker shard; in-process, run
one beside a ``SimpleEventBroker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from arvo_ray.core import ArvoEvent
from arvo_ray.timers._service import TimerService

__all__ = ["TimerFiring"]

_logger = logging.getLogger("arvo_ray.timers")


class TimerFiring:
    """Fires the due timers of ``service`` through ``deliver(event, attempt)`` (``True``:
    handed on): timer replies, and events whose handler retries after a deferral.

    Example:
        >>> import asyncio
        >>> from arvo_ray.broker import create_simple_event_broker
        >>> service = TimerService()
        >>> broker = create_simple_event_broker([*service.handlers])
        >>> async def deliver(event, attempt):
        ...     await broker.deliver(event)
        ...     return True
        >>> firing = TimerFiring(service, deliver, poll=0.5)
        >>> asyncio.run(firing.fire_once())  # nothing is due: (due, fired)
        (0, 0)

        ``asyncio.create_task(firing.run())`` keeps firing until :meth:`stop`.
    """

    def __init__(
        self,
        service: TimerService,
        deliver: Callable[[ArvoEvent, int], Awaitable[bool]],
        *,
        poll: float,
        batch: int = 1000,
    ) -> None:
        self.service = service
        self.deliver = deliver
        self.poll = poll
        self.batch = batch
        self.failed = 0
        self._stopped = False
        self._wake: asyncio.Event | None = None

    def stop(self) -> None:
        """End :meth:`run` after the delivery under way (a flag, not a cancellation: some
        store clients swallow a cancellation that lands inside a call)."""
        self._stopped = True
        if self._wake is not None:
            self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        self._wake = self._wake or asyncio.Event()
        if not self._stopped:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)

    async def fire_once(self) -> tuple[int, int]:
        """Deliver the replies of the timers due now: (due, fired)."""
        due = await self.service.due_deliveries(self.batch)
        handed_on = await asyncio.gather(*(self._delivered(*item) for item in due))
        delivered = [item for item, ok in zip(due, handed_on, strict=True) if ok]
        fired = [event for event, _ in delivered]
        await self.service.fired(fired, [attempt for _, attempt in delivered])
        self.failed += len(due) - len(fired)
        return len(due), len(fired)

    async def _delivered(self, reply: ArvoEvent, attempt: int) -> bool:
        try:
            return await self.deliver(reply, attempt)
        except Exception:
            _logger.exception("Timer reply %s could not be delivered; it fires again", reply.id)
            return False

    async def run(self) -> None:
        """Fire until :meth:`stop`: sleep until the next timer is due, at most ``poll`` s."""
        while not self._stopped:
            try:
                due, fired = await self.fire_once()
                if due == self.batch and fired == due:
                    continue  # more may be due now
                next_due = await self.service.store.next_due()
            except Exception:
                _logger.exception("Timer firing failed; retrying in %.2f s", self.poll)
                await self._sleep(self.poll)
                continue
            wait = self.poll if next_due is None or fired < due else next_due - self.service.clock()
            await self._sleep(min(max(wait, 0.0), self.poll))
