"""Declarative tests of handlers and workflows: steps of an input event and the events it must emit.

A test lists :class:`TestStep` values and hands them to :func:`check_steps` (or
:func:`run_steps` in async code) with the handler under test, or several handlers that route
each input by its ``to``, as a broker would. Every run binds workflows to a fresh in-process
memory, so steps never see a previous run's instances. A mismatch raises :class:`StepsFailed`,
an ``AssertionError`` whose message names the step and lists what was expected and what came
out, so pytest shows it as an ordinary test failure. :class:`TestCase` bundles a handler
factory with its steps, for ``pytest.mark.parametrize``.

What does not live here: replaying recorded histories (``_replay``), and brokers or runtimes:
a step runs exactly one ``execute`` call, nothing is published onwards.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, TypeAlias

from arvo_ray.core import ArvoEvent
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory
from arvo_ray.workflow import WorkflowHandler

__all__ = ["StepsFailed", "TestCase", "TestStep", "check_steps", "run_steps"]

EventPredicate: TypeAlias = Callable[[ArvoEvent], object]
"""Accepts one emitted event when it returns a truthy value."""
EventsPredicate: TypeAlias = Callable[[list[ArvoEvent]], object]
"""Accepts a step's whole output when it returns a truthy value."""
EventExpectation: TypeAlias = Mapping[str, Any] | EventPredicate
Expectation: TypeAlias = Sequence[EventExpectation] | EventsPredicate | None
StepEvent: TypeAlias = ArvoEvent | Callable[[list[ArvoEvent]], ArvoEvent]
Handlers: TypeAlias = IArvoEventHandler | Sequence[IArvoEventHandler]
Raises: TypeAlias = type[Exception] | tuple[type[Exception], ...]

_CLIP = 80
"""Longest rendering of one value in a failure message; longer ones end in ``...``."""


@dataclass(frozen=True, slots=True)
class TestStep:
    """One ``execute`` call and what it must emit: the unit of a declarative handler test.

    A workflow's replies must answer the requests it emitted (their id and subject), which a
    test cannot know in advance; so ``event`` may be a callable that builds the input from
    the events the previous step emitted (``operator.itemgetter(0)`` passes the first one on).

    Attributes:
        event: The input event, or a callable taking the previous step's emitted events
            (``[]`` for the first step; a step that raised as expected passes on the events
            it was given) and returning the input event.
        expect: ``None`` checks nothing. A sequence holds one item per emitted event, in
            order: a mapping of :meth:`ArvoEvent.to_dict` fields that must be equal (for
            ``data``, only the listed top-level keys are compared, so ``{"data": {}}``
            matches any data), or a predicate on the event. Inside a mapping, a callable
            value is a predicate on that field (or data key). A single callable is a
            predicate on the whole list of emitted events.
        raises: The exception type (or tuple of types) the call must raise, e.g. a
            ``ContractViolation``; such a step expects no events.
        name: A label for failure messages.

    Example:
        Driving a workflow and its services: each input is the previous step's first
        emitted event, routed to the handler whose ``source`` is its ``to``.

        >>> from operator import itemgetter
        >>> from arvo_ray.core import create_arvo_orchestrator_event_factory
        >>> from arvo_ray.examples.number_domain import (
        ...     build_number_domain, decrement_orchestrator_contract)
        >>> from arvo_ray.testing import TestStep, check_steps
        >>> init = create_arvo_orchestrator_event_factory(
        ...     decrement_orchestrator_contract.version("0.0.1")).init(
        ...     source="com.example.client",
        ...     data={"parentSubject$$": None, "key": "apples", "modifier": 1, "trend": "linear"})
        >>> outputs = check_steps(build_number_domain(store={"apples": 3}).all, [
        ...     TestStep(init, expect=[{"type": "com.value.read", "data": {"key": "apples"}}]),
        ...     TestStep(itemgetter(0), expect=[{"data": {"value": 3}}]),
        ...     TestStep(itemgetter(0), expect=[{"data": {"init": 3, "decrement": 1}}]),
        ...     TestStep(itemgetter(0), expect=[lambda result: result.data["result"] == 2]),
        ...     TestStep(itemgetter(0), name="completes", expect=[
        ...         {"type": "arvo.orc.dec.done", "to": "com.example.client",
        ...          "data": {"success": True, "final": 2}},
        ...     ]),
        ... ])
        >>> [[event.type for event in events] for events in outputs]
        [['com.value.read'], ['evt.value.read.success'], ['com.decrement.number'],
         ['evt.decrement.number.success'], ['arvo.orc.dec.done']]
    """

    __test__: ClassVar[bool] = False  # a library class whose name pytest would collect

    event: StepEvent
    _: KW_ONLY
    expect: Expectation = None
    raises: Raises | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.event, ArvoEvent) and not callable(self.event):
            raise TypeError(
                f"TestStep.event must be an ArvoEvent or a callable building one from the "
                f"previous step's events, got {type(self.event).__name__}"
            )
        if isinstance(self.expect, str | bytes | Mapping):
            raise TypeError(
                "TestStep.expect must be a sequence with one item per emitted event, a "
                f"predicate or None, got {type(self.expect).__name__}; for one event, write "
                "expect=[{...}]"
            )
        if isinstance(self.expect, Sequence):
            bad = [
                f"[{index}] {type(item).__name__}"
                for index, item in enumerate(self.expect)
                if not isinstance(item, Mapping) and not callable(item)
            ]
            if bad:
                raise TypeError(
                    "Each TestStep.expect item must be a mapping of event fields or a "
                    f"predicate, got {', '.join(bad)}"
                )
            object.__setattr__(self, "expect", tuple(self.expect))  # later edits stay out
        elif self.expect is not None and not callable(self.expect):
            raise TypeError(
                "TestStep.expect must be a sequence, a predicate or None, got "
                f"{type(self.expect).__name__}"
            )
        if self.raises is not None:
            kinds = self.raises if isinstance(self.raises, tuple) else (self.raises,)
            if not kinds or not all(
                isinstance(kind, type) and issubclass(kind, Exception) for kind in kinds
            ):
                raise TypeError(
                    "TestStep.raises must be an exception type or a tuple of them, got "
                    f"{self.raises!r}"
                )
            if self.expect is not None:
                raise ValueError(
                    "A TestStep that raises emits nothing: give either expect or raises"
                )


class StepsFailed(AssertionError):
    """A step emitted something else than expected, raised unexpectedly, or did not raise.

    An ``AssertionError``, so pytest reports it as a failed check; the message names the
    step, says what differed, one line each, then lists the expected and the emitted events
    (type, ``to`` and compact data, one line each).

    Attributes:
        index: The failing step's position in the list (from 0).
        step: The failing step.
        reasons: What differed, one line each (without indentation).
        events: What the step emitted, or ``None`` when it raised (or its input could not
            be built).

    Example:
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import value_read_contract, value_read_handler
        >>> from arvo_ray.testing import StepsFailed, TestStep, check_steps
        >>> read = create_arvo_event_factory(value_read_contract.version("0.0.1")).accepts(
        ...     source="com.example.client", subject="s", data={"key": "apples"})
        >>> step = TestStep(read, name="read", expect=[{"data": {"value": 4}}])
        >>> try:
        ...     check_steps(value_read_handler({"apples": 3}), [step])
        ... except StepsFailed as failure:
        ...     print(failure)
        ...     print(failure.index, failure.reasons)
        steps[0] 'read' failed
          event [0] data.value: expected 4, got 3
          expected:
            [0] data={"value": 4}
          got:
            [0] evt.value.read.success -> com.example.client {"key": "apples", "value": 3}
        0 ['event [0] data.value: expected 4, got 3']
    """

    def __init__(
        self,
        index: int,
        step: TestStep,
        reasons: Sequence[str],
        events: Sequence[ArvoEvent] | None = None,
    ) -> None:
        self.index = index
        self.step = step
        self.reasons = list(reasons)
        self.events = list(events) if events is not None else None
        label = f" {step.name!r}" if step.name else ""
        lines = [f"steps[{index}]{label} failed", *(f"  {reason}" for reason in reasons)]
        if self.events is not None:
            if isinstance(step.expect, Sequence):
                lines += _block("expected", [_show_expectation(item) for item in step.expect])
            lines += _block("got", [_show_event(event) for event in self.events])
        super().__init__("\n".join(lines))


@dataclass(frozen=True, slots=True)
class TestCase:
    """A named list of steps and the factory of the handler(s) they run against.

    The factory runs once per :meth:`run`, so every parametrised case gets fresh handlers
    (and their stores) as well as a fresh memory. ``str(case)`` is its name, so
    ``pytest.mark.parametrize("case", CASES, ids=str)`` names each test after its case.

    Attributes:
        name: The case's name (its pytest id with ``ids=str``).
        handler: Builds the handler, or the handlers to route between, for one run.
        steps: The steps, run in order.
        memory: Builds the memory workflows run on; default: a fresh
            :class:`~arvo_ray.memory.SimpleMachineMemory`.

    Example:
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import value_write_contract, value_write_handler
        >>> from arvo_ray.testing import TestCase, TestStep
        >>> def write(value):
        ...     return create_arvo_event_factory(value_write_contract.version("0.0.1")).accepts(
        ...         source="com.example.client", subject="s", data={"key": "k", "value": value})
        >>> CASES = [
        ...     TestCase("stores a value", lambda: value_write_handler({}),
        ...              [TestStep(write(3), expect=[{"data": {"success": True}}])]),
        ...     TestCase("reports -100 as a failure", lambda: value_write_handler({}),
        ...              [TestStep(write(-100), expect=[{"data": {"success": False}}])]),
        ... ]
        >>> [str(case) for case in CASES]
        ['stores a value', 'reports -100 as a failure']
        >>> [case.check()[0][0].type for case in CASES]
        ['evt.value.write.success', 'evt.value.write.success']
    """

    __test__: ClassVar[bool] = False  # a library class whose name pytest would collect

    name: str
    handler: Callable[[], Handlers]
    steps: Sequence[TestStep]
    _: KW_ONLY
    memory: Callable[[], IMachineMemory] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))

    def __str__(self) -> str:
        return self.name

    async def run(self) -> list[list[ArvoEvent]]:
        """:func:`run_steps` on freshly built handlers (and memory); the emitted events per step."""
        __tracebackhide__ = True
        memory = self.memory() if self.memory is not None else None
        return await run_steps(self.handler(), self.steps, memory=memory)

    def check(self) -> list[list[ArvoEvent]]:
        """:meth:`run` outside an event loop."""
        __tracebackhide__ = True
        return asyncio.run(self.run())


async def run_steps(
    handler: Handlers,
    steps: Sequence[TestStep],
    *,
    memory: IMachineMemory | None = None,
) -> list[list[ArvoEvent]]:
    """Run ``steps`` in order, each through one ``execute`` call, and check what they emit.

    Args:
        handler: The handler under test, or several: each input then goes to the one whose
            ``source`` is the event's ``to`` (as a broker routes), so a workflow and its
            services can be driven together.
        steps: The steps.
        memory: The memory workflows run on (pass one to inspect their records afterwards);
            default: a fresh :class:`~arvo_ray.memory.SimpleMachineMemory`. Every workflow
            among the handlers is bound to it for the run, then gets its own memory back.

    Returns:
        The events each step emitted (``[]`` for a step that raised as expected).

    Raises:
        StepsFailed: At the first step that differs from its expectation.
    """
    __tracebackhide__ = True
    units = [handler] if isinstance(handler, IArvoEventHandler) else list(handler)
    if not units:
        raise ValueError("run_steps needs at least one handler")
    workflows = [unit for unit in units if isinstance(unit, WorkflowHandler)]
    saved = [workflow.memory for workflow in workflows]
    fresh = memory if memory is not None else SimpleMachineMemory()
    for workflow in workflows:
        workflow.memory = fresh
    try:
        return await _run(units, steps)
    finally:
        for workflow, own in zip(workflows, saved, strict=True):
            workflow.memory = own


def check_steps(
    handler: Handlers,
    steps: Sequence[TestStep],
    *,
    memory: IMachineMemory | None = None,
) -> list[list[ArvoEvent]]:
    """:func:`run_steps` outside an event loop (plain ``def`` tests, scripts, doctests)."""
    __tracebackhide__ = True
    return asyncio.run(run_steps(handler, steps, memory=memory))


# -- running -----------------------------------------------------------------------------------


async def _run(units: list[IArvoEventHandler], steps: Sequence[TestStep]) -> list[list[ArvoEvent]]:
    __tracebackhide__ = True
    outputs: list[list[ArvoEvent]] = []
    previous: list[ArvoEvent] = []
    for index, step in enumerate(steps):
        event = _input_event(index, step, previous)
        unit = units[0] if len(units) == 1 else _route(units, event)
        if unit is None:
            sources = ", ".join(candidate.source for candidate in units)
            raise StepsFailed(
                index, step, [f"no handler for to={event.to!r} (handlers: {sources})"]
            )
        try:
            emitted = list((await unit.execute(event)).events)
        except Exception as error:
            if step.raises is not None and isinstance(error, step.raises):
                outputs.append([])
                continue
            raised = f"raised {_show_error(error)}"
            if step.raises is not None:
                raised = f"expected {_show_raises(step.raises)}, but {raised}"
            raise StepsFailed(index, step, [raised]) from error
        if step.raises is not None:
            reason = f"expected {_show_raises(step.raises)} to be raised"
            raise StepsFailed(index, step, [reason], emitted)
        reasons = _compare(step.expect, emitted)
        if reasons:
            raise StepsFailed(index, step, reasons, emitted)
        outputs.append(emitted)
        previous = emitted
    return outputs


def _input_event(index: int, step: TestStep, previous: list[ArvoEvent]) -> ArvoEvent:
    if isinstance(step.event, ArvoEvent):
        return step.event
    try:
        event = step.event(list(previous))  # a copy: the callable may not edit the outputs
    except Exception as error:
        reason = f"building the input event raised {_show_error(error)}"
        raise StepsFailed(index, step, [reason]) from error
    if not isinstance(event, ArvoEvent):
        reason = f"the input callable returned {type(event).__name__}, not an ArvoEvent"
        raise StepsFailed(index, step, [reason])
    return event


def _route(units: list[IArvoEventHandler], event: ArvoEvent) -> IArvoEventHandler | None:
    return next((unit for unit in units if unit.source == event.to), None)


# -- comparing ---------------------------------------------------------------------------------


def _compare(expect: Expectation, events: list[ArvoEvent]) -> list[str]:
    """What differs between ``expect`` and ``events``, one line each; ``[]`` when they match."""
    if expect is None:
        return []
    if not isinstance(expect, Sequence):
        failure = _apply(expect, list(events))
        return [] if failure is None else [f"events: {failure}"]
    if len(expect) != len(events):
        return [f"expected {_count(len(expect))}, got {len(events)}"]
    reasons: list[str] = []
    for index, (item, event) in enumerate(zip(expect, events, strict=True)):
        if isinstance(item, Mapping):
            reasons += _compare_fields(f"event [{index}]", item, event)
        else:
            failure = _apply(item, event)
            if failure is not None:
                reasons.append(f"event [{index}]: {failure}")
    return reasons


def _compare_fields(where: str, expected: Mapping[str, Any], event: ArvoEvent) -> list[str]:
    actual = event.to_dict()
    reasons: list[str] = []
    for key, want in expected.items():
        data = actual.get("data")
        if key == "data" and isinstance(want, Mapping) and isinstance(data, Mapping):
            for data_key, data_want in want.items():
                reasons += _compare_value(f"{where} data.{data_key}", data_want, data, data_key)
        else:
            reasons += _compare_value(f"{where} {key}", want, actual, key)
    return reasons


def _compare_value(where: str, want: Any, container: Mapping[str, Any], key: str) -> list[str]:
    if key not in container:
        return [f"{where}: expected {_show(want)}, missing"]
    got = container[key]
    if callable(want):
        failure = _apply(want, got)
        return [] if failure is None else [f"{where}: {failure} for {_show(got)}"]
    return [] if got == want else [f"{where}: expected {_show(want)}, got {_show(got)}"]


def _apply(predicate: Callable[[Any], object], value: Any) -> str | None:
    """Why ``predicate`` rejects ``value``, or ``None`` when it accepts it."""
    try:
        result = predicate(value)
    except Exception as error:
        return f"{_name(predicate)} raised {_show_error(error)}"
    return None if result else f"{_name(predicate)} returned {result!r}"


# -- rendering ---------------------------------------------------------------------------------


def _block(title: str, lines: list[str]) -> list[str]:
    if not lines:
        return [f"  {title}: no events"]
    return [f"  {title}:", *(f"    [{index}] {line}" for index, line in enumerate(lines))]


def _show_event(event: ArvoEvent) -> str:
    domain = f" domain={event.domain}" if event.domain is not None else ""
    return f"{event.type} -> {event.to}{domain} {_show(event.data)}"


def _show_expectation(item: EventExpectation) -> str:
    if isinstance(item, Mapping):
        return ", ".join(f"{key}={_show(value)}" for key, value in item.items())
    return _name(item)


def _show(value: Any) -> str:
    """``value`` as compact JSON, predicates by name, clipped to :data:`_CLIP` characters."""
    text = _render(value)
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


def _render(value: Any) -> str:
    if callable(value):
        return _name(value)
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(key))}: {_render(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=repr)


def _name(function: Callable[..., object]) -> str:
    name = getattr(function, "__name__", None) or type(function).__name__
    return name if name.startswith("<") else f"<{name}>"


def _show_error(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= 2 * _CLIP else text[: 2 * _CLIP - 3] + "..."


def _show_raises(raises: Raises) -> str:
    kinds = raises if isinstance(raises, tuple) else (raises,)
    return " or ".join(kind.__name__ for kind in kinds)


def _count(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"
