"""A small, exact statechart interpreter with XState v5 semantics (the Arvo subset).

What lives here: the definition of machines from XState-shaped config dicts, validated once
(``create_machine`` / ``setup(...).create_machine``), and a pure step function::

    machine = setup(actions={...}, guards={...}).create_machine(config)
    snapshot, emitted = machine.initial_transition(input)
    snapshot, emitted = machine.transition(snapshot, event)

Snapshots are plain JSON-able dicts shaped like XState's persisted snapshots; events are dicts
with a ``"type"``. What does not live here: actors, timers, I/O and anything Arvo-specific
(contracts, ``enqueueArvoEvent``), which the Arvo machine layer builds on top.

Calling convention for user code (XState's ``({context, event}, params)`` folded into one
object): every action, guard, ``assign``/``emit``/``raise_`` callable and ``params`` callable
receives one :class:`ActionArgs` ``(context, event, params)``; a ``context`` factory receives
:class:`ContextArgs` ``(input)``; an ``output`` callable receives :class:`ActionArgs` with the
done event. Custom actions run for their side effects only (the return value is ignored);
context changes go through :func:`assign`. Async functions are rejected at definition time.
Exceptions raised by user code propagate unchanged out of ``transition``.
"""

from arvo_ray import _lazy

from ._arvo_machine import ArvoMachine, ArvoMachineSetup, enqueue_arvo_event, setup_arvo_machine
from ._assign import assign
from ._emit import emit
from ._errors import InvalidSnapshotError, MachineLoopError
from ._execution_engine import MachineExecutionResult, execute_machine
from ._guards import and_, not_, or_, state_in
from ._machine import (
    MachineSetup,
    StateMachine,
    create_machine,
    initial_transition,
    setup,
    transition,
)
from ._raise import raise_
from ._registry import MachineRegistry
from ._types import ActionArgs, ContextArgs, Event, MachineSnapshot, ModelEvent, SnapshotStatus

__all__ = [
    "ActionArgs",
    "ArvoMachine",
    "ArvoMachineSetup",
    "ContextArgs",
    "Event",
    "InvalidSnapshotError",
    "MachineExecutionResult",
    "MachineLoopError",
    "MachineRegistry",
    "MachineSetup",
    "MachineSnapshot",
    "ModelEvent",
    "SnapshotStatus",
    "StateMachine",
    "and_",
    "assign",
    "create_machine",
    "emit",
    "enqueue_arvo_event",
    "execute_machine",
    "initial_transition",
    "not_",
    "or_",
    "raise_",
    "setup",
    "setup_arvo_machine",
    "state_in",
    "transition",
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__])
