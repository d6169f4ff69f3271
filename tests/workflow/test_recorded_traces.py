"""The Python runs against the recorded runs of the original (spec/vectors, arvo 3.0.25).

Ids, times, stacks and execution ids are random per run, so they are compared structurally:
same key order, same types, and the same relations between events (``parentid`` of one is the
``id`` of another, the same subject, ...). Everything else is compared by value. Documented
Python additions to stored records (``consumedEventIds``; the failure record's error shape)
are allowed and checked explicitly.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject, create_arvo_event
from arvo_ray.examples.number_domain import NumberDomain, build_number_domain
from arvo_ray.memory import IMachineMemory

from .conftest import CALLER, VECTORS, dec_init, decode, inc_init, nm_init

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
# Compared by relation or shape, never by value.
RANDOM_FIELDS = {"id", "time", "subject", "parentid"}


def _handler(domain: NumberDomain, source: str) -> Any:
    return next(h for h in domain.all if h.source == source)


def assert_event_like(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Same key order and types; equal values except the per-run random fields."""
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        if key in RANDOM_FIELDS:
            assert type(ours[key]) is type(value), key
        elif key == "data":
            assert _shape(ours[key]) == _shape(value)
        else:
            assert ours[key] == value, key
    assert UUID.match(ours["id"])
    assert TIME.match(ours["time"])
    assert ArvoOrchestrationSubject.is_valid(ours["subject"])


def _shape(value: Any) -> Any:
    """Keys and value types (numbers as one type): what "the same structure" means for data."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def subject_like(ours: str, theirs: str) -> None:
    """Both subjects decode to the same content except the execution id."""
    a, b = decode(ours), decode(theirs)
    assert list(a) == list(b) == ["orchestrator", "execution", "meta"]
    assert list(a["execution"]) == list(b["execution"])
    assert UUID.match(a["execution"]["id"])
    a["execution"].pop("id")
    b["execution"].pop("id")
    assert a == b


def snapshot_like(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """A machine snapshot with the same fields and values.

    XState leaves ``undefined`` fields out of the JSON (``output`` until done, ``error`` unless
    failed); the Python snapshot always has both, as ``null``. The recorder listed the final
    snapshot's keys under ``keys`` instead of dumping ``historyValue``/``children``.
    """
    listed = theirs.get("keys", list(theirs))
    present = {key for key, value in ours.items() if value is not None}
    assert present == set(listed) - {"error"}
    assert set(ours) - present <= {"output", "error"}
    for key, value in theirs.items():
        if key != "keys":
            assert ours[key] == value, key


class IncrementRun:
    """The increment orchestration driven by hand, as in the recording (store ``k1 = 2``)."""

    def __init__(self, domain: NumberDomain, memory: IMachineMemory) -> None:
        self.domain = domain
        self.memory = memory
        self.orchestrator = _handler(domain, "arvo.orc.inc")

    async def run(self) -> dict[str, Any]:
        self.domain.store["k1"] = 2
        out: dict[str, Any] = {"init": inc_init("k1")}
        out["step1"] = (await self.orchestrator.execute(out["init"])).events
        out["state1"] = await self.memory.read(out["init"].subject)
        read = await _handler(self.domain, "com.value.read").execute(out["step1"][0])
        out["read_response"] = read.events
        out["step2"] = (await self.orchestrator.execute(read.events[0])).events
        inc = await _handler(self.domain, "com.increment.number").execute(out["step2"][0])
        out["inc_response"] = inc.events
        out["complete"] = (await self.orchestrator.execute(inc.events[0])).events
        out["final_state"] = await self.memory.read(out["init"].subject)
        return out


def _dicts(events: list[ArvoEvent]) -> list[dict[str, Any]]:
    return [event.to_dict() for event in events]


# -- the increment orchestration -------------------------------------------------------------------


async def test_should_make_the_init_event_like_the_original() -> None:
    """``orch_init_event``: key order, defaults, dataschema and the subject's content."""
    init = inc_init("k1").to_dict()
    theirs = VECTORS["orch_init_event"]
    assert_event_like(init, theirs)
    assert init["parentid"] is None
    subject_like(init["subject"], theirs["subject"])
    assert decode(theirs["subject"]) == VECTORS["orch_init_subject"]


def test_should_decode_and_reencode_the_recorded_subjects() -> None:
    """Subjects made by the original decode here and re-encode to the very same string."""
    for key in ("orch_init_event", "nm_init"):
        subject = VECTORS[key]["subject"]
        content = ArvoOrchestrationSubject.parse(subject)
        assert ArvoOrchestrationSubject.create(content) == subject


async def test_should_orchestrate_like_the_recorded_increment_run(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """``orch_step1`` .. ``orch_complete``: the five events and how they relate."""
    out = await IncrementRun(domain, memory).run()
    init = out["init"]
    pairs = [
        ("step1", "orch_step1"),
        ("read_response", "handler_read_response"),
        ("step2", "orch_step2"),
        ("inc_response", "handler_inc_response"),
        ("complete", "orch_complete"),
    ]
    for ours_key, theirs_key in pairs:
        ours, theirs = _dicts(out[ours_key]), VECTORS[theirs_key]
        assert len(ours) == len(theirs) == 1, ours_key
        assert_event_like(ours[0], theirs[0])
        assert ours[0]["data"] == theirs[0]["data"]
        assert ours[0]["subject"] == init.subject

    # The parentid chain: each step answers the previous event; the completion the init.
    step1, read, step2, inc, done = (out[k][0] for k, _ in pairs)
    recorded = [VECTORS[k][0] for _, k in pairs]
    assert recorded[0]["parentid"] == VECTORS["orch_init_event"]["id"]
    assert step1.parentid == init.id
    assert read.parentid == step1.id
    assert step2.parentid == read.id
    assert inc.parentid == step2.id
    assert done.parentid == init.id
    assert recorded[4]["parentid"] == VECTORS["orch_init_event"]["id"]


async def test_should_store_records_like_the_original(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """``orch_state_after_step1`` and ``orch_state_final``: the same fields, in order."""
    out = await IncrementRun(domain, memory).run()
    init = out["init"]
    for ours, theirs, consumed, produced in (
        (out["state1"], VECTORS["orch_state_after_step1"], init, out["step1"]),
        (out["final_state"], VECTORS["orch_state_final"], out["inc_response"][0], out["complete"]),
    ):
        theirs = {k: v for k, v in theirs.items() if k != "machineDefinitionPrefix"}
        # The documented additions, last: the ids of consumed events, and (once the workflow
        # is done) its answer, the completion.
        done = ours["status"] == "done"
        assert list(ours) == [*theirs, "consumedEventIds", *(["answer"] if done else [])]
        if done:
            assert ours["answer"] == _dicts(produced)
        assert ours["executionStatus"] == theirs["executionStatus"] == "normal"
        assert ours["initEventId"] == init.id
        assert ours["subject"] == init.subject
        assert ours["parentSubject"] is theirs["parentSubject"] is None
        assert (ours["status"], ours["value"]) == (theirs["status"], theirs["value"])
        snapshot_like(ours["state"], theirs["state"])
        assert list(ours["events"]) == list(theirs["events"]) == ["consumed", "produced"]
        assert ours["events"]["consumed"] == consumed.to_dict()
        assert ours["events"]["produced"] == _dicts(produced)
        assert_event_like(ours["events"]["consumed"], theirs["events"]["consumed"])
        for a, b in zip(ours["events"]["produced"], theirs["events"]["produced"], strict=True):
            assert_event_like(a, b)
        assert ours["machineDefinition"] == theirs["machineDefinition"]
    assert out["final_state"]["consumedEventIds"] == [
        init.id,
        out["read_response"][0].id,
        out["inc_response"][0].id,
    ]


async def test_should_ignore_late_duplicate_and_foreign_events_like_the_original(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """``orch_late``, ``orch_dup_init``, ``orch_foreign_subject``: no events."""
    out = await IncrementRun(domain, memory).run()
    orchestrator = _handler(domain, "arvo.orc.inc")
    late = out["inc_response"][0]
    assert {"events": _dicts((await orchestrator.execute(late)).events)} == VECTORS["orch_late"]
    state = await memory.read(out["init"].subject)
    assert state is not None
    recorded = VECTORS["orch_state_after_late"]
    assert state["status"] == recorded["status"]
    assert state["events"]["consumed"]["id"] == late.id
    # Departure: a duplicate id is ignored without rewriting, so the record still shows the
    # completion it produced (the original rewrote it with produced=[]).
    assert recorded["produced"] == 0
    assert state == out["final_state"]

    dup = (await orchestrator.execute(out["init"])).events
    assert {"events": _dicts(dup)} == VECTORS["orch_dup_init"]
    foreign = (await orchestrator.execute(dec_init("k1"))).events
    assert {"events": _dicts(foreign)} == VECTORS["orch_foreign_subject"]


async def test_should_throw_the_recorded_violations(domain: NumberDomain) -> None:
    """``orch_invalid_subject`` and ``orch_no_dataschema``: same name and message."""
    orchestrator = _handler(domain, "arvo.orc.inc")
    bad = create_arvo_event(source=CALLER, subject="test", type="arvo.orc.inc", data={})
    good = inc_init("k1")
    bare = create_arvo_event(
        source=CALLER, type="arvo.orc.inc", subject=good.subject, data=good.data
    )
    for event, key in ((bad, "orch_invalid_subject"), (bare, "orch_no_dataschema")):
        thrown = VECTORS[key]["thrown"]
        with pytest.raises(Exception) as info:
            await orchestrator.execute(event)
        error: Any = info.value
        assert error.name == thrown["name"]
        assert error.type == thrown["type"]
        recorded_id = re.search(r"id='?([0-9a-f-]{36})", thrown["message"])
        assert recorded_id is not None
        assert error.message == thrown["message"].replace(recorded_id.group(1), event.id)


async def test_should_report_a_service_error_like_the_original(
    domain: NumberDomain, memory: IMachineMemory
) -> None:
    """``handler_sys_error`` and ``orch_after_sys_error``: the error path of a missing key."""
    init = inc_init("missing")
    orchestrator = _handler(domain, "arvo.orc.inc")
    [read] = (await orchestrator.execute(init)).events
    [error] = (await _handler(domain, "com.value.read").execute(read)).events
    [done] = (await orchestrator.execute(error)).events

    theirs_error = VECTORS["handler_sys_error"][0]
    assert_event_like(error.to_dict(), theirs_error)
    assert error.parentid == read.id
    assert error.subject == read.subject
    assert error.data["errorMessage"] == theirs_error["data"]["errorMessage"]
    assert isinstance(error.data["errorStack"], str)

    theirs_done = VECTORS["orch_after_sys_error"][0]
    assert_event_like(done.to_dict(), theirs_done)
    assert done.parentid == init.id
    assert theirs_done["parentid"] != theirs_error["parentid"]
    assert done.data["success"] is theirs_done["data"]["success"] is False
    assert done.data["final"] == theirs_done["data"]["final"] == 0
    [ours_item] = done.data["error"]
    [their_item] = theirs_done["data"]["error"]
    assert list(ours_item) == list(their_item)
    assert ours_item["errorMessage"] == their_item["errorMessage"]
    # The error is the sys event's data, passed through the machine unchanged.
    assert ours_item == error.data


# -- the nested run ---------------------------------------------------------------------------------


def _without_mutation(definition: str) -> Any:
    """The recorded definition without the ``domain`` the original wrote into action params.

    The original defaults a raw event's ``domain`` by mutating it, and the enqueue params are
    the config's own object, so a run leaves ``"domain": [null]`` in the machine config.
    """
    parsed = json.loads(definition)
    for state in parsed["states"].values():
        for action in state.get("entry", []) if isinstance(state.get("entry"), list) else []:
            if isinstance(action, dict):
                action.get("params", {}).pop("domain", None)
    return parsed


async def test_should_store_the_nested_parent_like_the_original(
    broker: Any, memory: IMachineMemory
) -> None:
    """``nm_state``: the number.modifier record after its child completed."""
    init = nm_init("decrement", domain="test.domain")
    run = await broker.run(init, trace=True)
    ours = await memory.read(init.subject)
    theirs = copy.deepcopy(VECTORS["nm_state"])
    assert ours is not None
    # The documented additions, last: consumed event ids, and a finished workflow's answer.
    assert list(ours) == [*theirs, "consumedEventIds", "answer"]
    assert ours["answer"] == ours["events"]["produced"]
    assert (ours["executionStatus"], ours["status"], ours["value"]) == ("normal", "done", "done")
    assert ours["initEventId"] == init.id
    assert ours["parentSubject"] is theirs["parentSubject"] is None

    subjects = {init.subject: "<nm>"}
    recorded_subjects = {VECTORS["nm_init"]["subject"]: "<nm>"}
    ours_context = {k: subjects.get(v, v) if isinstance(v, str) else v
                    for k, v in ours["state"]["context"].items()}  # fmt: skip
    their_context = {
        k: recorded_subjects.get(v, v) if isinstance(v, str) else v
        for k, v in theirs["state"]["context"].items()
    }
    assert ours_context == their_context
    assert ours["state"]["output"] == theirs["state"]["output"]
    theirs["state"]["context"] = ours["state"]["context"]
    snapshot_like(ours["state"], theirs["state"])

    consumed = ours["events"]["consumed"]
    assert_event_like(consumed, theirs["events"]["consumed"])
    child_done = next(e for e in run.trace if e.type == "arvo.orc.dec.done")
    assert consumed == child_done.to_dict()
    [produced] = ours["events"]["produced"]
    assert_event_like(produced, theirs["events"]["produced"][0])
    assert produced["parentid"] == init.id
    assert json.loads(ours["machineDefinition"]) == _without_mutation(theirs["machineDefinition"])


# -- the resumable ----------------------------------------------------------------------------------


async def test_should_run_the_decrement_resumable_like_the_original(
    resumables: NumberDomain, memory: IMachineMemory
) -> None:
    """``res_step1``, ``res_state1``, ``res_state2``: events, record fields and ``expected``."""
    resumables.store["k1"] = 2
    resumable = _handler(resumables, "arvo.orc.dec")
    init = dec_init("k1")
    step1 = _dicts((await resumable.execute(init)).events)
    state1 = await memory.read(init.subject)
    [reply] = (await _handler(resumables, "com.value.read").execute(
        ArvoEvent.from_dict(step1[0])
    )).events  # fmt: skip
    step2 = (await resumable.execute(reply)).events
    state2 = await memory.read(init.subject)

    [theirs_step1] = VECTORS["res_step1"]
    assert_event_like(step1[0], theirs_step1)
    assert step1[0]["data"] == theirs_step1["data"]
    assert step1[0]["parentid"] == init.id

    for ours, theirs, consumed, produced in (
        (state1, VECTORS["res_state1"], init.to_dict(), step1),
        (state2, VECTORS["res_state2"], reply.to_dict(), _dicts(step2)),
    ):
        assert ours is not None
        assert list(ours) == [*theirs, "consumedEventIds"]
        assert (
            list(ours["events"]) == list(theirs["events"]) == ["consumed", "expected", "produced"]
        )
        assert (ours["executionStatus"], ours["status"]) == (
            theirs["executionStatus"],
            theirs["status"],
        )
        assert ours["initEventId"] == init.id
        assert ours["parentSubject"] is theirs["parentSubject"] is None
        assert ours["state$$"] == theirs["state$$"]
        assert ours["events"]["consumed"] == consumed
        assert_event_like(ours["events"]["consumed"], theirs["events"]["consumed"])
        assert ours["events"]["produced"] == produced
        assert [p["type"] for p in produced] == [p["type"] for p in theirs["events"]["produced"]]
        # ``expected`` has one empty list per emitted event. (In res_state1 the original shows
        # the next response already filed in, because its memory hands out live references.)
        assert ours["events"]["expected"] == {p["id"]: [] for p in produced}
        assert list(theirs["events"]["expected"]) == [p["id"] for p in theirs["events"]["produced"]]


# -- locking analysis ---------------------------------------------------------------------------------


def test_should_analyse_locking_like_the_original(memory: IMachineMemory) -> None:
    """``requiresLocking``: orchestrators, their machines and the decrement resumable."""
    orchestrators = build_number_domain(memory=memory)
    resumables = build_number_domain(memory=memory, kind="resumables")
    by_source = {h.source: h for h in orchestrators.workflows}
    ours = {
        "incO": by_source["arvo.orc.inc"].requires_resource_locking,
        "decO": by_source["arvo.orc.dec"].requires_resource_locking,
        "nmO": by_source["arvo.orc.number.modifier"].requires_resource_locking,
        "incMachines": [
            m.requires_resource_locking for m in by_source["arvo.orc.inc"].registry.machines
        ],
        "decR": _handler(resumables, "arvo.orc.dec").requires_resource_locking,
    }
    assert ours == VECTORS["requiresLocking"]


async def test_should_report_the_same_broker_errors_as_the_original(
    memory: IMachineMemory,
) -> None:
    """``broker_errors``: the unsubscribed notification is reported, as in the original (by
    the broker; a run returns it among its outputs, as on Ray)."""
    broker = create_simple_event_broker(build_number_domain(memory=memory).all)
    run = await broker.run(nm_init("decrement", domain="test.domain"), trace=True)
    recorded = VECTORS["broker_errors"]
    ours = [(str(e.error), e.event.type, e.event.to) for e in broker.errors]
    assert [e.type for e in run.outputs] == ["com.notif.test", "arvo.orc.number.modifier.done"]
    # The original also reported the completion, as its test had no subscriber on the caller.
    assert ours == [(r["msg"], r["type"], r["to"]) for r in recorded if r["to"] != CALLER]
    assert [e.type for e in run.trace][-1] == "arvo.orc.number.modifier.done"
    assert run.final is not None and run.final.to == CALLER
