"""A runtime as a long-lived service: what ``arvo-ray serve module:app`` starts and stops.

The app names what to run (:class:`ServiceApp`); the service starts, or re-attaches to, the
runtime of that name on the cluster given by ``RAY_ADDRESS`` (else a local one), puts its HTTP
ingress in front and runs until it is told to stop (Ctrl-C, SIGTERM, ``arvo-ray stop``). A
small state file tells ``arvo-ray send``, ``status`` and ``stop`` where the service is; it never
holds the token.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arvo_ray._specs import import_attribute
from arvo_ray.egress import EventSink
from arvo_ray.memory import IMachineMemory, SimpleMachineMemory

if TYPE_CHECKING:
    from arvo_ray.runtime._runtime import ArvoRuntime

__all__ = ["ServiceApp", "ingress_app", "load_app", "run_service", "state_file"]


@dataclass
class ServiceApp:
    """What a service runs: handlers, workflows, and optionally the memory and runtime options.

    Example (``myservice.py``, served with ``arvo-ray serve myservice:app``):
        >>> from arvo_ray.examples.number_domain import build_number_domain
        >>> def app() -> ServiceApp:
        ...     domain = build_number_domain()
        ...     return ServiceApp(handlers=domain.handlers, workflows=domain.workflows)
    """

    handlers: list[Any] = field(default_factory=list)
    workflows: list[Any] = field(default_factory=list)
    memory: IMachineMemory | None = None
    sinks: Mapping[str, EventSink] = field(default_factory=dict)
    """Where events go that no handler or workflow takes, by ``to`` prefix (``"*"``: the rest)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Further :class:`~arvo_ray.runtime.ArvoRuntime` arguments (``placement``, ``brokers``...)."""

    def start(self, name: str) -> ArvoRuntime:
        """Start (or re-attach to) the runtime ``name`` of this app, in namespace ``arvo``
        unless :attr:`options` say otherwise."""
        from arvo_ray.runtime._runtime import ArvoRuntime

        return ArvoRuntime(
            handlers=self.handlers,
            workflows=self.workflows,
            memory=self.memory,
            sinks=self.sinks,
            name=name,
            **{"namespace": "arvo", **self.options},
        )


def load_app(spec: str) -> ServiceApp:
    """The app ``module:attribute`` names: a :class:`ServiceApp`, any object with ``handlers``
    and ``workflows``, or a function returning one.

    Raises:
        ValueError: ``spec`` is not ``module:attribute``, or what it names is not an app.
        ImportError: the module cannot be imported.
    """
    target = import_attribute(spec, "An app")
    if callable(target) and not hasattr(target, "handlers"):
        target = target()
    if isinstance(target, ServiceApp):
        return target
    handlers: Iterable[Any] | None = getattr(target, "handlers", None)
    workflows: Iterable[Any] | None = getattr(target, "workflows", None)
    if handlers is None and workflows is None:
        raise ValueError(
            f"{spec} is not an app: give a ServiceApp, an object with handlers and workflows, "
            f"or a function returning one (got {type(target).__name__})"
        )
    memory = getattr(target, "memory", None)
    return ServiceApp(
        handlers=list(handlers or []),
        workflows=list(workflows or []),
        sinks=dict(getattr(target, "sinks", None) or {}),
        # An in-process memory cannot serve a cluster; the runtime's default takes its place.
        memory=None if isinstance(memory, SimpleMachineMemory) else memory,
    )


def state_file(name: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Where the service ``name`` writes its URL and process id."""
    base = Path(folder) if folder else Path(tempfile.gettempdir()) / f"arvo-ray-{os.getuid()}"
    return base / f"{name}.json"


def run_service(
    app: ServiceApp,
    *,
    name: str,
    host: str,
    port: int,
    token: str | None,
    state: Path,
    ready: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> int:
    """Start (or re-attach to) the runtime ``name`` with its ingress, and block until stopped.

    Ctrl-C and SIGTERM stop it: the ingress goes first (no new events), then the runtime's
    actors; the memory keeps every record, so serving the same name again resumes.
    """
    import ray
    from ray import serve

    stop = stop or threading.Event()
    # A local Ray (no RAY_ADDRESS) is this service's own: Serve and Ray stop with it.
    local = not ray.is_initialized() and not os.environ.get("RAY_ADDRESS")
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS"),
            namespace="arvo",
            include_dashboard=False,
            log_to_driver=False,
        )
    if threading.current_thread() is threading.main_thread():
        # After ray.init, which installs a SIGTERM handler of its own that reports a crash.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    runtime = app.start(name)
    try:
        url = runtime.start_ingress(host=host, port=port, token=token)
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"name": name, "url": url, "pid": os.getpid()}))
        ready(
            f"arvo-ray serve: runtime {name!r} ({runtime.brokers} broker shard(s)) takes "
            f"CloudEvents at {url}events (Ctrl-C or `arvo-ray stop --name {name}` to stop)"
        )
        while not stop.wait(1.0):
            pass
        ready(f"arvo-ray serve: stopping {name!r}")
        return 0
    finally:
        runtime.shutdown()
        if local:
            serve.shutdown()  # type: ignore[no-untyped-call]
            ray.shutdown()
        state.unlink(missing_ok=True)


def ingress_app(args: Mapping[str, Any]) -> Any:
    """A Ray Serve application builder: a runtime and its HTTP ingress from a Serve config.

    For ``serve run`` and KubeRay's ``RayService`` (``import_path:
    arvo_ray.runtime:ingress_app``). ``args``: ``app`` (``module:attribute``, required),
    ``name`` (the runtime's, default ``arvo-service``; an existing one is re-attached),
    ``token_env`` (the environment variable holding the bearer token, default
    ``ARVO_RAY_TOKEN``), and any :meth:`~arvo_ray.runtime.ArvoRuntime.ingress_application`
    argument (``replicas``, ``max_body_bytes``...). Serve's config decides the route and
    the application's name.

    Raises:
        ValueError: no ``app`` in ``args``.
    """
    options = dict(args)
    spec = options.pop("app", None)
    if not spec:
        raise ValueError("ingress_app needs args.app: the module:attribute of the app to serve")
    name = str(options.pop("name", "arvo-service"))
    token = os.environ.get(str(options.pop("token_env", "ARVO_RAY_TOKEN"))) or None
    app = load_app(str(spec))
    runtime = app.start(name)
    return runtime.ingress_application(token=token, **options)
