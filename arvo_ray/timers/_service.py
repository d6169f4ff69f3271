"""``TimerService``: sets, cancels and fires timers; its ``handlers`` plug into any broker.

Setting a timer answers nothing at once: the reply is the ``evt.arvo.timer.success`` event
that :meth:`TimerService.fire_due` emits once the timer is due, addressed to whoever asked,
on their subject, with the request as its parent. Its id is derived from the request, so a
reply fired twice (a crash between emitting and removing) is the same event, which a workflow
consumes once. The clock is injectable: tests move time, they never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from arvo_ray.core import (
    ArvoEvent,
    ContractViolation,
    SchemaRecord,
    create_arvo_event_factory,
)
from arvo_ray.core.kit import derived_event_id
from arvo_ray.handler import ExecutionResult, OtelInherit
from arvo_ray.timers._contract import (
    TimerCancel,
    TimerRequest,
    timer_cancel_contract,
    timer_contract,
)
from arvo_ray.timers._store import ITimerStore, PendingTimer, SimpleTimerStore

__all__ = ["TimerService"]

_T = TypeVar("_T")

_FIRED = "evt.arvo.timer.success"
_DEFERRED = "deferred"
_CANCELLED = "evt.arvo.timer.cancel.success"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _named(subject: str, name: str) -> str:
    """The store key of a named timer: unique within its subject."""
    return f"{subject}#{name}"


def _retry_key(event: ArvoEvent, attempt: int) -> str:
    """The store key of an event's deferred attempt: one pending per event and attempt (the
    next one is deferred while the current one is still pending)."""
    return f"{event.id}#attempt{attempt}"


def _key_of(reply: ArvoEvent, attempt: int) -> str:
    """The store key of what was due: the timer a fired reply answers, or a deferred retry."""
    if reply.type != _FIRED:
        return _retry_key(reply, attempt)
    name = reply.data.get("name")
    return reply.data["timer_id"] if name is None else _named(reply.subject, name)


class _Door:
    """One of the service's two topics, as an ``IArvoEventHandler``."""

    def __init__(self, service: TimerService, contract: Any) -> None:
        self.service = service
        self.contract = contract

    @property
    def source(self) -> str:
        return str(self.contract.type)

    @property
    def system_error_schema(self) -> SchemaRecord:
        return self.contract.system_error  # type: ignore[no-any-return]

    def check_input(self, event: ArvoEvent) -> None:
        self.service._validated(event, self.contract)

    async def execute(
        self, event: ArvoEvent, *, otel_inherit: OtelInherit = "event"
    ) -> ExecutionResult:
        if self.contract is timer_contract:
            await self.service.set(event)
            return ExecutionResult(events=[])
        return ExecutionResult(events=[await self.service.cancel(event)])


class TimerService:
    """Durable timers for workflows, over an :class:`ITimerStore`.

    Args:
        store: Where pending timers wait (default: in this process).
        clock: Seconds since the epoch.

    Example:
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> now = [1_000.0]
        >>> service = TimerService(clock=lambda: now[0])
        >>> request = create_arvo_event_factory(timer_contract.version("1.0.0")).accepts(
        ...     source="com.approval.flow", subject="s1", data={"delay": 60, "tag": "deadline"})
        >>> asyncio.run(service.set(request))
        True
        >>> asyncio.run(service.fire_due())  # not yet
        []
        >>> now[0] += 60
        >>> [(e.type, e.to, e.data["tag"]) for e in asyncio.run(service.fire_due())]
        [('evt.arvo.timer.success', 'com.approval.flow', 'deadline')]
    """

    def __init__(
        self, store: ITimerStore | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store: ITimerStore = store if store is not None else SimpleTimerStore()
        self.clock = clock
        self.fired_count = 0
        """Timers fired (delivered and removed) by this service."""
        self.handlers = [_Door(self, timer_contract), _Door(self, timer_cancel_contract)]
        """The request and cancel topics, for a broker's or runtime's handler list."""

    def _validated(self, event: ArvoEvent, contract: Any) -> Any:
        schema = TimerRequest if contract is timer_contract else TimerCancel
        if event.type != contract.type:
            raise ContractViolation(
                f"The timer service takes {contract.type}, got {event.type}",
                metadata={"event_id": event.id},
            )
        try:
            return schema.model_validate(event.data)
        except ValueError as error:
            raise ContractViolation(
                f"Timer request {event.id!r} is invalid: {error}", metadata={"event_id": event.id}
            ) from error

    async def set(self, event: ArvoEvent) -> bool:
        """Keep the timer ``event`` asks for; ``False`` if it was set already (a re-sent event).

        Raises:
            ContractViolation: neither or both of ``delay`` and ``due``, a negative delay, or a
                time that does not parse or has no offset.
        """
        request: TimerRequest = self._validated(event, timer_contract)
        due_at = (
            self.clock() + request.delay if request.delay is not None else request.due.timestamp()  # type: ignore[union-attr]
        )
        key = event.id if request.name is None else _named(event.subject, request.name)
        return await self.store.add(PendingTimer(due_at, key, event.to_dict()))

    async def cancel(self, event: ArvoEvent) -> ArvoEvent:
        """Cancel the timer ``event`` names; the answer says whether it was pending."""
        request: TimerCancel = self._validated(event, timer_cancel_contract)
        key = request.timer_id or _named(event.subject, request.name or "")
        cancelled = await self.store.cancel(key)
        answer = request.model_dump(exclude_none=True) | {"cancelled": cancelled}
        return self._reply(event, timer_cancel_contract, _CANCELLED, answer)

    async def due(self, limit: int = 1000) -> list[ArvoEvent]:
        """The replies of up to ``limit`` timers due now, earliest first. The timers stay
        pending until :meth:`fired` is told they were delivered."""
        return [event for event, _ in await self.due_deliveries(limit)]

    async def due_deliveries(self, limit: int = 1000) -> list[tuple[ArvoEvent, int]]:
        """What is due now, each with its attempt number: timer replies (attempt 1) and the
        events whose retry :meth:`defer` put off (the attempt they start)."""
        now = self.clock()
        due = []
        for timer in await self.store.due(now, limit):
            if _DEFERRED in timer.request:
                due.append(
                    (ArvoEvent.from_dict(timer.request[_DEFERRED]), timer.request["attempt"])
                )
                continue
            request = ArvoEvent.from_dict(timer.request)
            data = TimerRequest.model_validate(request.data)
            fired = {"timer_id": request.id, "name": data.name, "tag": data.tag}
            fired["due"] = _iso(timer.due_at)
            reply = self._reply(request, timer_contract, _FIRED, {**fired, "fired_at": _iso(now)})
            due.append((reply, 1))
        return due

    async def defer(self, event: ArvoEvent, attempt: int, delay: float) -> bool:
        """Keep ``event`` to be delivered again after ``delay`` seconds, as call number
        ``attempt`` of its handler's retry policy: a retry that waits in the store, not in a
        sleeping worker. ``False`` if that retry is already pending."""
        request = {_DEFERRED: event.to_dict(), "attempt": attempt}
        return await self.store.add(
            PendingTimer(self.clock() + delay, _retry_key(event, attempt), request)
        )

    async def fired(self, replies: list[ArvoEvent], attempts: list[int] | None = None) -> int:
        """What ``replies`` (with the ``attempts`` :meth:`due_deliveries` gave, for deferred
        retries) stands for was delivered: it stops being pending. How many were."""
        attempts = attempts or [1] * len(replies)
        keys = [_key_of(reply, n) for reply, n in zip(replies, attempts, strict=True)]
        removed = await self.store.remove(keys)
        self.fired_count += removed
        return removed

    async def fire_due(self, limit: int = 1000) -> list[ArvoEvent]:
        """The replies of the timers due now (up to ``limit``), which stop being pending at
        once. Call it again while it returns ``limit`` replies: more may be due.

        A reply lost after this returns (a crash before it reached its workflow) never comes
        back: :meth:`deliver_due` removes a timer only once its reply was delivered.
        """
        replies = await self.due(limit)
        await self.fired(replies)
        return replies

    async def deliver_due(
        self, deliver: Callable[[ArvoEvent], Awaitable[_T]], limit: int = 1000
    ) -> list[_T]:
        """Hand the reply of each timer due now to ``deliver`` (e.g. a broker's ``run``), in
        order, and return what it returned. A timer stops being pending once its reply was
        delivered: a crash in between fires it again, with the same reply id, which the
        workflow ignores once consumed. If ``deliver`` raises, that timer and the later ones
        stay pending, and the error propagates.
        """
        results = []
        for reply, attempt in await self.due_deliveries(limit):
            results.append(await deliver(reply))
            await self.fired([reply], [attempt])
        return results

    def _reply(self, request: ArvoEvent, contract: Any, type: str, data: Any) -> ArvoEvent:
        factory = create_arvo_event_factory(contract.version("1.0.0"))
        return factory.emits(
            type=type,
            source=contract.type,
            subject=request.subject,
            data=data,
            to=request.redirectto or request.source,
            parentid=request.id,
            accesscontrol=request.accesscontrol,
            id=derived_event_id(request, type, 0, None),
            executionunits=0,
        )

    async def pending(self) -> int:
        """How many timers wait."""
        return await self.store.pending()
