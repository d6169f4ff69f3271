"""One real Ray session for the whole test run (the only place tests touch Ray).

``--ray-address`` points the suite at an existing cluster instead of starting a local one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Ray 2.60 turns on token authentication and writes a token under $HOME; a throwaway local
# test cluster needs neither.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray

from arvo_ray.examples.number_domain import SQLiteKeyValueStore, build_number_domain


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ray-address", default=None, help="run the runtime tests on this Ray cluster"
    )


@pytest.fixture(scope="session")
def ray_session(request: pytest.FixtureRequest) -> Iterator[None]:
    address = request.config.getoption("--ray-address")
    temp = Path(tempfile.mkdtemp(prefix="arvo-ray-tests-"))
    if address:
        ray.init(address=address, namespace="arvo-tests")
    else:
        ray.init(
            num_cpus=2,
            object_store_memory=200 * 1024 * 1024,
            include_dashboard=False,
            namespace="arvo-tests",
            log_to_driver=False,
            _temp_dir=str(temp / "ray"),
        )
    try:
        yield
    finally:
        for actor in ray.util.list_named_actors(all_namespaces=True):
            if actor["namespace"] == "arvo-tests":
                with contextlib.suppress(ValueError):
                    ray.kill(ray.get_actor(actor["name"], namespace="arvo-tests"), no_restart=True)
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteKeyValueStore:
    """A value store every Ray worker process shares."""
    return SQLiteKeyValueStore(str(tmp_path / "values.sqlite3"))


@pytest.fixture
def domain(store: SQLiteKeyValueStore):
    return build_number_domain(store=store)
