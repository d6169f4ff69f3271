"""A real multi-node Ray cluster on this machine: workflows placed on two worker nodes."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_fifty_orchestrations_run_on_two_worker_nodes() -> None:
    """cluster/local_cluster.sh starts head + 2 workers; 50 number.modifier workflows all succeed
    with the workflow host actors on both worker nodes; the cluster stops cleanly."""
    folder = Path(tempfile.mkdtemp(prefix="arvo-mn-", dir="/tmp"))
    port = random.randint(20000, 40000)
    env = {
        **os.environ,
        "ARVO_CLUSTER_PORT": str(port),
        "ARVO_CLUSTER_DIR": str(folder),
        "RAY": str(Path(sys.executable).parent / "ray"),
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    script = ROOT / "cluster" / "local_cluster.sh"
    try:
        started = subprocess.run(
            ["bash", str(script), "start"], env=env, capture_output=True, text=True, timeout=180
        )
        assert started.returncode == 0, started.stderr
        address = started.stdout.strip().splitlines()[-1]
        assert address == f"127.0.0.1:{port}"
        check = subprocess.run(
            [sys.executable, str(ROOT / "cluster" / "multinode_check.py"), "--workflows", "50"],
            env={**env, "RAY_ADDRESS": address},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert '"correct": 50' in check.stdout
        assert '"worker_a"' in check.stdout and '"worker_b"' in check.stdout
    finally:
        stopped = subprocess.run(
            ["bash", str(script), "stop"], env=env, capture_output=True, text=True, timeout=60
        )
        leftovers = subprocess.run(
            ["pgrep", "-f", f"{folder}/session"], capture_output=True, text=True
        )
        shutil.rmtree(folder, ignore_errors=True)
    assert stopped.returncode == 0
    assert leftovers.stdout.strip() == ""
