"""``WorkflowHost`` (the Ray-free core of a workflow actor): a warm cache that never serves a
stale decision, acknowledgements through the host, and locks left behind by crashes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from arvo_ray.core import (
    ExecutionViolation,
    TransactionViolation,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.examples.number_domain import (
    build_number_domain,
    increment_orchestrator,
    increment_orchestrator_contract,
    number_modifier_contract,
)
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory, SQLiteMachineMemory
from arvo_ray.runtime._host import WorkflowHost, remove_acknowledged


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def inc_init() -> Any:
    factory = create_arvo_orchestrator_event_factory(
        increment_orchestrator_contract.version("0.0.1")
    )
    return factory.init(
        source="com.host.test",
        data={"parentSubject$$": None, "key": "k", "modifier": 1, "trend": "linear"},
    )


def host_on(memory: IMachineMemory) -> WorkflowHost:
    return WorkflowHost([increment_orchestrator(memory)], memory, outbox=True)


def test_a_redelivered_event_never_republishes_what_another_writer_acknowledged() -> None:
    """The host's cached record still lists the step's request as unacknowledged; the memory
    says it was handed on (another writer acknowledged it). The redelivered init re-checks
    the memory and publishes nothing."""
    memory = SimpleMachineMemory()
    host = host_on(memory)
    init = inc_init()

    async def scenario() -> tuple[Any, Any]:
        first = await host.handle(init)
        (request,) = first.events
        assert await remove_acknowledged(memory, init.subject, [request.id]) is True
        return first, await host.handle(init)

    first, again = run(scenario())
    assert [e.type for e in first.events] == ["com.value.read"]
    assert again.duplicate and again.events == [] and again.error is None


def test_a_redelivered_event_republishes_what_is_still_unacknowledged() -> None:
    """Without an acknowledgement, the redelivered init re-emits its step's request (same id)."""
    host = host_on(SimpleMachineMemory())
    init = inc_init()
    first = run(host.handle(init))
    again = run(host.handle(init))
    assert again.duplicate and again.events == first.events


def test_acknowledgements_written_by_the_host_keep_its_cache_current() -> None:
    """host.acknowledge empties the outbox in memory and in the warm copy alike."""
    memory = SimpleMachineMemory()
    host = host_on(memory)
    init = inc_init()

    async def scenario() -> tuple[Any, Any, Any]:
        (request,) = (await host.handle(init)).events
        written = await host.acknowledge({init.subject: [request.id], "unknown": ["x"]})
        return written, await memory.read(init.subject), await host.memory.read(init.subject)

    written, stored, cached = run(scenario())
    assert written == (1, {})
    assert stored["outbox"] == [] and cached == stored
    assert host.memory.hits >= 1


def test_a_lock_this_host_left_behind_is_released_before_the_step_retries() -> None:
    """An unlock that failed (the memory's process died) leaves the host's own lock; the next
    step of that instance releases it and runs instead of waiting out the TTL."""
    memory = SimpleMachineMemory(lock_ttl=600)
    host = host_on(memory.for_owner("host-a:1:x"))
    init = inc_init()
    assert run(host.memory.inner.lock(init.subject))  # left behind by this very owner
    outcome = run(host.handle(init))
    assert outcome.error is None and [e.type for e in outcome.events] == ["com.value.read"]
    assert host.retries == 1


def test_a_lock_of_another_owner_is_left_alone() -> None:
    """A lock held by someone else is respected: the step reports the violation."""
    memory = SimpleMachineMemory(lock_ttl=600)
    host = WorkflowHost(
        [increment_orchestrator(memory)], memory.for_owner("host-a:1:x"), transaction_retries=1
    )
    init = inc_init()
    assert run(memory.for_owner("someone-else").lock(init.subject))
    outcome = run(host.handle(init))
    assert outcome.error is not None and "Lock acquisition denied" in str(outcome.error)


def test_a_restarted_host_reclaims_the_locks_of_its_dead_incarnations(tmp_path: Path) -> None:
    """Locks whose owner is an earlier incarnation of this host (same actor name) are forced
    open; those of other hosts, or already lapsed, are left."""
    path = tmp_path / "memory.sqlite3"
    shared = SQLiteMachineMemory(path, lock_ttl=600)
    for owner, subject in (
        ("wf-host-0:111:aaaa", "s1"),
        ("wf-host-0:222:bbbb", "s2"),
        ("wf-host-1:333:cccc", "s3"),
        ("wf-host-01:444:dddd", "s4"),
    ):
        assert run(shared.for_owner(owner).lock(subject))
    host = host_on(shared.for_owner("wf-host-0:555:eeee"))
    assert run(host.reclaim_locks("wf-host-0:")) == 2
    assert sorted(lock["id"] for lock in run(shared.locks())) == ["s3", "s4"]


class NoteFailingMemory(SimpleMachineMemory):
    """Fails the first ``failures`` writes of a stall note; with ``lose_reply``, after the
    note was stored (the memory's process died before it answered)."""

    def __init__(self, failures: int, *, lose_reply: bool = False) -> None:
        super().__init__()
        self.failures = failures
        self.lose_reply = lose_reply

    async def write(
        self, id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None = None
    ) -> None:
        if "stalled" in data and self.failures > 0:
            self.failures -= 1
            if self.lose_reply:
                await super().write(id, data, prev)
            raise RuntimeError("the memory's process died")
        await super().write(id, data, prev)


def stalling_step(memory: IMachineMemory) -> tuple[WorkflowHost, Any, Any]:
    """A host of number.modifier 0.0.2, and the reply whose step raises ExecutionViolation (a
    child call with an invalid parent subject) after the first step committed."""
    domain = build_number_domain()
    host = WorkflowHost(domain.workflows, memory, outbox=True)
    init = create_arvo_orchestrator_event_factory(number_modifier_contract.version("0.0.2")).init(
        source="com.host.test",
        data={
            "parentSubject$$": None,
            "init": 8,
            "modifier": 2,
            "operation": "decrement",
            "trend": "exponential",
        },
    )
    writer = next(h for h in domain.handlers if h.source == "com.value.write")

    async def first_step() -> Any:
        (request,) = (await host.handle(init)).events
        (reply,) = (await writer.execute(request)).events
        return reply

    return host, init, run(first_step())


@pytest.mark.parametrize("lose_reply", [False, True], ids=["write-failed", "reply-lost"])
def test_a_stall_whose_note_cannot_be_written_is_reported_as_transient(lose_reply: bool) -> None:
    """A step that stalls its workflow counts as delivered only once the record says so: while
    the note cannot be written the step fails transiently (its event stays undelivered and is
    tried again); the next try reports the violation with the note in place, also when the
    first write was stored but its answer lost."""
    memory = NoteFailingMemory(failures=1, lose_reply=lose_reply)
    host, init, reply = stalling_step(memory)

    failed = run(host.handle(reply))
    assert isinstance(failed.error, TransactionViolation), failed.error
    assert "could not be written" in str(failed.error)
    assert ("stalled" in run(memory.read(init.subject))) is lose_reply

    again = run(host.handle(reply))
    assert isinstance(again.error, ExecutionViolation)
    record = run(memory.read(init.subject))
    assert record["status"] == "active"
    assert record["stalled"]["eventType"] == "evt.value.write.success"


def test_a_stall_is_noted_once() -> None:
    """The same violating event again leaves the first note as it was (no second write)."""
    memory = SimpleMachineMemory()
    host, init, reply = stalling_step(memory)
    assert isinstance(run(host.handle(reply)).error, ExecutionViolation)
    noted = run(memory.read(init.subject))
    assert isinstance(run(host.handle(reply)).error, ExecutionViolation)
    assert run(memory.read(init.subject)) == noted


def _finish_increment(routed: Any) -> tuple[WorkflowHost, Any, Any, Any]:
    """Drive one increment workflow to its end through a host, acknowledging what each step
    handed on with the next one, as a broker does: (host, memory, init, last outcome)."""
    memory = SimpleMachineMemory()
    domain = build_number_domain(memory=memory, store={"k": 1.0})
    handlers = {h.source: h for h in domain.handlers}
    host = WorkflowHost(domain.workflows, memory, outbox=True, routed=routed)
    init = inc_init()

    async def scenario() -> Any:
        queue, acks, outcome = [init], [], None
        while queue:
            event = queue.pop(0)
            if event.to in handlers:
                queue += (await handlers[event.to].execute(event)).events
                continue
            outcome = await host.handle(event, acks)
            acks = [e.id for e in outcome.events]
            queue += [e for e in outcome.events if e.to != init.source]
        return outcome

    return host, memory, init, run(scenario())


def test_an_answer_to_the_caller_is_kept_as_the_answer_only() -> None:
    """The runtime delivers to its handlers and workflows; the completion goes back to the
    caller, so the finished record keeps it as its answer and not in its outbox (no write
    will be needed to empty it), and the outcome says nothing acknowledges it."""
    host, memory, init, last = _finish_increment(lambda to: to != "com.host.test")
    (done,) = last.events
    assert last.finished and last.untracked == {done.id}
    record = run(memory.read(init.subject))
    assert record["outbox"] == [] and [a["id"] for a in record["answer"]] == [done.id]
    again = run(host.handle(init))  # the caller asks again: the stored answer
    assert again.duplicate and again.events == [] and [e.id for e in again.answer] == [done.id]


def test_an_answer_the_runtime_delivers_stays_in_the_outbox() -> None:
    """A completion addressed to something the runtime routes (here: the caller is one of its
    handlers) waits in the outbox until acknowledged, as before; so does every answer when
    the host is told nothing about routes."""
    for routed in (lambda to: True, None):
        _, memory, init, last = _finish_increment(routed)
        (done,) = last.events
        assert last.finished and last.untracked == frozenset()
        record = run(memory.read(init.subject))
        assert [item["event"]["id"] for item in record["outbox"]] == [done.id]
