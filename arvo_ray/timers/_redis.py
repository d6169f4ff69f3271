"""``RedisTimerStore``: pending timers in Redis, a sorted set by due time plus their requests.

For runtimes whose nodes share a Redis. Adding and cancelling are Lua scripts, so the set
and the requests never disagree; what is due is a ``ZRANGEBYSCORE``.
"""

from __future__ import annotations

import json
from typing import Any

from arvo_ray._redis_clients import _Clients, _Lua
from arvo_ray.timers._store import PendingTimer

__all__ = ["RedisTimerStore"]

# KEYS: due (zset), requests (hash). ARGV: id, due_at, request.
_ADD = _Lua(
    """
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
return 0
"""
)

# KEYS: due, requests. ARGV: ids. Returns how many were pending.
_REMOVE = _Lua(
    """
local removed = 0
for _, id in ipairs(ARGV) do
  removed = removed + redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
return removed
"""
)


class RedisTimerStore:
    """Pending timers under ``{prefix}:due`` and ``{prefix}:requests`` of the Redis at ``url``.

    Example:
        >>> store = RedisTimerStore("redis://127.0.0.1:6379/0", prefix="myapp:timers")
        >>> store.keys
        ('myapp:timers:due', 'myapp:timers:requests')
    """

    def __init__(self, url: str, *, prefix: str = "arvo:timers") -> None:
        self.url = url
        self.prefix = prefix
        self.keys = (f"{prefix}:due", f"{prefix}:requests")
        self._clients = _Clients(url, None, {})

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "prefix": self.prefix}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], prefix=state["prefix"])  # type: ignore[misc]

    async def add(self, timer: PendingTimer) -> bool:
        text = json.dumps(timer.request, separators=(",", ":"))
        added = await _ADD(self._clients.get(), list(self.keys), [timer.id, timer.due_at, text])
        return bool(added)

    async def cancel(self, id: str) -> bool:
        return await self.remove([id]) == 1

    async def due(self, now: float, limit: int) -> list[PendingTimer]:
        client = self._clients.get()
        found: list[Any] = await client.zrangebyscore(
            self.keys[0], "-inf", now, start=0, num=limit, withscores=True
        )
        if not found:
            return []
        ids = [member.decode() if isinstance(member, bytes) else str(member) for member, _ in found]
        requests = await client.hmget(self.keys[1], ids)
        return [
            PendingTimer(float(score), id, json.loads(request))
            for (_, score), id, request in zip(found, ids, requests, strict=True)
            if request is not None
        ]

    async def remove(self, ids: list[str]) -> int:
        if not ids:
            return 0
        return int(await _REMOVE(self._clients.get(), list(self.keys), list(ids)))

    async def pending(self) -> int:
        return int(await self._clients.get().hlen(self.keys[1]))

    async def next_due(self) -> float | None:
        first: list[Any] = await self._clients.get().zrange(self.keys[0], 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def aclose(self) -> None:
        await self._clients.aclose()

    def __repr__(self) -> str:
        return f"RedisTimerStore({self.url!r}, prefix={self.prefix!r})"
