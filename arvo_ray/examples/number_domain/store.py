"""A key-value store the value handlers can share across processes (a SQLite table).

In one process a ``dict`` is enough; on Ray each handler task may run in another worker
process, so the number domain's store must live outside the processes: this one keeps the
values in a SQLite file and pickles by path.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

__all__ = ["SQLiteKeyValueStore"]


class SQLiteKeyValueStore(MutableMapping[str, Any]):
    """A ``MutableMapping`` of JSON values stored in a SQLite file (safe across processes)."""

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self._local = threading.local()
        with self._connection() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            self._local.connection = connection
        return connection

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._local = threading.local()

    def __getitem__(self, key: str) -> Any:
        row = self._connection().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return json.loads(row[0])

    def __setitem__(self, key: str, value: Any) -> None:
        self._connection().execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def __delitem__(self, key: str) -> None:
        if self._connection().execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([row[0] for row in self._connection().execute("SELECT key FROM kv")])

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM kv").fetchone()[0])

    def __repr__(self) -> str:
        return f"SQLiteKeyValueStore({self.path!r})"
