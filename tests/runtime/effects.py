"""Counting handler side effects across Ray processes: a ledger in a SQLite file.

Real handlers have side effects (a database write, an API call). :class:`CountingHandler` wraps
a handler and writes one ledger row per execution, *before* the handler runs, with the event's
id and the time, from whichever worker process runs it. A test then compares the executions
with what a fault-free run needs: each event id handled once.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any

import ray.cloudpickle

from arvo_ray.core import ArvoEvent
from arvo_ray.examples.number_domain import SQLiteKeyValueStore
from arvo_ray.handler import ExecutionResult, IArvoEventHandler, OtelInherit


class EffectLedger(SQLiteKeyValueStore):
    """One row per handler execution: (handler, event id, subject, unix time, unix time the
    event was made).

    A SQLite file shared by every process (the number domain's store, with a table of its own).
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._connection().execute(
            "CREATE TABLE IF NOT EXISTS effects (handler TEXT NOT NULL, event_id TEXT NOT NULL,"
            " subject TEXT NOT NULL, at REAL, made REAL)"
        )

    def record(self, handler: str, event: ArvoEvent) -> None:
        made = datetime.fromisoformat(event.time).timestamp()
        self._connection().execute(
            "INSERT INTO effects VALUES (?, ?, ?, ?, ?)",
            (handler, event.id, event.subject, time.time(), made),
        )

    def rows(self) -> list[tuple[str, str, str, float, float]]:
        return list(self._connection().execute("SELECT * FROM effects ORDER BY at"))

    def executions(self, subject: str | None = None) -> Counter[tuple[str, str]]:
        """How often each (handler, event id) ran (for events of ``subject``, if given)."""
        return Counter(
            (handler, event_id)
            for handler, event_id, of, _, _ in self.rows()
            if subject is None or of == subject
        )

    def doubled(self) -> dict[tuple[str, str], tuple[float, list[float]]]:
        """(handler, event id) that ran more than once: when the event was made, and the
        times of every run."""
        times: dict[tuple[str, str], tuple[float, list[float]]] = {}
        for handler, event_id, _, at, made in self.rows():
            times.setdefault((handler, event_id), (made, []))[1].append(at)
        return {key: (made, runs) for key, (made, runs) in times.items() if len(runs) > 1}


class CountingHandler:
    """An :class:`~arvo_ray.handler.IArvoEventHandler` that records each execution first."""

    def __init__(self, inner: IArvoEventHandler, ledger: EffectLedger) -> None:
        self.inner = inner
        self.ledger = ledger

    @property
    def source(self) -> str:
        return self.inner.source

    @property
    def system_error_schema(self) -> Any:
        return self.inner.system_error_schema

    def check_input(self, event: ArvoEvent) -> None:
        self.inner.check_input(event)  # type: ignore[attr-defined]

    async def execute(
        self, event: ArvoEvent, *, otel_inherit: OtelInherit = "event"
    ) -> ExecutionResult:
        self.ledger.record(self.source, event)
        return await self.inner.execute(event, otel_inherit=otel_inherit)


def counted(handlers: list[Any], ledger: EffectLedger) -> list[Any]:
    return [CountingHandler(handler, ledger) for handler in handlers]


class SlowCommits:
    """A memory (the four calls and ``list_ids``) that pauses after each write it commits with
    events in the outbox: the step's result is then on its way while the record already holds
    them, a window a recovery sweep can fall into."""

    def __init__(self, inner: Any, pause: float) -> None:
        self.inner = inner
        self.pause = pause

    @property
    def owner(self) -> str:
        return str(self.inner.owner)

    @property
    def lock_ttl(self) -> float:
        return float(self.inner.lock_ttl)

    def for_owner(self, owner: str) -> SlowCommits:
        return SlowCommits(self.inner.for_owner(owner), self.pause)

    async def read(self, id: str) -> Any:
        return await self.inner.read(id)

    async def write(self, id: str, data: Any, prev: Any) -> None:
        await self.inner.write(id, data, prev)
        if data.get("outbox"):
            await asyncio.sleep(self.pause)

    async def lock(self, id: str) -> bool:
        return bool(await self.inner.lock(id))

    async def unlock(self, id: str) -> bool:
        return bool(await self.inner.unlock(id))

    async def list_ids(self, prefix: str = "") -> list[str]:
        return list(await self.inner.list_ids(prefix))


class UntilWaiting:
    """A wait for the slow lookup service that ends once ``company`` of its calls wait in
    their process at the same moment (counted, not timed); ``patience`` seconds end a wait
    that never gets there, so a failing test fails instead of hanging."""

    def __init__(self, company: int, patience: float = 120.0) -> None:
        self.company = company
        self.patience = patience
        self.reached = False

    async def __call__(self, request: Any) -> None:
        from arvo_ray.examples.slow_service import waiting_calls

        deadline = time.monotonic() + self.patience
        while not self.reached and time.monotonic() < deadline:
            self.reached = waiting_calls() >= self.company  # then every waiting call ends
            await asyncio.sleep(0.01)


class UntilFileExists:
    """A wait for the slow lookup service: queries named ``hold`` wait until ``path`` exists."""

    def __init__(self, path: str, hold: str = "slow") -> None:
        self.path = path
        self.hold = hold

    async def __call__(self, request: Any) -> None:
        while request.query == self.hold and not os.path.exists(self.path):
            await asyncio.sleep(0.01)


# Ray workers cannot import the test tree: ship these classes by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
