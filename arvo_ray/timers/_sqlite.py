"""``SQLiteTimerStore``: pending timers in a SQLite file, indexed by due time.

The timers of one node's runtime can share the memory's file (their own table). Finding what
is due is an index range scan, so 100,000 pending timers cost disk, not time. Calls run in a
worker thread; one connection per store, guarded by a lock. Picklable: a copy reconnects.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from arvo_ray.timers._store import PendingTimer

__all__ = ["SQLiteTimerStore"]

_T = TypeVar("_T")


class SQLiteTimerStore:
    """Pending timers in the table ``arvo_timers`` of the SQLite file ``path``.

    Example:
        >>> import asyncio, tempfile, os
        >>> store = SQLiteTimerStore(os.path.join(tempfile.mkdtemp(), "timers.sqlite3"))
        >>> asyncio.run(store.add(PendingTimer(10.0, "t1", {"id": "t1"})))
        True
        >>> [t.id for t in asyncio.run(store.due(now=12.0, limit=10))]
        ['t1']
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS arvo_timers"
                " (id TEXT PRIMARY KEY, due_at REAL NOT NULL, request TEXT NOT NULL)"
            )
            connection.execute(
                "CREATE INDEX IF NOT EXISTS arvo_timers_due ON arvo_timers (due_at, id)"
            )
            self._connection = connection
        return self._connection

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def locked() -> _T:
            with self._lock:
                return work(self._connect())

        return await asyncio.to_thread(locked)

    async def add(self, timer: PendingTimer) -> bool:
        text = json.dumps(timer.request, separators=(",", ":"))
        return await self._run(
            lambda c: (
                c.execute(
                    "INSERT OR IGNORE INTO arvo_timers (id, due_at, request) VALUES (?, ?, ?)",
                    (timer.id, timer.due_at, text),
                ).rowcount
                == 1
            )
        )

    async def cancel(self, id: str) -> bool:
        return await self._run(
            lambda c: c.execute("DELETE FROM arvo_timers WHERE id = ?", (id,)).rowcount == 1
        )

    async def due(self, now: float, limit: int) -> list[PendingTimer]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT due_at, id, request FROM arvo_timers WHERE due_at <= ?"
                " ORDER BY due_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
        )
        return [PendingTimer(due_at, id, json.loads(request)) for due_at, id, request in rows]

    async def remove(self, ids: list[str]) -> int:
        def delete(connection: sqlite3.Connection) -> int:
            removed = 0
            connection.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    removed += connection.execute(
                        f"DELETE FROM arvo_timers WHERE id IN ({marks})", chunk
                    ).rowcount
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return removed

        return await self._run(delete) if ids else 0

    async def pending(self) -> int:
        count: int = await self._run(
            lambda c: c.execute("SELECT count(*) FROM arvo_timers").fetchone()[0]
        )
        return count

    async def next_due(self) -> float | None:
        due: float | None = await self._run(
            lambda c: c.execute("SELECT min(due_at) FROM arvo_timers").fetchone()[0]
        )
        return due

    def close(self) -> None:
        """Close the connection (a later call reconnects)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __repr__(self) -> str:
        return f"SQLiteTimerStore({str(self.path)!r})"
