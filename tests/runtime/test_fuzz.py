"""Bad input, property-based: malformed and wrong events pushed through a running runtime.

Hypothesis generates malformed CloudEvents JSON, events addressed to nobody or to the wrong
handler, data of the wrong types, wrong or missing dataschemas, oversized and deeply nested
payloads and garbage subjects, and sends what parses through one sharded ``ArvoRuntime`` (a
SQLite memory). Every example must end in one of the documented outcomes:

* ``rejected``: the text is not an event: ``ArvoEvent.from_json`` (or ``ArvoEvent``) raises a
  clear ``ValueError``/``TypeError`` before anything reaches Ray;
* ``violation:<Name>``: a violation (``ContractViolation``, ``ConfigViolation``,
  ``ExecutionViolation``...) in ``RunResult.errors`` and the dead letters;
* ``sys-error``: a ``sys.<type>.error`` event answers the caller;
* ``unrouted``: no one subscribes to the event, so it comes back as an output;
* ``domained``: the event is for another domain's bus, so it comes back in ``domained``;
* ``orphan``: a workflow event for another orchestrator, or a non-init event of a workflow
  that does not exist (documented in ``WorkflowHandler.execute``): nothing happens, and the
  result carries an ``OrphanEventError`` dead letter saying why;
* ``result``: the right answer.

Where the outcome can be predicted independently (a schema says the data is invalid, a
subject does not parse, nobody subscribes) the exact kind is asserted. Every so often, and at
the end, a valid number-modifier workflow proves the runtime still serves, and every stored
record is checked to still be the JSON object its digest says, with the expected keys. The
cases tried are counted per strategy and reported at the end of the module.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import pickle
import sqlite3
import sys
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    EventDataschema,
    ExecutionViolation,
    create_arvo_event,
    create_arvo_event_factory,
    create_arvo_orchestrator_event_factory,
    encode_uri,
    is_violation_error,
)
from arvo_ray.core.kit import quote
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    decrement_contract,
    decrement_orchestrator_contract,
    increment_contract,
    increment_orchestrator_contract,
    number_modifier_contract,
    value_read_contract,
    value_write_contract,
)
from arvo_ray.memory import SQLiteMachineMemory
from arvo_ray.runtime import ArvoRuntime, OrphanEventError, RunResult, Sharded

CALLER = "com.fuzz.client"
SEED_KEY = "fuzz.seed"
SEED_VALUE = 3
SERVE_EVERY = 20
"""Run a valid workflow after every this many examples that reached the runtime."""

CASES: Counter[str] = Counter()
"""Examples tried, per strategy."""
OUTCOMES: Counter[tuple[str, str]] = Counter()
"""Examples per (strategy, outcome kind)."""
_REACHED = Counter[str]()  # examples sent to the runtime (drives the periodic serving check)

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)

HANDLER_CONTRACTS = {
    c.type: c
    for c in (value_read_contract, value_write_contract, increment_contract, decrement_contract)
}
"""The handlers' contracts, by the handler's source (= the contract type)."""

HANDLER_PAYLOADS: dict[tuple[str, str], dict[str, Any]] = {
    ("com.value.read", "0.0.1"): {"key": SEED_KEY},
    ("com.value.write", "0.0.1"): {"key": "fuzz.written", "value": 1},
    ("com.increment.number", "0.0.1"): {"init": 1, "increment": 2},
    ("com.increment.number", "0.0.2"): {"init": 2, "multiplier": 3},
    ("com.decrement.number", "0.0.1"): {"init": 5, "decrement": 1},
    ("com.decrement.number", "0.0.2"): {"init": 6, "divider": 2},
}
"""A valid payload for every handler contract version."""

WORKFLOW_CONTRACTS = {
    "arvo.orc.number.modifier": number_modifier_contract,
    "arvo.orc.dec": decrement_orchestrator_contract,
    "arvo.orc.inc": increment_orchestrator_contract,
}
WORKFLOW_PAYLOADS: dict[str, dict[str, Any]] = {
    "arvo.orc.number.modifier": {
        "parentSubject$$": None,
        "init": 3,
        "modifier": 4,
        "operation": "decrement",
        "trend": "linear",
    },
    "arvo.orc.dec": {"parentSubject$$": None, "key": SEED_KEY, "modifier": 1, "trend": "linear"},
    "arvo.orc.inc": {"parentSubject$$": None, "key": SEED_KEY, "modifier": 1, "trend": "linear"},
}
"""A valid version-0.0.1 init payload of every workflow."""

RECORD_KEYS = {
    "normal": {"executionStatus", "initEventId", "subject", "status", "state", "events",
               "consumedEventIds", "outbox", "machineDefinition"},
    "failure": {"executionStatus", "initEventId", "subject", "error", "events",
                "consumedEventIds", "outbox"},
}  # fmt: skip
"""Top-level keys every stored orchestrator record has, by execution status."""


# -- strategies ----------------------------------------------------------------------------------

# Unicode text including lone surrogates (JSON can carry them as escapes).
any_text = st.text(alphabet=st.characters(codec=None), max_size=12)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
    any_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=8,
)
reverse_dns = st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,6}){2,3}", fullmatch=True)
bad_dataschemas = st.one_of(
    st.none(),
    any_text.filter(lambda s: "/" not in s),  # not "<uri>/<version>"
    st.sampled_from(["1.0.0", "#/wrong/uri/0.0.1", "#/test/handler/value/read/0.0.1"]),
    st.tuples(st.sampled_from(["#/test/handler", "#/nope"]), st.from_regex(r"\d\.\d\.\d", fullmatch=True)).map("/".join),
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, base: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with one to three fields replaced by any JSON value, dropped, or added."""
    data = dict(base)
    for operation in draw(
        st.lists(st.sampled_from(["replace", "drop", "add"]), min_size=1, max_size=3)
    ):
        if operation != "add" and data:
            key = draw(st.sampled_from(sorted(data)))
            if operation == "replace":
                data[key] = draw(json_values)
            else:
                del data[key]
        else:
            data[draw(any_text)] = draw(json_values)
    return data


def handler_event(source: str, version: str, **fields: Any) -> ArvoEvent:
    """A valid event for a handler contract version (then overridden by ``fields``)."""
    event = create_arvo_event_factory(HANDLER_CONTRACTS[source].version(version)).accepts(
        source=CALLER,
        subject=f"fuzz-{uuid.uuid4().hex[:8]}",
        data=HANDLER_PAYLOADS[(source, version)],
    )
    return ArvoEvent.from_dict({**event.to_dict(), **fields}) if fields else event


def workflow_init(source: str, **fields: Any) -> ArvoEvent:
    """A valid version-0.0.1 init event of a workflow, on a fresh subject (then ``fields``)."""
    factory = create_arvo_orchestrator_event_factory(WORKFLOW_CONTRACTS[source].version("0.0.1"))
    event = factory.init(source=CALLER, data=WORKFLOW_PAYLOADS[source])
    return ArvoEvent.from_dict({**event.to_dict(), **fields}) if fields else event


def modifier_init(value: int) -> ArvoEvent:
    return workflow_init(
        "arvo.orc.number.modifier",
        data={**WORKFLOW_PAYLOADS["arvo.orc.number.modifier"], "init": value},
    )


# -- the runtime and how outcomes are read -----------------------------------------------------------


@pytest.fixture(scope="module")
def runtime(
    ray_session: None, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ArvoRuntime]:
    folder = tmp_path_factory.mktemp("fuzz")
    store = SQLiteKeyValueStore(str(folder / "values.sqlite3"))
    store[SEED_KEY] = SEED_VALUE
    domain = build_number_domain(store=store)
    runtime = ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        memory=SQLiteMachineMemory(folder / "memory.sqlite3"),
        placement=Sharded(num_hosts=2),
        name=f"fuzz-{uuid.uuid4().hex[:8]}",
        namespace="arvo-tests",
        handler_options={"num_cpus": 0.5},
    )
    try:
        yield runtime
    finally:
        runtime.shutdown()
        _report(request.config, folder)


def _report(config: pytest.Config, folder: Path) -> None:
    """The cases tried, on the terminal (whether or not output is captured) and in a file."""
    per_strategy = {
        name: {
            "cases": count,
            "outcomes": {kind: n for (s, kind), n in sorted(OUTCOMES.items()) if s == name},
        }
        for name, count in sorted(CASES.items())
    }
    (folder / "fuzz-cases.json").write_text(json.dumps(per_strategy, indent=2), encoding="utf-8")
    lines = [f"fuzz cases tried: {sum(CASES.values())} ({folder / 'fuzz-cases.json'})"]
    for name, entry in per_strategy.items():
        kinds = ", ".join(f"{kind}={n}" for kind, n in entry["outcomes"].items())
        lines.append(f"  {name}: {entry['cases']} [{kinds}]")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        for line in lines:
            if reporter is not None:
                reporter.write_line(line)
            else:  # pragma: no cover - without the terminal plugin
                print(line, file=sys.stderr)


def kind_of(result: RunResult, event: ArvoEvent) -> str:
    """Which documented outcome ``result`` is; fails on anything else (e.g. a crash)."""
    assert isinstance(result, RunResult)
    if result.errors and all(isinstance(e.error, OrphanEventError) for e in result.errors):
        [letter] = result.errors
        assert letter.event == event and letter.error.reason
        return "orphan"
    if result.errors:
        for letter in result.errors:
            assert is_violation_error(letter.error), f"not a violation: {letter!r}"
            assert str(letter.error), "a violation without a message"
            assert isinstance(letter.event, ArvoEvent)
        return "violation:" + "+".join(sorted({type(e.error).__name__ for e in result.errors}))
    if result.domained:
        assert result.domained == [event] and result.hops == 0
        return "domained"
    if result.hops == 0:
        assert result.outputs == [event]
        return "unrouted"
    # The answer to the caller; a workflow answers its initiator (named in the subject), which
    # is not the event's source when that was tampered with.
    answer = result.final or (result.outputs[-1] if result.outputs else None)
    assert answer is not None, f"no answer and no reason: {result.describe()}"
    if answer.type.startswith("sys.") and answer.type.endswith(".error"):
        assert answer.data["errorMessage"], "a system error without a message"
        return "sys-error"
    return "result"


def send(runtime: ArvoRuntime, strategy: str, event: ArvoEvent) -> tuple[str, RunResult]:
    """Run ``event``; classify and count the outcome; now and then prove the runtime serves."""
    result = runtime.run(event, timeout=120)
    kind = kind_of(result, event)
    CASES[strategy] += 1
    OUTCOMES[(strategy, kind)] += 1
    _REACHED["all"] += 1
    if _REACHED["all"] % SERVE_EVERY == 0:
        assert_serving(runtime)
    return kind, result


def rejected(strategy: str, error: BaseException) -> None:
    """Count an input that never became an event (so never reached Ray)."""
    assert str(error), "a rejection without a message"
    CASES[strategy] += 1
    OUTCOMES[(strategy, f"rejected:{type(error).__name__}")] += 1


def assert_serving(runtime: ArvoRuntime) -> None:
    """A valid number-modifier workflow still completes with the right result."""
    value = _REACHED["serving"] = _REACHED["serving"] + 1
    result = runtime.run(modifier_init(value), timeout=120)
    assert result.errors == [], result.describe()
    assert result.final is not None and result.final.data == {
        "success": True,
        "error": [],
        "final": value - 4,
    }


def state_of(runtime: ArvoRuntime, subject: str) -> tuple[dict[str, Any] | None, int | None]:
    """A stored record and its version (``None``, ``None`` when there is none)."""
    memory: Any = runtime.memory

    async def read() -> tuple[dict[str, Any] | None, int | None]:
        meta = await memory.read_meta(subject)
        return await memory.read(subject), None if meta is None else meta["version"]

    return asyncio.run(read())


def handler_expectation(event: ArvoEvent) -> set[str]:
    """What a handler event must end in, from its dataschema and the contract's schemas."""
    contract = HANDLER_CONTRACTS[event.to or ""]
    if event.type != contract.type:
        return {"violation:ConfigViolation"}
    parsed = EventDataschema.parse(event.dataschema)
    if parsed is None:
        version = contract.sorted_versions("DESC")[0]  # the latest, as documented
    elif parsed["uri"] != contract.uri:
        return {"violation:ContractViolation"}
    elif parsed["version"] not in contract.versions:
        return {"violation:ConfigViolation"}
    else:
        version = parsed["version"]
    try:
        contract.version(version).accepts.schema.model_validate(event.data)
    except ValidationError:
        return {"violation:ContractViolation"}
    # Valid input: an answer, or the handler's error as sys.*.error (missing key, division by
    # zero, an arithmetic result that is not a JSON number is an output ContractViolation).
    return {"result", "sys-error", "violation:ContractViolation"}


def workflow_expectation(event: ArvoEvent) -> set[str]:
    """What a workflow *init* event must end in, from its subject, dataschema and data."""
    to = event.to or ""
    if not ArvoOrchestrationSubject.is_valid(event.subject):
        return {"violation:ExecutionViolation"}
    orchestrator = ArvoOrchestrationSubject.parse(event.subject)["orchestrator"]
    if orchestrator["name"] != to:
        return {"orphan"}
    if orchestrator["version"] not in WORKFLOW_CONTRACTS[to].versions:
        return {"violation:ConfigViolation"}
    contract = WORKFLOW_CONTRACTS[to].version(orchestrator["version"])
    parsed = EventDataschema.parse(event.dataschema)
    if (
        parsed is None
        or parsed["uri"] != contract.uri
        or parsed["version"] not in (contract.version, "0.0.0")
    ):
        return {"violation:ContractViolation"}
    try:
        contract.accepts.schema.model_validate(event.data)
    except ValidationError:
        return {"violation:ContractViolation"}
    # Valid: the workflow runs. Its service calls may still break their contracts (a number
    # that is no JSON number...), a parentSubject$$ may not parse, a handler may fail.
    return {
        "result",
        "sys-error",
        "violation:ContractViolation",
        "violation:ExecutionViolation",
        "violation:ContractViolation+ExecutionViolation",
    }


def check_no_record_for_a_violation(runtime: ArvoRuntime, kind: str, event: ArvoEvent) -> None:
    """Violations never persist state: a rejected init leaves its subject without a record."""
    if (
        kind.startswith("violation:")
        and event.type == event.to
        and ArvoOrchestrationSubject.is_valid(event.subject)
    ):
        record, _ = state_of(runtime, event.subject)
        if record is not None:
            # The init itself was accepted; a later step of the chain raised the violation.
            assert event.id in record["consumedEventIds"]


@pytest.fixture(scope="module")
def done_workflow(runtime: ArvoRuntime) -> str:
    """The subject of a finished number-modifier workflow, for events aimed at a live record."""
    init = modifier_init(100)
    result = runtime.run(init, timeout=120)
    assert result.final is not None and result.final.data["final"] == 96
    return init.subject


# -- 1. malformed CloudEvents JSON -----------------------------------------------------------------------

BASE_TIME = "2026-01-01T00:00:00.000+00:00"
BASE_EVENTS = {
    "handler": handler_event(
        "com.value.read", "0.0.1", id="base-handler-event", subject="fuzz-base", time=BASE_TIME
    ).to_dict(),
    "workflow": workflow_init(
        "arvo.orc.dec",
        id="base-workflow-event",
        subject=ArvoOrchestrationSubject.new(
            orchestrator="arvo.orc.dec", version="0.0.1", initiator=CALLER, execution_id="base"
        ),
        time=BASE_TIME,
    ).to_dict(),
}
"""Fixed events to break (data generation must not depend on random ids or times)."""


def freshen(text: str | bytes) -> str | bytes:
    """A fresh id and workflow subject in place of the base events' fixed ones (a reused id
    would be a redelivery, ignored by design)."""
    if isinstance(text, bytes):
        return text
    workflow = BASE_EVENTS["workflow"]
    fresh_subject = ArvoOrchestrationSubject.new(
        orchestrator="arvo.orc.dec", version="0.0.1", initiator=CALLER
    )
    return (
        text.replace(BASE_EVENTS["handler"]["id"], str(uuid.uuid4()))
        .replace(workflow["id"], str(uuid.uuid4()))
        .replace(workflow["subject"], fresh_subject)
    )


EVENT_FIELDS = [
    "id", "source", "specversion", "type", "subject", "datacontenttype", "dataschema", "data",
    "time", "to", "accesscontrol", "redirectto", "executionunits", "traceparent", "tracestate",
    "parentid", "domain",
]  # fmt: skip
BAD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "not a uri",
        "NoDots",
        "0.3",
        "text/plain",
        "yesterday",
        "UPPER.case",
        "\ud800",
        "a" * 300,
    ]
)


@st.composite
def malformed_json(draw: st.DrawFn) -> str | bytes:
    """Text that is not an ArvoEvent's JSON, or JSON of an event with broken or wrong fields."""
    shape = draw(
        st.sampled_from(
            ["text", "non-object", "truncated", "bytes", "nested", "fields", "extension"]
        )
    )
    if shape == "text":
        return draw(st.text(max_size=40))
    if shape == "non-object":
        return json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict))))
    if shape == "bytes":
        return draw(st.binary(max_size=40))
    if shape == "nested":
        depth = draw(st.integers(900, 50_000))
        return "[" * depth + "]" * draw(st.sampled_from([0, depth]))
    base = dict(BASE_EVENTS[draw(st.sampled_from(sorted(BASE_EVENTS)))])
    if shape == "truncated":
        text = json.dumps(base)
        return text[: draw(st.integers(0, len(text) - 1))]
    if shape == "extension":
        base[draw(st.sampled_from(["Bad-Key", "with space", "UPPER", "data", "x_y"]))] = draw(
            json_values
        )
        return json.dumps(base)
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(EVENT_FIELDS))
        action = draw(st.sampled_from(["drop", "wrong type", "bad string"]))
        if action == "drop":
            base.pop(field, None)
        elif action == "wrong type":
            base[field] = draw(json_values)
        else:
            base[field] = draw(BAD_STRINGS)
    return json.dumps(base)


def test_malformed_cloudevents_json_is_rejected_before_ray_or_handled(runtime: ArvoRuntime) -> None:
    """Invalid JSON (or JSON that is no event) fails ArvoEvent.from_json with a clear error and
    never reaches the broker; text that does parse is a (wrong) event the runtime handles."""
    runs_before = runtime.stats()["runs"]
    sent_before = sum(CASES.values()) - sum(
        n for (_, k), n in OUTCOMES.items() if k.startswith("rejected")
    )
    serving_before = _REACHED["serving"]

    @settings(FUZZ, max_examples=150)
    @given(malformed_json())
    def check(text: str | bytes) -> None:
        text = freshen(text)
        try:
            event = ArvoEvent.from_json(text)
        except (ValueError, TypeError, RecursionError) as error:
            # ValidationError and JSONDecodeError are ValueErrors. RecursionError: json.loads
            # of absurdly nested text (see the module's report).
            rejected("malformed json", error)
            with pytest.raises(TypeError, match="ArvoEvent"):
                runtime.submit(text)  # type: ignore[arg-type]
            return
        kind, _ = send(runtime, "malformed json", event)
        if event.to in HANDLER_CONTRACTS:
            assert kind in handler_expectation(event) | {"domained"}
        elif event.to in WORKFLOW_CONTRACTS and event.type == event.to:
            assert kind in workflow_expectation(event) | {"domained"}
        else:
            assert kind in {"unrouted", "domained", "orphan"} or kind.startswith("violation:")

    check()
    assert CASES["malformed json"] > 0
    assert any(k.startswith("rejected") for (s, k) in OUTCOMES if s == "malformed json")
    sent = sum(CASES.values()) - sum(
        n for (_, k), n in OUTCOMES.items() if k.startswith("rejected")
    )
    # Only what parsed (plus the serving checks) reached the broker.
    assert runtime.stats()["runs"] - runs_before == (sent - sent_before) + (
        _REACHED["serving"] - serving_before
    )


# -- 2. events routed to nobody, or to the wrong handler or workflow ------------------------------------


@st.composite
def misrouted(draw: st.DrawFn) -> ArvoEvent:
    """An event whose type/to/domain do not match any subscriber, or the wrong one."""
    case = draw(st.sampled_from(["nobody", "wrong handler", "wrong workflow", "other domain"]))
    type_ = draw(reverse_dns)
    if case == "nobody":
        to = draw(
            reverse_dns.filter(lambda t: t not in HANDLER_CONTRACTS and t not in WORKFLOW_CONTRACTS)
        )
        return handler_event("com.value.read", "0.0.1", type=type_, to=to)
    if case == "wrong handler":
        to = draw(st.sampled_from(sorted(HANDLER_CONTRACTS)))
        return handler_event("com.value.read", "0.0.1", type=type_, to=to)
    if case == "wrong workflow":
        to = draw(st.sampled_from(sorted(WORKFLOW_CONTRACTS)))
        return workflow_init(to, type=type_)
    domain = draw(st.from_regex(r"[a-z0-9.]{1,12}", fullmatch=True))
    return handler_event("com.value.read", "0.0.1", domain=domain)


def test_events_for_nobody_or_the_wrong_target_are_returned_or_violations(
    runtime: ArvoRuntime, done_workflow: str
) -> None:
    """Nobody subscribes: returned as an output (and kept as unrouted). A handler gets an event
    of another type: ConfigViolation. A workflow gets an event it does not know: an orphan when
    the instance does not exist, ConfigViolation (and the record unchanged) when it does."""
    before = state_of(runtime, done_workflow)

    @settings(FUZZ, max_examples=50)
    @given(misrouted(), st.booleans())
    def check(event: ArvoEvent, at_live_record: bool) -> None:
        if (
            event.to in WORKFLOW_CONTRACTS
            and at_live_record
            and event.to == "arvo.orc.number.modifier"
        ):
            event = ArvoEvent.from_dict({**event.to_dict(), "subject": done_workflow})
        kind, _ = send(runtime, "wrong type/to", event)
        if event.domain:
            assert kind == "domained"
        elif event.to not in HANDLER_CONTRACTS and event.to not in WORKFLOW_CONTRACTS:
            assert kind == "unrouted"
            assert event.id in {e.id for e in runtime.unrouted(limit=10)}  # kept for inspection
        elif event.to in HANDLER_CONTRACTS:
            assert kind in handler_expectation(event)
            assert kind == "violation:ConfigViolation" or event.type == event.to
        elif event.subject == done_workflow:
            assert kind == "violation:ConfigViolation"  # no contract of the workflow has the type
        else:
            assert kind == "orphan"
            assert state_of(runtime, event.subject) == (None, None)

    check()
    assert CASES["wrong type/to"] > 0
    assert state_of(runtime, done_workflow) == before  # violations never touch the record


# -- 3. data of the wrong types ------------------------------------------------------------------------


@st.composite
def wrong_data(draw: st.DrawFn) -> ArvoEvent:
    """A handler or workflow event whose data is a valid payload with fields broken."""
    if draw(st.booleans()):
        source, version = draw(st.sampled_from(sorted(HANDLER_PAYLOADS)))
        data = draw(mutated(HANDLER_PAYLOADS[(source, version)]))
        return handler_event(source, version, data=data)
    source = draw(st.sampled_from(sorted(WORKFLOW_PAYLOADS)))
    data = draw(
        mutated({k: v for k, v in WORKFLOW_PAYLOADS[source].items() if k != "parentSubject$$"})
    )
    return workflow_init(source, data={"parentSubject$$": None, **data})


def test_data_of_the_wrong_types_is_a_contract_violation(runtime: ArvoRuntime) -> None:
    """Data that breaks the contract: ContractViolation (and no record). Data that happens to
    fit: a normal run."""

    @settings(FUZZ, max_examples=50)
    @given(wrong_data())
    def check(event: ArvoEvent) -> None:
        kind, _ = send(runtime, "wrong data types", event)
        if event.to in HANDLER_CONTRACTS:
            assert kind in handler_expectation(event)
        else:
            assert kind in workflow_expectation(event)
            check_no_record_for_a_violation(runtime, kind, event)

    check()
    assert CASES["wrong data types"] > 0
    assert OUTCOMES[("wrong data types", "violation:ContractViolation")] > 0


def test_wrong_data_for_a_live_workflow_leaves_its_record_alone(
    runtime: ArvoRuntime, done_workflow: str
) -> None:
    """A service answer with broken data, aimed at an existing workflow: ContractViolation, and
    the stored record is byte-for-byte what it was."""
    valid = {"key": done_workflow, "success": True}
    before = state_of(runtime, done_workflow)

    @settings(FUZZ, max_examples=15)
    @given(mutated(valid).filter(lambda d: not _fits(value_write_contract, d)))
    def check(data: dict[str, Any]) -> None:
        event = create_arvo_event(
            source="com.value.write",
            type="evt.value.write.success",
            subject=done_workflow,
            to="arvo.orc.number.modifier",
            dataschema=f"{value_write_contract.uri}/0.0.1",
            data=data,
        )
        kind, _ = send(runtime, "wrong data types", event)
        assert kind == "violation:ContractViolation"

    check()
    assert state_of(runtime, done_workflow) == before


def _fits(contract: Any, data: Mapping[str, Any]) -> bool:
    [schema] = contract.version("0.0.1").emits.values()  # the pydantic model of the answer
    try:
        schema.model_validate(data)
    except ValidationError:
        return False
    return True


# -- 4. wrong or missing dataschemas --------------------------------------------------------------------


@st.composite
def wrong_dataschema(draw: st.DrawFn) -> tuple[str, str, str | None]:
    """(handler source or workflow, contract version, dataschema) for a valid event whose
    dataschema is replaced."""
    if draw(st.booleans()):
        source, version = draw(st.sampled_from(sorted(HANDLER_PAYLOADS)))
        contract = HANDLER_CONTRACTS[source]
        other = draw(st.sampled_from([*contract.versions, "9.9.9"]))
        return source, version, draw(st.one_of(bad_dataschemas, st.just(f"{contract.uri}/{other}")))
    source = draw(st.sampled_from(sorted(WORKFLOW_PAYLOADS)))
    uri = WORKFLOW_CONTRACTS[source].uri
    variants = [f"{uri}/0.0.1", f"{uri}/0.0.2", f"{uri}/9.9.9", f"{uri}/0.0.0"]
    return source, "0.0.1", draw(st.one_of(bad_dataschemas, st.sampled_from(variants)))


def test_wrong_or_missing_dataschemas(runtime: ArvoRuntime) -> None:
    """Workflows need a dataschema naming their contract and version: otherwise a violation.
    Handlers use the latest version when the dataschema is missing or unparseable, and refuse
    another contract's (ContractViolation) or an unknown version (ConfigViolation)."""

    @settings(FUZZ, max_examples=50)
    @given(wrong_dataschema())
    def check(spec: tuple[str, str, str | None]) -> None:
        source, version, dataschema = spec
        try:
            if source in HANDLER_CONTRACTS:
                event = handler_event(source, version, dataschema=dataschema)
            else:
                event = workflow_init(source, dataschema=dataschema)
        except ValidationError as error:  # "" or not a URI: no event at all
            rejected("wrong dataschema", error)
            return
        kind, _ = send(runtime, "wrong dataschema", event)
        if event.to in HANDLER_CONTRACTS:
            assert kind in handler_expectation(event)
        else:
            expected = workflow_expectation(event)
            assert kind in expected
            check_no_record_for_a_violation(runtime, kind, event)

    check()
    assert CASES["wrong dataschema"] > 0
    assert OUTCOMES[("wrong dataschema", "violation:ContractViolation")] > 0


# -- 5. oversized and deeply nested payloads --------------------------------------------------------------

MB = 1024 * 1024


@st.composite
def oversized(draw: st.DrawFn) -> tuple[str, Any]:
    """(case, event or the exception building it raised) with a 1-5 MB string, or deep data."""
    case = draw(
        st.sampled_from(
            [
                "missing key",
                "written key",
                "handler subject",
                "workflow blob",
                "workflow wrong type",
                "deep",
            ]
        )
    )
    char = "x" if case == "handler subject" else draw(st.sampled_from("xé𝄞"))
    big = char * (draw(st.integers(1, 5)) * MB // len(char.encode()))  # 1-5 MB of UTF-8
    try:
        if case == "missing key":
            # Unique, so a key an earlier example wrote is never the one read here.
            key = f"missing-{uuid.uuid4()}-{big}"
            return case, handler_event("com.value.read", "0.0.1", data={"key": key})
        if case == "written key":
            return case, handler_event("com.value.write", "0.0.1", data={"key": big, "value": 2})
        if case == "handler subject":
            return case, handler_event("com.value.read", "0.0.1", subject=encode_uri(big))
        if case == "workflow blob":
            data = {**WORKFLOW_PAYLOADS["arvo.orc.number.modifier"], "blob": big}
            return case, workflow_init("arvo.orc.number.modifier", data=data)
        if case == "workflow wrong type":
            data = {**WORKFLOW_PAYLOADS["arvo.orc.number.modifier"], "init": big}
            return case, workflow_init("arvo.orc.number.modifier", data=data)
        nested: Any = 1
        # Deep enough to matter, or far too deep to be an event.
        depth = draw(
            st.one_of(st.sampled_from([400, 1_000, 2_500, 20_000, 100_000]), st.integers(2, 400))
        )
        for _ in range(depth):
            nested = {"n": nested}
        data = {**WORKFLOW_PAYLOADS["arvo.orc.number.modifier"], "deep": nested}
        return case, workflow_init("arvo.orc.number.modifier", data=data)
    except (ValueError, TypeError, RecursionError) as error:
        return case, error


def canonical_digest(record: dict[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON (sorted keys, compact, UTF-8), as stored."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def test_oversized_and_deeply_nested_payloads_are_handled(runtime: ArvoRuntime) -> None:
    """1-5 MB strings in data, in a subject, in a workflow's context; nesting up to thousands of
    levels: a clear violation, a clear rejection, or a normal run; never a crash."""

    @settings(FUZZ, max_examples=15)
    @given(oversized())
    def check(case_and_event: tuple[str, Any]) -> None:
        case, event = case_and_event
        if isinstance(event, BaseException):
            assert case == "deep", f"{case}: {event!r}"  # only nesting may be refused up front
            rejected("oversized", event)
            return
        try:
            kind, result = send(runtime, "oversized", event)
        except (RecursionError, pickle.PicklingError) as error:  # too deep to ship to Ray
            assert case == "deep"
            rejected("oversized", error)
            return
        expected = {
            "missing key": {"sys-error"},
            "written key": {"result"},
            "handler subject": {"result"},
            "workflow blob": {"result"},
            "workflow wrong type": {"violation:ContractViolation"},
            "deep": {"result"},
        }[case]
        assert kind in expected, (case, result.describe())
        if case == "workflow blob":
            record, _ = state_of(runtime, event.subject)
            assert record is not None and record["state"]["context"]["blob"] == event.data["blob"]
            assert result.final is not None and result.final.data["final"] == -1

    check()
    assert CASES["oversized"] > 0


# -- 6. garbage subjects -------------------------------------------------------------------------------


@st.composite
def garbage_subjects(draw: st.DrawFn) -> str:
    shape = draw(
        st.sampled_from(["text", "base64", "zlib json", "other orchestrator", "unknown version"])
    )
    if shape == "text":
        return encode_uri(draw(st.text(min_size=1, max_size=60)))
    if shape == "base64":
        return base64.b64encode(draw(st.binary(min_size=1, max_size=60))).decode()
    if shape == "zlib json":
        return base64.b64encode(zlib.compress(json.dumps(draw(json_values)).encode())).decode()
    if shape == "other orchestrator":
        return ArvoOrchestrationSubject.new(
            orchestrator=draw(reverse_dns), version="0.0.1", initiator=CALLER
        )
    return ArvoOrchestrationSubject.new(
        orchestrator="arvo.orc.dec", version="9.9.9", initiator=CALLER
    )


def test_garbage_subjects(runtime: ArvoRuntime) -> None:
    """An orchestrator event whose subject is no orchestration subject: ExecutionViolation; a
    subject of another orchestrator: an orphan; of an unknown version: ConfigViolation. Handlers
    take any subject."""

    @settings(FUZZ, max_examples=50)
    @given(
        garbage_subjects(), st.sampled_from(["arvo.orc.dec", "arvo.orc.number.modifier", "handler"])
    )
    def check(subject: str, target: str) -> None:
        try:
            if target == "handler":
                event = handler_event("com.value.read", "0.0.1", subject=subject)
            else:
                event = workflow_init(target, subject=subject)
        except ValidationError as error:  # not a properly encoded URI: no event at all
            rejected("garbage subjects", error)
            return
        kind, result = send(runtime, "garbage subjects", event)
        if target == "handler":
            assert kind == "result"
            # Responses are built like the original's createArvoEvent: the subject goes
            # through encodeURI once more (``%22`` answers as ``%2522``).
            assert result.final is not None and result.final.subject == encode_uri(event.subject)
            return
        assert kind in workflow_expectation(event)
        if kind == "violation:ExecutionViolation":
            [letter] = result.errors
            assert isinstance(letter.error, ExecutionViolation)
            assert quote(event.id) in str(letter.error) and "subject" in str(letter.error)
        if kind in ("violation:ExecutionViolation", "orphan", "violation:ConfigViolation"):
            assert state_of(runtime, subject) == (None, None)

    check()
    assert CASES["garbage subjects"] > 0
    assert OUTCOMES[("garbage subjects", "violation:ExecutionViolation")] > 0


# -- afterwards: still serving, nothing corrupted --------------------------------------------------------


def test_the_runtime_kept_serving_and_no_record_is_corrupted(runtime: ArvoRuntime) -> None:
    """A valid workflow still completes; every stored record is a JSON object whose digest
    matches, with the expected keys; no lock is left; every error was a violation or an
    orphan event."""
    assert_serving(runtime)
    stats = runtime.stats()
    # Nothing failed other than by a violation, or for belonging to no workflow instance.
    assert stats["errors"] == stats["violations"] + stats["orphans"] > stats["violations"]
    assert all(
        is_violation_error(letter.error) or isinstance(letter.error, OrphanEventError)
        for letter in runtime.dead_letters()
    )
    assert runtime.memory_path is not None
    with sqlite3.connect(runtime.memory_path) as connection:
        rows = connection.execute(
            "SELECT id, data, version, digest FROM arvo_machine_records"
        ).fetchall()
        locks = connection.execute(
            "SELECT id FROM arvo_machine_locks WHERE expires_at > strftime('%s', 'now')"
        ).fetchall()
    assert rows
    for subject, text, version, stored_digest in rows:
        record = json.loads(text)
        assert isinstance(record, dict) and version >= 1
        assert canonical_digest(record) == stored_digest
        assert ArvoOrchestrationSubject.is_valid(subject)
        assert record["subject"] == subject
        status = record["executionStatus"]
        assert RECORD_KEYS[status] <= set(record), (subject[:40], sorted(record))
        consumed = record["consumedEventIds"]
        assert consumed and len(consumed) == len(set(consumed))
        if status == "normal":
            assert record["status"] in ("active", "done")
            assert {"value", "context", "status"} <= set(record["state"])
    assert locks == []
