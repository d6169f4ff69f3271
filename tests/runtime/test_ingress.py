"""CloudEvents over real HTTP into a runtime, through Ray Serve on the test session's Ray.

The CNCF ``cloudevents`` SDK is the independent client for structured and binary mode; a
batch is its JSON format in an array. Handlers are counted (a ledger across processes), so a
duplicate's "no second effect" is checked on the side effect itself.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import ray
import requests
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from redis_server import free_port

from arvo_ray.core import ArvoEvent, create_arvo_event_factory
from arvo_ray.examples.number_domain import (
    SQLiteKeyValueStore,
    build_number_domain,
    increment_contract,
    number_modifier_init,
)
from arvo_ray.examples.slow_service import lookup_handler, lookup_init, lookup_resumable
from arvo_ray.runtime import ArvoRuntime, Sharded, default_memory_path
from arvo_ray.runtime._routing import broker_name

from .effects import EffectLedger, UntilFileExists, counted

TOKEN = "ingress-test-token-7f3a9c"
CLIENT = "com.ingress.client"


class Setup:
    def __init__(self, runtime: ArvoRuntime, url: str, ledger: EffectLedger) -> None:
        self.runtime = runtime
        self.url = url
        self.ledger = ledger

    def post(
        self,
        body: bytes | str,
        content_type: str,
        *,
        wait: float | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> requests.Response:
        sent = {"content-type": content_type, **(headers or {})}
        if auth:
            sent["authorization"] = f"Bearer {TOKEN}"
        query = "" if wait is None else f"?wait={wait}"
        return requests.post(f"{self.url}events{query}", data=body, headers=sent, timeout=120)

    def get(self, path: str) -> requests.Response:
        return requests.get(
            f"{self.url}{path}", headers={"authorization": f"Bearer {TOKEN}"}, timeout=60
        )

    def accepted(self) -> int:
        return int(self.get("stats").json()["ingress"]["accepted"])


@pytest.fixture(scope="module")
def setup(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    from ray import serve

    folder = tmp_path_factory.mktemp("ingress")
    ledger = EffectLedger(str(folder / "effects.sqlite3"))
    domain = build_number_domain(store=SQLiteKeyValueStore(str(folder / "values.sqlite3")))
    runtime = ArvoRuntime(
        handlers=counted(domain.handlers, ledger),
        workflows=domain.workflows,
        placement=Sharded(),
        namespace="arvo-tests",
        sqlite_path=folder / "memory.sqlite3",
    )
    try:
        url = runtime.start_ingress(port=free_port(), token=TOKEN, max_body_bytes=64 * 1024)
        yield Setup(runtime, url, ledger)
    finally:
        runtime.shutdown()
        serve.shutdown()


def beside(setup: Setup, runtime: ArvoRuntime, route_prefix: str, **options: Any) -> Setup:
    """``runtime``'s ingress on the same Serve as ``setup``'s, under its own route prefix."""
    port = int(setup.url.rstrip("/").rsplit(":", 1)[1])
    url = runtime.start_ingress(port=port, route_prefix=route_prefix, token=TOKEN, **options)
    return Setup(runtime, url, setup.ledger)


def increment(value: int = 1, **fields: Any) -> ArvoEvent:
    factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
    return factory.accepts(source=CLIENT, data={"init": value, "increment": 2}, **fields)


def sdk_event(event: ArvoEvent) -> CloudEvent:
    attributes = {k: v for k, v in event.to_dict().items() if k != "data" and v is not None}
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    return CloudEvent(attributes=attributes, data=event.data)


def test_structured_mode_waits_for_the_answer(setup: Setup) -> None:
    message = ce_http.to_structured(sdk_event(increment(5)), JSONFormat())
    response = setup.post(message.body, message.headers["content-type"], wait=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/cloudevents+json")
    final = ArvoEvent.from_json(response.content)
    assert (final.type, final.data) == ("evt.increment.number.success", {"result": 7})
    assert final.to == CLIENT


def test_binary_mode_is_accepted_then_done(setup: Setup) -> None:
    event = increment(10)
    message = ce_http.to_binary(sdk_event(event), JSONFormat())
    headers = {k: v for k, v in message.headers.items() if k.lower() != "content-type"}
    response = setup.post(message.body, message.headers["content-type"], headers=headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": [event.id], "duplicates": []}
    status: dict[str, Any] = {}
    for _ in range(600):
        status = setup.get(f"events/{CLIENT}/{event.id}").json()
        if status["status"] == "done":
            break
        time.sleep(0.1)
    assert status["status"] == "done"
    assert status["final"]["data"] == {"result": 12}


def test_a_batch_answers_every_final_event_in_order(setup: Setup) -> None:
    events = [increment(value) for value in range(6)]
    body = b"[" + b",".join(JSONFormat().write(sdk_event(e)) for e in events) + b"]"
    response = setup.post(body, "application/cloudevents-batch+json", wait=60)
    assert response.status_code == 200, response.text
    finals = [ArvoEvent.from_dict(item) for item in response.json()]
    assert [f.data["result"] for f in finals] == [value + 2 for value in range(6)]
    assert [f.parentid for f in finals] == [e.id for e in events]


def test_a_whole_orchestration_can_be_waited_for(setup: Setup) -> None:
    init = number_modifier_init(3, source=CLIENT)
    response = setup.post(init.to_json(), "application/cloudevents+json", wait=120)
    assert response.status_code == 200, response.text
    final = ArvoEvent.from_json(response.content)
    assert final.type == "arvo.orc.number.modifier.done"
    record = setup.get(f"workflows/{init.subject}")
    assert record.status_code == 200
    assert record.json()["status"] == "done"


def test_a_duplicate_id_is_acknowledged_once_and_has_one_effect(setup: Setup) -> None:
    event = increment(40)
    first = setup.post(event.to_json(), "application/cloudevents+json", wait=60)
    second = setup.post(event.to_json(), "application/cloudevents+json")
    third = setup.post(event.to_json(), "application/cloudevents+json", wait=60)
    assert first.status_code == 200
    assert second.status_code == 202
    assert second.json() == {"accepted": [], "duplicates": [event.id]}
    assert third.status_code == 200 and third.json()["data"] == {"result": 42}
    assert setup.ledger.executions()[("com.increment.number", event.id)] == 1


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("invalid-json", 400, "not valid JSON"),
        ("missing-attribute", 400, "lacks the required attribute(s) source"),
        ("contract-violation", 422, "ContractViolation"),
        ("unknown-to", 422, "to=com.nobody.home"),
        ("oversized", 413, "at most 65536"),
        ("content-type", 415, "Unsupported content type text/plain"),
        ("bad-wait", 400, "wait must be"),
    ],
)
def test_bad_input_gets_a_4xx_and_nothing_is_accepted(
    setup: Setup, case: str, status: int, words: str
) -> None:
    good = increment(1).to_dict()
    bodies: dict[str, tuple[str, str]] = {
        "invalid-json": ("{", "application/cloudevents+json"),
        "missing-attribute": (
            json.dumps([good, {k: v for k, v in increment().to_dict().items() if k != "source"}]),
            "application/cloudevents-batch+json",
        ),
        "contract-violation": (
            json.dumps([good, {**increment().to_dict(), "data": {"init": "x", "increment": 2}}]),
            "application/cloudevents-batch+json",
        ),
        "unknown-to": (
            json.dumps([good, {**increment().to_dict(), "to": "com.nobody.home"}]),
            "application/cloudevents-batch+json",
        ),
        "oversized": (
            json.dumps([{**increment().to_dict(), "pad": "x" * 70_000}]),
            "application/cloudevents-batch+json",
        ),
        "content-type": ("hello", "text/plain"),
        "bad-wait": (json.dumps(good), "application/cloudevents+json"),
    }
    body, content_type = bodies[case]
    before = setup.accepted()
    response = setup.post(body, content_type, wait=-1 if case == "bad-wait" else None)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert setup.accepted() == before
    assert setup.get(f"events/{CLIENT}/{good['id']}").status_code == 404


def test_every_request_without_the_token_is_refused_and_the_token_is_never_logged(
    setup: Setup,
) -> None:
    event = increment(1)
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
        response = setup.post(
            event.to_json(), "application/cloudevents+json", headers=headers, auth=False
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    for path in ("healthz", "stats", f"workflows/{event.subject}"):
        assert requests.get(f"{setup.url}{path}", timeout=30).status_code == 401
    assert setup.get(f"events/{CLIENT}/{event.id}").status_code == 404
    logs = Path(ray._private.worker._global_node.get_logs_dir_path())
    leaked = [p.name for p in logs.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaked == []


def test_health_and_stats(setup: Setup) -> None:
    health = setup.get("healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "brokers": setup.runtime.brokers}
    stats = setup.get("stats").json()
    assert stats["runtime"] == setup.runtime.name
    assert stats["ingress"]["accepted"] >= 1
    assert stats["events_routed"] >= 1


def replica_of(app: str) -> Any:
    for actor in ray.util.list_named_actors(all_namespaces=True):
        if actor["name"].startswith(f"SERVE_REPLICA::{app}#"):
            return ray.get_actor(actor["name"], namespace=actor["namespace"])
    raise AssertionError(f"no replica of {app}")


@pytest.mark.parametrize("victim", ["broker", "ingress replica"])
def test_an_accepted_event_survives_a_killed_process(
    setup: Setup, tmp_path: Path, victim: str
) -> None:
    """202, then a process dies mid-chain: the chain still ends with its answer, recorded in
    the inbox (a second runtime on the same Serve, under its own route prefix). A broker's
    call is retried by Ray; a dead replica's chain is sent again by the new replica."""
    release = tmp_path / "release"
    runtime = ArvoRuntime(
        handlers=[lookup_handler(UntilFileExists(str(release)))],
        workflows=[lookup_resumable()],
        placement=Sharded(),
        brokers=1,
        name=f"durable-{victim.split()[-1]}",
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
    )
    try:
        durable = beside(setup, runtime, "/durable", recovery_interval=0.5, recovery_age=1.0)
        assert durable.url == setup.url + "durable/"
        init = lookup_init("slow", source=CLIENT)
        response = durable.post(init.to_json(), "application/cloudevents+json")
        assert response.status_code == 202, response.text
        for _ in range(600):  # the first step is stored: the lookup call is on its way
            if durable.get(f"workflows/{init.subject}").status_code == 200:
                break
            time.sleep(0.1)
        if victim == "broker":
            broker = ray.get_actor(broker_name(runtime.name, 0, 1), namespace="arvo-tests")
            ray.kill(broker, no_restart=False)
        else:
            ray.kill(replica_of(f"{runtime.name}-ingress"), no_restart=True)
        release.touch()
        status: dict[str, Any] = {}
        for _ in range(1200):
            answer = durable.get(f"events/{CLIENT}/{init.id}")
            status = answer.json() if answer.status_code == 200 else {"status": answer.text}
            if status["status"] == "done":
                break
            time.sleep(0.1)
        assert status["status"] == "done", status
        assert status["final"]["data"]["answer"] == "SLOW"
        if victim == "ingress replica":
            assert durable.get("stats").json()["ingress"]["resent"] >= 1
    finally:
        runtime.shutdown()


def test_an_outcome_kept_for_keep_done_is_deleted_and_a_repeat_is_then_new(
    setup: Setup, tmp_path: Path
) -> None:
    """The inbox holds recent events only: the sweep deletes an outcome once it has been kept
    for keep_done (a second runtime on the same Serve), and its id is then accepted anew."""
    domain = build_number_domain(store=SQLiteKeyValueStore(str(tmp_path / "values.sqlite3")))
    runtime = ArvoRuntime(
        handlers=domain.handlers,
        placement=Sharded(),
        brokers=1,
        name=f"retention-{uuid.uuid4().hex[:6]}",
        namespace="arvo-tests",
        sqlite_path=tmp_path / "memory.sqlite3",
    )
    try:
        kept = beside(setup, runtime, "/retention", recovery_interval=0.2, keep_done=0.5)
        event = increment(7)
        answered = kept.post(event.to_json(), "application/cloudevents+json", wait=60)
        assert answered.status_code == 200, answered.text
        for _ in range(600):
            if kept.get(f"events/{CLIENT}/{event.id}").status_code == 404:
                break
            time.sleep(0.1)
        assert kept.get(f"events/{CLIENT}/{event.id}").status_code == 404
        again = kept.post(event.to_json(), "application/cloudevents+json")
        assert again.json() == {"accepted": [event.id], "duplicates": []}
    finally:
        runtime.shutdown()


def test_the_serve_config_builder_starts_a_runtime_behind_its_ingress(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a Serve config (KubeRay RayService) runs: ``arvo_ray.runtime:ingress_app`` with
    ``args`` builds the runtime of the app it names, and its ingress answers."""
    from ray import serve

    from arvo_ray.runtime import ingress_app

    monkeypatch.setenv("ARVO_RAY_EXAMPLE_VALUES", str(tmp_path / "values.sqlite3"))
    monkeypatch.setenv("BUILDER_TOKEN", "builder-token")
    application = ingress_app(
        {
            "app": "arvo_ray.examples.service:app",
            "name": "built-by-serve",
            "token_env": "BUILDER_TOKEN",
            "max_body_bytes": 4096,
        }
    )
    serve.run(application, name="built-by-serve", route_prefix="/built")
    try:
        url = setup.url + "built/"
        event = increment(20)
        response = requests.post(
            f"{url}events?wait=60",
            data=event.to_json(),
            headers={
                "content-type": "application/cloudevents+json",
                "authorization": "Bearer builder-token",
            },
            timeout=120,
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"result": 22}
        big = requests.post(
            f"{url}events",
            data="x" * 5000,
            headers={
                "content-type": "application/cloudevents+json",
                "authorization": "Bearer builder-token",
            },
            timeout=60,
        )
        assert big.status_code == 413
    finally:
        serve.delete("built-by-serve")
        for actor in ray.util.list_named_actors(all_namespaces=True):
            if actor["name"].startswith("built-by-serve"):
                ray.kill(ray.get_actor(actor["name"], namespace=actor["namespace"]))
        default_memory_path("built-by-serve").unlink(missing_ok=True)
