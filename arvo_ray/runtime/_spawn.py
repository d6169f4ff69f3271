"""How the runtime starts its actors: named (found again when a runtime of that name runs),
detached, restarted when they die, holding no CPU slot, and near the broker they serve."""

from __future__ import annotations

from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

__all__ = ["named_actor", "near"]


def near(node: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with a soft affinity to ``node``, unless they already say where to go."""
    if node is None or "scheduling_strategy" in options or "resources" in options:
        return options
    strategy = NodeAffinitySchedulingStrategy(node, soft=True)
    return {**options, "scheduling_strategy": strategy}


def named_actor(cls: type, name: str, namespace: str, **options: Any) -> Any:
    """``cls`` as a named runtime actor; call ``.remote(...)`` on the result to start (or find)
    it. ``options`` add to or override the defaults. Ray's handle types do not describe actor
    methods, so handles are used untyped."""
    return ray.remote(cls).options(
        **{
            "name": name,
            "namespace": namespace,
            "get_if_exists": True,
            "lifetime": "detached",
            "num_cpus": 0,
            "max_restarts": -1,
            **options,
        }
    )
