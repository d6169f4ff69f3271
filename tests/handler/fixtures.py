"""Shared pieces of the handler tests: the upstream suite's contract, events and handlers.

``MOCK_CONTRACT`` and :func:`hello_event` recreate the ``mockContract``/``mockEvent`` of the
upstream ``tests/ArvoEventHandler/index.spec.ts``; :func:`load_vectors` reads the recorded
outputs of the original (``vectors.json``, a subset of ``spec/vectors/arvo-3.0.25-probe.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from arvo_ray.core import (
    ArvoContract,
    ArvoErrorSchema,
    ArvoEvent,
    create_arvo_contract,
    create_arvo_event_factory,
)
from arvo_ray.handler import ArvoEventHandler, HandlerInput, create_arvo_event_handler

VECTORS_PATH = Path(__file__).with_name("vectors.json")

HELLO_URI = "#/test/ArvoEventHandler"
HELLO_TYPE = "com.hello.world"
SUCCESS = "evt.hello.world.success"
SYS_ERROR = "sys.com.hello.world.error"

# Fields that differ on every run of the original (random ids, clock) and are not compared.
VOLATILE = ("id", "time")


class HelloInput(BaseModel):
    name: str
    age: int | float  # zod's number: 26 stays 26


class HelloResult(BaseModel):
    result: str


def hello_contract(*, domain: str | None = None, uri: str = HELLO_URI) -> ArvoContract:
    """The upstream ``mockContract`` (optionally with a contract domain)."""
    return create_arvo_contract(
        uri=uri,
        type=HELLO_TYPE,
        domain=domain,
        versions={
            "0.0.1": {
                "accepts": HelloInput,
                "emits": {SUCCESS: HelloResult, "evt.hello.world.error": ArvoErrorSchema},
            }
        },
    )


MOCK_CONTRACT = hello_contract()


def hello_event(
    *,
    data: Mapping[str, Any] | None = None,
    subject: str | None = "test-subject",
    contract: ArvoContract = MOCK_CONTRACT,
    **options: Any,
) -> ArvoEvent:
    """The upstream ``mockEvent``: made by the contract's factory (so it carries a dataschema)."""
    return create_arvo_event_factory(contract.version("0.0.1")).accepts(
        to=HELLO_TYPE,
        source="com.test.env",
        subject=subject,
        data=dict(data) if data is not None else {"name": "Saad Ahmad", "age": 26},
        **options,
    )


def greeting(event: ArvoEvent) -> str:
    return f"My name is {event.data['name']}. I am {event.data['age']} years old"


def greet(inp: HandlerInput) -> dict[str, Any]:
    """The upstream ``mockHandlerFunction`` (here a plain ``def``)."""
    return {"type": SUCCESS, "data": {"result": greeting(inp.event)}}


def make_handler(
    impl: Callable[[HandlerInput], Any] = greet,
    *,
    contract: ArvoContract = MOCK_CONTRACT,
    executionunits: int | float = 100,
    **options: Any,
) -> ArvoEventHandler:
    """A handler of ``contract`` (one version, ``0.0.1``) running ``impl``."""
    return create_arvo_event_handler(
        contract=contract, executionunits=executionunits, handler={"0.0.1": impl}, **options
    )


def raising(error: BaseException) -> Callable[[HandlerInput], Any]:
    """An implementation that raises ``error``."""

    def impl(inp: HandlerInput) -> Any:
        raise error

    return impl


@cache
def load_vectors() -> dict[str, Any]:
    """The recorded cases of the original (see ``vectors.json``'s ``_source``)."""
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def without(event: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """``event`` minus ``keys`` (key order kept)."""
    return {key: value for key, value in event.items() if key not in keys}
