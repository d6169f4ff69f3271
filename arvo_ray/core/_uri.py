"""Exact ports of JavaScript's ``encodeURI``/``decodeURI`` and the original's ``validateURI``.

Arvo stores ``source``, ``subject``, ``to``, ``redirectto``, ``dataschema`` and ``parentid``
URI-encoded and checks them with ``value == encodeURI(decodeURI(value))``. Python's
``urllib.parse`` follows RFC 3986, which differs in small ways (which characters stay
unescaped, what decoding keeps), so these are written to match the JavaScript functions
character for character: a value valid in a TypeScript service is valid here and vice versa.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["decode_uri", "encode_uri", "is_plain_uri", "validate_uri"]

# encodeURI leaves these unescaped (besides ASCII letters and digits, which quote keeps anyway).
_ENCODE_SAFE = ";,/?:@&=+$-_.!~*'()#"
# decodeURI keeps escapes of these reserved characters as they are.
_RESERVED = frozenset(";/?:@&=+$,#")
# Strings made only of characters encodeURI leaves alone are their own encoding and decoding.
_PLAIN = re.compile(r"[A-Za-z0-9;,/?:@&=+$\-_.!~*'()#]*")
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def encode_uri(value: str) -> str:
    """JavaScript ``encodeURI``: percent-encode (UTF-8, uppercase hex) all but the URI characters.

    Raises:
        ValueError: ``value`` holds a lone surrogate (JavaScript throws ``URIError``).
    """
    if _PLAIN.fullmatch(value):
        return value
    try:
        return quote(value, safe=_ENCODE_SAFE, encoding="utf-8", errors="strict")
    except UnicodeEncodeError as exc:
        raise ValueError(f"URI malformed: {value!r} cannot be encoded as UTF-8") from exc


def _decode_run(match: re.Match[str]) -> str:
    run = match.group(0)
    raw = bytes(int(run[i + 1 : i + 3], 16) for i in range(0, len(run), 3))
    out: list[str] = []
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte < 0x80:
            char = chr(byte)
            out.append(run[i * 3 : i * 3 + 3] if char in _RESERVED else char)
            i += 1
            continue
        # A multi-byte UTF-8 sequence must be complete and valid, as in decodeURI.
        width = (
            2
            if byte >> 5 == 0b110
            else 3
            if byte >> 4 == 0b1110
            else 4
            if byte >> 3 == 0b11110
            else 0
        )
        if width == 0 or i + width > len(raw):
            raise ValueError("URI malformed")
        try:
            out.append(raw[i : i + width].decode("utf-8", errors="strict"))
        except UnicodeDecodeError as exc:
            raise ValueError("URI malformed") from exc
        i += width
    return "".join(out)


def decode_uri(value: str) -> str:
    """JavaScript ``decodeURI``: decode escapes except those of reserved characters.

    Raises:
        ValueError: a malformed escape (``%zz``, a trailing ``%``, invalid UTF-8), like ``URIError``.
    """
    if "%" not in value:
        return value
    decoded = _ESCAPES.sub(_decode_run, value)
    # Any '%' left over was not followed by two hex digits.
    stripped = _ESCAPES.sub("", value)
    if "%" in stripped:
        raise ValueError("URI malformed")
    return decoded


def is_plain_uri(value: str) -> bool:
    """Only characters ``encodeURI`` leaves alone: valid, and valid joined to any other such."""
    return _PLAIN.fullmatch(value) is not None


def validate_uri(value: str) -> bool:
    """True when ``value`` is already a properly encoded URI (``encodeURI(decodeURI(v)) == v``)."""
    if _PLAIN.fullmatch(value):
        return True
    try:
        return encode_uri(decode_uri(value)) == value
    except ValueError:
        return False
