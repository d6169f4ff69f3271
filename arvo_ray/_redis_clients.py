"""What every Redis-backed store of the package shares: one redis-py client per running event
loop (an asyncio client is bound to the loop that made it), Lua scripts called by SHA, and
commands issued during one turn of the loop sent together as one pipeline.

Why the pipeline: a host actor steps a batch of workflows at once, each taking a lock and
writing its record. Sent one by one, every command is a trip through the connection pool, a
socket write and a wake-up for its reply; sent as one pipeline, the batch costs one of each.
Each command still succeeds or fails on its own (a pipeline is not a transaction).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

__all__ = ["Command", "_Clients", "_Lua"]

# The most commands one pipeline carries; a bigger turn is sent as several.
_PIPELINE_LIMIT = 512


class _Lua:
    """A script called by SHA (``EVALSHA``), re-sent in full when the server lost it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def __call__(self, client: aioredis.Redis, keys: list[str], args: list[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.text, len(keys), *keys, *args)


Command = tuple["_Lua | str", tuple[Any, ...]]
"""A Lua script with its keys and arguments, or a command name with its arguments."""


def _queue(pipe: Pipeline, command: Command) -> None:
    what, args = command
    if isinstance(what, _Lua):
        keys, values = args
        pipe.evalsha(what.sha, len(keys), *keys, *values)
    else:
        pipe.execute_command(what, *args)


async def _again(client: aioredis.Redis, command: Command) -> Any:
    """A script the server did not know (its pipeline reply was ``NOSCRIPT``), sent in full."""
    script, (keys, values) = command
    assert isinstance(script, _Lua)
    return await client.eval(script.text, len(keys), *keys, *values)


class _Clients:
    """One redis-py client per running event loop, shared by an instance and its views."""

    def __init__(
        self, url: str | None, client: aioredis.Redis | None, options: dict[str, Any]
    ) -> None:
        self._url = url
        self._fixed = client
        self._options = options
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._mutex = threading.Lock()
        self._turns: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, list[tuple[Command, asyncio.Future[Any]]]
        ] = weakref.WeakKeyDictionary()
        self._sending: set[asyncio.Task[None]] = set()

    def get(self) -> aioredis.Redis:
        if self._fixed is not None:
            return self._fixed
        loop = asyncio.get_running_loop()
        with self._mutex:
            client = self._by_loop.get(loop)
            if client is None:
                assert self._url is not None
                # A bounded pool that makes a command wait (up to ``pool_timeout``) for a free
                # connection: thousands of steps in flight queue up instead of failing.
                pool = aioredis.BlockingConnectionPool.from_url(
                    self._url,
                    # We retry reads ourselves (within the spec's budget) and never retry a
                    # write, so redis-py's own retries (seconds of back-off) are switched off.
                    retry=Retry(NoBackoff(), 0),
                    **self._options,
                )
                client = aioredis.Redis(connection_pool=pool)
                self._by_loop[loop] = client
        return client

    async def in_turn(self, command: Command) -> Any:
        """Send ``command`` with the others issued during this turn of the loop, as one
        pipeline; its own reply, or the error it (or the whole pipeline) met."""
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None or len(turn) >= _PIPELINE_LIMIT:
            turn = self._turns[loop] = []
            loop.call_soon(self._send_turn, loop, turn)
        future: asyncio.Future[Any] = loop.create_future()
        turn.append((command, future))
        return await future

    def _send_turn(
        self, loop: asyncio.AbstractEventLoop, turn: list[tuple[Command, asyncio.Future[Any]]]
    ) -> None:
        if self._turns.get(loop) is turn:
            del self._turns[loop]
        calls = [(command, future) for command, future in turn if not future.cancelled()]
        if calls:
            task = loop.create_task(self._send(calls))
            self._sending.add(task)  # the loop holds tasks weakly
            task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        try:
            client = self.get()
            if len(calls) == 1:
                (what, args), future = calls[0]
                if isinstance(what, _Lua):
                    reply = await what(client, *args)
                else:
                    reply = await client.execute_command(what, *args)  # type: ignore[no-untyped-call]
                if not future.done():
                    future.set_result(reply)
                return
            pipe = client.pipeline(transaction=False)
            for command, _ in calls:
                _queue(pipe, command)
            replies = await pipe.execute(raise_on_error=False)
            for (command, future), reply in zip(calls, replies, strict=True):
                if isinstance(reply, NoScriptError):
                    reply = await _again(client, command)
                if future.done():
                    continue
                if isinstance(reply, Exception):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        except Exception as error:  # the connection, or the pipeline as a whole
            for _, future in calls:
                if not future.done():
                    future.set_exception(error)

    async def aclose(self) -> None:
        if self._fixed is not None:
            return  # the caller's client: the caller closes it
        loop = asyncio.get_running_loop()
        with self._mutex:
            client = self._by_loop.pop(loop, None)
        if client is not None:
            await client.aclose()
            await client.connection_pool.disconnect()
