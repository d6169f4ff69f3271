"""Sinks: where events go that no handler or workflow of the runtime takes.

A sink is anything with ``async deliver(event)`` that returns once the event is safely out
and raises when it cannot be delivered. The runtime calls it before it acknowledges the event
to the workflow whose outbox holds it, so delivery is at least once: a sink that is down, or
a process killed mid-delivery, leaves the event in the outbox for the next attempt. Receivers
de-duplicate by the event's ``id``.

A :class:`SinkRouting` picks a sink by the event's ``to``: the longest configured prefix wins,
``"*"`` is the default. Nothing here imports Ray.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from arvo_ray.core import ArvoEvent

__all__ = ["CallableSink", "EventSink", "JsonlSink", "SinkRouting", "UndeliverableError"]


class UndeliverableError(Exception):
    """A sink gave up on an event (its attempts ran out, or the receiver refused it for good):
    the event becomes a dead letter instead of being tried again."""


@runtime_checkable
class EventSink(Protocol):
    """Takes events out of the runtime."""

    async def deliver(self, event: ArvoEvent) -> None:
        """Return once ``event`` is delivered.

        Raises:
            UndeliverableError: never deliverable (a dead letter; not tried again).
            Exception: anything else leaves the event to be tried again later.
        """
        ...


class JsonlSink:
    """Appends each event as one line of JSON to ``path`` (its CloudEvent form).

    Each line is one ``write`` to a file opened for appending, so processes that share the
    file (broker shards) never interleave lines. A re-delivered event is written again:
    readers de-duplicate by ``id``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    async def deliver(self, event: ArvoEvent) -> None:
        line = (event.to_json() + "\n").encode("utf-8")
        await asyncio.to_thread(self._append, line)

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.path)!r})"


class CallableSink:
    """Hands each event to ``function`` (sync functions run in a thread). An exception it
    raises leaves the event to be tried again, except :class:`UndeliverableError`."""

    def __init__(self, function: Callable[[ArvoEvent], Awaitable[Any] | Any]) -> None:
        if not callable(function):
            raise TypeError(f"CallableSink takes a function, got {type(function).__name__}")
        self.function = function

    async def deliver(self, event: ArvoEvent) -> None:
        if inspect.iscoroutinefunction(self.function):
            await self.function(event)
            return
        result = await asyncio.to_thread(self.function, event)
        if inspect.isawaitable(result):
            await result

    def __repr__(self) -> str:
        return f"CallableSink({getattr(self.function, '__qualname__', self.function)!r})"


class SinkRouting:
    """Sinks by ``to`` prefix; ``"*"`` takes what no prefix does.

    Example:
        >>> routing = SinkRouting({"com.partner.": JsonlSink("partner.jsonl"), "*": JsonlSink("rest.jsonl")})
        >>> routing.for_topic("com.partner.billing")
        JsonlSink('partner.jsonl')
        >>> routing.for_topic("com.elsewhere")
        JsonlSink('rest.jsonl')
    """

    def __init__(self, sinks: Mapping[str, EventSink] | None = None) -> None:
        sinks = dict(sinks or {})
        for prefix, sink in sinks.items():
            if not isinstance(prefix, str) or not prefix:
                raise ValueError(f"A sink's key is a 'to' prefix or '*', got {prefix!r}")
            if not isinstance(sink, EventSink):
                raise TypeError(
                    f"The sink for {prefix!r} has no async deliver(event): {type(sink).__name__}"
                )
        self.default = sinks.pop("*", None)
        self._by_prefix = sorted(sinks.items(), key=lambda item: -len(item[0]))

    def __bool__(self) -> bool:
        return self.default is not None or bool(self._by_prefix)

    def for_topic(self, to: str) -> EventSink | None:
        """The sink for events addressed to ``to``, or ``None``."""
        for prefix, sink in self._by_prefix:
            if to.startswith(prefix):
                return sink
        return self.default
