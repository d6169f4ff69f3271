"""Fixtures for the timer tests: the shared redis-server (PostgreSQL: tests/conftest.py)."""

from redis_server import free_port, redis_url, require_or_skip  # noqa: F401
