"""The declarative test kit: steps, expectations, failure messages, fresh memories.

The handlers are the number domain's: a value reader (one event in, one out), and the
decrement orchestrator, whose replies must answer the requests it emitted.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

import pytest

from arvo_ray.core import (
    ArvoEvent,
    ConfigViolation,
    ContractViolation,
    create_arvo_event,
    create_arvo_event_factory,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.examples.number_domain import (
    build_number_domain,
    decrement_orchestrator,
    decrement_orchestrator_contract,
    value_read_contract,
    value_read_handler,
)
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import SimpleMachineMemory
from arvo_ray.testing import StepsFailed, TestCase, TestStep, check_steps, run_steps

CLIENT = "com.test.client"


def read(key: str) -> ArvoEvent:
    """A ``com.value.read`` request from :data:`CLIENT`."""
    return create_arvo_event_factory(value_read_contract.version("0.0.1")).accepts(
        source=CLIENT, subject="s", data={"key": key}
    )


def dec_init(key: str = "apples") -> ArvoEvent:
    """The init event of a decrement orchestration (modifier 1)."""
    return create_arvo_orchestrator_event_factory(
        decrement_orchestrator_contract.version("0.0.1")
    ).init(
        source=CLIENT,
        data={"parentSubject$$": None, "key": key, "modifier": 1, "trend": "linear"},
    )


def value_reply(value: Any) -> Any:
    """Builds the reader's answer to the ``com.value.read`` request the previous step emitted."""

    def build(emitted: list[ArvoEvent]) -> ArvoEvent:
        [request] = emitted
        return create_arvo_event(
            type="evt.value.read.success",
            source="com.value.read",
            subject=request.subject,
            to=request.source,
            data={"key": request.data["key"], "value": value},
            dataschema="#/test/handler/value/read/0.0.1",
            parentid=request.id,
        )

    return build


def reader() -> IArvoEventHandler:
    return value_read_handler({"apples": 3, "pears": 5})


# -- passing runs --------------------------------------------------------------------------------


def test_a_passing_run_returns_the_events_of_each_step() -> None:
    """Mappings compare the listed fields; ``data`` compares the listed keys only."""
    outputs = check_steps(
        reader(),
        [
            TestStep(read("apples"), expect=[{"type": "evt.value.read.success", "to": CLIENT}]),
            TestStep(read("pears"), expect=[{"data": {"value": 5}, "executionunits": 0}]),
        ],
    )
    assert [[(e.type, e.data) for e in events] for events in outputs] == [
        [("evt.value.read.success", {"key": "apples", "value": 3})],
        [("evt.value.read.success", {"key": "pears", "value": 5})],
    ]


def test_no_expectation_checks_nothing_and_an_empty_one_demands_no_events() -> None:
    """``expect=None`` accepts any output; ``expect=[]`` only an empty one."""
    orchestrator = decrement_orchestrator(SimpleMachineMemory())
    init = dec_init()
    outputs = check_steps(
        orchestrator, [TestStep(init), TestStep(init, expect=[], name="redelivered")]
    )
    assert [[e.type for e in events] for events in outputs] == [["com.value.read"], []]


async def test_run_steps_is_awaitable_in_async_tests() -> None:
    """``check_steps`` starts its own loop; async code awaits ``run_steps``."""
    outputs = await run_steps(reader(), [TestStep(read("apples"), expect=[{"data": {"value": 3}}])])
    assert len(outputs) == 1


# -- predicates ----------------------------------------------------------------------------------


def test_predicates_check_one_event_one_field_or_the_whole_output() -> None:
    """A callable item tests its event, a callable value its field, a callable ``expect`` all."""

    def is_success(event: ArvoEvent) -> bool:
        return event.type.endswith(".success")

    check_steps(
        reader(),
        [
            TestStep(read("apples"), expect=[is_success]),
            TestStep(read("pears"), expect=[{"data": {"value": lambda v: v > 4}}]),
            TestStep(read("apples"), expect=lambda events: len(events) == 1),
        ],
    )


def test_a_rejecting_or_raising_predicate_is_reported_by_name() -> None:
    """Named functions are quoted by name, lambdas as ``<lambda>``; what they got is shown."""

    def is_error(event: ArvoEvent) -> bool:
        return event.type.startswith("sys.")

    with pytest.raises(StepsFailed) as info:
        check_steps(
            reader(),
            [
                TestStep(
                    read("apples"),
                    expect=[{"data": {"value": lambda v: v > 4, "key": lambda k: k["x"]}}],
                )
            ],
        )
    assert info.value.reasons == [
        "event [0] data.value: <lambda> returned False for 3",
        "event [0] data.key: <lambda> raised TypeError: string indices must be integers, "
        "not 'str' for \"apples\"",
    ]
    with pytest.raises(StepsFailed) as info:
        check_steps(reader(), [TestStep(read("apples"), expect=[is_error])])
    assert info.value.reasons == ["event [0]: <is_error> returned False"]
    with pytest.raises(StepsFailed) as info:
        check_steps(reader(), [TestStep(read("apples"), expect=lambda events: events[1])])
    assert info.value.reasons == ["events: <lambda> raised IndexError: list index out of range"]


# -- failure messages ----------------------------------------------------------------------------


def test_a_failing_suite_names_the_step_and_shows_expected_and_got() -> None:
    """The message: the step, each difference, then both sides one event per line."""
    steps = [
        TestStep(read("apples"), name="read apples", expect=[{"data": {"value": 3}}]),
        TestStep(
            read("plums"),
            name="read plums",
            expect=[{"type": "evt.value.read.success", "data": {"value": 5}}],
        ),
        TestStep(read("pears"), name="never runs"),
    ]
    with pytest.raises(StepsFailed) as info:
        check_steps(reader(), steps)
    assert str(info.value) == (
        "steps[1] 'read plums' failed\n"
        '  event [0] type: expected "evt.value.read.success", got "sys.com.value.read.error"\n'
        "  event [0] data.value: expected 5, missing\n"
        "  expected:\n"
        '    [0] type="evt.value.read.success", data={"value": 5}\n'
        "  got:\n"
        "    [0] sys.com.value.read.error -> com.test.client "
        '{"errorName": "LookupError", "errorMessage": "No value to find at key=plums",...'
    )
    failure = info.value
    assert isinstance(failure, AssertionError)
    assert (failure.index, failure.step) == (1, steps[1])
    assert failure.events is not None and [e.type for e in failure.events] == [
        "sys.com.value.read.error"
    ]


def test_a_wrong_number_of_events_is_one_reason() -> None:
    """Items are not compared pairwise when the counts differ; no events reads "no events"."""
    orchestrator = decrement_orchestrator(SimpleMachineMemory())
    init = dec_init()
    with pytest.raises(StepsFailed) as info:
        check_steps(
            orchestrator,
            [TestStep(init), TestStep(init, expect=[{"type": "com.value.read"}, any])],
        )
    assert str(info.value) == (
        "steps[1] failed\n"
        "  expected 2 events, got 0\n"
        "  expected:\n"
        '    [0] type="com.value.read"\n'
        "    [1] <any>\n"
        "  got: no events"
    )


def test_a_step_that_raises_unexpectedly_fails_with_the_error_as_cause() -> None:
    """The exception's type and first line; the original stays the ``__cause__``."""
    orchestrator = decrement_orchestrator(SimpleMachineMemory())
    with pytest.raises(StepsFailed) as info:
        check_steps(orchestrator, [TestStep(dec_init()), TestStep(value_reply("many"))])
    assert str(info.value).startswith(
        "steps[1] failed\n  raised ContractViolation: ViolationError<Contract> Input validation "
        "failed - Event data does not meet contract requirements: "
    )
    assert len(str(info.value).splitlines()) == 2
    assert isinstance(info.value.__cause__, ContractViolation)
    assert info.value.events is None


def test_an_input_that_cannot_be_built_names_the_error() -> None:
    """A callable input failing (here: the previous step emitted nothing) is a step failure."""
    with pytest.raises(StepsFailed) as info:
        check_steps(reader(), [TestStep(itemgetter(0), name="reply")])
    assert str(info.value) == (
        "steps[0] 'reply' failed\n"
        "  building the input event raised IndexError: list index out of range"
    )
    with pytest.raises(StepsFailed, match="the input callable returned str, not an ArvoEvent"):
        check_steps(reader(), [TestStep(lambda _events: "apples")])  # type: ignore[arg-type,return-value]


def test_emitted_domains_are_shown() -> None:
    """Copies of one event for other domains differ only there, so the line says so."""
    resumable = next(
        unit
        for unit in build_number_domain(kind="resumables").workflows
        if unit.source == "arvo.orc.inc"
    )
    init = create_arvo_orchestrator_event_factory(resumable.self_contract.version("0.0.1")).init(
        source=CLIENT,
        data={"parentSubject$$": None, "modifications": [{"key": "a", "value": 1}]},
    )
    with pytest.raises(StepsFailed) as info:
        check_steps(resumable, [TestStep(init, expect=[{"domain": None}])])
    assert str(info.value).splitlines()[1:] == [
        "  expected 1 event, got 2",
        "  expected:",
        "    [0] domain=null",
        "  got:",
        '    [0] com.value.read -> com.value.read {"key": "a"}',
        '    [1] com.value.read -> com.value.read domain=external {"key": "a"}',
    ]


# -- raises --------------------------------------------------------------------------------------


def test_raises_expects_the_exception_and_passes_the_earlier_events_on() -> None:
    """A step that raised as expected emits ``[]``; the next input sees the events before it."""
    outputs = check_steps(
        decrement_orchestrator(SimpleMachineMemory()),
        [
            TestStep(dec_init(), expect=[{"type": "com.value.read"}]),
            TestStep(value_reply("many"), raises=ContractViolation, name="invalid reply"),
            TestStep(value_reply(None), raises=(ConfigViolation, ContractViolation), name="again"),
            TestStep(value_reply(3), expect=[{"data": {"init": 3, "decrement": 1}}]),
        ],
    )
    assert [len(events) for events in outputs] == [1, 0, 0, 1]


def test_raises_fails_when_nothing_or_something_else_is_raised() -> None:
    """Both messages name the expected type; the first also shows what was emitted."""
    with pytest.raises(StepsFailed) as info:
        check_steps(reader(), [TestStep(read("apples"), raises=ContractViolation)])
    assert str(info.value) == (
        "steps[0] failed\n"
        "  expected ContractViolation to be raised\n"
        "  got:\n"
        '    [0] evt.value.read.success -> com.test.client {"key": "apples", "value": 3}'
    )
    with pytest.raises(StepsFailed) as info:
        check_steps(
            decrement_orchestrator(SimpleMachineMemory()),
            [TestStep(dec_init()), TestStep(value_reply("many"), raises=ConfigViolation)],
        )
    assert str(info.value).startswith(
        "steps[1] failed\n  expected ConfigViolation, but raised ContractViolation: "
    )


# -- inputs built from the previous step ---------------------------------------------------------


def test_a_workflow_reply_is_built_from_the_request_it_answers() -> None:
    """The reply carries the request's subject and id; the workflow takes its next step."""
    outputs = check_steps(
        decrement_orchestrator(SimpleMachineMemory()),
        [
            TestStep(dec_init("k"), expect=[{"type": "com.value.read", "data": {"key": "k"}}]),
            TestStep(value_reply(7), expect=[{"type": "com.decrement.number"}]),
        ],
    )
    [[request], [call]] = outputs
    assert call.parentid != request.id and call.subject == request.subject


def test_several_handlers_route_each_input_by_its_to() -> None:
    """A workflow and its services, driven together: each step passes the first event on."""
    domain = build_number_domain(store={"apples": 3})
    outputs = check_steps(
        domain.all,
        [
            TestStep(dec_init(), expect=[{"to": "com.value.read"}]),
            TestStep(itemgetter(0), expect=[{"to": "arvo.orc.dec", "data": {"value": 3}}]),
            TestStep(itemgetter(0), expect=[{"to": "com.decrement.number"}]),
            TestStep(itemgetter(0), expect=[{"data": {"result": 2}}]),
            TestStep(itemgetter(0), expect=[{"type": "arvo.orc.dec.done", "to": CLIENT}]),
        ],
    )
    assert outputs[-1][0].data == {"success": True, "error": [], "final": 2}
    with pytest.raises(StepsFailed) as info:
        check_steps(domain.all, [TestStep(read("apples")), TestStep(itemgetter(0))])
    assert str(info.value) == (
        "steps[1] failed\n"
        "  no handler for to='com.test.client' (handlers: com.increment.number, "
        "com.decrement.number, com.value.read, com.value.write, arvo.orc.inc, arvo.orc.dec, "
        "arvo.orc.number.modifier)"
    )


# -- memory --------------------------------------------------------------------------------------


async def test_every_run_starts_on_a_fresh_memory_and_gives_the_old_one_back() -> None:
    """Running the same init twice is no duplicate; the workflow keeps its own memory."""
    own = SimpleMachineMemory()
    orchestrator = decrement_orchestrator(own)
    init = dec_init()
    steps = [TestStep(init, expect=[{"type": "com.value.read"}])]
    await run_steps(orchestrator, steps)
    await run_steps(orchestrator, steps)
    assert orchestrator.memory is own
    assert await own.read(init.subject) is None

    with pytest.raises(StepsFailed):
        await run_steps(orchestrator, [TestStep(init, expect=[])])
    assert orchestrator.memory is own


async def test_a_given_memory_keeps_the_records_for_inspection() -> None:
    """``memory=`` is where the workflows write; shared by every workflow of the run."""
    given = SimpleMachineMemory()
    init = dec_init()
    await run_steps(build_number_domain().all, [TestStep(init)], memory=given)
    record = await given.read(init.subject)
    assert record is not None and record["status"] == "active"


# -- cases ---------------------------------------------------------------------------------------

built: list[IArvoEventHandler] = []


def _counted_reader() -> IArvoEventHandler:
    handler = reader()
    built.append(handler)
    return handler


CASES = [
    TestCase(
        "reads a stored value",
        _counted_reader,
        [TestStep(read("apples"), expect=[{"data": {"value": 3}}])],
    ),
    TestCase(
        "reports a missing key as a system error",
        _counted_reader,
        [TestStep(read("plums"), expect=[{"type": "sys.com.value.read.error"}])],
    ),
    TestCase(
        "runs a workflow on a fresh memory each time",
        lambda: decrement_orchestrator(SimpleMachineMemory()),
        [TestStep(dec_init("k")), TestStep(value_reply(1), expect=[{"data": {"init": 1}}])],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_cases_run_as_parametrised_tests(case: TestCase) -> None:
    """``ids=str`` names each test after its case; each run builds its handlers anew."""
    before = len(built)
    assert len(case.check()) == len(case.steps)
    assert len(case.check()) == len(case.steps)  # again: fresh handler, fresh memory
    if case.handler is _counted_reader:
        assert len(built) == before + 2 and built[-1] is not built[-2]


async def test_a_case_runs_in_async_tests_and_on_its_memory() -> None:
    """``await case.run()``; ``memory=`` builds the memory of each run."""
    memories: list[SimpleMachineMemory] = []

    def memory() -> SimpleMachineMemory:
        memories.append(SimpleMachineMemory())
        return memories[-1]

    init = dec_init()
    case = TestCase(
        "init", lambda: decrement_orchestrator(SimpleMachineMemory()), [TestStep(init)],
        memory=memory,
    )  # fmt: skip
    await case.run()
    [used] = memories
    assert await used.read(init.subject) is not None


def test_cases_and_steps_are_not_collected_by_pytest() -> None:
    """Their names start with ``Test``; ``__test__`` keeps pytest away from them."""
    assert TestCase.__test__ is False and TestStep.__test__ is False


# -- definition errors ---------------------------------------------------------------------------


def test_misused_steps_fail_at_definition() -> None:
    """A bare mapping, bad items, bad exception types and expect with raises are rejected."""
    event = read("apples")
    with pytest.raises(TypeError, match=r"write expect=\[\{\.\.\.\}\]"):
        TestStep(event, expect={"type": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"got \[1\] int"):
        TestStep(event, expect=[{"type": "x"}, 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be an ArvoEvent or a callable"):
        TestStep("apples")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exception type"):
        TestStep(event, raises=KeyboardInterrupt)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either expect or raises"):
        TestStep(event, expect=[], raises=ContractViolation)
    with pytest.raises(ValueError, match="at least one handler"):
        check_steps([], [TestStep(event)])


def test_a_step_keeps_its_expectations_when_the_list_changes() -> None:
    """``expect`` is copied into a tuple, so a step stays what it was defined as."""
    items: list[Any] = [{"type": "evt.value.read.success"}]
    step = TestStep(read("apples"), expect=items)
    items.append({"type": "more"})
    assert step.expect == ({"type": "evt.value.read.success"},)
    check_steps(reader(), [step])
