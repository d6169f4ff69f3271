"""``WebhookSink``: POST each event as a structured CloudEvent, retrying what may pass.

Retried: connection errors, timeouts, 408, 429 and 5xx, after exponential backoff with full
jitter (a random wait between 0 and the capped exponential delay, so many senders that failed
together do not return together). Not retried: any other 4xx, which the receiver will refuse
again. After ``attempts`` the event is a dead letter (:class:`UndeliverableError`). The wait
and the randomness are injectable, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import random
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping

from arvo_ray.core import ArvoEvent
from arvo_ray.egress._sinks import UndeliverableError

__all__ = ["WebhookSink"]

RETRIED_STATUSES = frozenset({408, 429})


class WebhookSink:
    """Delivers events to ``url`` over HTTP.

    Args:
        url: The receiver's endpoint.
        headers: Extra request headers (e.g. ``{"authorization": "Bearer ..."}``); never logged.
        attempts: Tries per event before it becomes a dead letter.
        initial_backoff: The first retry's upper bound in seconds; it doubles per attempt...
        max_backoff: ...up to this.
        timeout: Seconds one request may take.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        attempts: int = 5,
        initial_backoff: float = 0.2,
        max_backoff: float = 30.0,
        timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"A webhook URL starts with http:// or https://, got {url!r}")
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.url = url
        self.headers = dict(headers or {})
        self.attempts = attempts
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.sleep = sleep
        self.jitter = jitter

    def backoff(self, attempt: int) -> float:
        """The wait before retry ``attempt`` (1 = the first retry): full jitter."""
        cap = min(self.max_backoff, self.initial_backoff * 2.0 ** (attempt - 1))
        return float(cap * self.jitter())

    async def deliver(self, event: ArvoEvent) -> None:
        body = event.to_json().encode("utf-8")
        problem = ""
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                await self.sleep(self.backoff(attempt - 1))
            status, problem = await asyncio.to_thread(self._post, body)
            if status is not None and 200 <= status < 300:
                return
            if status is not None and 400 <= status < 500 and status not in RETRIED_STATUSES:
                raise UndeliverableError(
                    f"{self.url} refused event {event.id!r} with {status}: {problem}"
                )
        raise UndeliverableError(
            f"{self.url} did not take event {event.id!r} in {self.attempts} attempts; "
            f"last: {problem}"
        )

    def _post(self, body: bytes) -> tuple[int | None, str]:
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "content-type": "application/cloudevents+json; charset=utf-8",
                **self.headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return int(response.status), ""
        except urllib.error.HTTPError as error:
            return int(error.code), error.read(500).decode("utf-8", "replace")
        except (OSError, urllib.error.URLError) as error:
            return None, f"{type(error).__name__}: {error}"

    def __repr__(self) -> str:
        return f"WebhookSink({self.url!r}, attempts={self.attempts})"
