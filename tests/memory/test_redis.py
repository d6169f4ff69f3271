"""The memory contract against ``RedisMachineMemory`` on a real redis-server, plus its edges."""

from __future__ import annotations

import asyncio
import pickle
import uuid
from typing import Any

import pytest

from .conftest import free_port, require_or_skip
from .contract_suite import *  # noqa: F403
from .contract_suite import MemoryFactory

try:
    import redis.asyncio as aioredis
    import redis.exceptions

    from arvo_ray.memory import RedisMachineMemory
except ImportError:  # pragma: no cover - depends on the environment
    require_or_skip("the 'redis' package is not installed: pip install 'arvo-ray[redis]'")

from arvo_ray.memory import MemoryBackendError


@pytest.fixture
def memory_factory(redis_url: str) -> MemoryFactory:
    # A fresh key prefix per memory is fresh, empty storage on the shared server.
    return MemoryFactory(
        lambda ttl: RedisMachineMemory(redis_url, prefix=f"test-{uuid.uuid4().hex}", lock_ttl=ttl),
        cross_process=True,
    )


class TestRedisConnection:
    """Connection failures and the ways a Redis memory is built and shipped."""

    @pytest.mark.parametrize("operation", ["read", "write", "lock", "unlock"])
    async def test_a_refused_connection_is_a_backend_error(self, operation: str) -> None:
        """Nothing listening: every operation raises MemoryBackendError caused by the refused
        connection itself (not by a pool wait or a retry that gave up)."""
        memory = RedisMachineMemory(f"redis://127.0.0.1:{free_port()}/0", prefix="nobody")
        call = {
            "read": lambda: memory.read("s"),
            "write": lambda: memory.write("s", {"n": 1}, None),
            "lock": lambda: memory.lock("s"),
            "unlock": lambda: memory.unlock("s"),
        }[operation]
        with pytest.raises(MemoryBackendError) as caught:
            await call()
        assert caught.value.operation == operation and caught.value.id == "s"
        assert "127.0.0.1" in str(caught.value) and "reachable" in str(caught.value)
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
        await memory.aclose()

    async def test_a_password_never_appears_in_errors(self) -> None:
        """The URL is quoted in messages with its credentials masked."""
        memory = RedisMachineMemory(f"redis://user:s3cret@127.0.0.1:{free_port()}/0")
        with pytest.raises(MemoryBackendError) as caught:
            await memory.read("s")
        assert "s3cret" not in str(caught.value) and "***@127.0.0.1" in str(caught.value)
        assert "s3cret" not in repr(memory)
        await memory.aclose()

    async def test_an_unpickled_copy_reconnects_lazily(self, redis_url: str) -> None:
        """Pickling carries URL, prefix, owner and TTL; the copy reads what the original wrote."""
        memory = RedisMachineMemory(
            redis_url, prefix=f"p-{uuid.uuid4().hex}", owner="me", lock_ttl=7
        )
        await memory.write("s", {"n": 1}, None)
        copy = pickle.loads(pickle.dumps(memory))
        assert (copy.owner, copy.lock_ttl, copy.prefix) == ("me", 7, memory.prefix)
        assert await copy.read("s") == {"n": 1}
        await copy.aclose()
        await memory.aclose()

    async def test_a_given_client_is_used_but_not_pickled_or_closed(self, redis_url: str) -> None:
        """A ready redis.asyncio client works; pickling it is refused with a pointer to URLs."""
        client = aioredis.Redis.from_url(redis_url)
        memory = RedisMachineMemory(client, prefix=f"c-{uuid.uuid4().hex}")
        await memory.write("s", {"n": 1}, None)
        assert await memory.read("s") == {"n": 1}
        with pytest.raises(TypeError, match="from a Redis URL"):
            pickle.dumps(memory)
        await memory.aclose()
        assert await client.ping() is True  # still open: the caller owns it
        await client.aclose()

    def test_a_wrong_argument_is_a_type_error(self) -> None:
        """Only a URL or a redis.asyncio.Redis client is accepted."""
        with pytest.raises(TypeError, match="Redis URL"):
            RedisMachineMemory(6379)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="prefix"):
            RedisMachineMemory("redis://localhost", prefix="")

    async def test_writes_survive_a_flushed_script_cache(self, redis_url: str) -> None:
        """After SCRIPT FLUSH (e.g. a server restart) the Lua scripts are re-sent."""
        memory = RedisMachineMemory(redis_url, prefix=f"f-{uuid.uuid4().hex}")
        await memory.write("s", {"n": 1}, None)
        client = aioredis.Redis.from_url(redis_url)
        await client.script_flush()
        await memory.write("s", {"n": 2}, {"n": 1})
        await memory.lock("s")
        await client.script_flush()
        assert await memory.unlock("s") is True
        await client.aclose()
        await memory.aclose()

    async def test_keys_are_namespaced_and_hash_tagged(self, redis_url: str) -> None:
        """Record and lock keys sit under the prefix and share a cluster hash tag."""
        prefix = f"k-{uuid.uuid4().hex}"
        memory = RedisMachineMemory(redis_url, prefix=prefix)
        await memory.write("sub/ject=", {"n": 1}, None)
        await memory.lock("sub/ject=")
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        keys = sorted(await client.keys(f"{prefix}:*"))
        assert keys == [f"{prefix}:lock:{{sub/ject=}}", f"{prefix}:rec:{{sub/ject=}}"]
        assert 0 < await client.pttl(keys[0]) <= 30_000
        await client.aclose()
        await memory.aclose()


class TestConnectionPool:
    """Commands share a bounded pool per process and event loop, and wait for a connection."""

    async def test_more_commands_than_connections_wait_instead_of_failing(
        self, redis_url: str
    ) -> None:
        """Two connections serve 500 concurrent writes: each waits its turn, none fails."""
        memory = RedisMachineMemory(redis_url, prefix=f"pool-{uuid.uuid4().hex}", max_connections=2)
        await asyncio.gather(*(memory.write(f"s{n}", {"n": n}, None) for n in range(500)))
        assert await memory.read("s499") == {"n": 499}
        pool = memory._clients.get().connection_pool
        assert pool.max_connections == 2
        await memory.aclose()

    async def test_a_pool_wait_past_its_timeout_is_a_backend_error(self, redis_url: str) -> None:
        """With every connection held, a command gives up after ``pool_timeout`` seconds."""
        memory = RedisMachineMemory(
            redis_url, prefix=f"pool-{uuid.uuid4().hex}", max_connections=1, pool_timeout=0.2
        )
        pool = memory._clients.get().connection_pool
        held = await pool.get_connection()
        with pytest.raises(MemoryBackendError, match="No connection available"):
            await memory.write("s", {"n": 1}, None)
        await pool.release(held)
        await memory.write("s", {"n": 1}, None)
        await memory.aclose()

    def test_pool_settings_are_checked(self) -> None:
        """A pool needs at least one connection and a positive wait."""
        with pytest.raises(ValueError, match="max_connections"):
            RedisMachineMemory("redis://localhost", max_connections=0)
        with pytest.raises(ValueError, match="pool_timeout"):
            RedisMachineMemory("redis://localhost", pool_timeout=0)
        with pytest.raises(TypeError, match="max_connections"):
            RedisMachineMemory("redis://localhost", max_connections=2.5)  # type: ignore[arg-type]


class TestPipelinedTurns:
    """Locks and writes issued in one turn of the event loop travel as one pipeline."""

    @staticmethod
    def _count_pipelines(memory: RedisMachineMemory) -> list[int]:
        client = memory._clients.get()
        made: list[int] = []
        pipeline = client.pipeline

        def counted(*args: Any, **kwargs: Any) -> Any:
            made.append(1)
            return pipeline(*args, **kwargs)

        client.pipeline = counted  # type: ignore[method-assign]
        return made

    async def test_a_batch_of_calls_is_one_pipeline(self, redis_url: str) -> None:
        """Ten writes gathered at once are one pipeline; so are ten locks and reads, and ten
        unlocks."""
        memory = RedisMachineMemory(redis_url, prefix=f"t-{uuid.uuid4().hex}")
        made = self._count_pipelines(memory)
        await asyncio.gather(*(memory.write(f"s{i}", {"n": i}, None) for i in range(10)))
        acquired = await asyncio.gather(*(memory.lock_and_read(f"s{i}") for i in range(10)))
        released = await asyncio.gather(*(memory.unlock(f"s{i}") for i in range(10)))
        assert len(made) == 3
        assert acquired == [(True, {"n": i}) for i in range(10)]
        assert released == [True] * 10 and await memory.locks() == []
        assert [await memory.read(f"s{i}") for i in range(10)] == [{"n": i} for i in range(10)]
        await memory.aclose()

    async def test_scripts_the_server_lost_are_sent_again_in_a_pipeline(
        self, redis_url: str
    ) -> None:
        """After SCRIPT FLUSH, every script of a pipeline is re-sent in full and runs once."""
        memory = RedisMachineMemory(redis_url, prefix=f"t-{uuid.uuid4().hex}")
        client = aioredis.Redis.from_url(redis_url)
        await client.script_flush()
        await asyncio.gather(*(memory.write(f"s{i}", {"n": i}, None) for i in range(5)))
        await client.script_flush()
        await asyncio.gather(*(memory.write(f"s{i}", {"n": -i}, {"n": i}) for i in range(5)))
        for i in range(5):
            meta = await memory.read_meta(f"s{i}")
            assert meta is not None and meta["version"] == 2
            assert await memory.read(f"s{i}") == {"n": -i}
        await client.aclose()
        await memory.aclose()

    async def test_a_refused_connection_fails_every_call_of_the_pipeline(self) -> None:
        """Each call of a pipeline that could not be sent raises its own backend error."""
        memory = RedisMachineMemory(f"redis://127.0.0.1:{free_port()}/0", prefix="nobody")
        outcomes = await asyncio.gather(
            memory.write("a", {"n": 1}, None), memory.lock("b"), return_exceptions=True
        )
        assert [type(o) for o in outcomes] == [MemoryBackendError, MemoryBackendError]
        assert [(o.operation, o.id) for o in outcomes if isinstance(o, MemoryBackendError)] == [
            ("write", "a"),
            ("lock", "b"),
        ]
        await memory.aclose()


class TestMissingRedis:
    """What happens when redis-server (or redis-py) is missing."""

    @pytest.mark.parametrize("variable", ["CI", "ARVO_RAY_CI"])
    def test_ci_fails_instead_of_skipping(
        self, monkeypatch: pytest.MonkeyPatch, variable: str
    ) -> None:
        """With CI or ARVO_RAY_CI set, a missing server is a failure with the reason."""
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.delenv("ARVO_RAY_CI", raising=False)
        monkeypatch.setenv(variable, "1")
        with pytest.raises(pytest.fail.Exception, match="redis-server is missing"):
            require_or_skip("redis-server is missing")

    def test_elsewhere_it_skips_with_the_reason(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without CI, a missing server skips the Redis tests and says why."""
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.delenv("ARVO_RAY_CI", raising=False)
        with pytest.raises(pytest.skip.Exception, match="redis-server is missing"):
            require_or_skip("redis-server is missing")
