"""What every Redis-backed store of the package shares: one redis-py client per running event
loop (an asyncio client is bound to the loop that made it), and Lua scripts called by SHA."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

__all__ = ["_Clients", "_Lua"]


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

    async def aclose(self) -> None:
        if self._fixed is not None:
            return  # the caller's client: the caller closes it
        loop = asyncio.get_running_loop()
        with self._mutex:
            client = self._by_loop.pop(loop, None)
        if client is not None:
            await client.aclose()
            await client.connection_pool.disconnect()
