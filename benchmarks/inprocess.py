"""In-process throughput: handler execute, orchestrator and resumable workflows (no Ray).

    python benchmarks/inprocess.py            # full run (median of 5 runs each)
    python benchmarks/inprocess.py --quick    # fewer iterations

Figures of the TypeScript original on the same 2-core machine (arvo-event-handler 3.0.25,
node 20, SimpleMachineMemory) are printed alongside for the ratio:
handler ≈ 11,200 events/s; orchestrator ≈ 940 and resumable ≈ 1,250 workflows/s in a manual
loop; ≈ 150 and ≈ 165 workflows/s through its SimpleEventBroker.

The last rows gather 1,000 and 10,000 ``broker.run`` calls at once: each run's cost should stay
that of one run at a time (≤ 1.5x), however many overlap.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from arvo_ray.broker import create_simple_event_broker
from arvo_ray.core import (
    create_arvo_contract,
    create_arvo_event_factory,
    create_arvo_orchestrator_contract,
    create_arvo_orchestrator_event_factory,
)
from arvo_ray.handler import HandlerInput, create_arvo_event_handler
from arvo_ray.machine import assign, emit, setup_arvo_machine
from arvo_ray.memory import SimpleMachineMemory
from arvo_ray.workflow import ResumableInput, create_arvo_orchestrator, create_arvo_resumable

ORIGINAL = {
    "handler events/s": 11_200,
    "orchestrator workflows/s (manual loop)": 940,
    "resumable workflows/s (manual loop)": 1_250,
    "orchestrator workflows/s (SimpleEventBroker)": 150,
    "resumable workflows/s (SimpleEventBroker)": 165,
}
TARGET_RATIO = {
    "handler events/s": 1.0,
    "orchestrator workflows/s (manual loop)": 1.0,
    "resumable workflows/s (manual loop)": 1.0,
    "orchestrator workflows/s (SimpleEventBroker)": 3.0,
    "resumable workflows/s (SimpleEventBroker)": 3.0,
}


class IncrementInput(BaseModel):
    init: int
    increment: int


class IncrementResult(BaseModel):
    result: int


class FlowInit(BaseModel):
    init: int


class FlowDone(BaseModel):
    final: int


increment_contract = create_arvo_contract(
    uri="#/bench/increment",
    type="com.number.increment",
    versions={
        "1.0.0": {
            "accepts": IncrementInput,
            "emits": {"evt.number.increment.success": IncrementResult},
        }
    },
)
flow_contract = create_arvo_orchestrator_contract(
    uri="#/bench/flow",
    name="bench.flow",
    versions={"1.0.0": {"init": FlowInit, "complete": FlowDone}},
)


def increment(inp: HandlerInput) -> dict[str, Any]:
    data = inp.event.data
    return {
        "type": "evt.number.increment.success",
        "data": {"result": data["init"] + data["increment"]},
    }


def build() -> dict[str, Any]:
    handler = create_arvo_event_handler(
        contract=increment_contract, executionunits=1, handler={"1.0.0": increment}
    )
    machine = setup_arvo_machine(
        self_contract=flow_contract.version("1.0.0"),
        services={"inc": increment_contract.version("1.0.0")},
    ).create_machine(
        {
            "id": "bench",
            "context": lambda a: {"value": a.input["data"]["init"]},
            "output": lambda a: {"final": a.context["value"]},
            "initial": "calling",
            "states": {
                "calling": {
                    "entry": emit(
                        lambda a: {
                            "type": "com.number.increment",
                            "data": {"init": a.context["value"], "increment": 1},
                        }
                    ),
                    "on": {
                        "evt.number.increment.success": {
                            "target": "done",
                            "actions": assign({"value": lambda a: a.event["data"]["result"]}),
                        }
                    },
                },
                "done": {"type": "final"},
            },
        }
    )

    def flow(inp: ResumableInput) -> dict[str, Any] | None:
        if inp.input is not None:
            value = inp.input.data["init"]
            return {
                "context": {"value": value},
                "services": [
                    {"type": "com.number.increment", "data": {"init": value, "increment": 1}}
                ],
            }
        if inp.service is not None:
            return {"output": {"final": inp.service.data["result"]}}
        return None

    memory = SimpleMachineMemory()
    return {
        "handler": handler,
        "orchestrator": create_arvo_orchestrator(
            machines=[machine], memory=memory, executionunits=1
        ),
        "resumable": create_arvo_resumable(
            self_contract=flow_contract,
            services={"inc": increment_contract.version("1.0.0")},
            memory=memory,
            handler={"1.0.0": flow},
        ),
        "init": create_arvo_orchestrator_event_factory(flow_contract.version("1.0.0")),
        "request": create_arvo_event_factory(increment_contract.version("1.0.0")),
    }


def measure(label: str, count: int, body: Callable[[int], Awaitable[None]], runs: int) -> float:
    rates = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        asyncio.run(body(count))
        rates.append(count / (time.perf_counter() - started))
    median = statistics.median(rates)
    print(
        f"  {label:<46} median {median:>9,.0f}/s   runs {', '.join(f'{r:,.0f}' for r in rates)}",
        flush=True,
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    parts = build()
    handler, orchestrator, resumable = parts["handler"], parts["orchestrator"], parts["resumable"]
    request = parts["request"].accepts(source="com.bench.client", data={"init": 1, "increment": 2})

    async def handler_loop(count: int) -> None:
        for _ in range(count):
            await handler.execute(request)

    def workflow_loop(workflow: Any) -> Callable[[int], Awaitable[None]]:
        async def body(count: int) -> None:
            for index in range(count):
                init = parts["init"].init(
                    source="com.bench.client", data={"parentSubject$$": None, "init": index}
                )
                (call,) = (await workflow.execute(init)).events
                (answer,) = (await handler.execute(call)).events
                (done,) = (await workflow.execute(answer)).events
                assert done.data["final"] == index + 1

        return body

    def broker_loop(workflow: Any) -> Callable[[int], Awaitable[None]]:
        async def body(count: int) -> None:
            broker = create_simple_event_broker([handler, workflow], max_queue_size=10_000)
            for index in range(count):
                init = parts["init"].init(
                    source="com.bench.client", data={"parentSubject$$": None, "init": index}
                )
                done = await broker.resolve(init)
                assert done is not None and done.data["final"] == index + 1

        return body

    def overlapping_loop(workflow: Any) -> Callable[[int], Awaitable[None]]:
        async def body(count: int) -> None:
            broker = create_simple_event_broker([handler, workflow], max_queue_size=10 * count)
            inits = [
                parts["init"].init(
                    source="com.bench.client", data={"parentSubject$$": None, "init": index}
                )
                for index in range(count)
            ]
            results = await asyncio.gather(*(broker.run(init) for init in inits))
            assert all(r.final is not None and r.hops == 3 for r in results)

        return body

    print(f"arvo_ray in-process benchmark (median of {args.runs} runs)")
    results = {
        "handler events/s": measure(
            "handler execute", int(20_000 * scale), handler_loop, args.runs
        ),
        "orchestrator workflows/s (manual loop)": measure(
            "orchestrator, manual loop", int(3_000 * scale), workflow_loop(orchestrator), args.runs
        ),
        "resumable workflows/s (manual loop)": measure(
            "resumable, manual loop", int(3_000 * scale), workflow_loop(resumable), args.runs
        ),
        "orchestrator workflows/s (SimpleEventBroker)": measure(
            "orchestrator, SimpleEventBroker",
            int(3_000 * scale),
            broker_loop(orchestrator),
            args.runs,
        ),
        "resumable workflows/s (SimpleEventBroker)": measure(
            "resumable, SimpleEventBroker", int(3_000 * scale), broker_loop(resumable), args.runs
        ),
    }
    sequential = results["orchestrator workflows/s (SimpleEventBroker)"]
    overlapping = {
        count: measure(
            f"orchestrator, {count:,} overlapping broker.run",
            max(int(count * scale), 1),
            overlapping_loop(orchestrator),
            args.runs,
        )
        for count in (1_000, 10_000)
    }
    print("\n| measure | arvo_ray | original | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    for name, value in results.items():
        ratio = value / ORIGINAL[name]
        print(
            f"| {name} | {value:,.0f} | {ORIGINAL[name]:,} | {ratio:.2f}x | ≥{TARGET_RATIO[name]:.0f}x |"
        )
    print("\n| overlapping runs | workflows/s | cost per run vs one at a time | target |")
    print("|---|---:|---:|---:|")
    for count, value in overlapping.items():
        print(f"| {count:,} gathered | {value:,.0f} | {sequential / value:.2f}x | ≤1.5x |")


if __name__ == "__main__":
    main()
