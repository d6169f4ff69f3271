"""JSON encoding shared by every backend: the stored text, the canonical form and its digest.

Records are stored as compact JSON that keeps the caller's key order (so a record reads back
the way it was written), while compare-and-set compares the *canonical* form (sorted keys)
through a SHA-256 digest. Two records are therefore "the same" for CAS exactly when they are
equal as JSON values: key order does not matter, ``1`` and ``1.0`` differ, and a tuple equals
the list it encodes to. Every backend uses these helpers, so they all agree on that.

Encoding a record is most of what a write costs, so it is done once per record: a record read
through :class:`~arvo_ray.memory.CachedMachineMemory` comes back as a :class:`KnownRecord` that
carries the digest of what was read, and a write hands the backend the text and digest it has
already computed (:func:`encoded`). :func:`for_write` picks them up instead of encoding again.

A workflow record's ``history`` only grows: each step carries the entries of the record it
replaces over unchanged and adds its own. The workflow says so with :class:`CarriedHistory`,
and :func:`encoded` then splices the kept encodings of those entries (:class:`HistoryText`)
into the new text instead of encoding them again, so a step costs the same encoding work
whatever the length of the history.

Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CarriedHistory",
    "Encoded",
    "HistoryText",
    "KnownRecord",
    "canonical",
    "check_data",
    "check_id",
    "digest",
    "digest_of_prev",
    "dumps",
    "encoded",
    "for_write",
    "loads",
]


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


def dumps(id: str, data: object) -> str:
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
    return _sha256(canonical(id, data))


def canonical(id: str, data: object) -> str:
    """The canonical JSON of ``data``: sorted keys, compact.

    Raises:
        TypeError: ``data`` is not JSON-serialisable.
    """
    try:
        return json.dumps(
            data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"Machine memory record for {id[:48]!r} is not JSON-serialisable: {exc}. "
            "Records must be plain JSON with str keys (dict, list, str, int, float, bool, None)."
        ) from exc


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class KnownRecord(dict[str, Any]):
    """A record as it was read, with the canonical digest of that reading.

    Named as ``prev`` in a write, it is compared by that digest, so the record is not encoded a
    second time. Changing the dict afterwards does not change the digest: ``prev`` means "the
    record I read", which is what compare-and-set protects. Never trusted as the *new* data.
    """

    digest: str

    @classmethod
    def of(cls, record: Mapping[str, Any], digest: str) -> KnownRecord:
        known = cls(record)
        known.digest = digest
        return known


class CarriedHistory(list[Any]):
    """A new record's ``history`` whose first :attr:`carried` entries are those of the record
    it replaces (its ``prev``), unchanged.

    :class:`~arvo_ray.memory.CachedMachineMemory` then re-uses the encodings it kept of those
    entries, so a long history is not encoded again at every step. Any memory stores it as a
    plain list. Only the claim matters: never change a carried entry.

    Example:
        >>> history = CarriedHistory.of([{"step": 1}])  # the history of the record read
        >>> history.append({"step": 2})
        >>> history.carried, history
        (1, [{'step': 1}, {'step': 2}])
    """

    carried: int

    @classmethod
    def of(cls, carried: Sequence[Any]) -> CarriedHistory:
        """The entries of ``prev``'s history, to append this step's to."""
        history = cls(carried)
        history.carried = len(carried)
        return history


@dataclass(frozen=True, slots=True)
class HistoryText:
    """How a record's ``history`` entries were encoded: ``text[start:end]`` of its stored text,
    and ``canonical`` (each comma-separated, as inside the brackets of a JSON array)."""

    entries: int
    start: int
    end: int
    canonical: str


class Encoded(dict[str, Any]):
    """New data with its stored text and digest, made by :func:`encoded` just before a write;
    ``history`` keeps its history entries' encodings for the next version of the record."""

    text: str
    digest: str
    history: HistoryText | None

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to a memory in another process: the text and digest go along, not the history's
        # encodings (they would double the size of what is sent).
        return (_encoded_again, (dict(self), self.text, self.digest))


def _encoded_again(data: dict[str, Any], text: str, digest: str) -> Encoded:
    copy = Encoded(data)
    copy.text, copy.digest, copy.history = text, digest, None
    return copy


def encoded(
    id: str,
    data: Mapping[str, Any],
    prev_text: str | None = None,
    prev_history: HistoryText | None = None,
) -> Encoded:
    """``data`` with its text and digest computed once, for a write and whoever keeps a copy.

    ``prev_text`` and ``prev_history`` describe the record ``data`` replaces: the entries a
    :class:`CarriedHistory` says it carried over from it are not encoded again.

    Raises:
        TypeError: ``data`` is not a JSON object or not JSON-serialisable.
    """
    check_data(id, data)
    copy = Encoded(data)
    history = data.get("history")
    if isinstance(history, list) and history:
        carried = history.carried if isinstance(history, CarriedHistory) else 0
        if prev_text is None or prev_history is None or prev_history.entries != carried:
            prev_text, prev_history, carried = None, None, 0  # encode every entry
        spliced = _with_history(id, data, history[carried:], prev_text, prev_history)
        if spliced is not None:
            copy.text, copy.digest, copy.history = spliced
            return copy
    copy.text, copy.digest, copy.history = dumps(id, data), digest(id, data), None
    return copy


# Holds the history's place in the record's text while the rest is encoded (NUL characters are
# always escaped, so the marker shows as exactly this text; a record that contains it anyway
# is encoded whole).
_SLOT = "\x00arvo:history\x00"
_SLOT_TEXT = json.dumps(_SLOT)


def _with_history(
    id: str,
    data: Mapping[str, Any],
    added: list[Any],
    prev_text: str | None,
    prev: HistoryText | None,
) -> tuple[str, str, HistoryText] | None:
    """The stored text, digest and history encodings of ``data``: the history is the entries
    ``prev`` describes in ``prev_text`` (if any), then ``added``."""
    rest = {**data, "history": _SLOT}  # the same key order
    stored, sorted_ = dumps(id, rest), canonical(id, rest)
    if stored.count(_SLOT_TEXT) != 1 or sorted_.count(_SLOT_TEXT) != 1:
        return None
    stored_parts = [dumps(id, entry) for entry in added]
    canonical_parts = [canonical(id, entry) for entry in added]
    if prev is not None and prev_text is not None:
        stored_parts.insert(0, prev_text[prev.start : prev.end])
        canonical_parts.insert(0, prev.canonical)
    entries, in_order = ",".join(stored_parts), ",".join(canonical_parts)
    at = stored.index(_SLOT_TEXT)
    text = f"{stored[:at]}[{entries}]{stored[at + len(_SLOT_TEXT) :]}"
    whole = sorted_.replace(_SLOT_TEXT, f"[{in_order}]")
    count = (prev.entries if prev else 0) + len(added)
    return text, _sha256(whole), HistoryText(count, at + 1, at + 1 + len(entries), in_order)


def digest_of_prev(id: str, prev: Mapping[str, Any]) -> str:
    """The digest a stored record must have to equal ``prev`` (known when it was read)."""
    return prev.digest if type(prev) is KnownRecord else digest(id, prev)


def for_write(
    id: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None
) -> tuple[str, str, str | None]:
    """The stored text and digest of ``data``, and the digest ``prev`` must match (``None``
    when ``prev`` is), each computed only if not already known.

    Raises:
        ValueError, TypeError: ``data`` is missing, not a mapping, or not JSON-serialisable.
    """
    check_data(id, data)
    if type(data) is Encoded:
        text, new_digest = data.text, data.digest
    else:
        text, new_digest = dumps(id, data), digest(id, data)
    return text, new_digest, None if prev is None else digest_of_prev(id, prev)
