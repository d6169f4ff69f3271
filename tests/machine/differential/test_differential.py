"""Every differential case behaves exactly as in XState 5 (see cases.py and runner.mjs).

XState runs in one node process for the whole session. Like Arvo's execution engine, the
reference run restores the actor from its persisted snapshot before every event. After the
start and after every event the state value (key order included), context, history, status,
output and emitted events must be identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .cases import CASES, POINTS
from .harness import HarnessError, compare, run_python, run_xstate

CASE_IDS = [c["name"] for c in CASES]

#: Cases where XState's live actor and a restored actor disagree. The live actor keeps its
#: active nodes in insertion order, a restored one rebuilds them from the state value, and
#: ``always`` transitions are picked leaf by leaf in that order. arvo_ray (like Arvo, which
#: restores before every event) follows the restored behaviour.
LIVE_DIFFERS_FROM_RESTORED = {"always_region_order_follows_active_node_order"}


@pytest.fixture(scope="session")
def xstate_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """All cases run through real XState once per session."""
    try:
        return run_xstate(CASES, tmp_path_factory.mktemp("xstate"))
    except HarnessError as error:
        pytest.fail(str(error))


def test_there_are_enough_cases_and_every_semantics_point_is_covered() -> None:
    """At least 30 machines run, and each numbered point of the semantics doc has cases."""
    assert len(CASES) >= 30
    assert len(set(CASE_IDS)) == len(CASE_IDS), "case names must be unique"
    assert sorted(POINTS) == list(range(1, 15))
    for point, names in POINTS.items():
        assert names, f"point {point} has no case"
        assert set(names) <= set(CASE_IDS), f"point {point} names unknown cases"


def test_xstate_accepts_every_case_definition(xstate_results: dict[str, Any]) -> None:
    """XState builds every machine (so the configs are valid XState v5)."""
    errors = {k: v["definitionError"] for k, v in xstate_results.items() if "definitionError" in v}
    assert errors == {}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_machine_matches_xstate_after_every_event(
    case: dict[str, Any], xstate_results: dict[str, Any]
) -> None:
    """State value, context, history, status, output and emitted events match at each step."""
    expected = xstate_results[case["name"]]["restore"]
    problems = compare(case, expected, run_python(case))
    assert not problems, f"{case['name']} diverges from XState:\n" + "\n".join(problems)


def test_xstate_live_and_restored_runs_differ_only_in_known_cases(
    xstate_results: dict[str, Any],
) -> None:
    """Documents the one XState quirk where persistence changes behaviour (region order of
    ``always`` transitions); every other case behaves the same live and restored."""
    differing = {
        name
        for name, result in xstate_results.items()
        if json.dumps(result["restore"]) != json.dumps(result["live"])
    }
    assert differing == LIVE_DIFFERS_FROM_RESTORED


def test_package_lock_pins_xstate_exactly() -> None:
    """The reference implementation is pinned: package.json and package-lock agree on 5.x."""
    here = Path(__file__).parent
    declared = json.loads((here / "package.json").read_text())["dependencies"]["xstate"]
    locked = json.loads((here / "package-lock.json").read_text())["packages"][
        "node_modules/xstate"
    ]["version"]
    assert declared == locked
    assert locked.startswith("5.")
