"""JSON text as JavaScript's ``JSON.stringify`` writes it, and ``String.prototype.trim``.

The TypeScript original serialises events and orchestration subjects with ``JSON.stringify``
and trims developer-given ids and message lines with ``String.prototype.trim``. Python's
``json.dumps`` and ``str.strip`` differ from both in small ways that change bytes on the wire
(and, for subjects and ``ARVO_MANAGED`` ids, the compressed strings built from them):

* numbers: ``json.dumps`` writes ``100.0``, ``-0.0``, ``1e-05``, ``1.5e-07`` and ``1e+16``;
  JavaScript writes ``100``, ``0``, ``0.00001``, ``1.5e-7`` and ``10000000000000000`` (it
  switches to exponent form only below ``1e-6`` and from ``1e21`` up). Both print the shortest
  digits that read back as the same double, so only the layout of those digits differs;
* lone surrogates: ``json.dumps`` (with ``ensure_ascii=False``) writes them raw, which is not
  UTF-8; ``JSON.stringify`` (ES2019, "well-formed") writes ``\\ud800``;
* object keys: JavaScript lists integer-like keys (array indices ``"0"`` to ``"4294967294"``,
  without leading zeros or sign) first, in ascending numeric order, then the others in
  insertion order;
* trimming: ``str.strip()`` removes ``\\x1c``-``\\x1f`` and ``\\x85`` but keeps U+FEFF;
  JavaScript trims exactly the other way round.

Two deliberate departures remain. Python integers are written exactly, however large, where
JavaScript (whose numbers are all doubles) would round one above 2**53. ``NaN`` and
``Infinity``, which ``JSON.stringify`` writes as ``null``, raise ``ValueError``, as
``json.dumps(allow_nan=False)`` does: Arvo rejects them before anything is serialised, so a
value that holds one here is a bug to report, not data to lose.

What does not live here: parsing (``json.loads`` reads JavaScript's output as is) and the
JSON kept by machine memories, which is never read by the original.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "JS_WHITESPACE",
    "is_js_plain",
    "is_js_plain_float",
    "js_number",
    "js_stringify",
    "js_stringify_checked",
    "js_trim",
]

JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
"""What ``String.prototype.trim`` removes: ECMAScript's WhiteSpace and LineTerminator."""

# What json.dumps writes exactly as JSON.stringify does (floats are checked one by one).
_PLAIN_TYPES = frozenset((str, int, bool, type(None)))
_SURROGATE = re.compile("[\ud800-\udfff]")
_LAST_INDEX = 2**32 - 2  # the largest array index (2**32 - 1 is an ordinary key)

_encode_compact = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
).encode
_encode_string = json.encoder.encode_basestring


def js_trim(text: str) -> str:
    """``text`` without leading and trailing whitespace, as JavaScript's ``text.trim()``.

    ``str.strip()`` differs: it also removes the separators ``\\x1c``-``\\x1f`` and ``\\x85``,
    and keeps the byte-order mark U+FEFF, which JavaScript removes.

    Example:
        >>> js_trim("\\ufeff order-42 \\n")
        'order-42'
        >>> js_trim("\\x1forder-42\\x85")
        '\\x1forder-42\\x85'
    """
    return text.strip(JS_WHITESPACE)


def js_number(value: float) -> str:
    """A finite float as JavaScript's ``Number.prototype.toString`` writes it.

    Python's ``repr`` already gives the shortest digits that read back as the same double
    (JavaScript's choice too); only their layout differs: JavaScript writes integral values
    without ``.0`` and ``-0`` as ``0``, uses plain decimals from ``1e-6`` up to below ``1e21``,
    and writes exponents without padding zeros.

    Raises:
        ValueError: ``NaN`` or an infinity (JSON has no form for them).

    Example:
        >>> [js_number(x) for x in (100.0, -0.0, 1e-05, 1.5e-07, 1e16, 1e21, 0.1)]
        ['100', '0', '0.00001', '1.5e-7', '10000000000000000', '1e+21', '0.1']
    """
    text = float.__repr__(value)
    if "e" not in text:
        if text.endswith(".0"):
            return "0" if value == 0 else text[:-2]
        if text[-1] in "nf":  # nan, inf, -inf
            raise ValueError(f"Out of range float values are not JSON compliant: {text}")
        return text
    mantissa, _, exponent = text.partition("e")
    sign = "-" if mantissa[0] == "-" else ""
    digits = mantissa.lstrip("-").replace(".", "")
    count = len(digits)
    point = int(exponent) + 1  # the decimal point sits after this many digits
    if count <= point <= 21:
        return f"{sign}{digits}{'0' * (point - count)}"
    if 0 < point <= 21:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    shown = digits if count == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{shown}e{'+' if point > 0 else '-'}{abs(point - 1)}"


def js_stringify(value: Any, indent: int | None = None) -> str:
    """``value`` as the JSON text of ``JSON.stringify(value, null, indent)``.

    Accepts what ``json.dumps`` accepts (dicts, lists and tuples, str, int, float, bool,
    None, and their subclasses); non-string keys are converted as ``json.dumps`` converts
    them. The one difference from JavaScript is on purpose: an int above 2**53 is written
    exactly, where JavaScript would have rounded it to a double. A Python string holding a
    surrogate pair as two code points is, as UTF-16, the text JavaScript would hold, so it is
    written as the character they encode. ``indent`` counts as 10 above 10, like JavaScript's,
    and below 1 means compact.

    The common case (no float that Python writes differently, no integer-like key, no lone
    surrogate) is ``json.dumps``'s C encoder after a quick check of the value; only values
    that need it go through the encoder written here.

    Raises:
        TypeError: a value or key has no JSON form.
        ValueError: ``NaN`` or an infinity, or (as ``RecursionError``, when the walk meets it
            first) a circular reference.

    Example:
        >>> js_stringify({"b": 12 / 4, "a": [1e-05, -0.0], "1": "\\ud800"})
        '{"1":"\\\\ud800","b":3,"a":[0.00001,0]}'
        >>> print(js_stringify({"a": [], "b": {}, "c": [1]}, indent=2))
        {
          "a": [],
          "b": {},
          "c": [
            1
          ]
        }
    """
    return js_stringify_checked(value, is_js_plain(value), indent)


def js_stringify_checked(value: Any, plain: bool, indent: int | None = None) -> str:
    """:func:`js_stringify`, for a caller that has checked ``value`` with :func:`is_js_plain`.

    ``ArvoEvent.to_json`` uses it: of an event's fields only ``data``, ``extensions`` and
    ``executionunits`` need checking, which saves walking the rest on a hot path.
    """
    gap = " " * min(10, indent) if indent is not None and indent > 0 else ""
    text = _encode(value, gap) if plain else _encode_unplain(value, gap)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # fails on a lone surrogate; faster than searching for one
    except UnicodeEncodeError:
        return _escape_surrogates(text)
    return text


def _encode(value: Any, gap: str) -> str:
    """``json.dumps``'s C encoder, for a value it writes as JavaScript does."""
    if gap:
        return json.dumps(value, ensure_ascii=False, indent=gap, allow_nan=False)
    return _encode_compact(value)


def _encode_unplain(value: Any, gap: str) -> str:
    try:
        # Mostly integral floats (a Python handler's 12 / 4): as ints, the C encoder still
        # writes the text, in less than half the time the full encoder takes.
        ready = _js_ready(value)
    except _NotReady:
        return _stringify(value, gap, "")
    return _encode(ready, gap)


def is_js_plain(value: Any) -> bool:
    """Whether ``json.dumps`` writes ``value`` as ``JSON.stringify`` does, lone surrogates aside.

    True for exact JSON types with no integer-like key and no float that Python writes
    differently (see :func:`is_js_plain_float`). It walks the value in Python, but with
    C-level passes over each container (the keys' ``isdigit``, the set of value types): on a
    typical event's data that is about a quarter of the encoding's cost, where scanning the
    encoded text with regular expressions costs as much as the encoding again.
    """
    kind = type(value)
    if kind is dict:
        try:
            if any(map(str.isdigit, value)):
                return False
        except TypeError:  # a key that is not a string: the full encoder converts it
            return False
        items = value.values()
    elif kind is list or kind is tuple:
        items = value
    elif kind is float:
        return is_js_plain_float(value)
    else:
        return kind in _PLAIN_TYPES
    if _PLAIN_TYPES.issuperset(map(type, items)):
        return True
    for item in items:  # noqa: SIM110 - a loop skips the scalars faster than all() would
        if type(item) not in _PLAIN_TYPES and not is_js_plain(item):
            return False
    return True


def is_js_plain_float(value: float) -> bool:
    """Whether ``repr(value)`` is JavaScript's text too.

    It is unless the value is integral (``100.0``, ``-0.0``), or Python writes it with an
    exponent that JavaScript writes out or without a padding zero (from ``1e-9`` to below
    ``1e-4``, and from ``1e16`` to below ``1e21``). ``NaN`` is not plain.
    """
    size = abs(value)
    return (1e-4 <= size < 1e16 and not value.is_integer()) or 0 < size < 1e-9 or size >= 1e21


class _NotReady(Exception):
    """A value that only the full encoder (:func:`_stringify`) writes as JavaScript does."""


_EXACT_INTEGERS = 2.0**53  # below it, an integral float's JavaScript text is its int's


def _js_ready(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` writes as ``JSON.stringify`` writes ``value``.

    Integral floats below 2**53 become ints and integer-like keys move first.

    Raises:
        _NotReady: a float whose text is not an int's (``1e-05``, ``1e+17``), a non-string key,
            or a type other than the exact JSON ones.
    """
    kind = type(value)
    if kind is dict:
        try:
            items = _items(value) if any(map(str.isdigit, value)) else value.items()
        except TypeError:  # a key that is not a string
            raise _NotReady from None
        return {key: item if type(item) in _PLAIN_TYPES else _js_ready(item) for key, item in items}
    if kind is list or kind is tuple:
        return [item if type(item) in _PLAIN_TYPES else _js_ready(item) for item in value]
    if kind is float:
        if is_js_plain_float(value):
            return value
        if value.is_integer() and abs(value) < _EXACT_INTEGERS:
            return int(value)  # -0.0 too: JavaScript writes it as 0
        raise _NotReady
    if kind in _PLAIN_TYPES:
        return value
    raise _NotReady


def _escape_surrogates(text: str) -> str:
    # Adjacent high and low surrogates are one UTF-16 character to JavaScript: join them first.
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", joined)


def _is_index(key: str) -> bool:
    """Whether JavaScript treats ``key`` as an array index (and so lists it first)."""
    return (
        key.isdigit()
        and key.isascii()
        and (key[0] != "0" or key == "0")
        and int(key) <= _LAST_INDEX
    )


def _key(key: object) -> str:
    # json.dumps's conversions, so the slow and fast paths agree on any key.
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        js_number(key)  # raises for NaN and the infinities, as json.dumps does
        return float.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _items(value: dict[Any, Any]) -> list[tuple[str, Any]]:
    items = [(_key(key), item) for key, item in value.items()]
    indexed = [pair for pair in items if _is_index(pair[0])]
    if not indexed:
        return items
    indexed.sort(key=lambda pair: int(pair[0]))
    return indexed + [pair for pair in items if not _is_index(pair[0])]


def _stringify(value: Any, gap: str, margin: str) -> str:
    """The full encoder, for the text the fast path would get wrong (``margin``: the indentation)."""
    if isinstance(value, str):
        return _encode_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return js_number(value)
    inner = margin + gap
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        if not gap:
            return "[" + ",".join([_stringify(item, gap, inner) for item in value]) + "]"
        parts = [_stringify(item, gap, inner) for item in value]
        return f"[\n{inner}" + f",\n{inner}".join(parts) + f"\n{margin}]"
    if isinstance(value, dict):
        items = _items(value)
        if not items:
            return "{}"
        if not gap:
            parts = [f"{_encode_string(key)}:{_stringify(item, gap, inner)}" for key, item in items]
            return "{" + ",".join(parts) + "}"
        parts = [f"{_encode_string(key)}: {_stringify(item, gap, inner)}" for key, item in items]
        return f"{{\n{inner}" + f",\n{inner}".join(parts) + f"\n{margin}}}"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
