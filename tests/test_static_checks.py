"""The code is checked as it is tested: ``mypy --strict`` on the package, ``ruff check`` on
the repository. Both run here, so the one test command covers them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_the_package_type_checks_strictly() -> None:
    """``mypy --strict arvo_ray`` finds no issue (the package ships ``py.typed``)."""
    checked = _run("mypy", "--strict", "arvo_ray")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_repository_passes_ruff() -> None:
    """``ruff check`` finds nothing in the package, tests, examples, benchmarks and scripts."""
    checked = _run("ruff", "check", ".")
    assert checked.returncode == 0, checked.stdout + checked.stderr
