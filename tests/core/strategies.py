"""Hypothesis strategies for the core data model (valid and invalid inputs)."""

from __future__ import annotations

import base64
import json
import math
import zlib
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from arvo_ray.core import ArvoEvent, encode_uri
from arvo_ray.core._event import RESERVED_NAMES

__all__ = [
    "PROPERTY_SETTINGS",
    "arvo_events",
    "domains",
    "encoded_garbage_subjects",
    "event_types",
    "extension_keys",
    "extension_values",
    "js_values",
    "json_objects",
    "json_values",
    "non_json_values",
    "semantic_versions",
    "subject_contents",
    "text",
    "timestamps",
    "uris",
]

PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Any Unicode text without surrogates (those have no UTF-8 form, as in JavaScript's URIError).
text = st.text(alphabet=st.characters(codec="utf-8"))

event_types = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){2,4}", fullmatch=True)
domains = st.from_regex(r"[a-z0-9.]{1,20}", fullmatch=True)
semantic_versions = st.tuples(*[st.integers(0, 10**6)] * 3).map(
    lambda parts: ".".join(map(str, parts))
)
# encodeURI output is always a properly encoded URI.
uris = text.filter(bool).map(encode_uri)
extension_keys = st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True).filter(
    lambda key: key not in RESERVED_NAMES
)

finite_floats = st.floats(allow_nan=False, allow_infinity=False)
extension_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), finite_floats, text
)

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), finite_floats, text),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(text, json_values, max_size=5)

# Values whose JSON text Python and JavaScript might write differently: floats of every kind,
# integer-like and near-integer-like keys, lone (and paired) surrogates. Ints stay within
# 2**53, where JavaScript holds them exactly.
js_text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.characters(categories=["Cs"])),
    max_size=8,
)
js_floats = st.one_of(
    finite_floats,
    st.integers(-(2**60), 2**60).map(float),
    st.sampled_from([-0.0, 1e-05, 1.5e-07, 1e16, 1e21, 1e-7, 5e-324, 1.7976931348623157e308]),
    st.integers(-330, 307).map(lambda exponent: 1.5 * 10.0**exponent),
)
js_keys = st.one_of(
    js_text,
    st.integers(0, 2**32 + 2).map(str),
    st.sampled_from(["01", "-1", "+1", "1.5", "1e3", "", " 1", "4294967294", "4294967295", "٣"]),
)
js_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), js_floats, js_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(js_keys, children, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """Valid zod ``datetime({offset: true})`` strings in all their shapes."""
    moment = draw(st.datetimes())
    text_ = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}"
    if draw(st.booleans()):
        text_ += f":{moment.second:02d}"
        if draw(st.booleans()):
            text_ += "." + draw(st.from_regex(r"[0-9]{1,9}", fullmatch=True))
    offset = draw(st.one_of(st.just("Z"), st.from_regex(r"[+-][0-9]{2}:?[0-9]{2}", fullmatch=True)))
    return text_ + offset


@st.composite
def arvo_events(draw: st.DrawFn) -> ArvoEvent:
    """Arbitrary valid events: every optional field, custom extensions, unicode and nested data."""
    optional = lambda strategy: draw(st.one_of(st.none(), strategy))  # noqa: E731
    return ArvoEvent(
        id=draw(text.filter(bool)),
        source=draw(uris),
        type=draw(event_types),
        subject=draw(uris),
        datacontenttype=draw(
            st.sampled_from(
                ["application/cloudevents+json;charset=UTF-8;profile=arvo", "application/json"]
            )
        ),
        dataschema=optional(uris),
        data=draw(json_objects),
        time=draw(timestamps()),
        to=draw(uris),
        accesscontrol=optional(text.filter(bool)),
        redirectto=optional(uris),
        executionunits=optional(st.one_of(st.integers(), finite_floats)),
        traceparent=optional(text.filter(bool)),
        tracestate=optional(text.filter(bool)),
        parentid=optional(text.filter(bool)),
        domain=optional(domains),
        extensions=draw(st.dictionaries(extension_keys, extension_values, max_size=4)),
    )


@st.composite
def subject_contents(draw: st.DrawFn) -> dict[str, Any]:
    """Valid subject fields, in the keyword form of ArvoOrchestrationSubject.new."""
    return {
        "orchestrator": draw(event_types),
        "version": draw(semantic_versions),
        "initiator": draw(event_types),
        "domain": draw(st.one_of(st.none(), domains)),
        "meta": draw(st.dictionaries(text, text, max_size=4)),
        "execution_id": draw(text.filter(lambda s: bool(s) and ";" not in s)),
    }


class _Opaque:
    """An object with no JSON form."""


non_json_values = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.sets(st.integers(), max_size=3),
    st.frozensets(st.integers(), max_size=3),
    st.binary(max_size=4),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
    st.builds(_Opaque),
    st.just(len),
)


@st.composite
def encoded_garbage_subjects(draw: st.DrawFn) -> str:
    """Well-encoded (base64 of zlib) payloads that are not subject JSON."""
    payload = draw(
        st.one_of(
            st.binary(max_size=40),
            json_values.map(lambda value: json.dumps(value).encode()),
            text.map(str.encode),
        )
    )
    return base64.b64encode(zlib.compress(payload)).decode()
