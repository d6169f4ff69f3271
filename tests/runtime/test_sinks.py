"""Sinks on Ray: workflow completions addressed outside the runtime go to a webhook served by
a real local HTTP receiver that fails its first requests, while the broker holding them is
killed. Every completion reaches the receiver at least once, with its own id."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import ray

from arvo_ray.egress import JsonlSink, WebhookSink
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    number_modifier_init,
)
from arvo_ray.runtime import ArvoRuntime, Sharded
from arvo_ray.runtime._routing import broker_name
from tests.egress.http_receiver import Receiver

CLIENT = "com.sink.client"


def test_completions_reach_the_webhook_at_least_once_across_a_killed_broker(
    ray_session: None, tmp_path: Path
) -> None:
    domain = build_number_domain(store=SQLiteKeyValueStore(str(tmp_path / "values.sqlite3")))
    inits = [number_modifier_init(i, source=CLIENT) for i in range(16)]
    with Receiver(failures=3) as receiver:
        runtime = ArvoRuntime(
            handlers=domain.handlers,
            workflows=domain.workflows,
            placement=Sharded(),
            brokers=1,
            namespace="arvo-tests",
            sqlite_path=tmp_path / "memory.sqlite3",
            recovery_interval=1.0,
            recovery_age=0.5,
            sinks={
                "com.sink.": WebhookSink(
                    receiver.url, attempts=50, initial_backoff=0.05, max_backoff=0.5
                ),
                "*": JsonlSink(tmp_path / "other.jsonl"),
            },
        )
        try:
            refs = [runtime.submit(init) for init in inits]
            deadline = time.monotonic() + 120
            while receiver.requests == 0:  # deliveries have begun (and fail, then back off)
                assert time.monotonic() < deadline
                time.sleep(0.05)
            broker = ray.get_actor(broker_name(runtime.name, 0, 1), namespace="arvo-tests")
            ray.kill(broker, no_restart=False)
            for ref in refs:
                with contextlib.suppress(Exception):
                    ray.get(ref, timeout=120)
            expected: set[str] = set()
            while True:
                records = [runtime.record(init.subject) for init in inits]
                if all(r is not None and r.status == "done" for r in records):
                    expected = {e.id for r in records if r is not None for e in r.answer}
                    if expected <= set(receiver.taken):
                        break
                assert time.monotonic() < deadline, (len(expected), len(set(receiver.taken)))
                time.sleep(0.2)
            stats = runtime.stats()
        finally:
            runtime.shutdown()
    assert len(expected) == len(inits)
    assert receiver.requests > len(set(receiver.taken))  # the first ones failed
    assert set(receiver.taken) == expected  # nothing else went there
    assert stats["sunk"] >= 1
    # The rest went to the default sink: the notifications the workflows send nobody here.
    others = [json.loads(line) for line in (tmp_path / "other.jsonl").read_text().splitlines()]
    assert {(e["type"], e["to"]) for e in others} == {("com.notif.test", "com.notif.test")}
