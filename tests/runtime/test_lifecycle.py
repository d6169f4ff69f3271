"""What a runtime leaves behind: ``with ArvoRuntime()`` in a fresh process stops the Ray it
started and removes its temporary memory; a named runtime keeps its file; ``keep_ray`` keeps
Ray. Each case runs in its own process, with its own Ray and its own home folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys
import ray
from arvo_ray.core import create_arvo_event_factory
from arvo_ray.examples.number_domain import increment_contract, increment_handler
from arvo_ray.runtime import ArvoRuntime

options = json.loads(sys.argv[1])
event = create_arvo_event_factory(increment_contract.version("0.0.1")).accepts(
    source="com.lifecycle.client", data={"init": 1, "increment": 2})
with ArvoRuntime(handlers=[increment_handler()], address="local", ray_init_options={
        "num_cpus": 1, "object_store_memory": 80 * 2**20}, **options) as runtime:
    answer = runtime.run(event, timeout=120).final.data
    path = runtime.memory_path
    during = path.exists()
print(json.dumps({"answer": answer, "during": during, "after": path.exists(),
    "folder": path.parent.exists(), "ray": ray.is_initialized(), "path": str(path)}))
"""


def run(tmp_path: Path, **options: object) -> tuple[dict[str, object], list[Path]]:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    env.pop("ARVO_RAY_HOME", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(options)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), sorted(home.rglob("*"))


def test_with_an_unnamed_runtime_leaves_neither_ray_nor_a_file(tmp_path: Path) -> None:
    seen, home = run(tmp_path)
    assert seen["answer"] == {"result": 3} and seen["during"] is True
    assert (seen["after"], seen["folder"], seen["ray"]) == (False, False, False)
    assert home == []  # nothing written under the home folder


def test_a_named_runtime_keeps_its_memory_and_keep_ray_keeps_ray(tmp_path: Path) -> None:
    seen, home = run(tmp_path, name="kept", keep_ray=True)
    assert seen["answer"] == {"result": 3}
    assert seen["after"] is True and seen["ray"] is True
    assert Path(str(seen["path"])) in home  # ~/.arvo_ray/kept.sqlite3
