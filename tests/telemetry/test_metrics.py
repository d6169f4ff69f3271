"""Metrics of in-process runs (number domain through ``SimpleEventBroker``), and snapshot maths.

The recorded runs install the SDK, so they run in a fresh interpreter (:mod:`._isolated`);
the snapshot helpers are pure and run here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from arvo_ray.telemetry import merge_metrics, summarize_metrics

from ._isolated import Isolated, run_isolated

# Four phases, each read as a delta: a nested number.modifier run; a dec orchestration that
# fails at init plus one whose value read fails (an error outcome); a contract violation; a
# resumable. Then actor gauges, the cumulative total, and a misuse of record_workflow.
SCENARIO = """
import asyncio
from typing import Any
from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import create_arvo_event, create_arvo_orchestrator_event_factory
from arvo_ray.examples.number_domain import (
    build_number_domain, decrement_orchestrator_contract, number_modifier_contract,
    value_read_contract,
)
from arvo_ray.core.otel import actor_activated, actor_passivated, record_workflow
from arvo_ray.machine import setup_arvo_machine
from arvo_ray.memory import SimpleMachineMemory
from arvo_ray.workflow import create_arvo_orchestrator
from arvo_ray.telemetry import TelemetryConfig, collect_metrics, install_telemetry

install_telemetry(TelemetryConfig(service_name="metrics-test", log_format="json"))
CALLER = "com.test.test"

def nm_init():
    return create_arvo_orchestrator_event_factory(number_modifier_contract.version("0.0.1")).init(
        source=CALLER,
        data={"parentSubject$$": None, "init": 1, "modifier": 4, "operation": "decrement",
              "trend": "linear"})

def dec_init(key):
    return create_arvo_orchestrator_event_factory(decrement_orchestrator_contract.version("0.0.1")).init(
        source=CALLER, data={"parentSubject$$": None, "key": key, "modifier": 2, "trend": "linear"})

def failing_dec(memory):
    def explode(_args: Any):
        raise RuntimeError("dec exploded")
    machine = setup_arvo_machine(
        self_contract=decrement_orchestrator_contract.version("0.0.1"),
        services={"value_reader": value_read_contract.version("0.0.1")},
    ).create_machine({"id": "machineV001", "context": explode, "initial": "a", "states": {"a": {}}})
    return create_arvo_orchestrator(machines=[machine], memory=memory, executionunits=0.1)

async def main():
    out = {}
    domain = build_number_domain()
    final = (await create_simple_event_broker(domain.all).run(nm_init())).final
    out["nm_final"] = final.type
    out["phase1"] = collect_metrics(delta=True)

    domain = build_number_domain()
    flows = [failing_dec(domain.memory) if h.source == "arvo.orc.dec" else h for h in domain.all]
    failed = await create_simple_event_broker(flows).run(dec_init("k1"))
    unread = await create_simple_event_broker(build_number_domain().all).run(dec_init("nokey"))
    out["failed_final"] = failed.final.type
    out["unread_final"] = [unread.final.type, unread.final.data["success"]]
    out["phase2"] = collect_metrics(delta=True)

    bad = create_arvo_event(type="com.increment.number", source=CALLER, subject="s",
                            data={"init": "one", "increment": 2})
    broker = create_simple_event_broker(build_number_domain().handlers)
    run = await broker.run(bad)
    out["bad_id"] = bad.id
    out["bad_subject"] = bad.subject
    out["violations_seen"] = [type(e.error).__name__ for e in run.errors]
    out["phase3"] = collect_metrics(delta=True)

    resumables = build_number_domain(kind="resumables", store={"k1": 10})
    done = (await create_simple_event_broker(resumables.all).run(dec_init("k1"))).final
    out["resumable_final"] = [done.type, done.data]
    out["phase4"] = collect_metrics(delta=True)

    actor_activated("arvo.orc.dec"); actor_activated("arvo.orc.dec"); actor_passivated("arvo.orc.dec")
    out["phase5"] = collect_metrics(delta=True)
    out["empty_delta"] = collect_metrics(delta=True)
    out["cumulative"] = collect_metrics()
    try:
        record_workflow("arvo.orc.dec", "paused")
    except ValueError as error:
        out["misuse"] = str(error)
    return out

emit(asyncio.run(main()))
"""


@pytest.fixture(scope="module")
def scenario() -> Isolated:
    """The scenario's result and its stderr (JSON log lines), run once for this module."""
    return run_isolated(SCENARIO, timeout=90)


def handled(summary: dict[str, Any]) -> dict[str, int]:
    return {source: entry["handled"] for source, entry in summary["by_source"].items()}


class TestRecordedRuns:
    def test_number_modifier_counts_each_handler_and_both_workflows(
        self, scenario: Isolated
    ) -> None:
        """One nested run: 3 service calls, 3 steps per workflow, both started and completed."""
        assert scenario.result["nm_final"] == "arvo.orc.number.modifier.done"
        summary = summarize_metrics(scenario.result["phase1"])
        assert handled(summary) == {
            "arvo.orc.number.modifier": 3,
            "arvo.orc.dec": 3,
            "com.value.write": 1,
            "com.value.read": 1,
            "com.decrement.number": 1,
        }
        assert summary["events_handled"] == summary["events_ok"] == 9
        assert (summary["errors"], summary["violations"]) == (0, 0)
        assert summary["workflows_by_source"] == {
            "arvo.orc.number.modifier": {"started": 1, "completed": 1, "failed": 0},
            "arvo.orc.dec": {"started": 1, "completed": 1, "failed": 0},
        }
        kinds = {source: entry["kind"] for source, entry in summary["by_source"].items()}
        assert kinds["arvo.orc.dec"] == "orchestrator"
        assert kinds["com.value.read"] == "handler"

    def test_latency_histogram_counts_every_execution(self, scenario: Isolated) -> None:
        """One duration sample per execute, per source, in seconds, with bucket counts."""
        snapshot = scenario.result["phase1"]
        summary = summarize_metrics(snapshot)
        for entry in summary["by_source"].values():
            assert entry["latency_count"] == entry["handled"]
            assert 0 < entry["latency_mean_s"] <= entry["latency_max_s"] < 5
        duration = snapshot["arvo.handler.duration"]
        assert duration["unit"] == "s"
        for point in duration["points"]:
            assert sum(point["buckets"]) == point["count"]
            assert point["bounds"][0] == 0.0005

    def test_a_failing_workflow_is_counted_started_and_failed(self, scenario: Isolated) -> None:
        """A machine that raises at init: started 1, failed 1, completed 0, outcome error."""
        assert scenario.result["failed_final"] == "sys.arvo.orc.dec.error"
        summary = summarize_metrics(scenario.result["phase2"])
        # Two runs of arvo.orc.dec: the exploding one and the one whose read fails.
        assert summary["workflows_by_source"]["arvo.orc.dec"] == {
            "started": 2,
            "completed": 1,
            "failed": 1,
        }
        dec = summary["by_source"]["arvo.orc.dec"]
        assert (dec["handled"], dec["error"], dec["ok"]) == (3, 1, 2)

    def test_an_error_returned_as_event_is_an_error_outcome(self, scenario: Isolated) -> None:
        """value.read raising (missing key) counts as error; the workflow still completes."""
        assert scenario.result["unread_final"] == ["arvo.orc.dec.done", False]
        summary = summarize_metrics(scenario.result["phase2"])
        read = summary["by_source"]["com.value.read"]
        assert (read["handled"], read["error"], read["ok"]) == (1, 1, 0)
        assert summary["errors"] == 2  # the exploding workflow and the failed read
        assert summary["violations"] == 0

    def test_a_violation_is_counted_by_type(self, scenario: Isolated) -> None:
        """Bad input data: one ContractViolation, outcome violation, not an error."""
        assert scenario.result["violations_seen"] == ["ContractViolation"]
        summary = summarize_metrics(scenario.result["phase3"])
        assert summary["violations_by_type"] == {"Contract": 1}
        assert summary["by_source"]["com.increment.number"]["violation"] == 1
        assert (summary["events_violation"], summary["errors"]) == (1, 0)

    def test_a_resumable_is_counted_as_resumable(self, scenario: Isolated) -> None:
        """The dec resumable: kind resumable, started and completed once."""
        final_type, data = scenario.result["resumable_final"]
        assert (final_type, data["success"]) == ("arvo.orc.dec.done", True)
        summary = summarize_metrics(scenario.result["phase4"])
        assert summary["by_source"]["arvo.orc.dec"]["kind"] == "resumable"
        assert summary["workflows_by_source"]["arvo.orc.dec"] == {
            "started": 1,
            "completed": 1,
            "failed": 0,
        }

    def test_actor_gauge_goes_up_and_down(self, scenario: Isolated) -> None:
        """Two activations and one passivation leave one active actor."""
        assert summarize_metrics(scenario.result["phase5"])["workflow_actors_active"] == 1

    def test_deltas_add_up_to_the_cumulative_reader(self, scenario: Isolated) -> None:
        """A delta read returns only what is new; all deltas merged equal the cumulative total."""
        result = scenario.result
        assert summarize_metrics(result["empty_delta"])["events_handled"] == 0
        merged = summarize_metrics(merge_metrics(result[f"phase{n}"] for n in range(1, 6)))
        total = summarize_metrics(result["cumulative"])
        for key in (
            "events_handled",
            "errors",
            "violations",
            "workflows_started",
            "workflows_completed",
            "workflows_failed",
            "workflow_actors_active",
        ):
            assert merged[key] == total[key], key
        # nested run 9; exploding init 1; unread dec (2 steps, 1 read) 3; violation 1;
        # resumable (4 steps, read, decrement, write) 7
        assert total["events_handled"] == 9 + 1 + 3 + 1 + 7

    def test_record_workflow_rejects_an_unknown_event(self, scenario: Isolated) -> None:
        """Misuse names the valid choices."""
        assert "'started', 'completed' or 'failed'" in scenario.result["misuse"]


class TestJsonLogsOfTheRun:
    def lines(self, scenario: Isolated) -> list[dict[str, Any]]:
        return [json.loads(line) for line in scenario.stderr.splitlines() if line.startswith("{")]

    def test_every_line_parses_and_names_the_event(self, scenario: Isolated) -> None:
        """All arvo_ray log lines are JSON with event id, type and subject."""
        lines = self.lines(scenario)
        assert lines, scenario.stderr[-2000:]
        non_json = [
            line
            for line in scenario.stderr.splitlines()
            if line.strip() and not line.startswith(("{", " ", "Traceback"))
        ]
        assert non_json == []
        for line in lines:
            assert {"timestamp", "level", "logger", "message"} <= set(line)
            assert line["event_id"] and line["event_type"] and line["subject"], line

    def test_the_violation_is_logged_once_with_the_event(self, scenario: Isolated) -> None:
        """One ERROR line, from the broker, with the violation type and the event envelope."""
        bad_id = scenario.result["bad_id"]
        about = [line for line in self.lines(scenario) if line["event_id"] == bad_id]
        violation_lines = [line for line in about if "ViolationError<Contract>" in line["message"]]
        assert len(violation_lines) == 1
        assert [line["level"] for line in about if line not in violation_lines] == ["WARNING"]
        (line,) = violation_lines
        assert (line["level"], line["logger"]) == ("ERROR", "arvo_ray.broker")
        assert line["violation_type"] == "Contract"
        assert line["event_type"] == "com.increment.number"
        assert line["subject"] == scenario.result["bad_subject"]
        assert line["event"]["id"] == bad_id and "data" not in line["event"]

    def test_a_workflow_failure_is_logged_once_by_the_handler(self, scenario: Isolated) -> None:
        """The exploding init: one WARNING from arvo_ray.handler with the init event's fields."""
        failures = [
            line
            for line in self.lines(scenario)
            if line["logger"] == "arvo_ray.handler" and "dec exploded" in line["message"]
        ]
        assert len(failures) == 1
        (line,) = failures
        assert line["level"] == "WARNING"
        assert line["event_type"] == "arvo.orc.dec"
        assert line["handler"] == "arvo.orc.dec"
        assert "RuntimeError: dec exploded" in line["exception"]
        assert len(line["trace_id"]) == 32  # inside the workflow span


class TestSnapshotMaths:
    def sums(self, points: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
        return {
            "arvo.events.handled": {
                "type": "sum",
                "unit": "{event}",
                "monotonic": True,
                "points": [{"attributes": a, "value": v} for a, v in points],
            }
        }

    def histogram(
        self, count: int, total: float, bounds: list[float], buckets: list[int]
    ) -> dict[str, Any]:
        return {
            "arvo.handler.duration": {
                "type": "histogram",
                "unit": "s",
                "points": [
                    {
                        "attributes": {"arvo.handler.source": "s"},
                        "count": count,
                        "sum": total,
                        "min": total / count,
                        "max": total,
                        "bounds": bounds,
                        "buckets": buckets,
                    }
                ],
            }
        }

    def test_merge_adds_points_with_equal_attributes(self) -> None:
        """Equal attribute sets add up; different ones stay separate; inputs are untouched."""
        a = self.sums([({"arvo.handler.source": "x", "arvo.outcome": "ok"}, 2)])
        b = self.sums(
            [
                ({"arvo.outcome": "ok", "arvo.handler.source": "x"}, 3),
                ({"arvo.handler.source": "y", "arvo.outcome": "ok"}, 1),
            ]
        )
        merged = merge_metrics([a, b])
        values = [p["value"] for p in merged["arvo.events.handled"]["points"]]
        assert values == [5, 1]
        assert a["arvo.events.handled"]["points"][0]["value"] == 2
        assert summarize_metrics(merged)["by_source"]["x"]["handled"] == 5

    def test_merge_adds_histograms_and_drops_mismatched_buckets(self) -> None:
        """Counts, sums and buckets add; min/max combine; different bounds lose the buckets."""
        merged = merge_metrics(
            [self.histogram(2, 1.0, [0.5], [1, 1]), self.histogram(1, 4.0, [0.5], [0, 1])]
        )
        (point,) = merged["arvo.handler.duration"]["points"]
        assert (point["count"], point["sum"], point["buckets"]) == (3, 5.0, [1, 2])
        assert (point["min"], point["max"]) == (0.5, 4.0)
        mixed = merge_metrics(
            [self.histogram(2, 1.0, [0.5], [1, 1]), self.histogram(1, 4.0, [1.0], [0, 1])]
        )
        assert mixed["arvo.handler.duration"]["points"][0]["buckets"] is None

    def test_summary_of_nothing_is_all_zero(self) -> None:
        """An empty snapshot (no SDK) summarises to zeros, never raises."""
        summary = summarize_metrics({})
        assert summary["events_handled"] == summary["workflows_started"] == 0
        assert summary["by_source"] == {}
