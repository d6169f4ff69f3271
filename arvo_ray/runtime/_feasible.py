"""Refuse, when a runtime starts, Ray options no node of the cluster can ever satisfy.

Ray keeps a task or actor that asks for resources no node has waiting, silently, in case an
autoscaler adds such a node. For a runtime that means chains that never end and a caller
that never hears why. So the options of every actor and task the runtime will start are
checked against the alive nodes first, and the error names what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import ray

__all__ = ["check_feasible", "requested_resources"]


def requested_resources(options: Mapping[str, Any]) -> dict[str, float]:
    """The resources a set of Ray options asks one node for."""
    need: dict[str, float] = {}
    for option, resource in (("num_cpus", "CPU"), ("num_gpus", "GPU"), ("memory", "memory")):
        if options.get(option):
            need[resource] = float(options[option])
    for name, amount in dict(options.get("resources") or {}).items():
        if amount:
            need[str(name)] = float(amount)
    return need


def check_feasible(requests: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Raise when some ``(what, options)`` asks for more than any alive node has.

    Raises:
        ValueError: naming what asked, what it asked for, and what the nodes offer.
    """
    nodes = [
        dict(node.get("Resources") or {})
        for node in ray.nodes()  # type: ignore[no-untyped-call]
        if node.get("Alive")
    ]
    for what, options in requests:
        need = requested_resources(options)
        if not need or any(all(node.get(k, 0.0) >= v for k, v in need.items()) for node in nodes):
            continue
        offers = "; ".join(
            ", ".join(f"{k}={v:g}" for k, v in sorted(node.items()) if not k.startswith("node:"))
            for node in nodes
        )
        raise ValueError(
            f"{what} asks for {need}, which no node of the cluster has (nodes: {offers}). "
            "Ray would wait for such a node forever; change the options, add the resources, "
            "or pass check_resources=False when an autoscaler will add such a node."
        )
