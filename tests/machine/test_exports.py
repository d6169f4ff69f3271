"""The public surface of ``arvo_ray.machine`` is pinned (other packages build on it)."""

from __future__ import annotations

import subprocess
import sys

import arvo_ray.machine as machine

EXPECTED = [
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


def test_should_export_exactly_the_expected_sorted_names() -> None:
    """``__all__`` is sorted and equals the pinned list."""
    assert machine.__all__ == sorted(machine.__all__) == EXPECTED


def test_should_list_every_public_namespace_member_in_all() -> None:
    """No public name is reachable from the package without being in ``__all__``."""
    public = {name for name in vars(machine) if not name.startswith("_")}
    assert public == set(EXPECTED)


def test_should_show_the_public_module_path_in_reprs() -> None:
    """Exported classes and functions report ``arvo_ray.machine`` as their module."""
    assert machine.StateMachine.__module__ == "arvo_ray.machine"
    assert machine.assign.__module__ == "arvo_ray.machine"


def test_should_not_import_ray() -> None:
    """The interpreter is pure Python: importing it does not load Ray."""
    code = "import sys, arvo_ray.machine; assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
