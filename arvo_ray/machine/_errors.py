"""Runtime errors of the interpreter (definition errors are ``ConfigViolation``).

::

    Exception
    ├── RuntimeError
    │   └── MachineLoopError      an ``always``/raise chain did not settle within the microstep cap
    └── ValueError
        └── InvalidSnapshotError  a snapshot does not fit this machine (unknown state, bad shape)

Neither is a :class:`~arvo_ray.core.errors.ViolationError`: both are outcomes of running one
event, so an orchestrator reports them as ``sys.<type>.error`` events like any other exception
raised while the machine runs. Definition problems are found before any event is processed and
raise :class:`~arvo_ray.core.errors.ConfigViolation` from ``create_machine``.
"""

from __future__ import annotations

__all__ = ["InvalidSnapshotError", "MachineLoopError"]


class MachineLoopError(RuntimeError):
    """Eventless transitions or raised events kept firing past the microstep cap.

    Attributes:
        machine_id: The id of the machine.
        state_ids: Ids of the source states of the transitions taken in the last microstep.
        limit: The cap that was hit (``max_microsteps``).

    Example:
        >>> machine = setup().create_machine({"id": "pingpong", "initial": "ping", "states": {
        ...     "ping": {"always": "pong"}, "pong": {"always": "ping"}}}, max_microsteps=10)
        >>> try:
        ...     machine.initial_transition()
        ... except MachineLoopError as error:
        ...     print(error.machine_id, error.state_ids, error.limit)
        pingpong ['pingpong.ping'] 10
    """

    def __init__(self, machine_id: str, state_ids: list[str], event_type: str, limit: int) -> None:
        self.machine_id = machine_id
        self.state_ids = state_ids
        self.limit = limit
        states = ", ".join(f"'{s}'" for s in state_ids) or "(none)"
        super().__init__(
            f"Machine '{machine_id}' did not reach a stable state within {limit} microsteps of "
            f"one event: transitions from state {states} keep firing (last event "
            f"'{event_type}'). An 'always' transition whose guard stays true while its actions "
            "change the context loops forever; make the guard false after it fires, or raise "
            "the cap with create_machine(..., max_microsteps=...)."
        )


class InvalidSnapshotError(ValueError):
    """A snapshot passed to ``transition`` does not belong to this machine or is malformed.

    Attributes:
        machine_id: The id of the machine.

    Example:
        >>> machine = setup().create_machine({"id": "light", "initial": "green",
        ...     "states": {"green": {"on": {"TIMER": "red"}}, "red": {}}})
        >>> machine.transition({"status": "active", "value": "blue"}, {"type": "TIMER"})
        Traceback (most recent call last):
          ...
        arvo_ray.machine.InvalidSnapshotError: Invalid snapshot for machine 'light': state 'blue'
        does not exist on 'light' (its states: 'green', 'red')
    """

    def __init__(self, machine_id: str, message: str) -> None:
        self.machine_id = machine_id
        super().__init__(f"Invalid snapshot for machine '{machine_id}': {message}")
