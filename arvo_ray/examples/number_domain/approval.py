"""An approval with a deadline: the number domain's workflow that waits on time.

A change (``value`` at ``key``) is written only if an outside party approves it before the
deadline. Arvo machines cannot use XState's ``after``, so the deadline is a service call like
any other: the workflow asks the timer service (``com.arvo.timer``) for a reply after
``deadline`` seconds, and whichever answer arrives first, the approval or the timer's, decides.
The timer is named (``"deadline"``) because a workflow does not know the ids of the events it
emits, and an answer that arrives first cancels it by that name.

What does not live here: the timer service itself (:mod:`arvo_ray.timers`), which a broker or
runtime must run beside this workflow, and whoever answers ``com.number.approval``.
"""

from __future__ import annotations

from typing import Any, Unpack

from arvo_ray.core import (
    ArvoEvent,
    EventOptions,
    create_arvo_event_factory,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.examples.number_domain.contracts import (
    ApprovalRequest,
    KeyValue,
    approval_contract,
    approval_orchestrator_contract,
    value_write_contract,
)
from arvo_ray.machine import ArvoMachine, assign, emit, setup_arvo_machine
from arvo_ray.memory import IMachineMemory
from arvo_ray.timers import TimerCancel, TimerRequest, timer_cancel_contract, timer_contract
from arvo_ray.workflow import ArvoOrchestrator, create_arvo_orchestrator

__all__ = ["approval_init", "approval_machine", "approval_orchestrator", "approval_reply"]

DEADLINE = "deadline"
"""The name (and tag) of the workflow's one timer: unique within its subject, so the cancel
can name it."""


class ApprovalWriteFailed(RuntimeError):
    """The approved value could not be written; the workflow ends in its system error.

    Example:
        >>> str(ApprovalWriteFailed("k", "disk full"))
        "The approved value for key 'k' could not be written: disk full"
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"The approved value for key {key!r} could not be written: {reason}")
        self.key = key


def _fail_write(args: Any) -> None:
    # The complete contract only speaks of decisions (approved, rejected, expired); a failed
    # write is none of them, so it becomes the workflow's sys.arvo.orc.number.approval.error,
    # which is how an orchestrator reports that it could not do its job.
    data = args.data
    reason = getattr(data, "errorMessage", None) or "the store reported failure"
    raise ApprovalWriteFailed(args.context["key"], reason)


_cancel_deadline = emit(lambda a: TimerCancel(name=DEADLINE))


def _is_deadline(args: Any) -> bool:
    return bool(args.data.name == DEADLINE)


def approval_machine() -> ArvoMachine:
    """Ask for approval and set a deadline; the first answer wins.

    States: ``waiting`` (both requests out) → ``writing`` (approved: write the value, cancel
    the timer) → ``done``; or ``waiting`` → ``rejected`` (cancel the timer) or ``expired`` (the
    timer fired first). A failed write raises, so the workflow fails with its system error
    rather than claiming an outcome it did not reach. A system error of the approval service
    changes nothing: no answer came, so the deadline decides.
    """
    return setup_arvo_machine(
        self_contract=approval_orchestrator_contract.version("0.0.1"),
        services={
            "approver": approval_contract.version("0.0.1"),
            "value_writer": value_write_contract.version("0.0.1"),
            "timer": timer_contract.version("1.0.0"),
            "timer_cancel": timer_cancel_contract.version("1.0.0"),
        },
    ).create_machine(
        {
            "id": "approvalV001",
            "context": lambda a: {
                "key": a.data.key,
                "value": a.data.value,
                "deadline": a.data.deadline,
                "outcome": None,
                "by": None,
            },
            "output": lambda a: {
                "outcome": a.context["outcome"],
                "value": a.context["value"] if a.context["outcome"] == "approved" else None,
            },
            "initial": "waiting",
            "states": {
                "waiting": {
                    "entry": [
                        emit(
                            lambda a: TimerRequest(
                                delay=a.context["deadline"], tag=DEADLINE, name=DEADLINE
                            )
                        ),
                        emit(
                            lambda a: ApprovalRequest(
                                key=a.context["key"], value=a.context["value"]
                            )
                        ),
                    ],
                    "on": {
                        "evt.number.approval.success": [
                            {
                                "guard": lambda a: a.data.approved,
                                "target": "writing",
                                "actions": assign({"by": lambda a: a.data.by}),
                            },
                            {
                                "target": "rejected",
                                "actions": assign(
                                    {"by": lambda a: a.data.by, "outcome": lambda a: "rejected"}
                                ),
                            },
                        ],
                        "evt.arvo.timer.success": {
                            "guard": _is_deadline,
                            "target": "expired",
                            "actions": assign({"outcome": lambda a: "expired"}),
                        },
                    },
                },
                "writing": {
                    "entry": [
                        emit(lambda a: KeyValue(key=a.context["key"], value=a.context["value"])),
                        _cancel_deadline,
                    ],
                    "on": {
                        "evt.value.write.success": [
                            {
                                "guard": lambda a: a.data.success,
                                "target": "done",
                                "actions": assign({"outcome": lambda a: "approved"}),
                            },
                            {"actions": _fail_write},
                        ],
                        "sys.com.value.write.error": {"actions": _fail_write},
                        # Listed with no actions so that a reader sees these were expected.
                        # The cancel's answer may come before or after the write's: either
                        # way there is nothing to do. (After the write it reaches a finished
                        # workflow, which the runtime reports as late.)
                        "evt.arvo.timer.cancel.success": {"actions": []},
                        "sys.com.arvo.timer.cancel.error": {"actions": []},
                        # The deadline fired while the cancel was on its way: the approval
                        # came first, so it has already won.
                        "evt.arvo.timer.success": {"actions": []},
                    },
                },
                "done": {"type": "final"},
                "rejected": {"type": "final", "entry": _cancel_deadline},
                "expired": {"type": "final"},
            },
        }
    )


def approval_orchestrator(memory: IMachineMemory, **options: Any) -> ArvoOrchestrator:
    """``arvo.orc.number.approval`` (machine version 0.0.1); run the timer service beside it."""
    return create_arvo_orchestrator(
        machines=[approval_machine()], memory=memory, executionunits=0.1, **options
    )


def approval_init(
    key: str,
    value: int | float,
    deadline: int | float,
    *,
    source: str = "com.number.client",
    **options: Unpack[EventOptions],
) -> ArvoEvent:
    """The init event of a root ``arvo.orc.number.approval`` workflow.

    Args:
        key: Where the value would be written.
        value: The value to approve.
        deadline: Seconds the outside party has to answer.
        source: Who starts the workflow (and receives its completion event).
        **options: Further event fields (``redirectto``, ``domain``...), as the factory takes.

    Example:
        >>> event = approval_init("apples", 3, deadline=60)
        >>> event.type, event.data["key"], event.data["deadline"]
        ('arvo.orc.number.approval', 'apples', 60.0)
    """
    factory = create_arvo_orchestrator_event_factory(
        approval_orchestrator_contract.version("0.0.1")
    )
    return factory.init(
        source=source,
        data={"parentSubject$$": None, "key": key, "value": value, "deadline": deadline},
        **options,
    )


def approval_reply(
    asked: ArvoEvent | str,
    approved: bool,
    by: str | None = None,
    *,
    source: str = "com.number.approval",
    **options: Unpack[EventOptions],
) -> ArvoEvent:
    """The outside party's answer (``evt.number.approval.success``) to one approval workflow.

    Whoever answers sees the request, not the workflow; this is what their answer must carry
    to reach it: the workflow's subject, addressed to ``arvo.orc.number.approval``.

    Args:
        asked: The workflow's init event, the approval request it emitted (which the answer
            then names as its parent), or the workflow's subject.
        approved: The decision.
        by: Who decided.
        source: Who answers.
        **options: Further event fields, as the factory takes.

    Example:
        >>> init = approval_init("apples", 3, deadline=60)
        >>> reply = approval_reply(init, approved=True, by="ada")
        >>> reply.type, reply.to, reply.subject == init.subject
        ('evt.number.approval.success', 'arvo.orc.number.approval', True)
        >>> reply.data
        {'approved': True, 'by': 'ada'}
    """
    subject = asked if isinstance(asked, str) else asked.subject
    fields: EventOptions = {"to": approval_orchestrator_contract.type}
    if isinstance(asked, ArvoEvent) and asked.type == approval_contract.type:
        fields = {"to": asked.redirectto or asked.source, "parentid": asked.id}
    fields.update(options)
    factory = create_arvo_event_factory(approval_contract.version("0.0.1"))
    return factory.emits(
        type="evt.number.approval.success",
        source=source,
        subject=subject,
        data={"approved": approved, "by": by},
        **fields,
    )
