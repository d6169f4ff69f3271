"""``CachedMachineMemory``: warm reads in front of a memory, never a wrong committed write."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from arvo_ray.memory import (
    CachedMachineMemory,
    CarriedHistory,
    IMachineMemory,
    SimpleMachineMemory,
    SQLiteMachineMemory,
    StaleRecordError,
    _json,
    lock_and_read,
    write_and_unlock,
)


class CountingMemory(SimpleMachineMemory):
    """Counts the reads that reach the real memory."""

    reads = 0

    async def read(self, id: str):  # type: ignore[override]
        self.reads += 1
        return await super().read(id)


async def test_reads_after_a_write_are_served_from_the_cache() -> None:
    """The record a step wrote is read back without touching the inner memory."""
    inner = CountingMemory()
    memory = CachedMachineMemory(inner)
    await memory.write("s", {"n": 1}, None)
    assert await memory.read("s") == {"n": 1}
    assert await memory.read("s") == {"n": 1}
    assert inner.reads == 0
    assert memory.hits == 2


async def test_a_miss_reads_through_and_is_then_cached() -> None:
    """A record written elsewhere is read once from the inner memory, then kept."""
    inner = CountingMemory()
    await inner.write("s", {"n": 1}, None)
    memory = CachedMachineMemory(inner)
    assert await memory.read("s") == {"n": 1}
    assert await memory.read("s") == {"n": 1}
    assert inner.reads == 1


async def test_missing_records_are_not_cached() -> None:
    """``None`` is never remembered, so a record created later is seen."""
    inner = CountingMemory()
    memory = CachedMachineMemory(inner)
    assert await memory.read("s") is None
    await inner.write("s", {"n": 1}, None)
    assert await memory.read("s") == {"n": 1}


async def test_reads_are_copies() -> None:
    """Mutating a record read from the cache does not change the cached one."""
    memory = CachedMachineMemory(SimpleMachineMemory())
    await memory.write("s", {"items": [1]}, None)
    record = await memory.read("s")
    assert record is not None
    record["items"].append(2)
    assert await memory.read("s") == {"items": [1]}


async def test_a_stale_cached_record_fails_the_write_and_is_dropped() -> None:
    """Another writer advanced the record: the write on the stale copy fails, the next read is fresh."""
    inner = SimpleMachineMemory()
    memory = CachedMachineMemory(inner)
    await memory.write("s", {"v": 1}, None)
    await inner.for_owner("other").write("s", {"v": 2}, {"v": 1})
    stale = await memory.read("s")
    assert stale == {"v": 1}
    with pytest.raises(StaleRecordError):
        await memory.write("s", {"v": 3}, stale)
    assert await memory.read("s") == {"v": 2}
    await memory.write("s", {"v": 3}, {"v": 2})
    assert await inner.read("s") == {"v": 3}


async def test_the_cache_is_bounded_least_recently_used_first() -> None:
    """Only ``max_entries`` records stay warm; the least recently used goes first."""
    inner = CountingMemory()
    memory = CachedMachineMemory(inner, max_entries=2)
    for name in ("a", "b"):
        await memory.write(name, {"id": name}, None)
    await memory.read("a")
    await memory.write("c", {"id": "c"}, None)
    await memory.read("a")
    assert inner.reads == 0
    await memory.read("b")
    assert inner.reads == 1


async def test_locks_and_owner_pass_through() -> None:
    """Locking is the inner memory's, per owner."""
    memory = CachedMachineMemory(SimpleMachineMemory(owner="me"))
    other = memory.for_owner("other")
    assert memory.owner == "me"
    assert await memory.lock("s") is True
    assert await other.lock("s") is False
    assert await memory.unlock("s") is True
    assert await other.lock("s") is True


@pytest.mark.parametrize("backend", ["sqlite", "simple"])
async def test_a_step_encodes_its_record_once(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warm lock → read → write → unlock encodes the new record once as text and once for its
    digest; the record read is compared by the digest it was read with, not encoded again."""
    inner: IMachineMemory = (
        SQLiteMachineMemory(tmp_path / "m.sqlite3")
        if backend == "sqlite"
        else SimpleMachineMemory()
    )
    memory = CachedMachineMemory(inner)
    await memory.write("s", {"n": 1, "big": list(range(50))}, None)
    digests, texts = Counter[int](), Counter[int]()
    real_digest, real_dumps = _json.digest, _json.dumps
    monkeypatch.setattr(
        _json, "digest", lambda key, data: digests.update([id(data)]) or real_digest(key, data)
    )
    monkeypatch.setattr(
        _json, "dumps", lambda key, data: texts.update([id(data)]) or real_dumps(key, data)
    )
    acquired, record = await lock_and_read(memory, "s")
    assert acquired and record is not None
    new = {**record, "n": record["n"] + 1}
    await write_and_unlock(memory, "s", new, record)
    if backend == "sqlite":  # SimpleMachineMemory keeps its own text comparison
        assert sum(digests.values()) == 1 and sum(texts.values()) == 1
    assert id(record) not in digests  # prev: known from the read
    assert (await inner.read("s"))["n"] == 2


async def test_a_changed_prev_still_means_the_record_that_was_read() -> None:
    """Compare-and-set protects what was read: changing the dict afterwards does not turn a
    current read into a stale one, and a read of an old version stays stale."""
    memory = CachedMachineMemory(SimpleMachineMemory())
    await memory.write("s", {"n": 1}, None)
    old = await memory.read("s")
    assert old is not None
    old["scratch"] = True  # a caller that reuses the dict it read
    await memory.write("s", {"n": 2}, old)
    with pytest.raises(StaleRecordError):
        await memory.write("s", {"n": 3}, old)  # old is no longer the stored record


async def test_peek_tells_a_finished_record_without_decoding_it() -> None:
    memory = CachedMachineMemory(SimpleMachineMemory())
    assert memory.peek("s") is None
    await memory.write("s", {"status": "active", "context": {}}, None)
    assert memory.peek("s") == {"status": "active"}
    await memory.write(
        "s", {"status": "done", "executionStatus": "normal"}, {"status": "active", "context": {}}
    )
    assert memory.peek("s") == {"status": "done", "executionStatus": "normal"}
    memory.forget("s")
    assert memory.peek("s") is None


def _entry(step: int, text: str = "") -> dict[str, object]:
    return {"consumed": {"id": f"e{step}", "data": {"n": step, "text": text}}, "state": [step, 1.0]}


async def test_history_carried_over_is_not_encoded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that carries the read record's history over (CarriedHistory) encodes only the
    entry it adds; the record stored is the whole new record, compared by its full digest."""
    inner = SQLiteMachineMemory(tmp_path / "m.sqlite3")
    memory = CachedMachineMemory(inner)
    await memory.write("s", {"n": 0, "history": [_entry(i) for i in range(30)]}, None)
    acquired, record = await lock_and_read(memory, "s")
    assert acquired and record is not None
    encoded = Counter[int]()
    real_dumps, real_canonical = _json.dumps, _json.canonical
    monkeypatch.setattr(
        _json, "dumps", lambda key, data: encoded.update([id(data)]) or real_dumps(key, data)
    )
    monkeypatch.setattr(
        _json,
        "canonical",
        lambda key, data: encoded.update([id(data)]) or real_canonical(key, data),
    )
    history = CarriedHistory.of(record["history"])
    history.append(_entry(30, "ünïcode"))
    new = {"n": 1, "history": history}
    await write_and_unlock(memory, "s", new, record)
    assert not {id(entry) for entry in record["history"]} & set(encoded)  # carried over
    assert encoded[id(history[-1])] == 2  # the added entry: its stored and canonical text
    plain = {"n": 1, "history": [_entry(i) for i in range(30)] + [_entry(30, "ünïcode")]}
    stored = await inner.read("s")
    assert stored == plain and list(stored) == ["n", "history"]
    monkeypatch.undo()
    await inner.write("s", {"n": 2}, plain)  # compared by the canonical digest of the whole


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ({}, "ö"),
        ({"text": "ünï\u2028", "z": 1, "a": 1.0, "nested": {"b": [True, None], "a": "x"}}, ""),
        ({"lone": "\ud800"}, ""),  # text that is not Unicode is stored with JSON escapes
        ({}, "\ud800"),
        ({"slot": "\x00arvo:history\x00"}, ""),  # the splice marker itself: encoded whole
        ({}, "\x00arvo:history\x00"),
    ],
)
def test_a_spliced_history_encodes_exactly_as_the_whole_record(
    extra: dict[str, object], text: str
) -> None:
    first = {"z": 0, "history": [_entry(0, text), _entry(1)], **extra}
    before = _json.encoded("s", first)
    history = CarriedHistory.of(first["history"])  # type: ignore[arg-type]
    history.append(_entry(2, "ä"))
    second = {**first, "history": history, "z": 1}
    after = _json.encoded("s", second, before.text, before.history)
    spliced = "slot" not in extra  # the marker in the rest of the record: encoded whole
    assert (after.history is not None and after.history.entries == 3) == spliced
    assert after.digest == _json.digest("s", second)
    assert _json.loads(after.text) == second
    assert list(_json.loads(after.text)) == list(second)
    if "\ud800" not in (text, extra.get("lone")):
        assert after.text == _json.dumps("s", second)


def test_a_history_that_does_not_match_the_encodings_at_hand_is_encoded_whole() -> None:
    """Carried entries are re-used only when they are as many as the encodings describe."""
    before = _json.encoded("s", {"history": [_entry(0)]})
    history = CarriedHistory.of([_entry(5), _entry(6)])  # not prev's history
    after = _json.encoded("s", {"history": history}, before.text, before.history)
    assert _json.loads(after.text) == {"history": [_entry(5), _entry(6)]}
    assert after.digest == _json.digest("s", {"history": [_entry(5), _entry(6)]})


def test_an_encoded_record_travels_without_its_history_encodings() -> None:
    """Sent to a memory actor, an Encoded record keeps its text and digest only."""
    import pickle

    before = _json.encoded("s", {"history": [_entry(0)], "n": 1})
    assert before.history is not None
    copy = pickle.loads(pickle.dumps(before))
    assert (copy, copy.text, copy.digest, copy.history) == (
        before,
        before.text,
        before.digest,
        None,
    )


async def test_delete_goes_to_the_inner_memory_and_forgets_the_record() -> None:
    inner = CountingMemory()
    memory = CachedMachineMemory(inner)
    await memory.write("s", {"n": 1}, None)
    assert await memory.delete("s", {"n": 1}) is True
    assert await memory.read("s") is None and inner.reads == 1  # not served from the cache
