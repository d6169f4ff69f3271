"""JSON encoding shared by every backend: the stored text, the canonical form and its digest.

Records are stored as compact JSON that keeps the caller's key order (so a record reads back
the way it was written), while compare-and-set compares the *canonical* form (sorted keys)
through a SHA-256 digest. Two records are therefore "the same" for CAS exactly when they are
equal as JSON values: key order does not matter, ``1`` and ``1.0`` differ, and a tuple equals
the list it encodes to. Every backend uses these helpers, so they all agree on that.

Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["check_data", "check_id", "digest", "dumps", "loads"]


def check_id(id: object, operation: str) -> str:
    """Validate a machine id, with the original's message for an empty one.

    Raises:
        ValueError: ``id`` is empty or ``None``.
        TypeError: ``id`` is not a string.
    """
    if id is None or id == "":
        raise ValueError(f"Machine ID is required for {operation} operation")
    if not isinstance(id, str):
        raise TypeError(
            f"Machine ID for {operation} operation must be a str (the workflow subject), "
            f"got {type(id).__name__}"
        )
    return id


def check_data(id: str, data: object) -> Mapping[str, Any]:
    """Validate a record before encoding it.

    Raises:
        ValueError: ``data`` is ``None`` (the original's message).
        TypeError: ``data`` is not a mapping.
    """
    if data is None:
        raise ValueError("Data is required for write operation")
    if not isinstance(data, Mapping):
        raise TypeError(
            f"Machine memory record for {id[:48]!r} must be a JSON object (dict), "
            f"got {type(data).__name__}"
        )
    return data


def dumps(id: str, data: Mapping[str, Any]) -> str:
    """Encode a record as compact JSON in the caller's key order.

    Raises:
        TypeError: a value is not JSON-serialisable (or a float is NaN/infinite), with the id.
    """
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"Machine memory record for {id[:48]!r} is not JSON-serialisable: {exc}. "
            "Records must be plain JSON (dict, list, str, int, float, bool, None)."
        ) from exc
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate cannot be stored as UTF-8 text; JSON escapes keep it intact.
            text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text


def loads(text: str | bytes) -> dict[str, Any]:
    """Decode a stored record; a fresh object every time, so callers may mutate it."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"stored record is a JSON {type(value).__name__}, not an object")
    return value


def digest(id: str, data: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``data``: sorted keys, compact, UTF-8.

    Raises:
        TypeError: ``data`` is not JSON-serialisable.
    """
    try:
        canonical = json.dumps(
            data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"Machine memory record for {id[:48]!r} is not JSON-serialisable: {exc}. "
            "Records must be plain JSON with str keys (dict, list, str, int, float, bool, None)."
        ) from exc
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
