"""A locked workflow step costs two memory calls where the memory fuses them, four otherwise,
with the same outcomes and the same TransactionViolation causes."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from arvo_ray.core import TransactionViolation, TransactionViolationCause
from arvo_ray.examples.number_domain import build_number_domain
from arvo_ray.memory import (
    MemoryBackendError,
    SimpleMachineMemory,
    lock_and_read,
    write_and_unlock,
)

from .conftest import inc_init


class CountingMemory:
    """The four calls of a memory, counted; with ``fused``, the two fused ones as well."""

    def __init__(self, *, fused: bool, fail: str | None = None) -> None:
        self.inner = SimpleMachineMemory()
        self.owner, self.lock_ttl = self.inner.owner, self.inner.lock_ttl
        self.calls: Counter[str] = Counter()
        self.fail = fail
        if fused:
            self.lock_and_read = self._lock_and_read
            self.write_and_unlock = self._write_and_unlock

    def _count(self, operation: str) -> None:
        self.calls[operation] += 1
        if self.fail == operation:
            raise MemoryBackendError("the store failed", operation=operation, backend="test")

    async def read(self, id: str) -> dict[str, Any] | None:
        self._count("read")
        return await self.inner.read(id)

    async def write(self, id: str, data: Mapping[str, Any], prev: Any) -> None:
        self._count("write")
        await self.inner.write(id, data, prev)

    async def lock(self, id: str) -> bool:
        self._count("lock")
        return await self.inner.lock(id)

    async def unlock(self, id: str) -> bool:
        self._count("unlock")
        return await self.inner.unlock(id)

    async def _lock_and_read(self, id: str) -> tuple[bool, dict[str, Any] | None]:
        self.calls["lock_and_read"] += 1
        if self.fail in ("lock", "read"):
            raise MemoryBackendError("the store failed", operation=self.fail, backend="test")
        return await lock_and_read(self.inner, id)

    async def _write_and_unlock(self, id: str, data: Mapping[str, Any], prev: Any) -> bool:
        self.calls["write_and_unlock"] += 1
        if self.fail == "write":
            await self.inner.unlock(id)
            raise MemoryBackendError("the store failed", operation="write", backend="test")
        return await write_and_unlock(self.inner, id, data, prev)


def first_step(memory: CountingMemory, init: Any = None) -> Any:
    """The init step of an ``arvo.orc.inc`` v0.0.1 workflow (it locks its instance)."""
    domain = build_number_domain(memory=memory)  # type: ignore[arg-type]
    domain.store["k1"] = 1
    [orchestrator] = [w for w in domain.workflows if w.source == "arvo.orc.inc"]
    assert orchestrator.requires_resource_locking
    return asyncio.run(orchestrator.execute(init or inc_init("k1")))


def test_a_fused_memory_serves_a_locked_step_in_two_calls() -> None:
    memory = CountingMemory(fused=True)
    result = first_step(memory)
    assert result.committed and [e.type for e in result.events] == ["com.value.read"]
    assert memory.calls == Counter(lock_and_read=1, write_and_unlock=1)


def test_a_memory_with_the_four_calls_serves_it_in_four() -> None:
    memory = CountingMemory(fused=False)
    result = first_step(memory)
    assert result.committed and [e.type for e in result.events] == ["com.value.read"]
    assert memory.calls == Counter(lock=1, read=1, write=1, unlock=1)


@pytest.mark.parametrize(
    ("fail", "cause"),
    [
        ("lock", TransactionViolationCause.LOCK_FAILURE),
        ("read", TransactionViolationCause.READ_FAILURE),
        ("write", TransactionViolationCause.WRITE_FAILURE),
    ],
)
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "four-calls"])
def test_memory_failures_keep_their_causes(
    fail: str, cause: TransactionViolationCause, fused: bool
) -> None:
    """A failed lock, read or write is the same TransactionViolation either way, and the lock
    is never left held."""
    memory = CountingMemory(fused=fused, fail=fail)
    with pytest.raises(TransactionViolation) as caught:
        first_step(memory)
    assert caught.value.cause == cause
    assert asyncio.run(memory.inner.locks()) == []


def test_a_denied_lock_is_lock_unacquired_and_nothing_is_written() -> None:
    memory = CountingMemory(fused=True)
    init = inc_init("k1")
    assert asyncio.run(memory.inner.for_owner("someone-else").lock(init.subject))
    with pytest.raises(TransactionViolation) as caught:
        first_step(memory, init)
    assert caught.value.cause == TransactionViolationCause.LOCK_UNACQUIRED
    assert memory.calls == Counter(lock_and_read=1)
