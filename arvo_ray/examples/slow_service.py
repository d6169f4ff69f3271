"""An I/O-bound service and a workflow that calls it: the shape of agentic work.

``com.slow.lookup`` stands for an LLM or an HTTP API: its handler is ``async def`` and spends
its time awaiting, not computing, so the Ray runtime lets thousands of its calls wait at once
in one executor actor. ``arvo.orc.lookup`` is a resumable that calls it once and completes
with the answer.

Example:
    >>> import asyncio
    >>> from arvo_ray.broker import create_simple_event_broker
    >>> from arvo_ray.memory import SimpleMachineMemory
    >>> memory = SimpleMachineMemory()
    >>> broker = create_simple_event_broker([lookup_handler(), lookup_resumable(memory)])
    >>> result = asyncio.run(broker.run(lookup_init("whale", seconds=0.01)))
    >>> result.final.data["answer"]
    'WHALE'
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field

from arvo_ray.core import (
    ArvoEvent,
    create_arvo_orchestrator_contract,
    create_arvo_orchestrator_event_factory,
    create_simple_arvo_contract,
)
from arvo_ray.handler import ArvoEventHandler, HandlerInput, create_arvo_event_handler
from arvo_ray.memory import IMachineMemory
from arvo_ray.workflow import ArvoResumable, ResumableInput, create_arvo_resumable

__all__ = [
    "LookupAnswer",
    "LookupRequest",
    "lookup_contract",
    "lookup_handler",
    "lookup_init",
    "lookup_orchestrator_contract",
    "lookup_resumable",
    "waiting_calls",
]


class LookupRequest(BaseModel):
    query: str
    seconds: float = Field(default=0.0, ge=0, description="How long the service takes.")


class LookupAnswer(BaseModel):
    query: str
    answer: str
    waiting: int = Field(default=0, description="Calls of this process waiting when it began.")


lookup_contract = create_simple_arvo_contract(
    uri="#/examples/slow/lookup",
    type="slow.lookup",
    versions={"0.0.1": {"accepts": LookupRequest, "emits": LookupAnswer}},
)

lookup_orchestrator_contract = create_arvo_orchestrator_contract(
    uri="#/examples/slow/orchestrator/lookup",
    name="lookup",
    versions={"0.0.1": {"init": LookupRequest, "complete": LookupAnswer}},
)

_waiting = 0
"""Calls of ``lookup_handler`` waiting in this process right now."""


def waiting_calls() -> int:
    """How many calls of ``lookup_handler`` wait in this process right now."""
    return _waiting


def _call_begins() -> int:
    # Module functions, not closure code: a handler shipped to Ray carries its closures'
    # globals by value, but these are imported, so every call counts in the one module.
    global _waiting
    _waiting += 1
    return _waiting


def _call_ends() -> None:
    global _waiting
    _waiting -= 1


def lookup_handler(
    wait: Callable[[LookupRequest], Awaitable[None]] | None = None,
) -> ArvoEventHandler:
    """The slow service: awaits ``seconds`` (or ``wait(request)``), then answers the query in
    capitals, saying how many calls of its process were waiting when it began."""

    async def lookup(inp: HandlerInput[LookupRequest]) -> LookupAnswer:
        waiting = _call_begins()
        try:
            await (wait(inp.data) if wait is not None else asyncio.sleep(inp.data.seconds))
        finally:
            _call_ends()
        return LookupAnswer(query=inp.data.query, answer=inp.data.query.upper(), waiting=waiting)

    return create_arvo_event_handler(
        contract=lookup_contract, executionunits=1, handler={"0.0.1": lookup}
    )


def lookup_resumable(memory: IMachineMemory | None = None, **options: Any) -> ArvoResumable:
    """Call the slow service once; complete with its answer."""

    def v1(inp: ResumableInput) -> dict[str, Any] | None:
        data = inp.data
        if inp.input is not None:
            return {"context": {"query": data.query}, "services": [data]}
        if isinstance(data, LookupAnswer):
            return {"output": data.model_dump()}
        return {"output": {"query": (inp.context or {}).get("query", ""), "answer": ""}}

    return create_arvo_resumable(
        self_contract=lookup_orchestrator_contract,
        services={"lookup": lookup_contract.version("0.0.1")},
        memory=memory,
        handler={"0.0.1": v1},
        **options,
    )


def lookup_init(query: str, *, seconds: float = 0.0, source: str = "com.slow.client") -> ArvoEvent:
    """The init event of a lookup workflow."""
    factory = create_arvo_orchestrator_event_factory(lookup_orchestrator_contract.version("0.0.1"))
    return factory.init(
        source=source, data={"parentSubject$$": None, "query": query, "seconds": seconds}
    )
