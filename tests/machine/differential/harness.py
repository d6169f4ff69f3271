"""Runs the differential cases through XState (one node process) and through arvo_ray.

Shared by ``test_differential.py``; kept separate so it can also be run by hand:
``python tests/machine/differential/harness.py`` prints every divergence.
"""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

try:
    from .cases import CASES
    from .vocabulary import build_machine
except ImportError:  # pragma: no cover - run as a script: python harness.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cases import CASES  # type: ignore[no-redef]
    from vocabulary import build_machine  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent


class HarnessError(RuntimeError):
    """node/npm missing, ``npm ci`` failed or the runner crashed."""


def ensure_node_modules() -> tuple[str, str]:
    """Return the node and npm executables, running ``npm ci`` if xstate is not installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise HarnessError(
            "The differential test needs Node.js 20+ and npm on PATH (to run real XState); "
            f"found node={node!r}, npm={npm!r}. Install them; this test is never skipped."
        )
    if not (HERE / "node_modules" / "xstate" / "package.json").exists():
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise HarnessError(f"npm ci failed in {HERE}:\n{proc.stdout}\n{proc.stderr}")
    return node, npm


def run_xstate(cases: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    """Run every case through XState in a single node process."""
    node, _ = ensure_node_modules()
    path = workdir / "cases.json"
    path.write_text(json.dumps(cases))
    proc = subprocess.run(
        [node, str(HERE / "runner.mjs"), str(path)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise HarnessError(f"runner.mjs failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def run_python(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case through arvo_ray, recording the same shape as runner.mjs."""
    machine = build_machine(case["machine"])
    try:
        snapshot, emitted = machine.initial_transition(case.get("input"))
    except Exception as error:  # an error status in XState
        return {"initial": {"error": repr(error)}, "steps": []}
    result: dict[str, Any] = {
        "initial": {"snapshot": snapshot, "emitted": emitted, "error": None},
        "steps": [],
    }
    for event in case["events"]:
        try:
            snapshot, emitted = machine.transition(snapshot, event)
        except Exception as error:
            result["steps"].append({"error": repr(error)})
            break
        result["steps"].append({"snapshot": snapshot, "emitted": emitted, "error": None})
    return result


def _normal(step: dict[str, Any]) -> dict[str, Any]:
    if step.get("error"):
        return {"error": True}
    snapshot = step["snapshot"]
    # JSON round trip: both sides compared as JSON values; key order is kept (and compared).
    return json.loads(
        json.dumps(
            {
                "status": snapshot["status"],
                "value": snapshot["value"],
                "context": snapshot["context"],
                "historyValue": snapshot.get("historyValue") or {},
                "output": snapshot.get("output"),
                "emitted": step["emitted"],
            }
        )
    )


def compare(case: dict[str, Any], expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Every divergence between XState's and arvo_ray's run of one case, as readable diffs."""
    problems = []
    labels = ["start", *(f"event #{i} {e!r}" for i, e in enumerate(case["events"]))]
    expected_steps = [expected["initial"], *expected["steps"]]
    actual_steps = [actual["initial"], *actual["steps"]]
    if len(expected_steps) != len(actual_steps):
        problems.append(
            f"XState recorded {len(expected_steps)} steps, arvo_ray {len(actual_steps)} "
            "(one side stopped on an error)"
        )
    for label, want, got in zip(labels, expected_steps, actual_steps, strict=False):
        want_n, got_n = _normal(want), _normal(got)
        # Order-sensitive: the state value's key order is part of XState's behaviour.
        if json.dumps(want_n) != json.dumps(got_n):
            diff = "\n".join(
                difflib.unified_diff(
                    json.dumps(want_n, indent=1).splitlines(),
                    json.dumps(got_n, indent=1).splitlines(),
                    "xstate",
                    "arvo_ray",
                    lineterm="",
                )
            )
            problems.append(f"after {label}:\n{diff}")
            break
    return problems


def main() -> int:  # pragma: no cover - manual use
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        results = run_xstate(CASES, Path(tmp))
    failed = 0
    for case in CASES:
        problems = compare(case, results[case["name"]]["restore"], run_python(case))
        if problems:
            failed += 1
            print(f"== {case['name']}\n" + "\n".join(problems))
    print(f"{len(CASES) - failed}/{len(CASES)} cases match XState")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
