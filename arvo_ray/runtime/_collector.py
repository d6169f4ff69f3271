"""The cyclic garbage collector's settings in the runtime's own long-lived actors.

A broker, a workflow host, a handler executor and the memory actor each keep a large heap alive
for their whole life (the imported libraries, contracts and machines, warm records, chains
under way) while allocating short-lived objects at a high rate for every event. With CPython's
defaults (a young collection every 700 allocations, a full one whenever the old generation grew
by a quarter) the collector keeps walking that heap: on the number domain it took about 40 % of
a broker's CPU per hop and a third of a host's (``benchmarks/scale_out.py``, one node).

So each of these actors, once built, freezes what it holds (moved out of the collector's sight
for good: what an actor builds at start lives as long as the actor) and collects young objects
every 50,000 allocations. Reference counting still frees everything that is not in a cycle at once; the
collector only finds cycles later. Handler task workers are Ray's shared workers and keep
Ray's settings.
"""

from __future__ import annotations

import gc

import ray

__all__ = ["ACTOR_GC_THRESHOLDS", "settle_collector"]

ACTOR_GC_THRESHOLDS = (50_000, 10, 10)
"""``gc.set_threshold`` in the runtime's actors: young collections 70 times rarer."""


def settle_collector() -> None:
    """In a Ray actor, freeze the objects built so far and collect young objects less often;
    elsewhere (the classes built in-process, in a test) change nothing. Call it once, at the end
    of an actor's constructor."""
    if ray.is_initialized() and ray.get_runtime_context().get_actor_id() is not None:
        gc.freeze()
        gc.set_threshold(*ACTOR_GC_THRESHOLDS)
