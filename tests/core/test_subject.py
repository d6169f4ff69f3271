"""ArvoOrchestrationSubject (spec §4; upstream tests/ArvoOrchestrationSubject)."""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

import pytest

from arvo_ray.core import (
    ArvoOrchestrationSubject,
    ArvoOrchestrationSubjectContent,
    InvalidSubjectError,
    encode_uri,
    validate_uri,
)

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

# Spec §4.1, "Fixed-content example".
FIXED_CONTENT: dict[str, Any] = {
    "orchestrator": {"name": "com.example.orchestrator", "version": "1.0.0"},
    "execution": {
        "id": "123e4567-e89b-12d3-a456-426614174000",
        "initiator": "com.example.initiator",
        "domain": None,
    },
    "meta": {},
}
FIXED_SUBJECT = (
    "eJxVjdsKwyAQRP9ln1U0sabN32x1oYKXYkwJiP9e2z6UPM7MYU6DXOyDtlqw5gJrg4SRYAWbo6AD4zOQOCEMXlQ2n9OA"
    "lJBCQmdAB9m9fssG3n2maSZ9MQun6+3O1eRmjiNzPRmjtFq0lHJ8+eSr/6lPyn/PwOWIfjynPYThilRxaHp/A7U/PNo="
)


def encode(payload: bytes) -> str:
    """base64(zlib(payload)), as a subject is built."""
    return base64.b64encode(zlib.compress(payload)).decode()


def content(**changes: Any) -> dict[str, Any]:
    """A valid subject content with top-level sections replaced or patched."""
    value = json.loads(json.dumps(FIXED_CONTENT))
    for section, patch in changes.items():
        if isinstance(patch, dict) and isinstance(value.get(section), dict):
            value[section].update(patch)
        else:
            value[section] = patch
    return value


def parent_subject() -> str:
    """The upstream parent: com.parent.process with environment/parentKey meta."""
    return ArvoOrchestrationSubject.new(
        orchestrator="com.parent.process",
        version="1.0.0",
        initiator="com.test.initiator",
        meta={"environment": "test", "parentKey": "parentValue"},
    )


class TestUpstreamNew:
    def test_should_create_a_valid_subject(self) -> None:
        """parse(new(...)) gives the name, version, initiator, a uuid4 id, meta and no domain."""
        subject = ArvoOrchestrationSubject.new(
            orchestrator="com.example.orchestrator",
            version="1.0.0",
            initiator="com.example.initiator",
            meta={"sessionId": "session-1"},
        )
        parsed = ArvoOrchestrationSubject.parse(subject)
        assert parsed["orchestrator"] == {"name": "com.example.orchestrator", "version": "1.0.0"}
        assert parsed["execution"]["initiator"] == "com.example.initiator"
        assert UUID4.fullmatch(parsed["execution"]["id"])
        assert parsed["meta"]["sessionId"] == "session-1"
        assert parsed["execution"]["domain"] is None

    def test_should_create_a_domained_subject(self) -> None:
        """The domain is stored under execution.domain."""
        subject = ArvoOrchestrationSubject.new(
            orchestrator="com.example.orchestrator",
            version="1.0.0",
            initiator="com.example.initiator",
            domain="test.test",
        )
        assert ArvoOrchestrationSubject.parse(subject)["execution"]["domain"] == "test.test"

    def test_should_throw_for_invalid_input(self) -> None:
        """An orchestrator name with a space is refused."""
        with pytest.raises(InvalidSubjectError):
            ArvoOrchestrationSubject.new(
                orchestrator="invalid name", version="1.0.0", initiator="com.example.initiator"
            )


class TestUpstreamCreate:
    def test_should_create_a_valid_subject_string(self) -> None:
        """create returns a non-empty string."""
        subject = ArvoOrchestrationSubject.create(FIXED_CONTENT)
        assert isinstance(subject, str)
        assert subject

    def test_should_throw_for_invalid_content(self) -> None:
        """An invalid orchestrator name is refused."""
        with pytest.raises(InvalidSubjectError):
            ArvoOrchestrationSubject.create(content(orchestrator={"name": "invalid name"}))


class TestUpstreamParse:
    def test_should_round_trip(self) -> None:
        """parse(create(c)) deep-equals c."""
        assert (
            ArvoOrchestrationSubject.parse(ArvoOrchestrationSubject.create(FIXED_CONTENT))
            == FIXED_CONTENT
        )

    def test_should_throw_for_invalid_base64(self) -> None:
        """'invalid_base64_string' is not a subject."""
        with pytest.raises(InvalidSubjectError):
            ArvoOrchestrationSubject.parse("invalid_base64_string")

    def test_should_throw_for_valid_encoding_of_invalid_content(self) -> None:
        """Well-encoded JSON of the wrong shape is not a subject."""
        with pytest.raises(InvalidSubjectError):
            ArvoOrchestrationSubject.parse(encode(b'{"invalid":"content"}'))


class TestUpstreamFrom:
    def test_should_create_a_child_from_a_parent(self) -> None:
        """The child's initiator is the parent orchestrator; the parent meta is inherited."""
        child = ArvoOrchestrationSubject.from_parent(
            orchestrator="com.child.process", version="2.0.0", subject=parent_subject()
        )
        parsed = ArvoOrchestrationSubject.parse(child)
        assert parsed["orchestrator"] == {"name": "com.child.process", "version": "2.0.0"}
        assert parsed["execution"]["initiator"] == "com.parent.process"
        assert parsed["meta"] == {"environment": "test", "parentKey": "parentValue"}
        assert UUID4.fullmatch(parsed["execution"]["id"])

    def test_should_merge_metadata(self) -> None:
        """Child meta overrides and extends the parent's."""
        child = ArvoOrchestrationSubject.from_parent(
            orchestrator="com.child.process",
            version="1.0.0",
            subject=parent_subject(),
            meta={"childKey": "childValue", "environment": "production"},
        )
        assert ArvoOrchestrationSubject.parse(child)["meta"] == {
            "environment": "production",
            "parentKey": "parentValue",
            "childKey": "childValue",
        }

    def test_should_use_the_wildcard_version_when_none(self) -> None:
        """version=None gives 0.0.0."""
        child = ArvoOrchestrationSubject.from_parent(
            orchestrator="com.child.process", version=None, subject=parent_subject()
        )
        assert ArvoOrchestrationSubject.parse(child)["orchestrator"]["version"] == "0.0.0"

    def test_should_throw_for_an_invalid_parent_subject(self) -> None:
        """A parent that does not parse is refused."""
        with pytest.raises(
            InvalidSubjectError, match=r"^Error parsing orchestration subject string"
        ):
            ArvoOrchestrationSubject.from_parent(
                orchestrator="com.child.process", version="1.0.0", subject="invalid"
            )

    def test_should_throw_for_an_invalid_child_name(self) -> None:
        """An invalid child orchestrator name is refused."""
        with pytest.raises(
            InvalidSubjectError, match=r"^Error creating orchestration subject string"
        ):
            ArvoOrchestrationSubject.from_parent(
                orchestrator="invalid name", version="1.0.0", subject=parent_subject()
            )


class TestFormat:
    """Spec §4.1: byte-level compatibility."""

    def test_fixed_content_gives_the_originals_exact_string(self) -> None:
        """create() of the spec's content equals the subject made by arvo-core."""
        assert ArvoOrchestrationSubject.create(FIXED_CONTENT) == FIXED_SUBJECT

    def test_fixed_subject_is_python_zlib_of_compact_json(self) -> None:
        """The subject is base64(zlib.compress(compact JSON)), zlib header 78 9c."""
        text = json.dumps(FIXED_CONTENT, separators=(",", ":"))
        assert encode(text.encode()) == FIXED_SUBJECT
        assert base64.b64decode(FIXED_SUBJECT)[:2] == b"\x78\x9c"

    def test_original_subject_parses(self) -> None:
        """The original's subject decodes to the same content."""
        assert ArvoOrchestrationSubject.parse(FIXED_SUBJECT) == FIXED_CONTENT

    def test_new_writes_keys_in_the_originals_order(self) -> None:
        """new() emits orchestrator{name,version}, execution{id,initiator,domain}, meta."""
        subject = ArvoOrchestrationSubject.new(
            orchestrator="com.example.orchestrator",
            version="1.0.0",
            initiator="com.example.initiator",
            domain="a.b",
            meta={"redirectto": "com.x.y"},
            execution_id="6fe4fce5-1bca-4cd0-b7f4-f638917ccac2",
        )
        assert zlib.decompress(base64.b64decode(subject)).decode() == (
            '{"orchestrator":{"name":"com.example.orchestrator","version":"1.0.0"},'
            '"execution":{"id":"6fe4fce5-1bca-4cd0-b7f4-f638917ccac2","initiator":"com.example.initiator","domain":"a.b"},'
            '"meta":{"redirectto":"com.x.y"}}'
        )

    def test_create_keeps_the_callers_key_order_and_extra_keys(self) -> None:
        """create() serialises the content as given; parse() returns extra keys too."""
        given = {
            "meta": {},
            "execution": {"domain": None, "initiator": "com.a.b", "id": "1"},
            "orchestrator": {"version": "1.0.0", "name": "com.a.b", "x": 2},
            "extra": 1,
        }
        subject = ArvoOrchestrationSubject.create(given)
        assert zlib.decompress(base64.b64decode(subject)).decode() == json.dumps(
            given, separators=(",", ":")
        )
        assert ArvoOrchestrationSubject.parse(subject) == given

    def test_non_ascii_meta_is_utf8_not_escaped(self) -> None:
        """Like JSON.stringify, non-ASCII text is written as UTF-8."""
        subject = ArvoOrchestrationSubject.create(content(meta={"note": "héllo"}))
        assert '"note":"héllo"' in zlib.decompress(base64.b64decode(subject)).decode("utf-8")

    def test_subject_alphabet_survives_encode_uri(self) -> None:
        """A subject is a valid URI and encodeURI leaves it unchanged (so factories keep it)."""
        for _ in range(20):
            subject = ArvoOrchestrationSubject.new(
                orchestrator="com.a.b", version="1.0.0", initiator="com.c.d", meta={"k": "ü ?"}
            )
            assert validate_uri(subject)
            assert encode_uri(subject) == subject

    def test_execution_id_can_be_fixed(self) -> None:
        """execution_id makes new() deterministic (same inputs, same subject)."""
        first = ArvoOrchestrationSubject.new(
            orchestrator="com.a.b", version="1.0.0", initiator="com.c.d", execution_id="run-1"
        )
        second = ArvoOrchestrationSubject.new(
            orchestrator="com.a.b", version="1.0.0", initiator="com.c.d", execution_id="run-1"
        )
        assert first == second
        assert ArvoOrchestrationSubject.parse(first)["execution"]["id"] == "run-1"


class TestParseLeniency:
    def test_accepts_missing_padding_and_url_safe_characters(self) -> None:
        """Like Node's Buffer.from(s, 'base64'), padding and url-safe letters are tolerated."""
        lenient = FIXED_SUBJECT.rstrip("=").replace("+", "-").replace("/", "_")
        assert ArvoOrchestrationSubject.parse(lenient) == FIXED_CONTENT

    def test_rejects_raw_deflate_without_zlib_header(self) -> None:
        """Raw deflate data (no 78 9c header) is refused."""
        compressor = zlib.compressobj(wbits=-15)
        raw = compressor.compress(json.dumps(FIXED_CONTENT).encode()) + compressor.flush()
        with pytest.raises(InvalidSubjectError):
            ArvoOrchestrationSubject.parse(base64.b64encode(raw).decode())

    def test_rejects_a_subject_without_execution_domain(self) -> None:
        """An arvo-core 2.x subject (no execution.domain) fails: the key is nullable, not optional."""
        legacy = content()
        del legacy["execution"]["domain"]
        with pytest.raises(InvalidSubjectError) as exc:
            ArvoOrchestrationSubject.parse(encode(json.dumps(legacy).encode()))
        assert exc.value.issues == ["execution.domain: Required (nullable, not optional)"]

    def test_parse_returns_a_fresh_object_each_time(self) -> None:
        """Mutating a parsed subject does not affect later parses (results are cached)."""
        first = ArvoOrchestrationSubject.parse(FIXED_SUBJECT)
        first["meta"]["x"] = "y"
        assert ArvoOrchestrationSubject.parse(FIXED_SUBJECT) == FIXED_CONTENT


class TestErrors:
    """Spec §4.3: messages and the listed issues."""

    def test_create_error_message_layout(self) -> None:
        """The message names the cause and shows the context, each line trimmed."""
        bad = content(orchestrator={"name": "invalid name"})
        with pytest.raises(InvalidSubjectError) as exc:
            ArvoOrchestrationSubject.create(bad)
        message = str(exc.value)
        assert message.startswith(
            "Error creating orchestration subject string from the provided context.\n"
            "Error -> Invalid ArvoOrchestrationContextType: "
            "orchestrator.name: Orchestrator name should be prefixed with a reverse-DNS name\n"
            "Context -> {\n"
        )
        assert '"name": "invalid name",' in message.splitlines()
        assert exc.value.issues == [
            "orchestrator.name: Orchestrator name should be prefixed with a reverse-DNS name"
        ]

    def test_parse_error_message_layout(self) -> None:
        """The message names the cause and ends with the subject."""
        subject = encode(b'{"invalid":"content"}')
        with pytest.raises(InvalidSubjectError) as exc:
            ArvoOrchestrationSubject.parse(subject)
        lines = str(exc.value).split("\n")
        assert lines[0] == "Error parsing orchestration subject string to the context."
        assert lines[1] == (
            "Error -> Invalid ArvoOrchestrationContextType: orchestrator: Required object; "
            "execution: Required object; meta: Required object"
        )
        assert lines[2] == f"subject -> {subject}"

    @pytest.mark.parametrize(
        ("payload", "cause"),
        [
            (b"hello", "Error -> not JSON"),
            (
                b"[1,2]",
                "Error -> Invalid ArvoOrchestrationContextType: Expected object, received list",
            ),
            (b"\xff\xfe", "Error -> not UTF-8 text"),
        ],
        ids=["not-json", "json-array", "not-utf8"],
    )
    def test_parse_rejects_payloads_that_are_not_subject_json(
        self, payload: bytes, cause: str
    ) -> None:
        """Well-encoded payloads that are not a JSON object are refused with the cause."""
        with pytest.raises(InvalidSubjectError, match=re.escape(cause)):
            ArvoOrchestrationSubject.parse(encode(payload))

    @pytest.mark.parametrize("value", ["", "abc", "!!!!", "eJ", "é", "a\ud800", "hello"], ids=repr)
    def test_parse_rejects_undecodable_strings(self, value: str) -> None:
        """Anything that is not base64 of zlib data raises InvalidSubjectError."""
        with pytest.raises(
            InvalidSubjectError, match=r"^Error parsing orchestration subject string to the context"
        ):
            ArvoOrchestrationSubject.parse(value)

    def test_parse_rejects_non_strings(self) -> None:
        """A non-string subject is an InvalidSubjectError too."""
        with pytest.raises(InvalidSubjectError, match="expected a string, got NoneType"):
            ArvoOrchestrationSubject.parse(None)  # type: ignore[arg-type]

    def test_parse_rejects_deeply_nested_json(self) -> None:
        """JSON too deep to parse is an InvalidSubjectError, not a RecursionError."""
        with pytest.raises(InvalidSubjectError, match="JSON nested too deeply"):
            ArvoOrchestrationSubject.parse(encode(b"[" * 100_000))

    @pytest.mark.parametrize(
        ("changes", "issue"),
        [
            (
                {"orchestrator": {"name": "a;b.c.d"}},
                "orchestrator.name: Orchestrator name must not contain semicolon",
            ),
            (
                {"orchestrator": {"name": "invalid"}},
                "orchestrator.name: Orchestrator name should be prefixed with a reverse-DNS name",
            ),
            ({"orchestrator": {"name": 5}}, "orchestrator.name: Required string"),
            (
                {"orchestrator": {"version": "1.0"}},
                "orchestrator.version: Invalid version format of the semantic version",
            ),
            (
                {"orchestrator": {"version": "١.٠.٠"}},
                "orchestrator.version: Invalid version format of the semantic version",
            ),
            ({"execution": {"id": ""}}, "execution.id: ID must be a non-empty string"),
            ({"execution": {"id": "a;b"}}, "execution.id: ID must not contain semicolon"),
            (
                {"execution": {"initiator": "test-source"}},
                "execution.initiator: Orchestration initiator should be prefixed with a reverse-DNS name",
            ),
            (
                {"execution": {"initiator": "a;b.c.d"}},
                "execution.initiator: Initiator must not contain semicolon",
            ),
            (
                {"execution": {"domain": "A"}},
                "execution.domain: Domain must contain only lowercase letters, numbers, and dots",
            ),
            ({"meta": {"count": 1}}, "meta.count: Expected string, received int"),
            ({"meta": {1: "a"}}, "meta: key 1 must be a string, got int"),
            ({"meta": None}, "meta: Required object"),
            ({"execution": None}, "execution: Required object"),
        ],
        ids=lambda value: value if isinstance(value, str) else None,
    )
    def test_each_broken_rule_is_listed(self, changes: dict[str, Any], issue: str) -> None:
        """create() lists the specific issue for each broken rule."""
        with pytest.raises(InvalidSubjectError) as exc:
            ArvoOrchestrationSubject.create(content(**changes))
        assert issue in exc.value.issues

    def test_empty_domain_breaks_both_domain_rules(self) -> None:
        """'' is reported as empty and as having invalid characters (§0.3)."""
        with pytest.raises(InvalidSubjectError) as exc:
            ArvoOrchestrationSubject.create(content(execution={"domain": ""}))
        assert exc.value.issues == [
            "execution.domain: The domain must be non-empty string",
            "execution.domain: Domain must contain only lowercase letters, numbers, and dots",
        ]

    def test_all_issues_are_reported_at_once(self) -> None:
        """Several broken rules give one error listing them all."""
        with pytest.raises(InvalidSubjectError) as exc:
            ArvoOrchestrationSubject.create(
                {
                    "orchestrator": {"name": "x", "version": "1"},
                    "execution": {"id": "", "initiator": "y"},
                    "meta": {"a": 1},
                }
            )
        assert len(exc.value.issues) == 6

    def test_non_object_content_is_refused(self) -> None:
        """Content must be a mapping."""
        with pytest.raises(InvalidSubjectError, match="Expected object, received list"):
            ArvoOrchestrationSubject.create([])  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "extra", [{1, 2}, float("nan"), float("inf"), object()], ids=["set", "nan", "inf", "object"]
    )
    def test_extra_keys_without_a_json_form_are_refused(self, extra: Any) -> None:
        """Extra content is kept verbatim, so it must be plain JSON (no NaN, sets or objects)."""
        with pytest.raises(InvalidSubjectError, match="content is not JSON serialisable"):
            ArvoOrchestrationSubject.create(content(extra=extra))

    def test_empty_version_is_not_replaced_by_the_wildcard(self) -> None:
        """Only None means the wildcard; '' is an invalid version."""
        with pytest.raises(InvalidSubjectError, match="Invalid version format"):
            ArvoOrchestrationSubject.new(orchestrator="com.a.b", version="", initiator="com.c.d")

    def test_invalid_subject_error_is_a_value_error(self) -> None:
        """Callers catching ValueError catch subject errors."""
        assert issubclass(InvalidSubjectError, ValueError)
        assert InvalidSubjectError("x").issues == []


class TestIsValid:
    def test_true_for_a_valid_subject(self) -> None:
        """A subject that parses is valid."""
        assert ArvoOrchestrationSubject.is_valid(FIXED_SUBJECT) is True

    @pytest.mark.parametrize(
        "value", ["x", "", None, 5, encode(b'{"invalid":"content"}')], ids=repr
    )
    def test_false_for_anything_else(self, value: Any) -> None:
        """Garbage, wrong content and non-strings are invalid (never raises)."""
        assert ArvoOrchestrationSubject.is_valid(value) is False


def test_content_type_describes_the_parsed_shape() -> None:
    """ArvoOrchestrationSubjectContent is a TypedDict of orchestrator, execution and meta."""
    assert set(ArvoOrchestrationSubjectContent.__annotations__) == {
        "orchestrator",
        "execution",
        "meta",
    }
