"""The number domain's approval with a deadline, in-process, on one injected clock.

The workflow's completion goes to its initiator (``com.number.client``), so a run started by
the approver's answer finds it among its ``outputs``, not as its ``final`` (which is what came
back to that run's own source). Timer replies come from a service of the broker itself, so
they go in with ``broker.deliver``, whose ``final`` is the last output.
"""

from __future__ import annotations

from typing import Any

import pytest

from arvo_ray.broker import RunResult, SimpleEventBroker, create_simple_event_broker
from arvo_ray.core import ArvoEvent, create_arvo_event_factory
from arvo_ray.examples.number_domain import (
    NumberDomain,
    approval_contract,
    approval_init,
    approval_machine,
    approval_orchestrator,
    approval_reply,
    build_number_domain,
    value_write_handler,
)
from arvo_ray.memory import SimpleMachineMemory
from arvo_ray.timers import TimerService

T0 = 1_800_000_000.0
DONE = "arvo.orc.number.approval.done"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Approvals:
    """The domain with a timer service, and a broker for all of it."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.timers = TimerService(clock=self.clock)
        self.domain: NumberDomain = build_number_domain(timers=self.timers)
        self.broker: SimpleEventBroker = create_simple_event_broker(self.domain.all)

    async def start(self, key: str, value: float, deadline: float) -> ArvoEvent:
        """Start a workflow; return the approval request it sent out."""
        result = await self.broker.run(approval_init(key, value, deadline))
        assert result.errors == []
        [request] = [e for e in result.outputs if e.to == "com.number.approval"]
        return request

    async def answer(self, request: ArvoEvent, approved: bool) -> RunResult:
        return await self.broker.run(approval_reply(request, approved, by="ada"))

    async def pass_time(self, seconds: float) -> list[RunResult]:
        self.clock.now += seconds
        return await self.timers.deliver_due(self.broker.deliver)


def completion(result: RunResult) -> ArvoEvent:
    [done] = [e for e in result.outputs if e.type == DONE]
    assert done.to == "com.number.client"
    return done


async def status(approvals: Approvals, subject: str) -> tuple[Any, Any]:
    record = await approvals.domain.memory.read(subject)
    assert record is not None
    return record["status"], record.get("value")


@pytest.fixture
def approvals() -> Approvals:
    return Approvals()


async def test_an_approval_before_the_deadline_writes_the_value_and_cancels_the_timer(
    approvals: Approvals,
) -> None:
    """Both requests go out at the start; the approval writes, cancels, and completes."""
    init = approval_init("apples", 3, deadline=60)
    started = await approvals.broker.run(init)
    [request] = started.outputs
    assert (request.type, request.to, request.data) == (
        "com.number.approval",
        "com.number.approval",
        {"key": "apples", "value": 3},
    )
    assert request.subject == init.subject
    assert await approvals.timers.pending() == 1
    assert await status(approvals, init.subject) == ("active", "waiting")

    answered = await approvals.answer(request, approved=True)
    assert answered.errors == []
    assert completion(answered).data == {"outcome": "approved", "value": 3}
    assert approvals.domain.store == {"apples": 3}
    assert await approvals.timers.pending() == 0
    # The write was answered first, so the cancel's answer reached a finished workflow.
    assert [e.type for e in answered.late] == ["evt.arvo.timer.cancel.success"]
    assert answered.late[0].data["cancelled"] is True
    assert await status(approvals, init.subject) == ("done", "done")

    assert await approvals.pass_time(3600) == []


async def test_a_rejection_writes_nothing_and_cancels_the_timer(approvals: Approvals) -> None:
    """A rejection completes at once, with no value, and the deadline never fires."""
    request = await approvals.start("apples", 3, deadline=60)
    answered = await approvals.answer(request, approved=False)
    assert completion(answered).data == {"outcome": "rejected", "value": None}
    assert approvals.domain.store == {}
    assert await approvals.timers.pending() == 0
    assert [e.type for e in answered.late] == ["evt.arvo.timer.cancel.success"]
    assert await approvals.pass_time(3600) == []


async def test_the_deadline_passing_first_expires_the_workflow_and_a_later_answer_is_late(
    approvals: Approvals,
) -> None:
    """Nothing happens before the deadline; at it, the workflow expires for good."""
    request = await approvals.start("apples", 3, deadline=60)
    assert await approvals.pass_time(59.999) == []
    [fired] = await approvals.pass_time(0.001)
    assert fired.errors == []
    assert fired.final is not None and fired.final == completion(fired)
    assert fired.final.data == {"outcome": "expired", "value": None}
    assert await approvals.timers.pending() == 0

    late = await approvals.answer(request, approved=True)
    assert [e.type for e in late.late] == ["evt.number.approval.success"]
    assert late.final is None and late.outputs == [] and late.errors == []
    assert approvals.domain.store == {}


async def test_a_deadline_reply_reaching_a_finished_workflow_is_late(
    approvals: Approvals,
) -> None:
    """The timer service picked the reply up, then the approval won: the reply is ignored."""
    request = await approvals.start("apples", 3, deadline=60)
    approvals.clock.now += 60
    [reply] = await approvals.timers.due()  # taken, not yet delivered
    answered = await approvals.answer(request, approved=True)
    assert completion(answered).data == {"outcome": "approved", "value": 3}

    delivered = await approvals.broker.deliver(reply)
    assert delivered.late == [reply]
    assert delivered.final is None and delivered.outputs == [] and delivered.errors == []
    assert approvals.domain.store == {"apples": 3}


async def test_many_approvals_in_flight_share_one_clock(approvals: Approvals) -> None:
    """Each workflow keeps its own deadline; answers and deadlines settle each one once."""
    requests = {
        f"k{index}": await approvals.start(f"k{index}", index, deadline=deadline)
        for index, deadline in enumerate([10, 20, 30, 40, 50])
    }
    assert await approvals.timers.pending() == 5
    outcomes: dict[str, tuple[str, Any]] = {}

    def settle(result: RunResult) -> None:
        done = completion(result)
        [key] = [k for k, r in requests.items() if r.subject == done.subject]
        assert key not in outcomes
        outcomes[key] = (done.data["outcome"], done.data["value"])

    approvals.clock.now += 5
    settle(await approvals.answer(requests["k1"], approved=True))
    settle(await approvals.answer(requests["k3"], approved=False))
    assert await approvals.timers.pending() == 3

    for fired in await approvals.pass_time(30):  # t+35: k0 (10) and k2 (30) are due
        settle(fired)
    assert sorted(outcomes) == ["k0", "k1", "k2", "k3"]
    settle(await approvals.answer(requests["k4"], approved=True))  # before its 50
    late = await approvals.answer(requests["k0"], approved=True)
    assert len(late.late) == 1

    assert await approvals.pass_time(100) == []
    assert await approvals.timers.pending() == 0
    assert outcomes == {
        "k0": ("expired", None),
        "k1": ("approved", 1),
        "k2": ("expired", None),
        "k3": ("rejected", None),
        "k4": ("approved", 4),
    }
    assert approvals.domain.store == {"k1": 1, "k4": 4}


async def test_a_failed_write_fails_the_workflow_with_its_system_error(
    approvals: Approvals,
) -> None:
    """-200 makes the store raise: no outcome is claimed, the initiator gets the error."""
    request = await approvals.start("apples", -200, deadline=60)
    answered = await approvals.answer(request, approved=True)
    [error] = [e for e in answered.outputs if e.to == "com.number.client"]
    assert error.type == "sys.arvo.orc.number.approval.error"
    assert error.data["errorName"] == "ApprovalWriteFailed"
    assert "'apples' could not be written: Invalid value is -200." in error.data["errorMessage"]
    assert approvals.domain.store == {}
    assert await approvals.timers.pending() == 0
    assert [e.type for e in answered.late] == ["evt.arvo.timer.cancel.success"]


async def test_a_failing_approval_service_leaves_the_decision_to_the_deadline(
    approvals: Approvals,
) -> None:
    """A system error of the approver is no answer: the workflow keeps waiting."""
    request = await approvals.start("apples", 3, deadline=60)
    failure = create_arvo_event_factory(approval_contract.version("0.0.1")).system_error(
        error=ConnectionError("the approver is down"),
        source="com.number.approval",
        subject=request.subject,
        to="arvo.orc.number.approval",
        parentid=request.id,
    )
    result = await approvals.broker.run(failure)
    assert result.outputs == [] and result.errors == [] and result.late == []
    [fired] = await approvals.pass_time(60)
    assert completion(fired).data == {"outcome": "expired", "value": None}


async def test_the_answers_after_an_approval_may_arrive_in_either_order() -> None:
    """Driven by hand: the cancel's answer, then a deadline that raced it, then the write's."""
    clock = Clock()
    timers = TimerService(clock=clock)
    orchestrator = approval_orchestrator(SimpleMachineMemory())
    store: dict[str, float] = {}
    init = approval_init("apples", 3, deadline=60)
    timer_request, request = (await orchestrator.execute(init)).events
    assert (timer_request.type, timer_request.to) == ("com.arvo.timer", "com.arvo.timer")
    assert timer_request.data == {"delay": 60, "due": None, "tag": "deadline", "name": "deadline"}
    await timers.set(timer_request)
    clock.now += 60
    [deadline] = await timers.due()

    write, cancel = (await orchestrator.execute(approval_reply(request, approved=True))).events
    assert (write.type, write.data) == ("com.value.write", {"key": "apples", "value": 3})
    # Emitted service calls carry their contract's JSON form, defaults included.
    assert (cancel.type, cancel.data) == (
        "com.arvo.timer.cancel",
        {"name": "deadline", "timer_id": None},
    )

    cancelled = await timers.cancel(cancel)
    for event in (cancelled, deadline):
        step = await orchestrator.execute(event)
        assert step.events == [] and not step.late
        record = await orchestrator.memory.read(init.subject)
        assert record is not None and record["value"] == "writing"

    [written] = (await value_write_handler(store).execute(write)).events
    [done] = (await orchestrator.execute(written)).events
    assert (done.type, done.data) == (DONE, {"outcome": "approved", "value": 3})


def test_the_machine_calls_the_approver_the_store_and_the_timer_service() -> None:
    """The timer contracts are services of the machine, so its requests validate."""
    machine = approval_machine()
    assert machine.source == "arvo.orc.number.approval"
    assert {name: c.accepts.type for name, c in machine.services.items()} == {
        "approver": "com.number.approval",
        "value_writer": "com.value.write",
        "timer": "com.arvo.timer",
        "timer_cancel": "com.arvo.timer.cancel",
    }
    assert not machine.requires_resource_locking


def test_the_reply_finds_the_workflow_from_its_init_its_request_or_its_subject() -> None:
    """Addressed to the orchestrator on the workflow's subject; a request becomes its parent."""
    init = approval_init("apples", 3, deadline=60, source="com.test.client")
    assert init.source == "com.test.client"
    assert init.data == {"parentSubject$$": None, "key": "apples", "value": 3, "deadline": 60.0}
    from_subject = approval_reply(init.subject, approved=False)
    assert (from_subject.to, from_subject.subject) == ("arvo.orc.number.approval", init.subject)
    assert from_subject.data == {"approved": False, "by": None}
    assert from_subject.source == "com.number.approval"


def test_the_domain_wires_the_approval_only_with_a_timer_service() -> None:
    """Without timers the topics stay as they were; with them, both kinds get the approval."""
    plain = build_number_domain()
    assert "arvo.orc.number.approval" not in [unit.source for unit in plain.all]
    assert plain.timers is None
    for kind in ("orchestrators", "resumables"):
        timers = TimerService()
        domain = build_number_domain(kind=kind, timers=timers)  # type: ignore[arg-type]
        sources = [unit.source for unit in domain.all]
        assert {"com.arvo.timer", "com.arvo.timer.cancel", "arvo.orc.number.approval"} <= set(
            sources
        )
        assert domain.timers is timers
