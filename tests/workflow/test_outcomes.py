"""What a workflow step says about the events it does not process, and the answer it keeps.

A finished workflow stores its answer (completion or ``sys.*.error`` events) in its record;
duplicate and late events get it back and never replace it. Events that belong to no
instance come back with the reason (``orphan``). Inputs that break the workflow rules raise
violations whose messages quote at most a bounded prefix of the offending value.
"""

from __future__ import annotations

from typing import Any

import pytest

from arvo_ray.core import (
    ContractViolation,
    ExecutionViolation,
    create_arvo_event,
    create_arvo_event_factory,
)
from arvo_ray.core.kit import QUOTE_LIMIT
from arvo_ray.examples.number_domain import NumberDomain, value_read_contract
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory
from arvo_ray.workflow import stored_answer

from .conftest import CALLER, dec_init, inc_init


def _workflow(domain: NumberDomain, source: str) -> Any:
    return next(unit for unit in domain.workflows if unit.source == source)


def _handler(domain: NumberDomain, source: str) -> IArvoEventHandler:
    return next(unit for unit in domain.handlers if unit.source == source)


def _reply(subject: str) -> Any:
    return create_arvo_event_factory(value_read_contract.version("0.0.1")).emits(
        subject=subject,
        source="com.value.read",
        type="evt.value.read.success",
        data={"key": "k1", "value": 1},
    )


async def test_a_reply_for_a_workflow_never_started_is_an_orphan(domain: NumberDomain) -> None:
    """A non-init event with no stored instance produces nothing and says why."""
    result = await _workflow(domain, "arvo.orc.inc").execute(_reply(inc_init().subject))
    assert result.events == [] and not result.committed
    assert result.orphan is not None and "no workflow instance is stored" in result.orphan


async def test_an_init_naming_another_orchestrator_is_an_orphan(domain: NumberDomain) -> None:
    """A subject of ``arvo.orc.dec`` reaching ``arvo.orc.inc`` is not its instance."""
    result = await _workflow(domain, "arvo.orc.inc").execute(dec_init())
    assert result.events == []
    assert result.orphan == "the subject names orchestrator 'arvo.orc.dec', not 'arvo.orc.inc'"


async def test_processed_events_are_neither_late_nor_orphans(domain: NumberDomain) -> None:
    """The first step of a new instance: events, a commit, no answer yet."""
    result = await _workflow(domain, "arvo.orc.inc").execute(inc_init())
    assert [e.type for e in result.events] == ["com.value.read"]
    assert (result.committed, result.duplicate, result.late, result.orphan, result.answer) == (
        True,
        False,
        False,
        None,
        [],
    )


async def test_a_failure_record_answers_every_later_event(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """An uncaught error persists a failure whose ``sys.*.error`` events are the answer."""
    init = dec_init(version="0.0.2")  # version 0.0.2 of the resumable raises NotImplementedError
    resumable = _workflow(resumables, "arvo.orc.dec")
    failed = await resumable.execute(init)
    assert [e.type for e in failed.events] == ["sys.arvo.orc.dec.error"]
    record = await memory.read(init.subject)
    assert record is not None and record["executionStatus"] == "failure"
    assert record["answer"] == [e.to_dict() for e in failed.events]

    late = await resumable.execute(_reply(init.subject))
    assert (late.events, late.late, late.answer) == ([], True, failed.events)
    again = await resumable.execute(init)
    assert (again.duplicate, again.answer) == (True, failed.events)
    assert await memory.read(init.subject) == record


async def test_a_late_event_applies_acknowledgements_and_nothing_else(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """With an outbox, a late event still removes acknowledged events from it."""
    domain.store["k1"] = 2
    orchestrator = _workflow(domain, "arvo.orc.inc")
    orchestrator.track_outbox = True
    handlers = {h.source: h for h in domain.handlers}
    init = inc_init()
    event, answer = init, None
    while event is not None:
        target = orchestrator if event.to == "arvo.orc.inc" else handlers.get(event.to or "")
        if target is None:
            answer = event
            break
        (event,) = (await target.execute(event)).events or (None,)
    assert answer is not None and answer.type == "arvo.orc.inc.done"
    finished = await memory.read(init.subject)
    assert finished is not None and [i["event"]["id"] for i in finished["outbox"]] != []

    acknowledged = [item["event"]["id"] for item in finished["outbox"]]
    late = await orchestrator.execute(_reply(init.subject), acknowledged=acknowledged)
    assert (late.late, late.committed, late.answer) == (True, True, [answer])
    record = await memory.read(init.subject)
    assert record == {**finished, "outbox": []}


def test_stored_answer_reads_records_written_before_answers_were_kept() -> None:
    """Older records keep the completion among their last step's produced events."""
    done = inc_init().to_dict() | {"type": "arvo.orc.inc.done", "to": CALLER}
    write = {**done, "type": "com.value.write", "to": "com.value.write"}
    legacy = {"status": "done", "events": {"produced": [write, done]}}
    assert [e.type for e in stored_answer(legacy)] == ["arvo.orc.inc.done"]
    assert stored_answer({"status": "active", "events": {"produced": [done]}}) == []
    assert stored_answer(None) == []


async def test_an_invalid_parent_subject_in_an_init_is_a_contract_violation(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """``parentSubject$$`` must be null or a subject; the message quotes a bounded prefix."""
    good = inc_init()
    cases = {
        "not-a-subject": "got 'not-a-subject' (str)",
        "p" * 1_000_000: "… (1000000 characters)' (str)",
        42: "got '42' (int)",
    }
    for parent, shown in cases.items():
        bad = create_arvo_event(
            source=CALLER,
            type="arvo.orc.inc",
            subject=good.subject,
            data={**good.data, "parentSubject$$": parent},
            dataschema=good.dataschema,
        )
        with pytest.raises(ContractViolation) as info:
            await _workflow(domain, "arvo.orc.inc").execute(bad)
        assert "Invalid parentSubject$$" in info.value.message and shown in info.value.message
        assert len(info.value.message) < QUOTE_LIMIT + 400
        assert info.value.metadata == {"event_id": bad.id, "field": "data.parentSubject$$"}
    assert await memory.read(good.subject) is None


async def test_a_huge_subject_is_quoted_by_a_bounded_prefix(domain: NumberDomain) -> None:
    """A 5 MB subject gives a violation message of a few hundred characters, with its length."""
    huge = "s" * 5_000_000
    event = create_arvo_event(source=CALLER, type="arvo.orc.inc", subject=huge, data={})
    with pytest.raises(ExecutionViolation) as info:
        await _workflow(domain, "arvo.orc.inc").execute(event)
    assert len(info.value.message) < 1000
    assert "(5000000 characters)" in info.value.message
