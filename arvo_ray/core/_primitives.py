"""Shared primitives of the Arvo wire format: name patterns, semantic versions, time stamps, JSON.

These are the small rules every other module leans on. They are kept exact (same regular
expressions, same acceptance of edge cases) so that what the TypeScript original accepts,
arvo_ray accepts, and vice versa.
"""

from __future__ import annotations

import calendar
import functools
import math
import os
import re
import time
from datetime import UTC, datetime
from typing import Any

from arvo_ray.core._js_json import js_trim

__all__ = [
    "ARVO_DATA_CONTENT_TYPE",
    "WILDCARD_VERSION",
    "clean_string",
    "compare_semantic_versions",
    "create_timestamp",
    "is_valid_domain",
    "is_valid_event_type",
    "is_valid_semantic_version",
    "is_valid_timestamp",
    "is_wildcard_version",
    "json_copy",
    "new_uuid4",
    "parse_semantic_version",
    "quote",
]

ARVO_DATA_CONTENT_TYPE = "application/cloudevents+json;charset=UTF-8;profile=arvo"
"""The content type of Arvo events; with it, an event must name its recipient (``to``)."""

QUOTE_LIMIT = 120
"""Characters of an input value that a message quotes; longer values are cut (see :func:`quote`)."""

WILDCARD_VERSION = "0.0.0"
"""Reserved contract version: system-error dataschemas use it to match any version."""

EVENT_TYPE_PATTERN = re.compile(r"[a-z0-9]+(\.[a-z0-9]+)+\.[a-z0-9]+")
DOMAIN_PATTERN = re.compile(r"[a-z0-9.]+")
# [0-9], not \d: Python's \d also matches non-ASCII digits (e.g. Arabic-Indic), JavaScript's does not.
SEMVER_PATTERN = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(?:\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})"
)


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as text for a message, cut to ``limit`` characters plus its length when longer.

    Messages end up in logs, spans and dead letters that are kept for a long time, so an
    input of megabytes must not be copied into them whole.

    Example:
        >>> quote("short")
        'short'
        >>> quote("x" * 5_000_000, limit=8)
        'xxxxxxxx… (5000000 characters)'
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def is_valid_event_type(value: object) -> bool:
    """Reverse-DNS check: at least three dot-separated lowercase alphanumeric segments."""
    return isinstance(value, str) and EVENT_TYPE_PATTERN.fullmatch(value) is not None


def is_valid_domain(value: object) -> bool:
    """A domain is a non-empty string of lowercase letters, digits and dots."""
    return isinstance(value, str) and DOMAIN_PATTERN.fullmatch(value) is not None


def is_valid_semantic_version(value: object) -> bool:
    """``X.Y.Z`` with decimal digits only (leading zeros allowed, no pre-release tags)."""
    return isinstance(value, str) and SEMVER_PATTERN.fullmatch(value) is not None


def is_wildcard_version(value: object) -> bool:
    """True for the reserved ``0.0.0`` version."""
    return value == WILDCARD_VERSION


def parse_semantic_version(version: str) -> tuple[int, int, int]:
    """Split ``X.Y.Z`` into integers, as leniently as the original (``1.2.3-beta`` gives 1, 2, 3).

    Raises:
        ValueError: fewer than three parts, or a part with no leading digits.
    """
    parts = version.split(".")
    if len(parts) < 3:
        raise ValueError(f"Invalid semantic version format: {version}")
    numbers = []
    for part in parts[:3]:
        # parseInt skips leading JavaScript whitespace, which is not Python's \s.
        digits = re.match(r"[+-]?[0-9]+", js_trim(part))
        if digits is None:
            raise ValueError(f"Invalid version number in {version}")
        numbers.append(int(digits.group(0)))
    return numbers[0], numbers[1], numbers[2]


def compare_semantic_versions(a: str, b: str) -> int:
    """Negative, zero or positive as ``a`` sorts before, with, or after ``b`` (numerically)."""
    for left, right in zip(parse_semantic_version(a), parse_semantic_version(b), strict=True):
        if left != right:
            return left - right
    return 0


def clean_string(value: str) -> str:
    """Trim every line and drop the empty ones (how the original formats multi-line messages).

    Lines are trimmed as JavaScript's ``trim()`` does (:func:`js_trim`), so a message keeps the
    characters the original keeps (``\\x1c``-``\\x1f``, ``\\x85``) and loses a U+FEFF.
    """
    return "\n".join(line for line in map(js_trim, value.split("\n")) if line)


_last_stamp: tuple[int, str] = (-1, "")


def create_timestamp(now: datetime | None = None) -> str:
    """The default event time: real UTC as ``YYYY-MM-DDTHH:MM:SS.mmm+00:00``.

    The original labels local wall-clock time ``+00:00`` when the process is not in UTC; this
    always writes true UTC in the same format.
    """
    global _last_stamp
    if now is not None:
        moment = now.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"
    # Events are made thousands of times a second: format each millisecond once.
    millis = time.time_ns() // 1_000_000
    cached_millis, text = _last_stamp
    if millis != cached_millis:
        seconds, rest = divmod(millis, 1000)
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest:03d}+00:00"
        _last_stamp = (millis, text)
    return text


def new_uuid4() -> str:
    """A random (version 4) UUID string, about three times cheaper than ``str(uuid.uuid4())``."""
    value = int.from_bytes(os.urandom(16), "big")
    value = (value & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@functools.lru_cache(maxsize=4096)
def _is_valid_timestamp_text(value: str) -> bool:
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return False
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if not 1 <= month <= 12:
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def is_valid_timestamp(value: object) -> bool:
    """ISO-8601 date-time with a mandatory offset (``Z``, ``+05:00`` or ``+0500``), calendar-checked."""
    # Cached: most events carry one of a few recent time stamps.
    return isinstance(value, str) and _is_valid_timestamp_text(value)


def json_copy(value: Any, path: str = "data") -> Any:
    """Deep-copy a JSON value, rejecting anything that would not survive a JSON round trip.

    Accepts dict (string keys), list/tuple (as list), str, int, finite float, bool and None.

    Raises:
        TypeError: the offending path and type, e.g. ``data.items[2] is a set``.
        ValueError: a non-finite float (``NaN`` and ``Infinity`` are not JSON).
    """
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"{path} has a non-string key {key!r} ({type(key).__name__})")
            out[key] = json_copy(item, f"{path}.{key}")
        return out
    if kind is list or kind is tuple:
        return [json_copy(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"{path} is {value!r}, which is not valid JSON")
        return value
    if isinstance(value, str | int | float | dict | list | tuple) and not isinstance(value, bool):
        # Subclasses (IntEnum, StrEnum, OrderedDict...) are normalised to their JSON base type.
        for base in (str, int, float):
            if isinstance(value, base):
                return json_copy(base(value), path)
        if isinstance(value, dict):
            return json_copy(dict(value), path)
        return json_copy([*value], path)  # type: ignore[misc]  # a list or tuple here
    raise TypeError(f"{path} is a {kind.__name__}, which is not JSON serialisable")
