"""``RetryPolicy``: transient failures of a handler are tried again before they become errors.

A handler that calls an API or a model fails now and then for reasons that pass (a timeout,
a 503, a dropped connection). Under a policy such an exception is retried after an
exponentially growing wait with jitter; only when the attempts run out does it become the
``sys.<type>.error`` event, whose message says how many attempts were made. Violations are
never retried: they describe the event, and the event will not change. Nothing here does
I/O; the wait is injectable so tests never sleep.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from arvo_ray.core import is_violation_error

__all__ = ["HandlerTimeoutError", "RetryPolicy", "attempted"]


class HandlerTimeoutError(TimeoutError):
    """A handler call ran longer than its ``timeout``; a ``TimeoutError``, so a policy that
    retries ``TimeoutError`` retries it.

    Example:
        >>> RetryPolicy(retry_on=(TimeoutError,)).retries(HandlerTimeoutError("slow"), attempt=1)
        True
    """


@dataclass(frozen=True)
class RetryPolicy:
    """When and how often a failed handler call is tried again.

    Args:
        max_attempts: Calls in all, the first included (1: no retry).
        initial_interval: Seconds before the first retry (its upper bound, with jitter).
        backoff: Factor by which the interval grows per retry.
        max_interval: Cap on the interval.
        retry_on: Exception types that are retried (default: any exception).
        non_retryable: Exception types never retried, even if ``retry_on`` matches.
        jitter: Wait a random part of the interval (full jitter), so callers that failed
            together do not come back together.

    Example:
        >>> policy = RetryPolicy(max_attempts=4, initial_interval=1.0, jitter=False)
        >>> [policy.interval(n) for n in (1, 2, 3)]
        [1.0, 2.0, 4.0]
        >>> policy.retries(ConnectionError("reset"), attempt=1), policy.retries(
        ...     ConnectionError("reset"), attempt=4)
        (True, False)
    """

    max_attempts: int = 3
    initial_interval: float = 1.0
    backoff: float = 2.0
    max_interval: float = 60.0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    non_retryable: tuple[type[BaseException], ...] = ()
    jitter: bool = True
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise TypeError(f"max_attempts must be an int, got {self.max_attempts!r}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not self.initial_interval >= 0 or not self.max_interval >= 0:
            raise ValueError("initial_interval and max_interval must be >= 0 seconds")
        if not self.backoff >= 1:
            raise ValueError(f"backoff must be >= 1, got {self.backoff}")
        for name in ("retry_on", "non_retryable"):
            types = getattr(self, name)
            if not isinstance(types, tuple) or not all(
                isinstance(t, type) and issubclass(t, BaseException) for t in types
            ):
                raise TypeError(f"{name} must be a tuple of exception types, got {types!r}")

    def retries(self, error: BaseException, *, attempt: int) -> bool:
        """Whether ``error`` from call number ``attempt`` is tried again."""
        return (
            attempt < self.max_attempts
            and isinstance(error, self.retry_on)
            and not isinstance(error, self.non_retryable)
            and not is_violation_error(error)
        )

    def interval(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first)."""
        cap = min(self.max_interval, self.initial_interval * self.backoff ** (retry - 1))
        return float(cap * self.random()) if self.jitter else float(cap)


class _Attempted(Exception):
    """The error of a call's last attempt, for an exception that cannot be copied."""

    def __init__(self, error: BaseException, message: str) -> None:
        super().__init__(message)
        self.name = getattr(error, "name", None) or type(error).__name__
        self.message = message


def attempted(error: BaseException, attempts: int) -> BaseException:
    """``error`` as reported after ``attempts`` calls: a copy whose ``message`` (what the
    ``sys.*.error`` event carries) says how many were made; unchanged after one."""
    if attempts <= 1:
        return error
    message = f"{getattr(error, 'message', None) or error} (after {attempts} attempts)"
    try:
        reported = copy.copy(error)
        reported.message = message  # type: ignore[attr-defined]
    except Exception:
        reported = _Attempted(error, message)
    return reported.with_traceback(error.__traceback__)
