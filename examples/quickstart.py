"""Quickstart: a contract, an event, a handler; in-process, then on Ray with ``--ray``.

python examples/quickstart.py          # in-process (SimpleEventBroker)
python examples/quickstart.py --ray    # the same handler on a local Ray cluster
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import BaseModel

from arvo_ray import (
    ArvoEvent,
    ContractViolation,
    create_arvo_event_factory,
    create_simple_arvo_contract,
)
from arvo_ray.broker import create_simple_event_broker
from arvo_ray.handler import HandlerInput, create_arvo_event_handler


class Add(BaseModel):
    a: int
    b: int


class Sum(BaseModel):
    total: int


add = create_simple_arvo_contract(
    uri="#/calc/add", type="calc.add", versions={"1.0.0": {"accepts": Add, "emits": Sum}}
)


def add_v1(inp: HandlerInput[Add]) -> Sum:
    return Sum(total=inp.data.a + inp.data.b)


handler = create_arvo_event_handler(contract=add, executionunits=1, handler={"1.0.0": add_v1})


def main(on_ray: bool) -> int:
    factory = create_arvo_event_factory(add.version("1.0.0"))
    event = factory.accepts(source="com.my.client", data={"a": 1, "b": 2})
    print(event.type, event.to, event.dataschema)
    assert ArvoEvent.from_json(event.to_json()) == event
    try:
        factory.accepts(source="com.my.client", data={"a": "x"})
    except ContractViolation as error:
        print("rejected:", error)
    if on_ray:
        from arvo_ray.runtime import ArvoRuntime

        with ArvoRuntime(handlers=[handler]) as runtime:
            answer = runtime.run(event, timeout=120).final
    else:
        answer = asyncio.run(create_simple_event_broker([handler]).resolve(event))
    assert answer is not None
    print("answer:", answer.type, answer.data)
    return 0 if answer.data == {"total": 3} else 1


if __name__ == "__main__":
    raise SystemExit(main("--ray" in sys.argv))
