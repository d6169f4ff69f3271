"""The public surface of arvo_ray is pinned, sorted, complete, and re-exported lazily at the top.

To pin a new subpackage (handler, broker, machine, memory, workflow, runtime), add its sorted
``__all__`` to :data:`EXPECTED`; every check below then covers it too.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from types import ModuleType

import pytest

import arvo_ray

EXPECTED: dict[str, list[str]] = {
    "arvo_ray.core": [
        "ARVO_DATA_CONTENT_TYPE",
        "ArvoContract",
        "ArvoErrorSchema",
        "ArvoEvent",
        "ArvoEventFactory",
        "ArvoEventId",
        "ArvoOrchestrationSubject",
        "ArvoOrchestrationSubjectContent",
        "ArvoOrchestratorContract",
        "ArvoOrchestratorEventFactory",
        "ArvoOrchestratorEventTypeGen",
        "ConfigViolation",
        "ContractVersion",
        "ContractViolation",
        "EventDataschema",
        "EventOptions",
        "ExecutionViolation",
        "InvalidSubjectError",
        "OrchestrationInitEventBase",
        "SchemaRecord",
        "TransactionViolation",
        "TransactionViolationCause",
        "VersionedArvoContract",
        "ViolationError",
        "WILDCARD_VERSION",
        "clean_string",
        "compare_semantic_versions",
        "create_arvo_contract",
        "create_arvo_error",
        "create_arvo_event",
        "create_arvo_event_factory",
        "create_arvo_event_id",
        "create_arvo_orchestrator_contract",
        "create_arvo_orchestrator_event_factory",
        "create_simple_arvo_contract",
        "create_timestamp",
        "decode_uri",
        "encode_uri",
        "format_validation_error",
        "is_orchestrator_contract",
        "is_transaction_violation_error",
        "is_valid_domain",
        "is_valid_event_type",
        "is_valid_semantic_version",
        "is_violation_error",
        "is_wildcard_version",
        "parse_arvo_event_id",
        "parse_semantic_version",
        "validate_uri",
        "validate_with_schema",
    ],
}

PACKAGES = sorted(EXPECTED)


def load(name: str) -> ModuleType:
    return importlib.import_module(name)


def defined_in_arvo_ray(value: object) -> bool:
    """A class or function whose code lives in arvo_ray (not a re-exported third-party name)."""
    return (inspect.isclass(value) or inspect.isfunction(value)) and getattr(
        value, "__module__", ""
    ).startswith("arvo_ray")


@pytest.mark.parametrize("package", PACKAGES)
class TestSubpackageSurface:
    def test_all_is_the_pinned_sorted_list(self, package: str) -> None:
        """__all__ is sorted and equals the pinned list."""
        module = load(package)
        assert module.__all__ == sorted(module.__all__)
        assert module.__all__ == EXPECTED[package]

    def test_every_name_in_all_exists(self, package: str) -> None:
        """Each exported name resolves on the package."""
        module = load(package)
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == []

    def test_every_public_class_and_function_is_exported(self, package: str) -> None:
        """No public arvo_ray class or function is reachable without being in __all__."""
        module = load(package)
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and defined_in_arvo_ray(value)
        }
        assert public - set(module.__all__) == set()

    def test_no_duplicates(self, package: str) -> None:
        """Each name is exported once."""
        names = load(package).__all__
        assert len(names) == len(set(names))


class TestTopLevelSurface:
    def test_top_level_all_is_every_subpackage_export_plus_version(self) -> None:
        """arvo_ray.__all__ is the union of the pinned lists and __version__, sorted."""
        expected = sorted({"__version__", *(name for names in EXPECTED.values() for name in names)})
        assert arvo_ray.__all__ == expected

    @pytest.mark.parametrize("package", PACKAGES)
    def test_top_level_names_are_the_subpackage_objects(self, package: str) -> None:
        """arvo_ray.<name> is the very object the subpackage exports."""
        module = load(package)
        for name in EXPECTED[package]:
            assert getattr(arvo_ray, name) is getattr(module, name), name

    def test_version_is_a_string(self) -> None:
        """__version__ is exported as a string."""
        assert isinstance(arvo_ray.__version__, str)
        assert arvo_ray.__version__

    @pytest.mark.parametrize("package", PACKAGES)
    def test_names_resolve_lazily(self, package: str) -> None:
        """import arvo_ray loads no subpackage; the first attribute access loads only its own."""
        name = EXPECTED[package][0]
        code = (
            "import sys, arvo_ray\n"
            f"assert {package!r} not in sys.modules, 'loaded eagerly'\n"
            f"value = arvo_ray.{name}\n"
            f"assert {package!r} in sys.modules, 'not loaded on access'\n"
            f"assert value is sys.modules[{package!r}].{name}\n"
            "assert 'ray' not in sys.modules\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr

    def test_unknown_names_raise_attribute_error(self) -> None:
        """Unknown attributes fail like on any module."""
        with pytest.raises(
            AttributeError, match="module 'arvo_ray' has no attribute 'NoSuchThing'"
        ):
            arvo_ray.NoSuchThing  # noqa: B018
