"""The public surface of ``arvo_ray.memory`` and its error tree."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

import arvo_ray.memory as memory_package
from arvo_ray.memory import (
    IMachineMemory,
    InspectableMachineMemory,
    LockExpiredError,
    LockNotHeldError,
    MachineMemoryError,
    MemoryBackendError,
    SimpleMachineMemory,
    StaleRecordError,
)
from arvo_ray.memory._errors import short_id


class TestExports:
    """The lazy names load on demand (``__all__`` is pinned in ``tests/test_exports.py``)."""

    def test_unknown_names_raise_attribute_error(self) -> None:
        """The lazy loader does not swallow typos."""
        with pytest.raises(AttributeError, match="NoSuchMemory"):
            memory_package.NoSuchMemory  # noqa: B018

    def test_importing_loads_neither_redis_nor_ray(self) -> None:
        """``import arvo_ray.memory`` stays light: redis is loaded on first use, ray never."""
        code = (
            "import sys, arvo_ray.memory as m\n"
            "assert 'redis' not in sys.modules, 'redis imported eagerly'\n"
            "assert 'ray' not in sys.modules, 'ray imported'\n"
            "m.RedisMachineMemory\n"
            "assert 'redis' in sys.modules\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


class TestErrors:
    """The error tree: what a caller can catch, and that errors travel between processes."""

    def test_the_tree(self) -> None:
        """Every memory error is a MachineMemoryError (a RuntimeError); expiry is a not-held."""
        assert issubclass(MachineMemoryError, RuntimeError)
        for error in (StaleRecordError, LockNotHeldError, MemoryBackendError):
            assert issubclass(error, MachineMemoryError)
        assert issubclass(LockExpiredError, LockNotHeldError)

    @pytest.mark.parametrize(
        "error",
        [
            StaleRecordError("stale", id="s", current_version=3),
            LockNotHeldError("held", id="s", owner="a", holder="b"),
            LockExpiredError("expired", id="s", owner="a", holder=None),
            MemoryBackendError("down", operation="read", backend="Redis x", id="s"),
        ],
    )
    def test_errors_pickle_with_their_attributes(self, error: MachineMemoryError) -> None:
        """Ray ships errors between processes: type, message and attributes survive."""
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error) and copy.__dict__ == error.__dict__

    def test_long_ids_are_shortened_in_messages(self) -> None:
        """A few-KB subject is quoted by its ends and length, not in full."""
        subject = "A" * 30 + "B" * 3000 + "C" * 12
        assert short_id(subject) == "A" * 30 + "..." + "C" * 12 + " (3042 chars)"
        assert short_id("short") == "short"


class TestProtocols:
    """The protocols are runtime-checkable."""

    def test_a_plain_object_is_not_a_memory(self) -> None:
        """Something without the methods is rejected by isinstance."""
        assert not isinstance(object(), IMachineMemory)

    def test_the_simple_backend_is_inspectable(self) -> None:
        """SimpleMachineMemory also offers the operator helpers."""
        assert isinstance(SimpleMachineMemory(), InspectableMachineMemory)
