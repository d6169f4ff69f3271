"""The ``arvo-ray`` command line: version, help, the demo, inspect and unlock."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from arvo_ray import __version__
from arvo_ray.cli import main
from arvo_ray.memory import SQLiteMachineMemory

ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arvo_ray.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


def test_version_and_help(capsys) -> None:
    """--version prints the package version; no command prints the help."""
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
    done = run_cli("--version")
    assert done.stdout.strip() == f"arvo-ray {__version__}"


def test_the_demo_runs_a_real_orchestration_on_local_ray(tmp_path: Path) -> None:
    """The README's first command: a number.modifier workflow on Ray with SQLite memory, traced."""
    done = run_cli(
        "demo",
        "--workdir",
        str(tmp_path),
        "--num-cpus",
        "2",
        "--workflows",
        "6",
        "--placement",
        "sharded",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "arvo.orc.dec                     arvo.orc.number.modifier -> arvo.orc.dec" in out
    assert "com.value.write                  arvo.orc.number.modifier -> com.value.write" in out
    assert (
        'Result: arvo.orc.number.modifier.done {"success": true, "error": [], "final": -3}' in out
    )
    assert "6/6 correct" in out
    assert (tmp_path / "memory.sqlite3").exists()
    # Ray starts quietly, as in a notebook: none of its start-up notices.
    for notice in ("Token authentication is enabled", "Started a local Ray instance"):
        assert notice not in out + done.stderr


def test_inspect_lists_and_prints_records_and_unlock_releases(tmp_path: Path, capsys) -> None:
    """inspect shows stored workflows and locks; unlock force-releases a stuck lock."""
    from arvo_ray.core import ArvoOrchestrationSubject

    path = tmp_path / "memory.sqlite3"
    subject = ArvoOrchestrationSubject.new(
        orchestrator="arvo.orc.inc", version="1.0.0", initiator="com.test.cli"
    )
    memory = SQLiteMachineMemory(path, owner="stuck-owner")

    async def prepare() -> None:
        await memory.write(subject, {"status": "active", "value": "fetch"}, None)
        assert await memory.lock(subject)

    asyncio.run(prepare())
    assert main(["inspect", "--memory", str(path)]) == 0
    listing = capsys.readouterr().out
    assert "1 workflow records" in listing
    assert "LOCKED by stuck-owner" in listing
    assert "arvo.orc.inc#" in listing
    assert main(["inspect", subject, "--memory", str(path)]) == 0
    assert '"value": "fetch"' in capsys.readouterr().out
    assert main(["unlock", subject, "--memory", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "released"
    assert asyncio.run(SQLiteMachineMemory(path, owner="another").lock(subject)) is True


def test_inspect_reports_a_missing_record_or_file(tmp_path: Path, capsys) -> None:
    """Unknown subjects and files give a clear message and a failing exit status."""
    path = tmp_path / "memory.sqlite3"
    SQLiteMachineMemory(path)
    assert main(["inspect", "nope", "--memory", str(path)]) == 1
    assert "no record" in capsys.readouterr().err
    done = run_cli("inspect", "--memory", str(tmp_path / "absent.sqlite3"))
    assert done.returncode != 0
    assert "no memory file" in done.stderr


def test_the_quickstart_example_runs_in_process() -> None:
    """examples/quickstart.py runs as documented (in-process)."""
    script = Path(__file__).parent.parent / "examples" / "quickstart.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=ENV
    )
    assert done.returncode == 0, done.stderr
    assert "answer: evt.calc.add.success {'total': 3}" in done.stdout
