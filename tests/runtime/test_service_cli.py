"""``arvo-ray serve`` on an example app, driven as a user would: ``send``, ``status``, ``stop``.

The service joins the test session's Ray (``RAY_ADDRESS``), so it shares the session's one
cluster; everything else goes through the command line and real HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray
from redis_server import free_port

from arvo_ray.examples.number_domain import number_modifier_init
from arvo_ray.runtime import state_file

TOKEN = "cli-test-token-41d2"


def cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arvo_ray.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.mark.slow
def test_serve_send_status_stop(ray_session: None, tmp_path: Path) -> None:
    from ray import serve

    env = {
        **os.environ,
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
        "ARVO_RAY_TOKEN": TOKEN,
        "ARVO_RAY_EXAMPLE_VALUES": str(tmp_path / "values.sqlite3"),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",
    }
    common = ["--name", "cli-service", "--state-dir", str(tmp_path)]
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arvo_ray.cli",
            "serve",
            "arvo_ray.examples.service:app",
            "--port",
            str(free_port()),
            *common,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    state = state_file("cli-service", tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not state.exists():
            assert service.poll() is None, service.stdout.read() if service.stdout else ""
            assert time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.2)
        assert TOKEN not in state.read_text()

        init = number_modifier_init(6, operation="increment", source="com.cli.client")
        (tmp_path / "init.json").write_text(init.to_json())
        sent = cli("send", str(tmp_path / "init.json"), "--wait", "120", *common, env=env)
        assert sent.returncode == 0, sent.stderr
        final = json.loads(sent.stdout)
        assert final["type"] == "arvo.orc.number.modifier.done"
        assert final["data"]["final"] == 10

        refused = cli(
            "send", str(tmp_path / "init.json"), *common, env={**env, "ARVO_RAY_TOKEN": "wrong"}
        )
        assert refused.returncode == 1
        assert "401" in refused.stderr

        status = cli("status", *common, env=env)
        assert status.returncode == 0, status.stderr
        assert "healthy" in status.stdout
        assert "accepted 1" in status.stdout

        stopped = cli("stop", *common, env=env)
        assert stopped.returncode == 0, stopped.stderr
        assert service.wait(timeout=60) == 0
        assert not state.exists()
        names = {a["name"] for a in ray.util.list_named_actors(all_namespaces=True)}
        assert not any(name.startswith("cli-service") for name in names)
        assert TOKEN not in (service.stdout.read() if service.stdout else "")
    finally:
        if service.poll() is None:
            service.kill()
        serve.shutdown()
