"""The public surface of arvo_ray is pinned, sorted, complete, named, and lazy at the top.

Every package's ``__all__`` is pinned in :data:`EXPECTED`; the top level re-exports the names in
:data:`TOP_LEVEL` (the data model, handlers, workflows, broker, runtime and memories), each loaded
on first use. Classes and functions report their public module, and no package reaches into
another's private modules.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import arvo_ray

ROOT = Path(__file__).resolve().parents[1]

EXPECTED: dict[str, list[str]] = {
    "arvo_ray.broker": [
        "DeadLetter",
        "OrphanEventError",
        "RunResult",
        "SimpleEventBroker",
        "create_simple_event_broker",
    ],
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
    "arvo_ray.core.kit": [
        "InputValidation",
        "QUOTE_LIMIT",
        "derived_event_id",
        "js_stringify",
        "js_trim",
        "quote",
        "validate_input",
        "validate_services",
    ],
    "arvo_ray.core.otel": [
        "ArvoExecutionSpanKind",
        "ExecutionScope",
        "METRIC_NAMES",
        "OTEL_NULL",
        "OpenInferenceSpanKind",
        "OtelInherit",
        "TelemetryLogLevel",
        "context_from_headers",
        "current_otel_headers",
        "current_scope",
        "event_log_fields",
        "exception_to_span",
        "get_tracer",
        "is_enabled",
        "log_event_failure",
        "log_fields",
        "log_to_span",
        "otel_headers_from_span",
    ],
    "arvo_ray.examples.number_domain": [
        "NumberDomain",
        "SQLiteKeyValueStore",
        "approval_contract",
        "approval_init",
        "approval_machine",
        "approval_orchestrator",
        "approval_orchestrator_contract",
        "approval_reply",
        "arithmetic_machine",
        "build_number_domain",
        "decrement_contract",
        "decrement_handler",
        "decrement_orchestrator",
        "decrement_orchestrator_contract",
        "decrement_resumable",
        "increment_contract",
        "increment_handler",
        "increment_orchestrator",
        "increment_orchestrator_contract",
        "increment_resumable",
        "increment_resumable_contract",
        "number_modifier_contract",
        "number_modifier_init",
        "number_modifier_machine",
        "number_modifier_orchestrator",
        "value_read_contract",
        "value_read_handler",
        "value_write_contract",
        "value_write_handler",
    ],
    "arvo_ray.handler": [
        "ArvoDomain",
        "ArvoEventHandler",
        "DomainSpec",
        "ExecutionResult",
        "HandlerFunction",
        "HandlerInput",
        "HandlerTimeoutError",
        "IArvoEventHandler",
        "OtelInherit",
        "RawEvent",
        "RetryPolicy",
        "create_arvo_event_handler",
        "resolve_event_domain",
    ],
    "arvo_ray.egress": [
        "CallableSink",
        "EventSink",
        "JsonlSink",
        "SinkRouting",
        "UndeliverableError",
        "WebhookSink",
    ],
    "arvo_ray.testing": [
        "Divergence",
        "ReplayReport",
        "StepsFailed",
        "TestCase",
        "TestStep",
        "check_steps",
        "load_history",
        "replay",
        "replay_async",
        "run_steps",
    ],
    "arvo_ray.timers": [
        "ITimerStore",
        "PendingTimer",
        "PostgresTimerStore",
        "RedisTimerStore",
        "SQLiteTimerStore",
        "SimpleTimerStore",
        "TimerCancel",
        "TimerCancelled",
        "TimerFired",
        "TimerFiring",
        "TimerRequest",
        "TimerService",
        "timer_cancel_contract",
        "timer_contract",
    ],
    "arvo_ray.ingress": [
        "EventGate",
        "INBOX_PREFIX",
        "Inbox",
        "IngressError",
        "event_to_http",
        "events_from_http",
        "inbox_key",
    ],
    "arvo_ray.handler.kit": [
        "create_system_error_events",
        "normalize_outputs",
        "raw_extensions",
        "resolve_domains",
    ],
    "arvo_ray.machine": [
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
    ],
    "arvo_ray.memory": [
        "CachedMachineMemory",
        "CarriedHistory",
        "DEFAULT_LOCK_TTL",
        "IMachineMemory",
        "InspectableMachineMemory",
        "LockExpiredError",
        "LockInfo",
        "LockNotHeldError",
        "MachineMemoryError",
        "MemoryBackendError",
        "PostgresMachineMemory",
        "RecordMeta",
        "RedisMachineMemory",
        "SQLiteMachineMemory",
        "SimpleMachineMemory",
        "StaleRecordError",
        "lock_and_read",
        "write_and_unlock",
    ],
    "arvo_ray.runtime": [
        "ActorMachineMemory",
        "AnswerTimeoutError",
        "ArvoRuntime",
        "DeadLetter",
        "Instance",
        "MemoryActor",
        "OrphanEventError",
        "RunResult",
        "RuntimeStats",
        "ServiceApp",
        "Sharded",
        "StepOutcome",
        "Timers",
        "WorkflowRecord",
        "WorkflowStalledError",
        "default_memory_path",
        "ingress_app",
        "load_app",
        "run_service",
        "state_file",
    ],
    "arvo_ray.telemetry": [
        "EventFieldsFilter",
        "FileSpanExporter",
        "JsonFormatter",
        "METRIC_NAMES",
        "TelemetryConfig",
        "TextFormatter",
        "collect_metrics",
        "configure_logging",
        "continue_trace",
        "flush_telemetry",
        "install_telemetry",
        "installed_config",
        "log_event_failure",
        "merge_metrics",
        "read_span_file",
        "recent_spans",
        "routing_span",
        "shutdown_telemetry",
        "summarize_metrics",
    ],
    "arvo_ray.workflow": [
        "ArvoOrchestrator",
        "ArvoResumable",
        "CONSUMED_IDS_KEPT",
        "ResumableFunction",
        "ResumableInput",
        "StepInput",
        "StepOutput",
        "WorkflowHandler",
        "WorkflowRecordData",
        "create_arvo_orchestrator",
        "create_arvo_resumable",
        "is_done",
        "is_failed",
        "is_finished",
        "step_state",
        "stored_answer",
    ],
}

PACKAGES = sorted(EXPECTED)

# The top level's names, by the package that exports them (core: all of it).
TOP_LEVEL: dict[str, list[str]] = {
    "arvo_ray.core": EXPECTED["arvo_ray.core"],
    "arvo_ray.handler": [
        "ArvoDomain",
        "ArvoEventHandler",
        "ExecutionResult",
        "HandlerInput",
        "IArvoEventHandler",
        "create_arvo_event_handler",
    ],
    "arvo_ray.machine": ["ArvoMachine", "setup_arvo_machine"],
    "arvo_ray.workflow": [
        "ArvoOrchestrator",
        "ArvoResumable",
        "ResumableInput",
        "create_arvo_orchestrator",
        "create_arvo_resumable",
    ],
    "arvo_ray.broker": [
        "DeadLetter",
        "OrphanEventError",
        "RunResult",
        "SimpleEventBroker",
        "create_simple_event_broker",
    ],
    "arvo_ray.runtime": [
        "AnswerTimeoutError",
        "ArvoRuntime",
        "Instance",
        "Sharded",
        "WorkflowRecord",
        "WorkflowStalledError",
    ],
    "arvo_ray.memory": [
        "IMachineMemory",
        "RedisMachineMemory",
        "SQLiteMachineMemory",
        "SimpleMachineMemory",
    ],
}


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
        """Each exported name resolves on the package (lazy ones load on access)."""
        module = load(package)
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == []
        assert set(module.__all__) <= set(dir(module))

    def test_every_public_class_and_function_is_exported(self, package: str) -> None:
        """No public class or function the package defines is reachable outside __all__."""
        module = load(package)
        if not hasattr(module, "__path__"):  # a module, whose imports are its own business
            return
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and defined_in_arvo_ray(value)
            and value.__module__.startswith(package)
        }
        assert public - set(module.__all__) == set()

    def test_exported_names_report_their_public_module(self, package: str) -> None:
        """``__module__`` names a public module (reprs, docs and pickles use it)."""
        module = load(package)
        private = {
            name: value.__module__
            for name in module.__all__
            if defined_in_arvo_ray(value := getattr(module, name))
            and any(part.startswith("_") for part in value.__module__.split("."))
        }
        assert private == {}


class TestTopLevelSurface:
    def test_top_level_all_is_the_chosen_names_plus_version(self) -> None:
        """arvo_ray.__all__ is the TOP_LEVEL names and __version__, sorted."""
        expected = sorted({"__version__", *(n for names in TOP_LEVEL.values() for n in names)})
        assert arvo_ray.__all__ == expected

    @pytest.mark.parametrize("package", sorted(TOP_LEVEL))
    def test_top_level_names_are_the_subpackage_objects(self, package: str) -> None:
        """arvo_ray.<name> is the very object the subpackage exports."""
        module = load(package)
        for name in TOP_LEVEL[package]:
            assert name in EXPECTED[package], name
            assert getattr(arvo_ray, name) is getattr(module, name), name

    def test_version_is_a_string(self) -> None:
        """__version__ is exported as a string."""
        assert isinstance(arvo_ray.__version__, str)
        assert arvo_ray.__version__

    @pytest.mark.parametrize(
        ("name", "loads", "ray"),
        [
            ("ArvoEvent", "arvo_ray.core", False),
            ("ArvoEventHandler", "arvo_ray.handler", False),
            ("ArvoOrchestrator", "arvo_ray.workflow", False),
            ("RunResult", "arvo_ray._results", False),
            ("SQLiteMachineMemory", "arvo_ray.memory", False),
            ("ArvoRuntime", "arvo_ray.runtime", True),
        ],
    )
    def test_names_resolve_lazily(self, name: str, loads: str, ray: bool) -> None:
        """import arvo_ray loads no subpackage; a name loads its own, and Ray only for the runtime."""
        code = (
            "import sys, arvo_ray\n"
            "assert not [m for m in sys.modules if m.startswith('arvo_ray.')"
            " and m not in ('arvo_ray._version', 'arvo_ray._lazy')], 'loaded eagerly'\n"
            f"value = arvo_ray.{name}\n"
            f"assert {loads!r} in sys.modules, 'not loaded on access'\n"
            f"assert ('ray' in sys.modules) is {ray}\n"
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


def private_imports(path: Path) -> list[str]:
    """The ``arvo_ray`` private modules (a ``_name`` part) that ``path`` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [node.module]
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            else [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        found += [
            name
            for name in names
            if name.startswith("arvo_ray.")
            and name != "arvo_ray._version"
            and any(part.startswith("_") for part in name.split(".")[1:])
        ]
    return found


def test_no_package_imports_another_packages_private_modules() -> None:
    """Inside arvo_ray, a package's private modules are imported only by that package (the
    top-level ``arvo_ray._*`` helpers are shared by all)."""
    offenders = []
    for path in sorted((ROOT / "arvo_ray").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        package = ".".join(parts[:2]) if len(parts) > 2 else "arvo_ray"
        for name in private_imports(path):
            owner = ".".join(name.split(".")[:2])
            if not (name.startswith(package + "._") or owner.split(".")[1].startswith("_")):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_examples_benchmarks_and_tests_use_public_modules() -> None:
    """Examples, benchmarks and cluster scripts import only public modules; a test may reach
    into the private modules of the package its folder tests (``tests/runtime`` → runtime)."""
    offenders = []
    for folder in ("arvo_ray/examples", "benchmarks", "cluster", "examples", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).parts
            tested = f"arvo_ray.{relative[1]}._" if relative[0] == "tests" else None
            for name in private_imports(path):
                if tested is None or not name.startswith(tested):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
