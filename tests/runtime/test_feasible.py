"""Options no node can satisfy are refused when the runtime starts, naming what is missing,
instead of leaving chains to wait forever for a node that never comes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import ray

from arvo_ray.examples.number_domain import build_number_domain
from arvo_ray.runtime import ArvoRuntime, Instance, Sharded


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (
            {"placement": Sharded(host_options=[{}, {"resources": {"gpu_box": 1}}])},
            "host_options[1]",
        ),
        ({"placement": Instance(actor_options={"num_cpus": 64})}, "'CPU': 64.0"),
        ({"handler_options": {"num_gpus": 1}}, "'GPU': 1.0"),
        (
            {"handler_options": {"com.increment.number": {"resources": {"api_quota": 2}}}},
            "api_quota",
        ),
    ],
)
def test_unsatisfiable_options_fail_fast_with_the_cause(
    ray_session: None, tmp_path: Path, options: dict[str, Any], words: str
) -> None:
    domain = build_number_domain()
    with pytest.raises(ValueError, match="no node of the cluster has") as caught:
        ArvoRuntime(
            handlers=domain.handlers,
            workflows=domain.workflows,
            name="never-started",
            namespace="arvo-tests",
            sqlite_path=tmp_path / "memory.sqlite3",
            **options,
        )
    assert words in str(caught.value)
    assert not [a for a in ray.util.list_named_actors() if a.startswith("never-started")]


def test_the_check_can_be_turned_off_for_an_autoscaler(ray_session: None, tmp_path: Path) -> None:
    domain = build_number_domain()
    with ArvoRuntime(
        handlers=domain.handlers,
        name="autoscaled",
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
        handler_options={"com.value.read": {"resources": {"later": 1}}},
        check_resources=False,
    ) as runtime:
        assert runtime.stats()["runs"] == 0
