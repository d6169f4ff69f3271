"""``ArvoRuntime``: the user's entry point to run Arvo handlers and workflows on Ray.

From a script or a notebook: register handlers, orchestrators and resumables, choose a memory
and a placement, then ``run`` events. The runtime starts Ray if needed (or joins the cluster
named by ``address``/``RAY_ADDRESS``), ships every handler once, and starts a broker actor that
routes events between stateless handler tasks and workflow actors (or ``brokers`` of them,
each owning the chains whose subject hashes to it: by default one per node).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import ray
from pydantic import ValidationError

from arvo_ray._results import DeadLetter, DeadLetterList, EventList, RunResult, WorkflowRecord
from arvo_ray.core import ArvoEvent, ContractViolation, format_validation_error
from arvo_ray.core.kit import quote
from arvo_ray.egress import EventSink, SinkRouting
from arvo_ray.handler import IArvoEventHandler
from arvo_ray.memory import (
    DEFAULT_LOCK_TTL,
    IMachineMemory,
    SimpleMachineMemory,
    SQLiteMachineMemory,
)
from arvo_ray.runtime._answers import answer_subject
from arvo_ray.runtime._broker import BrokerActor
from arvo_ray.runtime._config import BrokerConfig, Placement, Sharded, Timers, placement_of
from arvo_ray.runtime._feasible import check_feasible
from arvo_ray.runtime._memory_actor import ActorMachineMemory, start_memory_actor
from arvo_ray.runtime._outcome import RuntimeStats, added_up
from arvo_ray.runtime._progress import Progress
from arvo_ray.runtime._routing import broker_name, shard_of
from arvo_ray.runtime._spawn import named_actor, near
from arvo_ray.runtime._sync import run_sync
from arvo_ray.runtime._timers import resolved_timers
from arvo_ray.telemetry import (
    TelemetryConfig,
    flush_telemetry,
    install_telemetry,
)
from arvo_ray.timers import TimerService
from arvo_ray.workflow import WorkflowHandler

__all__ = ["ArvoRuntime", "checked_event", "default_memory_path"]


def default_memory_path(name: str) -> Path:
    """Where the embedded default memory of runtime ``name`` lives: ``~/.arvo_ray/<name>.sqlite3``."""
    return Path(os.environ.get("ARVO_RAY_HOME", Path.home() / ".arvo_ray")) / f"{name}.sqlite3"


def _alive_nodes() -> list[str]:
    """Ids of the cluster's alive nodes, the head's first (it runs the driver)."""
    here = ray.get_runtime_context().get_node_id()
    nodes = ray.nodes()  # type: ignore[no-untyped-call]
    alive = sorted(node["NodeID"] for node in nodes if node.get("Alive"))
    return sorted(alive, key=lambda node: node != here)


def _start_brokers(config: BrokerConfig, nodes: list[str]) -> list[Any]:
    """The runtime's broker shards, shard ``i`` on node ``i`` (soft: anywhere if it is gone),
    each found again when a runtime of that name already runs.

    Ray's handle types do not describe actor methods, so the handles are used untyped.
    """
    nodes = nodes if config.brokers > 1 else []  # one broker needs no affinity
    return [
        named_actor(
            BrokerActor,
            broker_name(config.name, index, config.brokers),
            config.namespace,
            max_concurrency=100_000,
            # A restarted broker re-runs interrupted chains; workflows ignore what they
            # already consumed and re-emit what they had not handed on yet.
            max_task_retries=-1,
            **near(nodes[index % len(nodes)] if nodes else None, {}),
        ).remote(config, index)
        for index in range(config.brokers)
    ]


def checked_event(event: object, *, where: str = "submit()") -> ArvoEvent:
    """``event`` validated again, as the runtime's boundary: a valid copy, or a violation.

    An ``ArvoEvent`` made with ``model_construct`` (or unpickled) skipped validation; sent on,
    it would fail somewhere inside a chain with an error that does not name the field.
    """
    if not isinstance(event, ArvoEvent):
        raise TypeError(f"{where} takes an ArvoEvent, got {type(event).__name__}")
    try:
        return ArvoEvent.from_dict(event.to_dict())
    except ValidationError as error:
        problem = format_validation_error(error, root="event")
    except Exception as error:
        problem = f"{type(error).__name__}: {quote(str(error))}"
    raise ContractViolation(
        f"{where} needs a valid ArvoEvent (id={quote(str(getattr(event, 'id', None)))}): {problem}",
        metadata={"event_id": getattr(event, "id", None)},
    )


def _requests(
    placement: Placement, handlers: list[Any], handler_options: Mapping[str, Any]
) -> list[tuple[str, Mapping[str, Any]]]:
    """Every set of Ray options the runtime will start actors or tasks with."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(placement, Sharded):
        found += [(f"Sharded host_options[{i}]", o) for i, o in enumerate(placement.host_options)]
    else:
        found.append(("Instance actor_options", placement.actor_options))
    topics = {handler.source for handler in handlers}
    shared = {k: v for k, v in handler_options.items() if k not in topics}
    found.append(("handler_options", shared))
    for topic in topics & set(handler_options):
        found.append((f"handler_options[{topic!r}]", {**shared, **handler_options[topic]}))
    return found


def _check_serve_address(host: str, port: int) -> None:
    """Serve's HTTP settings are cluster-wide and fixed by whoever started it first: refuse
    to hand out a URL nobody listens on."""
    try:
        from ray.serve.context import _get_global_client

        config = _get_global_client().http_config  # type: ignore[union-attr]
        running = (str(config.host), int(config.port))
    except Exception:  # a Serve version without this view: nothing to compare against
        return
    if running != (host, port):
        raise ValueError(
            f"Ray Serve already runs on this cluster with HTTP on {running[0]}:{running[1]}, "
            f"not {host}:{port}; start the ingress with host={running[0]!r}, port={running[1]}, "
            "or shut Serve down first (serve.shutdown())"
        )


def _checked(handlers: Iterable[Any], kind: str, expected: tuple[type, ...]) -> list[Any]:
    items = list(handlers)
    for item in items:
        if not isinstance(item, expected):
            names = " or ".join(t.__name__ for t in expected)
            raise TypeError(f"{kind} must be {names} objects, got {type(item).__name__}: {item!r}")
    return items


class ArvoRuntime:
    """Run Arvo handlers and workflows on a local or remote Ray cluster.

    Args:
        handlers: Stateless handlers (``ArvoEventHandler``); each event runs as a Ray task.
        workflows: Orchestrators and resumables. Their own memory is not used: the runtime's
            is.
        memory: Where workflow state lives. Default: a SQLite file served by a memory actor
            on the head node: ``sqlite_path``, else for a named runtime
            :func:`default_memory_path` (kept, to re-attach to), else a temporary file removed
            at shutdown (an unnamed runtime cannot be re-attached to anyway). A
            ``SQLiteMachineMemory`` is served the same way; other memories (e.g.
            ``RedisMachineMemory``) are used directly by every workflow actor.
            ``SimpleMachineMemory`` is refused: it lives in one process.
        placement: :class:`Instance` (one named actor per workflow instance; the default) or
            :class:`Sharded` (a few host actors per broker, each hosting many instances: the
            throughput mode); ``"instance"`` and ``"sharded"`` stand for their defaults.
        brokers: How many broker actors route events, each owning the chains whose subject
            hashes to it, with its workflow actors on its node. Default: one per alive node
            when the runtime starts. Keep it when re-attaching to a named runtime.
        name: Prefix of this runtime's actor names (unique by default). Re-using a name
            re-attaches to that runtime's actors and memory.
        namespace: Ray namespace of the actors.
        address: Ray cluster address (default: ``RAY_ADDRESS`` or a new local cluster), used
            only when Ray is not initialised yet.
        sqlite_path: The file of the default memory.
        max_in_flight: Bound on events being processed at once (backpressure).
        max_batch: Largest batch of events sent in one Ray call.
        handler_options: Ray options of handler calls; a handler's topic as a key holds
            options for that handler alone, e.g. ``{"num_cpus": 0.5, "com.llm.call":
            {"resources": {"api_quota": 1}}}``. A handler whose functions are all
            ``async def`` runs in an executor actor next to its broker, holding no CPU slot,
            with any number of calls waiting at once (``max_concurrency`` caps them); given
            ``num_cpus``, or with a blocking ``def`` function, it runs as a task per batch with
            that CPU (default 1), at most ``max_concurrency`` (default 4) batches at once.
        recovery_interval: Seconds between sweeps that re-publish events a crash left in a
            workflow's outbox (a sweep also runs whenever the broker (re)starts).
        recovery_age: Only outbox events older than this are re-published by periodic sweeps.
        completion_timeout: The longest a run waits for its workflow's answer once its own
            chain was cut (a crash, a failure the recovery sweep heals); the result then
            carries an :class:`~arvo_ray.runtime.AnswerTimeoutError`.
        retry_window: How long a workflow step that fails transiently (a lock left by a dead
            process, a restarting memory) is retried before the caller gets the error;
            default: the memory's lock TTL plus a margin.
        outbox: Store each step's emitted events with its new state until the broker has
            handed them on (the no-lost-events guarantee). Switching it off saves one
            acknowledgement write per emitting step but lets a crash between a step's write
            and the delivery of its events lose those events; it exists to measure that cost.
        history: How many steps each workflow record keeps (the consumed event, what the
            step emitted, the state it left) for :meth:`history` and replay testing
            (:func:`arvo_ray.testing.replay`); the first steps are kept, later ones counted.
            0 keeps none.
        telemetry: Exporters and logging to install in the driver and in every worker
            process (:class:`~arvo_ray.telemetry.TelemetryConfig`): spans of one workflow
            form one trace across processes; ``stats()["metrics"]`` adds up every worker's
            metrics.
        ray_init_options: Extra ``ray.init`` arguments when the runtime starts Ray.
        keep_ray: Leave the Ray this runtime started running after :meth:`shutdown` (by
            default a runtime stops the Ray it started, and never one it joined).
        check_resources: Refuse at once Ray options (``host_options``, ``actor_options``,
            ``handler_options``) that no alive node can satisfy, instead of letting Ray wait
            for such a node forever; turn off when an autoscaler will add it.
        sinks: Where events go that no handler or workflow here takes, by ``to`` prefix
            (``"*"``: the rest), e.g. ``{"com.partner.": WebhookSink(url), "*":
            JsonlSink(path)}`` (:mod:`arvo_ray.egress`). An event is acknowledged to the
            workflow whose outbox holds it only once its sink took it: delivery is at least
            once, and receivers de-duplicate by ``id``. Such events are still returned to the
            caller (``RunResult.outputs``).
        timers: Run the durable timer service (:class:`Timers`; ``True`` for its defaults):
            workflows then call ``com.arvo.timer`` (:mod:`arvo_ray.timers`) like any service,
            and its reply arrives when due. Pending timers wait in the memory backend. Handlers
            of an in-process ``TimerService`` among ``handlers`` turn it on (the runtime
            answers their topics itself).

    Raises:
        TypeError: a handler or workflow of the wrong kind.
        ValueError: nothing to run, a ``SimpleMachineMemory``, a bad placement, or Ray
            options no node of the cluster can satisfy (the message names what is missing).

    Example:
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import increment_contract, increment_handler
        >>> event = create_arvo_event_factory(increment_contract.version("0.0.1")).accepts(
        ...     source="com.my.client", data={"init": 1, "increment": 2}
        ... )
        >>> with ArvoRuntime(handlers=[increment_handler()]) as runtime:  # doctest: +SKIP
        ...     result = runtime.run(event)
        >>> result.final.type, result.final.data  # doctest: +SKIP
        ('evt.increment.number.success', {'result': 3})
    """

    def __init__(
        self,
        *,
        handlers: Iterable[IArvoEventHandler] = (),
        workflows: Iterable[WorkflowHandler] = (),
        memory: IMachineMemory | None = None,
        placement: Placement | Literal["instance", "sharded"] = "instance",
        brokers: int | None = None,
        name: str | None = None,
        namespace: str = "arvo",
        address: str | None = None,
        sqlite_path: str | os.PathLike[str] | None = None,
        max_in_flight: int = 4096,
        max_batch: int = 64,
        handler_options: Mapping[str, Any] | None = None,
        recovery_interval: float = 30.0,
        recovery_age: float = 10.0,
        completion_timeout: float = 600.0,
        retry_window: float | None = None,
        outbox: bool = True,
        history: int = 100,
        telemetry: TelemetryConfig | None = None,
        ray_init_options: Mapping[str, Any] | None = None,
        sinks: Mapping[str, EventSink] | None = None,
        check_resources: bool = True,
        timers: Timers | bool = False,
        keep_ray: bool = False,
    ) -> None:
        handler_list = _checked(handlers, "handlers", (IArvoEventHandler,))
        # An in-process TimerService's topics: the runtime answers them with durable timers.
        in_process = [
            h for h in handler_list if isinstance(getattr(h, "service", None), TimerService)
        ]
        if in_process:
            handler_list = [h for h in handler_list if h not in in_process]
            timers = timers or True
        workflow_list = _checked(workflows, "workflows", (WorkflowHandler,))
        if not handler_list and not workflow_list:
            raise ValueError("An ArvoRuntime needs at least one handler or workflow")
        self.placement = placement_of(placement)
        self.name = name or f"arvo-{uuid.uuid4().hex[:8]}"
        self.namespace = namespace
        self.telemetry = telemetry
        if telemetry is not None:
            install_telemetry(telemetry)
        SinkRouting(sinks)  # refuse a bad sink here, not in every broker
        if brokers is not None and (
            isinstance(brokers, bool) or not isinstance(brokers, int) or brokers < 1
        ):
            raise ValueError(f"brokers must be a positive int, got {brokers!r}")
        self._started_ray = self._connect_ray(address, ray_init_options)
        self._keep_ray = keep_ray
        self._temporary_memory = memory is None and sqlite_path is None and name is None
        nodes = _alive_nodes()
        if check_resources:
            check_feasible(_requests(self.placement, handler_list, handler_options or {}))
        self.brokers = brokers or max(1, len(nodes))
        self.memory, self.memory_path = self._open_memory(memory, sqlite_path)
        self.timers = resolved_timers(timers, self.memory)
        self._brokers = _start_brokers(
            BrokerConfig(
                name=self.name,
                namespace=namespace,
                handlers=handler_list,
                workflows=workflow_list,
                memory=self.memory,
                placement=self.placement,
                brokers=self.brokers,
                max_in_flight=max_in_flight,
                max_batch=max_batch,
                handler_options=dict(handler_options or {}),
                recovery_interval=recovery_interval,
                recovery_age=recovery_age,
                completion_timeout=completion_timeout,
                retry_window=retry_window,
                outbox=outbox,
                history=history,
                telemetry=telemetry,
                sinks=dict(sinks or {}),
                timers=self.timers,
            ),
            nodes,
        )
        self.topics: dict[str, list[str]] = ray.get(
            [broker.ready.remote() for broker in self._brokers]
        )[0]
        self._receivers = [*handler_list, *workflow_list]
        self._sinks = dict(sinks or {})
        self._ingress: str | None = None
        self._closed = False

    def _connect_ray(self, address: str | None, options: Mapping[str, Any] | None) -> bool:
        """Join the running Ray, else the cluster at ``address``/``RAY_ADDRESS``, else start
        one; ``True`` when this runtime started it."""
        if ray.is_initialized():
            return False
        # Nothing leaves the machine, and worker logs stay in Ray's log files (failures come
        # back as dead letters); Ray logs warnings only. Token authentication stays as Ray
        # sets it (on, in Ray 2.60); only its notices are kept out: nothing is wrong.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        defaults = {
            "namespace": self.namespace,
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.WARNING,
        }
        notices = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = notices.level
        notices.setLevel(logging.ERROR)
        try:
            ray.init(
                address=address or os.environ.get("RAY_ADDRESS"), **{**defaults, **(options or {})}
            )
        finally:
            notices.setLevel(level)
        return True

    def _open_memory(
        self, memory: IMachineMemory | None, sqlite_path: str | os.PathLike[str] | None
    ) -> tuple[IMachineMemory, Path | None]:
        """The memory every process of the runtime uses, and the SQLite file behind it.

        The default and any ``SQLiteMachineMemory`` are served by a memory actor on the head
        node; other memories are used as they are.
        """
        if isinstance(memory, SimpleMachineMemory):
            raise ValueError(
                "SimpleMachineMemory keeps its records inside one Python process, but on Ray "
                "every workflow actor is a separate process (possibly on another node): each "
                "would see its own empty memory. Use the default (a SQLite file served by a "
                "memory actor), SQLiteMachineMemory(path) or RedisMachineMemory(url)."
            )
        self._owns_memory_actor = memory is None or isinstance(memory, SQLiteMachineMemory)
        if not self._owns_memory_actor:
            assert memory is not None
            return memory, None
        if isinstance(memory, SQLiteMachineMemory):
            path = Path(memory.path)
        else:
            path = Path(sqlite_path or self._default_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        served = start_memory_actor(
            name=f"{self.name}-memory",
            namespace=self.namespace,
            path=str(path.resolve()),
            lock_ttl=memory.lock_ttl if memory is not None else DEFAULT_LOCK_TTL,
        )
        return served, path.resolve()

    # -- running events ----------------------------------------------------------------------

    def submit(self, event: ArvoEvent, *, trace: bool = False) -> ray.ObjectRef[RunResult]:
        """Start the chain of ``event`` without waiting; ``ray.get`` (or ``await``) the result.

        With ``trace=True`` the result lists every event of the chain (``RunResult.trace``).

        Raises:
            TypeError: ``event`` is not an ``ArvoEvent``.
            ContractViolation: ``event`` breaks the ArvoEvent rules. Events are validated
                again here, so events built with ``model_construct`` or unpickled from
                elsewhere get no pass.
        """
        self._check_open()
        return self._send(checked_event(event), trace)

    def _send(self, event: ArvoEvent, trace: bool) -> ray.ObjectRef[RunResult]:
        """Straight to the broker shard that owns the chain (and receives its answer)."""
        ref: ray.ObjectRef[RunResult] = self._brokers[self._shard_of(event)].run.remote(
            event, trace
        )
        return ref

    def run(
        self, event: ArvoEvent, *, timeout: float | None = None, trace: bool = False
    ) -> RunResult:
        """Run the chain of ``event`` to its end and return what it produced.

        Raises:
            ray.exceptions.GetTimeoutError: the chain did not end within ``timeout`` seconds.
        """
        return ray.get(self.submit(event, trace=trace), timeout=timeout)

    async def run_async(self, event: ArvoEvent, *, trace: bool = False) -> RunResult:
        """``await``-able :meth:`run` (for notebooks and async applications)."""
        return await self.submit(event, trace=trace)

    def run_many(
        self,
        events: Sequence[ArvoEvent],
        *,
        progress: bool | None = None,
        window: int = 2000,
        timeout: float | None = None,
    ) -> list[RunResult]:
        """Run many chains concurrently (at most ``window`` submitted at once); results in order.

        Progress is shown when ``progress`` is true, or by default for 50+ events: one line
        updated in place (in a notebook, a terminal, or once at the end in a log).

        Raises:
            ContractViolation: an event breaks the ArvoEvent rules (checked for all of them
                before any is submitted, so nothing is half-accepted).
        """
        self._check_open()
        events = [
            checked_event(event, where=f"run_many() event {i}") for i, event in enumerate(events)
        ]
        show = progress if progress is not None else len(events) >= 50
        bar = Progress(len(events), f"arvo {self.placement.kind}", unit="wf") if show else None
        # Events go to their shards in batches (one actor call each), small enough that progress
        # moves about 20 times and a batch's slowest chain holds back few others.
        batch = max(1, min(64, len(events) // 20))
        results: list[RunResult | None] = [None] * len(events)
        pending: dict[ray.ObjectRef[list[RunResult | BaseException]], list[int]] = {}
        in_flight = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        next_index = 0
        try:
            while next_index < len(events) or pending:
                while next_index < len(events) and in_flight < window:
                    count = min(batch, len(events) - next_index, window - in_flight)
                    chunk = range(next_index, next_index + count)
                    for shard, indices in self._by_shard(events, chunk).items():
                        batch_events = [events[i] for i in indices]
                        pending[self._brokers[shard].run_batch.remote(batch_events)] = indices
                    next_index += count
                    in_flight += count
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(
                        f"run_many: {in_flight} chains still running after {timeout} s"
                    )
                # Collect whatever finished in the next moment: one scan of the pending refs
                # per quarter second, not one per finished batch.
                step = 0.25 if remaining is None else min(0.25, remaining)
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=step)
                for ref, outcomes in zip(ready, ray.get(ready), strict=True):
                    indices = pending.pop(ref)
                    for i, outcome in zip(indices, outcomes, strict=True):
                        if isinstance(outcome, BaseException):
                            raise outcome
                        results[i] = outcome
                    in_flight -= len(indices)
                    if bar is not None:
                        bar.update(len(indices))
        finally:
            if bar is not None:
                bar.close()
        return [r for r in results if r is not None]

    def _shard_of(self, event: ArvoEvent) -> int:
        """The broker shard that owns ``event``'s chain (and receives its answer)."""
        return shard_of(answer_subject(event), self.brokers)

    def _by_shard(
        self, events: Sequence[ArvoEvent], indices: Iterable[int]
    ) -> dict[int, list[int]]:
        """``indices`` grouped by the shard that owns their event's chain."""
        groups: dict[int, list[int]] = {}
        for i in indices:
            groups.setdefault(self._shard_of(events[i]), []).append(i)
        return groups

    # -- HTTP ingress ----------------------------------------------------------------------------

    def start_ingress(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        route_prefix: str = "/",
        token: str | None = None,
        replicas: int = 1,
        max_body_bytes: int = 1 << 20,
        max_batch: int = 1000,
        max_concurrent_requests: int = 1000,
        recovery_interval: float = 30.0,
        recovery_age: float = 60.0,
        keep_done: float = 86_400.0,
    ) -> str:
        """Take CloudEvents over HTTP (Ray Serve) into this runtime; returns the base URL.

        ``POST {url}events`` takes structured, binary and batched CloudEvents and answers
        ``202`` once they are stored in the runtime's memory (so they survive any crash, and a
        repeated id has no second effect); ``?wait=<seconds>`` answers with the final event.
        Bad input gets a 4xx naming the problem, and nothing of the request is accepted. See
        :mod:`arvo_ray.runtime._ingress` for every route.

        Args:
            host, port: Where Ray Serve's HTTP proxy listens (Serve's settings are cluster-wide:
                the first ingress on a cluster decides them).
            route_prefix: Path prefix of the routes.
            token: Bearer token every request must carry (``Authorization: Bearer ...``);
                never logged.
            replicas: Serve replicas of the ingress (they spread over the cluster).
            max_body_bytes: Larger bodies get a 413.
            max_batch: Most events in one batched request.
            max_concurrent_requests: Requests one replica serves at once (waits included).
            recovery_interval, recovery_age: How often, and after how long, accepted events
                whose chain a crash cut short are sent again.
            keep_done: Seconds an event's outcome is kept once its chain has ended (one day by
                default): a repeat within that time gets it and has no second effect. Older
                outcomes are deleted by the same sweep, so the inbox holds recent events only.

        Raises:
            ImportError: Ray Serve is not installed (``pip install "arvo-ray[serve]"``).
        """
        self._check_open()
        from ray import serve

        application = self.ingress_application(
            token=token,
            replicas=replicas,
            max_body_bytes=max_body_bytes,
            max_batch=max_batch,
            max_concurrent_requests=max_concurrent_requests,
            recovery_interval=recovery_interval,
            recovery_age=recovery_age,
            keep_done=keep_done,
        )
        serve.start(http_options={"host": host, "port": port})
        _check_serve_address(host, port)
        serve.run(application, name=self._ingress_app, route_prefix=route_prefix)
        self._ingress = f"http://{host}:{port}{route_prefix.rstrip('/')}/"
        return self._ingress

    def ingress_application(
        self,
        *,
        token: str | None = None,
        replicas: int = 1,
        max_body_bytes: int = 1 << 20,
        max_batch: int = 1000,
        max_concurrent_requests: int = 1000,
        recovery_interval: float = 30.0,
        recovery_age: float = 60.0,
        keep_done: float = 86_400.0,
    ) -> Any:
        """This runtime's HTTP ingress as a Ray Serve application, not yet running: for
        ``serve.run`` under a name and route of your choosing, or a Serve config (see
        :func:`~arvo_ray.runtime.ingress_app`). Arguments as in :meth:`start_ingress`.

        Raises:
            ImportError: Ray Serve is not installed (``pip install "arvo-ray[serve]"``).
        """
        try:
            from ray import serve
        except ImportError as error:
            raise ImportError(
                'The HTTP ingress runs on Ray Serve: pip install "arvo-ray[serve]"'
            ) from error
        from arvo_ray.runtime._ingress import EventIngress, IngressSettings

        settings = IngressSettings(
            runtime=self.name,
            namespace=self.namespace,
            brokers=self.brokers,
            receivers=self._receivers,
            memory=self.memory,
            sinks=self._sinks,
            token=token,
            max_body_bytes=max_body_bytes,
            max_batch=max_batch,
            recovery_interval=recovery_interval,
            recovery_age=recovery_age,
            keep_done=keep_done,
        )
        deployment = serve.deployment(
            name="EventIngress",
            num_replicas=replicas,
            max_ongoing_requests=max_concurrent_requests,
            ray_actor_options={"num_cpus": 0},
        )(EventIngress)
        return deployment.bind(settings)

    @property
    def _ingress_app(self) -> str:
        return f"{self.name}-ingress"

    @property
    def ingress_url(self) -> str | None:
        """The base URL of this runtime's HTTP ingress, if :meth:`start_ingress` ran."""
        return self._ingress

    # -- inspection ----------------------------------------------------------------------------

    def record(self, subject: str) -> WorkflowRecord | None:
        """The stored record of the workflow instance ``subject`` (``None`` if unknown).

        A :class:`WorkflowRecord` is the plain ``dict`` read from memory, shown as a table in
        Jupyter.
        """
        self._check_open()
        record = run_sync(self.memory.read(subject))
        return None if record is None else WorkflowRecord(record)

    def history(self, subject: str) -> list[dict[str, Any]]:
        """The steps the workflow ``subject`` kept (see ``history=``): for each, the consumed
        event, the events it emitted and the state it left, as dicts, oldest first. Replay
        them against changed code with :func:`arvo_ray.testing.replay`, or write them as
        JSONL with ``arvo-ray export``.

        Raises:
            KeyError: no workflow record has that subject.
        """
        record = self.record(subject)
        if record is None:
            raise KeyError(f"No workflow record for subject {subject!r}")
        return list(record.get("history") or [])

    def stats(self) -> RuntimeStats:
        """Counters of the broker and the placement (events routed, errors, live actors...).

        A plain ``dict`` (:class:`RuntimeStats` only adds a Jupyter table view).
        """
        self._check_open()
        stats = RuntimeStats(added_up(ray.get([b.stats.remote() for b in self._brokers])))
        stats["brokers"] = self.brokers
        stats["name"] = self.name
        stats["memory"] = str(self.memory_path) if self.memory_path else repr(self.memory)
        return stats

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """Events that raised a violation or failed, with their errors (each broker shard's,
        most recent last)."""
        self._check_open()
        letters: list[DeadLetter] = self._gathered("get_dead_letters", limit)
        return DeadLetterList(letters[-limit:] if limit else letters)  # a table in Jupyter

    def unrouted(self, limit: int | None = None) -> list[ArvoEvent]:
        """Events no handler or workflow subscribes to (they were returned to their callers)."""
        self._check_open()
        events: list[ArvoEvent] = self._gathered("get_unrouted", limit)
        return EventList(events[-limit:] if limit else events)  # a table in Jupyter

    def actor_names(self) -> list[str]:
        """Names of the workflow actors currently alive."""
        self._check_open()
        names: list[str] = self._gathered("actor_names")
        return names

    def _gathered(self, method: str, *args: Any) -> list[Any]:
        """Every shard's answer to ``method``, one list."""
        parts = ray.get([getattr(b, method).remote(*args) for b in self._brokers])
        return [item for part in parts for item in part]

    # -- lifecycle ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"ArvoRuntime {self.name!r} has been shut down")

    def _default_path(self) -> Path:
        if self._temporary_memory:
            return Path(tempfile.gettempdir()) / f"arvo-ray-{self.name}" / "memory.sqlite3"
        return default_memory_path(self.name)

    def shutdown(self, *, stop_ray: bool | None = None) -> None:
        """Stop this runtime's actors. The memory file stays, unless it was the temporary one
        of an unnamed runtime. Idempotent.

        Args:
            stop_ray: Also ``ray.shutdown()``, only ever if this runtime started Ray; default:
                unless ``keep_ray``.
        """
        if self._closed:
            return
        self._closed = True
        if self._ingress is not None:
            from ray import serve

            with contextlib.suppress(Exception):
                serve.delete(self._ingress_app)
        with contextlib.suppress(Exception):
            ray.get([broker.shutdown.remote() for broker in self._brokers], timeout=60)
        for broker in self._brokers:
            ray.kill(broker, no_restart=True)
        if self._owns_memory_actor and isinstance(self.memory, ActorMachineMemory):
            if self._temporary_memory:
                with contextlib.suppress(Exception):  # the file lives where the actor runs
                    ray.get(self.memory.actor.discard.remote(), timeout=30)
            ray.kill(self.memory.actor, no_restart=True)
        if self.telemetry is not None:
            flush_telemetry()
        if self._started_ray and (not self._keep_ray if stop_ray is None else stop_ray):
            ray.shutdown()

    def __enter__(self) -> ArvoRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running"
        return f"ArvoRuntime(name={self.name!r}, placement={self.placement!r}, {state})"
