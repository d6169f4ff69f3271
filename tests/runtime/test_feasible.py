"""Options no node can satisfy are refused when the runtime starts, naming what is missing,
instead of leaving chains to wait forever for a node that never comes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import ray

from arvo_ray.core import ArvoEvent, create_arvo_event_factory
from arvo_ray.examples.number_domain import (
    build_number_domain,
    increment_contract,
    number_modifier_init,
)
from arvo_ray.runtime import ArvoRuntime, Instance, Sharded


def increment_event() -> ArvoEvent:
    factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
    return factory.accepts(source="com.test.client", data={"init": 1, "increment": 2})


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


@pytest.mark.parametrize("where", ["handler task", "workflow host"])
def test_a_runtime_env_that_cannot_be_set_up_gives_its_cause_promptly(
    ray_session: None, tmp_path: Path, where: str
) -> None:
    """A worker whose runtime env fails to set up (here: a conda env that does not exist)
    makes the run end with that error, instead of waiting forever."""
    broken = {"runtime_env": {"conda": "arvo-no-such-conda-env"}}
    domain = build_number_domain()
    options: dict[str, Any] = (
        {"handler_options": {"com.increment.number": {**broken, "num_cpus": 1}}}
        if where == "handler task"
        else {"placement": Sharded(num_hosts=1, host_options=[broken])}
    )
    with ArvoRuntime(
        handlers=domain.handlers,
        workflows=domain.workflows,
        name=f"broken-env-{where.split()[-1]}",
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
        retry_window=5.0,
        **options,
    ) as runtime:
        event = increment_event() if where == "handler task" else number_modifier_init(3)
        result = runtime.run(event, timeout=300)
    assert result.final is None
    assert result.errors, result
    assert "RuntimeEnvSetupError" in repr(result.errors[0].error) or "runtime_env" in str(
        result.errors[0].error
    ), result.errors[0]
