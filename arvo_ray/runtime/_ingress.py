"""``EventIngress``: CloudEvents over HTTP into a running runtime, as a Ray Serve deployment.

Ray Serve runs the HTTP layer (a proxy per node, replicas that scale across the cluster); a
replica only parses, checks and hands events to the broker shard that owns their chain, the
same way :meth:`ArvoRuntime.submit` does. The ``202`` it answers is durable: an event is in
the runtime's memory (:class:`~arvo_ray.ingress.Inbox`) before the answer leaves, and a
replica re-sends accepted events whose chain a crash cut short.

Routes (all behind the bearer token, when one is set):

* ``POST /events``: structured, binary or batched CloudEvents; ``202`` with the accepted and
  duplicate ids; ``?wait=<seconds>`` waits for the chains and answers ``200`` with the final
  event (a batch: the list of them) when they end in time.
* ``GET /events/{source}/{id}``: an accepted event's status and final event.
* ``GET /workflows/{subject}``: a workflow's stored record.
* ``GET /healthz`` and ``GET /stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import ray
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from arvo_ray._results import RunResult
from arvo_ray.core import ArvoEvent
from arvo_ray.egress import EventSink, SinkRouting
from arvo_ray.ingress import EventGate, Inbox, IngressError, events_from_http, inbox_key
from arvo_ray.memory import IMachineMemory
from arvo_ray.runtime._answers import answer_subject
from arvo_ray.runtime._outcome import added_up
from arvo_ray.runtime._routing import broker_name, shard_of

__all__ = ["EventIngress", "IngressSettings"]

_logger = logging.getLogger("arvo_ray.ingress")

BATCH = "application/cloudevents-batch+json"
STRUCTURED = "application/cloudevents+json"


@dataclass(frozen=True)
class IngressSettings:
    """What a replica needs to find its runtime and to judge requests (picklable)."""

    runtime: str
    namespace: str
    brokers: int
    receivers: list[Any]
    memory: IMachineMemory
    sinks: dict[str, EventSink] = field(default_factory=dict)
    token: str | None = field(default=None, repr=False)
    max_body_bytes: int = 1 << 20
    max_batch: int = 1000
    max_wait: float = 300.0
    recovery_interval: float = 30.0
    recovery_age: float = 60.0
    keep_done: float = 86_400.0


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _event_response(events: list[ArvoEvent], batch: bool) -> Response:
    if batch:
        body = "[" + ",".join(event.to_json() for event in events) + "]"
        return Response(body, media_type=f"{BATCH}; charset=utf-8")
    return Response(events[0].to_json(), media_type=f"{STRUCTURED}; charset=utf-8")


class EventIngress:
    """One Serve replica of a runtime's HTTP ingress."""

    async def __init__(self, settings: IngressSettings) -> None:  # type: ignore[misc]
        self.settings = settings
        self.gate = EventGate(settings.receivers, SinkRouting(settings.sinks))
        self.inbox = Inbox(settings.memory)
        self._brokers = [
            ray.get_actor(
                broker_name(settings.runtime, index, settings.brokers),
                namespace=settings.namespace,
            )
            for index in range(settings.brokers)
        ]
        self._running: dict[str, asyncio.Task[RunResult | None]] = {}
        self.counts = {"requests": 0, "accepted": 0, "duplicates": 0, "refused": 0, "resent": 0}
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())
        self._routes: dict[tuple[str, str], Callable[[Request, str], Awaitable[Response]]] = {
            ("POST", "events"): self._post_events,
            ("GET", "events"): self._get_event,
            ("GET", "workflows"): self._get_workflow,
            ("GET", "healthz"): self._healthz,
            ("GET", "stats"): self._stats,
        }

    # -- requests ------------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        self.counts["requests"] += 1
        if not self._authorised(request):
            return JSONResponse(
                {"error": "Missing or wrong bearer token"},
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="arvo-ray"'},
            )
        root = request.scope.get("root_path", "")
        path = request.url.path[len(root) :].strip("/")
        head, _, rest = path.partition("/")
        route = self._routes.get((request.method, head))
        if route is None:
            known = {name for _, name in self._routes}
            status = 405 if head in known else 404
            return _error(status, f"No route {request.method} /{path}")
        try:
            return await route(request, rest)
        except IngressError as error:
            self.counts["refused"] += 1
            return _error(error.status, error.message)

    def _authorised(self, request: Request) -> bool:
        token = self.settings.token
        if token is None:
            return True
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise IngressError(413, f"The body has {declared} bytes; at most {limit} are taken")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise IngressError(413, f"The body exceeds {limit} bytes")
        return body

    async def _post_events(self, request: Request, rest: str) -> Response:
        if rest:
            raise IngressError(404, f"No route POST /events/{rest}")
        wait = self._wait_of(request)
        headers = {key.lower(): value for key, value in request.headers.items()}
        events = events_from_http(
            headers, await self._body(request), max_events=self.settings.max_batch
        )
        for event in events:
            self.gate.check(event)
        accepted: list[ArvoEvent] = []
        duplicates: list[ArvoEvent] = []
        for event in events:
            try:
                new = await self.inbox.accept(event)
            except Exception as error:
                _logger.exception("The ingress could not store an accepted event")
                return _error(
                    503,
                    f"The runtime's memory refused the event {event.id!r} ({type(error).__name__}); "
                    f"accepted so far: {[e.id for e in accepted]}. Send the request again: "
                    "accepted events are not applied twice.",
                )
            (accepted if new else duplicates).append(event)
            if new:
                self._start(event)
        self.counts["accepted"] += len(accepted)
        self.counts["duplicates"] += len(duplicates)
        batch = headers.get("content-type", "").lower().startswith(BATCH)
        if wait is not None:
            finals = await self._finals(events, wait)
            if finals is not None:
                return _event_response(finals, batch) if finals else Response(status_code=204)
        return JSONResponse(
            {"accepted": [e.id for e in accepted], "duplicates": [e.id for e in duplicates]},
            status_code=202,
        )

    def _wait_of(self, request: Request) -> float | None:
        text = request.query_params.get("wait")
        if text is None:
            return None
        try:
            wait = float(text)
        except ValueError:
            raise IngressError(400, f"wait must be a number of seconds, got {text!r}") from None
        if not 0 <= wait <= self.settings.max_wait:
            raise IngressError(
                400, f"wait must be between 0 and {self.settings.max_wait:g} seconds, got {text}"
            )
        return wait

    async def _finals(self, events: list[ArvoEvent], wait: float) -> list[ArvoEvent] | None:
        """The final events of the chains of ``events`` (those that have one), or ``None``
        when some chain has not ended within ``wait`` seconds."""
        deadline = time.monotonic() + wait
        finals = []
        for event in events:
            entry = await self._outcome(event, deadline)
            if entry is None:
                return None
            if entry.get("final"):
                finals.append(ArvoEvent.from_dict(entry["final"]))
        return finals

    async def _outcome(self, event: ArvoEvent, deadline: float) -> dict[str, Any] | None:
        """``event``'s done inbox entry, waiting until ``deadline`` for it."""
        task = self._running.get(inbox_key(event))
        if task is not None:
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(task), max(0.0, deadline - time.monotonic()))
        while True:
            entry = await self.inbox.entry(event)
            if entry is not None and entry.get("status") == "done":
                return entry
            if time.monotonic() >= deadline:
                return None
            # A duplicate whose chain runs elsewhere (another replica, a re-send after a crash).
            await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    async def _get_event(self, request: Request, rest: str) -> Response:
        source, _, event_id = rest.rpartition("/")
        if not source or not event_id:
            raise IngressError(404, "Ask for GET /events/{source}/{id}")
        probe = ArvoEvent.model_construct(source=unquote(source), id=unquote(event_id))
        entry = await self.inbox.entry(probe)
        if entry is None:
            raise IngressError(404, f"No event {event_id!r} from {source!r} was accepted here")
        return JSONResponse(
            {
                key: entry.get(key)
                for key in ("status", "acceptedAt", "finishedAt", "final", "error")
            }
        )

    async def _get_workflow(self, request: Request, rest: str) -> Response:
        subject = unquote(rest)
        if not subject:
            raise IngressError(404, "Ask for GET /workflows/{subject}")
        record = await self.settings.memory.read(subject)
        if record is None:
            raise IngressError(404, f"No workflow record for subject {subject!r}")
        return JSONResponse(record)

    async def _healthz(self, request: Request, rest: str) -> Response:
        try:
            await asyncio.wait_for(
                asyncio.gather(*(broker.ready.remote() for broker in self._brokers)), 10
            )
        except Exception as error:
            return _error(503, f"A broker shard does not answer: {type(error).__name__}: {error}")
        return JSONResponse({"status": "ok", "brokers": len(self._brokers)})

    async def _stats(self, request: Request, rest: str) -> Response:
        shards: list[dict[str, Any]] = await asyncio.gather(
            *(broker.stats.remote() for broker in self._brokers)
        )
        stats = added_up(list(shards))
        stats.pop("metrics", None)
        return JSONResponse({"runtime": self.settings.runtime, "ingress": self.counts, **stats})

    # -- chains --------------------------------------------------------------------------------

    def _start(self, event: ArvoEvent) -> None:
        key = inbox_key(event)
        if key not in self._running:
            task = asyncio.get_running_loop().create_task(self._run(event))
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))

    async def _run(self, event: ArvoEvent) -> RunResult | None:
        """Send ``event`` to the shard that owns its chain and record how the chain ended. A
        failure leaves the entry accepted: the sweep sends it again."""
        broker = self._brokers[shard_of(answer_subject(event), len(self._brokers))]
        try:
            result: RunResult = await broker.run.remote(event, False)
        except Exception:
            _logger.warning("The chain of ingress event %s was cut; it will be re-sent", event.id)
            return None
        error = None
        if result.final is None and result.errors:
            letter = result.errors[0]
            error = f"{type(letter.error).__name__}: {letter.error}"
        with contextlib.suppress(Exception):
            await self.inbox.finish(event, result.final, error)
        return result

    async def _sweep_forever(self) -> None:
        """Re-send accepted events whose chain has not ended long after (a crash cut it), and
        delete the outcomes kept past ``keep_done``."""
        settings = self.settings
        while True:
            with contextlib.suppress(Exception):
                for event in await self.inbox.sweep(settings.recovery_age, settings.keep_done):
                    if inbox_key(event) not in self._running:
                        self.counts["resent"] += 1
                        self._start(event)
            await asyncio.sleep(self.settings.recovery_interval)
