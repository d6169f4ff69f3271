"""``list_outboxes``: the records whose outbox still holds events, in one call (what a recovery
sweep reads instead of every record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arvo_ray.memory import SimpleMachineMemory, SQLiteMachineMemory


@pytest.fixture(params=["simple", "sqlite"])
def memory(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "simple":
        return SimpleMachineMemory()
    return SQLiteMachineMemory(str(tmp_path / "memory.sqlite3"))


async def test_only_records_with_events_in_their_outbox_are_listed(memory: Any) -> None:
    item = {"event": {"id": "e-1", "source": "s", "subject": "b", "type": "t"}}
    await memory.write("a-empty", {"status": "active", "outbox": []}, None)
    await memory.write("b-pending", {"status": "active", "outbox": [item, item]}, None)
    await memory.write("c-none", {"status": "done"}, None)
    await memory.write("d-odd", {"status": "done", "outbox": {"not": "a list"}}, None)
    await memory.write("e-text", {"note": 'a value with "outbox" in it'}, None)
    assert await memory.list_outboxes() == {"b-pending": [item, item]}

    await memory.write(
        "b-pending", {"status": "done", "outbox": []}, await memory.read("b-pending")
    )
    assert await memory.list_outboxes() == {}
