"""CPU per step of a long workflow: its record's history re-encoded, or carried over.

A workflow record keeps its first ``keep_history`` steps (100 under the Ray runtime), so a long
workflow's record grows to some 120 KiB. Each step reads the record through
``CachedMachineMemory`` (SQLite underneath), adds its history entry and writes the record
back, as the workflow host does. With the history as a plain list, every step encodes every
entry again (twice: the stored text and the canonical digest); as a ``CarriedHistory``, the
memory splices in the encodings it kept and encodes only the new entry.

The two run alternately, ``--runs`` times each, in one process; the table shows the median
CPU-ms per step of each and their ratio.

Usage::

    python benchmarks/history.py
    python benchmarks/history.py --steps 500 --runs 7
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from arvo_ray.memory import (
    CachedMachineMemory,
    CarriedHistory,
    SQLiteMachineMemory,
    lock_and_read,
    write_and_unlock,
)

KEEP_HISTORY = 100
EVENT = {
    "id": "6b1c3f0e-9a57-4d1e-b3f2-0c8e4f1d2a77",
    "source": "com.example.orders",
    "type": "com.example.order.placed",
    "subject": "eJwlzVsKgzAQheG9zLMJ0aYY3M0YRzqQS4lRhJC9O7Sv54P" * 3,
    "data": {"order": 1, "items": ["a", "b", "c"], "note": "text " * 10},
    "time": "2026-11-30T11:35:30.047+00:00",
}


async def one_run(folder: Path, steps: int, carried: bool) -> float:
    """CPU seconds per step over ``steps`` steps of one workflow record."""
    memory = CachedMachineMemory(SQLiteMachineMemory(folder / f"{time.time_ns()}.sqlite3"))
    await memory.write("w", {"status": "active", "state": {"n": 0}, "history": []}, None)
    started = time.process_time()
    for step in range(steps):
        acquired, record = await lock_and_read(memory, "w")
        assert acquired and record is not None
        old: list[Any] = record["history"]
        history = CarriedHistory.of(old) if carried else list(old)
        if len(history) < KEEP_HISTORY:
            history.append({"consumed": EVENT, "produced": [EVENT, EVENT], "state": {"n": step}})
        await write_and_unlock(
            memory, "w", {**record, "state": {"n": step}, "history": history}, record
        )
    return (time.process_time() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="arvo-history-"))
    figures: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.runs):
        for carried in (False, True):
            figures[carried].append(asyncio.run(one_run(folder, args.steps, carried)))
    plain, carried_over = (1000 * statistics.median(figures[kind]) for kind in (False, True))
    print(
        f"{args.steps} steps of one workflow, history kept for {KEEP_HISTORY} steps, median of "
        f"{args.runs} alternating runs (CachedMachineMemory over SQLite)"
    )
    print(f"  history re-encoded (plain list): {plain:.3f} CPU-ms/step")
    print(
        f"  history carried over:            {carried_over:.3f} CPU-ms/step "
        f"({carried_over / plain:.2f}x)"
    )


if __name__ == "__main__":
    main()
