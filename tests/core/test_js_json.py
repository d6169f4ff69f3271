"""JSON text and trimming byte for byte as the TypeScript original's JavaScript does them.

``vectors/js-json.json`` is written by ``vectors/make_js_json.mjs`` (Node.js ``JSON.stringify``
and ``String.prototype.trim`` over the inputs listed there); every case must come out of
``js_stringify``/``js_trim``/``ArvoEvent.to_json`` identically. A differential test then feeds
generated values through one node process (``vectors/js_json_echo.mjs``).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    InvalidSubjectError,
    create_arvo_event_id,
    parse_arvo_event_id,
    parse_semantic_version,
)
from arvo_ray.core._js_json import (
    _escape_surrogates,
    _stringify,
    is_js_plain_float,
    js_number,
    js_stringify_checked,
)
from arvo_ray.core._primitives import clean_string
from arvo_ray.core.kit import js_stringify, js_trim

from .strategies import PROPERTY_SETTINGS, js_floats, js_text, js_values

VECTORS_DIR = Path(__file__).with_name("vectors")
GOLDEN: dict[str, Any] = json.loads((VECTORS_DIR / "js-json.json").read_text(encoding="utf-8"))
STRINGIFY = GOLDEN["stringify"]

# Every character Python or JavaScript counts as space, and a few that look like one.
SPACE_LIKE = "".join(chr(u) for u in range(0x10000) if chr(u).isspace()) + "\ufeff\u180e\u200b"

BASE: dict[str, Any] = {
    "source": "com.test.producer",
    "type": "com.test.event",
    "subject": "my-subject",
}


def js_equal(a: Any, b: Any) -> bool:
    """Equal as JavaScript values: numbers as doubles, objects with their keys in order."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(js_equal(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(js_equal, a, b))
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return a == b or float(a) == float(b)
    return type(a) is type(b) and a == b


def js_order(value: Any) -> Any:
    """``value`` with every object's keys in JavaScript's order (integer-like keys first)."""
    if isinstance(value, dict):
        index = sorted(
            (
                key
                for key in value
                if key.isascii()
                and key.isdigit()
                and str(int(key)) == key
                and int(key) <= 2**32 - 2
            ),
            key=int,
        )
        rest = [key for key in value if key not in index]
        return {key: js_order(value[key]) for key in [*index, *rest]}
    if isinstance(value, list):
        return [js_order(item) for item in value]
    return value


def surrogate_pairs_joined(value: Any) -> Any:
    """Strings as JavaScript sees them: a high surrogate followed by a low one is one character."""
    if isinstance(value, str):
        raw = value.encode("utf-16-le", "surrogatepass")
        return raw.decode("utf-16-le", "surrogatepass")
    if isinstance(value, dict):
        return {surrogate_pairs_joined(k): surrogate_pairs_joined(v) for k, v in value.items()}
    if isinstance(value, list):
        return [surrogate_pairs_joined(item) for item in value]
    return value


class TestGoldenVectors:
    def test_the_vector_file_covers_every_listed_case(self) -> None:
        """The generated file holds the inputs the port must match, compact and indented."""
        names = {case["name"] for case in STRINGIFY}
        for name in ("integral floats", "exponents", "strings", "integer-like keys", "nested"):
            assert name in names and f"{name}, indent 2" in names
        inputs = " ".join(case["input"] for case in STRINGIFY)
        for needle in ("100.0", "-0.0", "1e-05", "1.5e-07", "1e+16", "1e21", "1e-7", "5e-324",
                       "1.2345678901234568e+20", "1.7976931348623157e308", '"\\ud800"',
                       '"\\udfff"', '"\\ud83d\\ude00"', '"01"', '"-1"', '"4294967294"',
                       '"4294967295"'):  # fmt: skip
            assert needle in inputs, needle

    @pytest.mark.parametrize("case", STRINGIFY, ids=[case["name"] for case in STRINGIFY])
    def test_js_stringify_writes_what_json_stringify_writes(self, case: dict[str, Any]) -> None:
        """js_stringify(value, indent) is node's JSON.stringify(value, null, indent), byte for byte."""
        assert js_stringify(json.loads(case["input"]), case["indent"]) == case["expected"]

    @pytest.mark.parametrize("case", STRINGIFY, ids=[case["name"] for case in STRINGIFY])
    def test_the_output_is_utf8_and_reads_back_as_the_javascript_value(
        self, case: dict[str, Any]
    ) -> None:
        """The text encodes as UTF-8 and parses to what JavaScript's own output parses to."""
        text = js_stringify(json.loads(case["input"]), case["indent"])
        text.encode("utf-8")
        assert js_equal(json.loads(text), json.loads(case["expected"]))

    @pytest.mark.parametrize(
        "case", GOLDEN["python_differs"], ids=[c["name"] for c in GOLDEN["python_differs"]]
    )
    def test_ints_above_2_53_are_written_exactly_where_javascript_rounds(
        self, case: dict[str, Any]
    ) -> None:
        """The documented departure: a Python int is never rounded to a double."""
        assert js_stringify(json.loads(case["input"])) == case["input"]
        assert case["javascript"] != case["input"]

    def test_event_to_json_is_the_original_to_json_stringified(self) -> None:
        """An event holding every special value serialises as node serialises its toJSON()."""
        event = ArvoEvent.from_dict(json.loads(GOLDEN["event"]["input"]))
        assert event.to_json() == GOLDEN["event"]["expected"]
        assert str(event) == GOLDEN["event"]["expected"]
        assert event.to_json(indent=2) == GOLDEN["event"]["expected_indent_2"]
        assert event.to_json().startswith('{"42":1,"id":"e-1",')

    def test_js_trim_removes_exactly_what_javascript_trim_removes(self) -> None:
        """Over every BMP code unit, js_trim trims the same characters as JavaScript."""
        trimmed = [u for u in range(0x10000) if js_trim(f"{chr(u)}x{chr(u)}") == "x"]
        assert trimmed == GOLDEN["trim"]["code_units"]

    @pytest.mark.parametrize("case", GOLDEN["trim"]["cases"])
    def test_js_trim_cases(self, case: dict[str, str]) -> None:
        """Mixed and inner whitespace, separators, U+FEFF, lone surrogates."""
        assert js_trim(case["input"]) == case["expected"]

    @pytest.mark.parametrize("case", GOLDEN["clean_string"])
    def test_clean_string_trims_lines_as_javascript(self, case: dict[str, str]) -> None:
        """Message lines keep \\x1c and \\x85 and lose U+FEFF and U+2028, as in the original."""
        assert clean_string(case["input"]) == case["expected"]


class TestEventJson:
    def test_a_python_division_goes_on_the_wire_as_javascript_writes_it(self) -> None:
        """A handler's 12 / 4 (== 3.0) is written 3, the original's bytes."""
        event = ArvoEvent(**BASE, data={"value": 12 / 4}, id="e-1", time="2024-01-01T00:00:00Z")
        text = event.to_json()
        assert '"value":3,' in text or '"value":3}' in text
        assert "3.0" not in text

    def test_integral_execution_units_and_extensions_are_written_as_ints(self) -> None:
        """executionunits 2.0 and an extension 1.0 are written 2 and 1."""
        event = ArvoEvent(**BASE, data={}, executionunits=2.0, extensions={"cost": 1.0})
        text = event.to_json()
        assert '"executionunits":2,' in text and '"cost":1,' in text

    def test_an_integer_like_extension_key_comes_first(self) -> None:
        """JavaScript lists an extension named "42" before "id"."""
        event = ArvoEvent(**BASE, data={}, id="e-1", extensions={"ext": 1, "42": "x"})
        assert event.to_json().startswith('{"42":"x","id":"e-1",')

    def test_indent_zero_is_compact_as_in_javascript(self) -> None:
        """to_json(indent=0) has no line breaks (json.dumps would add them)."""
        event = ArvoEvent(**BASE, data={"a": [1]})
        assert event.to_json(indent=0) == event.to_json()
        assert "\n" not in event.to_json(indent=0)

    def test_lone_surrogates_are_escaped_and_read_back(self) -> None:
        """Data with a lone surrogate gives UTF-8 JSON that rebuilds the same event."""
        event = ArvoEvent(**BASE, data={"text": "a\ud800", "\udfff": 1})
        text = event.to_json()
        assert '"a\\ud800"' in text and '"\\udfff":1' in text
        text.encode("utf-8")
        assert ArvoEvent.from_json(text) == event

    def test_large_integral_floats_read_back_as_their_shortest_digits(self) -> None:
        """3.861829644093151e16 is written 38618296440931510, which Python reads as that int."""
        event = ArvoEvent(**BASE, data={"big": 3.861829644093151e16})
        assert '"big":38618296440931510' in event.to_json()
        again = ArvoEvent.from_json(event.to_json())
        assert again.data["big"] == 38618296440931510
        assert float(again.data["big"]) == event.data["big"]
        assert again.to_json() == event.to_json()


class TestIdsAndSubjects:
    def test_developer_managed_ids_are_trimmed_as_javascript_trims(self) -> None:
        """U+FEFF goes, \\x1c and \\x85 stay."""
        key = {"deduplication": "DEVELOPER_MANAGED", "value": "\ufeff\x1cid-1\x85 "}
        assert create_arvo_event_id(key) == "\x1cid-1\x85"
        assert create_arvo_event_id(" \ufeff order-42\u3000") == "order-42"

    def test_a_value_of_javascript_whitespace_only_gets_a_fresh_uuid(self) -> None:
        """'\\ufeff' alone is blank to JavaScript."""
        made = create_arvo_event_id({"deduplication": "DEVELOPER_MANAGED", "value": "\ufeff"})
        assert len(made) == 36 and made != "\ufeff"

    def test_arvo_managed_ids_carry_lone_surrogates(self) -> None:
        """The id's JSON escapes a lone surrogate, so it compresses and decodes."""
        made = create_arvo_event_id({"deduplication": "ARVO_MANAGED", "value": " a\ud800 "})
        content, error = parse_arvo_event_id(made)
        assert error is None and isinstance(content, dict)
        assert content["value"] == "a\ud800"
        text = zlib.decompress(base64.b64decode(made)).decode("utf-8")
        assert text.endswith(',"value":"a\\ud800"}')

    def test_subject_json_orders_integer_like_meta_keys_first(self) -> None:
        """The subject's JSON is JSON.stringify's: meta key "1" before "2" before "x"."""
        subject = ArvoOrchestrationSubject.new(
            orchestrator="arvo.orc.test",
            version="1.0.0",
            initiator="com.test.client",
            meta={"x": "a", "2": "b", "1": "c"},
            execution_id="run-1",
        )
        text = zlib.decompress(base64.b64decode(subject)).decode("utf-8")
        assert text.endswith('"meta":{"1":"c","2":"b","x":"a"}}')
        assert list(ArvoOrchestrationSubject.parse(subject)["meta"]) == ["1", "2", "x"]

    def test_subject_with_a_lone_surrogate_encodes_as_javascript_does(self) -> None:
        """A lone surrogate in meta is escaped (it used to make the subject unencodable)."""
        subject = ArvoOrchestrationSubject.new(
            orchestrator="arvo.orc.test",
            version="1.0.0",
            initiator="com.test.client",
            meta={"k": "\ud800"},
            execution_id="run-1",
        )
        assert ArvoOrchestrationSubject.parse(subject)["meta"] == {"k": "\ud800"}

    def test_subject_content_with_nan_is_still_refused(self) -> None:
        """NaN has no JSON form: an extra key holding it is an invalid subject."""
        content = {
            "orchestrator": {"name": "arvo.orc.test", "version": "1.0.0"},
            "execution": {"id": "run-1", "initiator": "com.test.client", "domain": None},
            "meta": {},
            "extra": float("nan"),
        }
        with pytest.raises(InvalidSubjectError, match="not JSON serialisable"):
            ArvoOrchestrationSubject.create(content)

    def test_semantic_versions_skip_javascript_whitespace_like_parseint(self) -> None:
        """parseInt skips a leading U+FEFF but not \\x1c."""
        assert parse_semantic_version("\ufeff1.2.3") == (1, 2, 3)
        with pytest.raises(ValueError, match="Invalid version number"):
            parse_semantic_version("\x1c1.2.3")


class TestJsStringify:
    def test_python_surrogate_pairs_are_one_character_as_in_javascript(self) -> None:
        """Two code points forming a UTF-16 pair are written as the character they encode."""
        assert js_stringify("\ud83d\ude00") == '"\U0001f600"'
        assert js_stringify({"\ud83d\ude00": 1.0}) == '{"\U0001f600":1}'

    def test_non_string_keys_are_converted_as_json_dumps_converts_them(self) -> None:
        """Int, bool and None keys become their JSON text, then take JavaScript's key order."""
        assert js_stringify({"a": 1, 2: "x", True: 1, None: 2}) == (
            '{"2":"x","a":1,"true":1,"null":2}'
        )
        assert js_stringify({1: "a"}) == json.dumps({1: "a"}, separators=(",", ":"))

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
    @pytest.mark.parametrize("wrap", [lambda v: v, lambda v: [1.0, v], lambda v: {"1": v}])
    def test_non_finite_numbers_raise(self, bad: float, wrap: Any) -> None:
        """NaN and the infinities raise ValueError on every path, as json.dumps(allow_nan=False)."""
        with pytest.raises(ValueError):
            js_stringify(wrap(bad))

    @pytest.mark.parametrize("bad", [{1, 2}, b"x", object()])
    @pytest.mark.parametrize("wrap", [lambda v: v, lambda v: [1.0, v], lambda v: {"1": v}])
    def test_values_with_no_json_form_raise_type_error(self, bad: Any, wrap: Any) -> None:
        """Sets, bytes and objects raise TypeError on every path."""
        with pytest.raises(TypeError):
            js_stringify(wrap(bad))

    def test_subclasses_are_written_as_their_json_base_types(self) -> None:
        """An IntEnum and a float subclass are written as json.dumps and JavaScript would."""
        from enum import IntEnum

        class Level(IntEnum):
            HIGH = 3

        class Money(float):
            pass

        assert js_stringify({"level": Level.HIGH, "cost": Money(3.0), "t": (1, 2.0)}) == (
            '{"level":3,"cost":3,"t":[1,2]}'
        )

    def test_circular_values_raise(self) -> None:
        """A list that holds itself raises ValueError, as json.dumps does."""
        loop: list[Any] = [1.0]
        loop.append(loop)
        with pytest.raises((ValueError, RecursionError)):
            js_stringify(loop)


class TestProperties:
    @PROPERTY_SETTINGS
    @given(value=js_values)
    def test_round_trip(self, value: Any) -> None:
        """json.loads(js_stringify(v)) is v as JavaScript holds it (numbers as doubles)."""
        text = js_stringify(value)
        assert js_equal(json.loads(text), js_order(surrogate_pairs_joined(value)))

    @PROPERTY_SETTINGS
    @given(value=js_values, indent=st.sampled_from([None, 0, 1, 2, 4, 11]))
    def test_output_is_always_utf8(self, value: Any, indent: int | None) -> None:
        """Whatever the strings hold, the text encodes as UTF-8."""
        js_stringify(value, indent).encode("utf-8")

    @PROPERTY_SETTINGS
    @given(value=js_values)
    def test_keys_come_in_javascript_order(self, value: Any) -> None:
        """Integer-like keys first, ascending, then the others in insertion order."""
        parsed = json.loads(js_stringify(value))
        expected = js_order(surrogate_pairs_joined(value))

        def keys(node: Any) -> Iterator[list[str]]:
            if isinstance(node, dict):
                yield list(node)
                for item in node.values():
                    yield from keys(item)
            elif isinstance(node, list):
                for item in node:
                    yield from keys(item)

        assert list(keys(parsed)) == list(keys(expected))

    @PROPERTY_SETTINGS
    @given(value=js_values, indent=st.sampled_from([None, 2]))
    def test_every_encoding_path_writes_the_same_text(self, value: Any, indent: int | None) -> None:
        """The json.dumps fast path, the int-converting path and the full encoder agree."""
        full = _stringify(value, " " * indent if indent else "", "")
        try:
            full.encode("utf-8")
        except UnicodeEncodeError:
            full = _escape_surrogates(full)
        assert js_stringify(value, indent) == full
        assert js_stringify_checked(value, False, indent) == full

    @PROPERTY_SETTINGS
    @given(number=js_floats)
    def test_plain_floats_are_exactly_those_python_writes_like_javascript(
        self, number: float
    ) -> None:
        """is_js_plain_float(x) iff repr(x) is JavaScript's text for x."""
        assert is_js_plain_float(number) == (repr(number) == js_number(number))
        assert float(js_number(number)) == number

    @PROPERTY_SETTINGS
    @given(value=js_text)
    def test_trim_is_idempotent_and_keeps_the_middle(self, value: str) -> None:
        """js_trim(js_trim(s)) == js_trim(s), and the result is a slice of s."""
        once = js_trim(value)
        assert js_trim(once) == once and once in value


# -- differential: generated values through real JavaScript ------------------------------------


class _Node:
    """One node process answering JSON.stringify / trim requests line by line."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.fail(
                "The JSON differential test needs Node.js 20+ on PATH (to run real "
                "JSON.stringify); install it. This test is never skipped."
            )
        self.process = subprocess.Popen(
            [node, str(VECTORS_DIR / "js_json_echo.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def ask(self, request: dict[str, Any]) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")  # ASCII: surrogates escaped
        self.process.stdin.flush()
        answer: str = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def node() -> Iterator[_Node]:
    """A node process for the module's differential tests."""
    process = _Node()
    yield process
    process.close()


class TestAgainstNode:
    @settings(PROPERTY_SETTINGS, max_examples=400)  # about 0.1 ms per value through node
    @given(value=js_values, indent=st.sampled_from([None, None, 2, 0, 12]))
    def test_js_stringify_matches_node(self, node: _Node, value: Any, indent: int | None) -> None:
        """For generated values, node's JSON.stringify of the same value gives the same text."""
        expected = node.ask({"json": json.dumps(value), "indent": indent})
        assert js_stringify(value, indent) == expected

    @PROPERTY_SETTINGS
    @given(value=st.one_of(js_text, st.text(st.sampled_from(SPACE_LIKE + "ax"), max_size=6)))
    def test_js_trim_matches_node(self, node: _Node, value: str) -> None:
        """For generated text, node's trim() gives the same string."""
        expected = node.ask({"trim": value})  # read back with surrogate pairs joined
        assert surrogate_pairs_joined(js_trim(value)) == expected
