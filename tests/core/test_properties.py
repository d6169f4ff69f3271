"""Property tests: round trips of valid values, clear errors (never fix-ups) for invalid ones."""

from __future__ import annotations

import json
import pickle
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from arvo_ray.core import (
    ArvoEvent,
    ArvoOrchestrationSubject,
    InvalidSubjectError,
    create_arvo_event,
    decode_uri,
    encode_uri,
    is_valid_semantic_version,
    parse_arvo_event_id,
    validate_uri,
)
from arvo_ray.core.kit import js_trim

from .strategies import (
    PROPERTY_SETTINGS,
    arvo_events,
    encoded_garbage_subjects,
    json_objects,
    non_json_values,
    subject_contents,
    text,
    timestamps,
)

# Independent oracles: the original's regular expressions, ASCII-only as in JavaScript.
EVENT_TYPE = re.compile(r"[a-z0-9]+(\.[a-z0-9]+)+\.[a-z0-9]+", re.ASCII)
DOMAIN = re.compile(r"[a-z0-9.]+", re.ASCII)
SEMVER = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)
# zod 3.25 datetimeRegex({offset: true, precision: null, local: false}).
ZOD_DATETIME = re.compile(
    r"((\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-((0[13578]|1[02])-(0[1-9]|[12]\d|3[01])|(0[469]|11)-(0[1-9]|[12]\d|30)|(02)-(0[1-9]|1\d|2[0-8])))"
    r"T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?"
    r"(Z|([+-]\d{2}:?\d{2}))",
    re.ASCII,
)

BASE: dict[str, Any] = {
    "source": "com.test.producer",
    "type": "com.test.event",
    "subject": "s",
    "data": {},
    "to": "com.test.event",
}

# Text biased towards the characters the patterns care about.
pattern_text = st.one_of(text, st.text(alphabet="abcAZ019.-_ ;٣", max_size=20))
time_text = st.one_of(text, st.text(alphabet="0123456789-T:Z+.z ٣", max_size=32), timestamps())


def _rounded_floats(value: Any) -> bool:
    """Whether ``value`` holds an integral float that JavaScript writes as rounded digits."""
    if isinstance(value, float):
        return value.is_integer() and 2**53 <= abs(value) < 1e21
    if isinstance(value, dict):
        return any(map(_rounded_floats, value.values()))
    if isinstance(value, list):
        return any(map(_rounded_floats, value))
    return False


def _as_doubles(value: Any) -> Any:
    """``value`` with every number a float, as JavaScript holds it."""
    if isinstance(value, dict):
        return {key: _as_doubles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_doubles(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**1000:
        return float(value)
    return value


class TestRoundTrips:
    @PROPERTY_SETTINGS
    @given(event=arvo_events())
    def test_event_json_round_trip_is_exact(self, event: ArvoEvent) -> None:
        """from_json(to_json(e)) == e, and the JSON text is stable.

        The one exception is JavaScript's: an integral float of 2**53 or more is written as
        the digits of its shortest form (``3.861829644093151e16`` as ``38618296440931510``),
        which Python reads back as that int; it equals the float once made a double again.
        """
        text_ = event.to_json()
        again = ArvoEvent.from_json(text_)
        assert again.to_json() == text_
        if again != event:
            assert _rounded_floats(event.to_dict()), "only big integral floats may differ"
            assert again.model_dump(exclude={"data", "extensions", "executionunits"}) == (
                event.model_dump(exclude={"data", "extensions", "executionunits"})
            )
            assert _as_doubles(again.to_dict()) == _as_doubles(event.to_dict())
        assert _as_doubles(json.loads(text_)) == _as_doubles(event.to_dict())

    @PROPERTY_SETTINGS
    @given(event=arvo_events())
    def test_event_pickle_round_trip_is_exact(self, event: ArvoEvent) -> None:
        """An event pickled (as Ray sends it between processes) comes back equal, with the
        same JSON text and the same set fields."""
        again = pickle.loads(pickle.dumps(event, protocol=5))
        assert again == event and again.to_json() == event.to_json()
        assert again.model_fields_set == event.model_fields_set

    @PROPERTY_SETTINGS
    @given(event=arvo_events())
    def test_event_dict_round_trip_keeps_key_order(self, event: ArvoEvent) -> None:
        """from_dict(to_dict()) preserves the keys and their order."""
        out = event.to_dict()
        assert list(ArvoEvent.from_dict(out).to_dict()) == list(out)

    @PROPERTY_SETTINGS
    @given(fields=subject_contents())
    def test_subject_round_trip(self, fields: dict[str, Any]) -> None:
        """parse(new(...)) returns exactly the fields given, and create() re-encodes identically."""
        subject = ArvoOrchestrationSubject.new(**fields)
        content = ArvoOrchestrationSubject.parse(subject)
        assert content == {
            "orchestrator": {"name": fields["orchestrator"], "version": fields["version"]},
            "execution": {
                "id": fields["execution_id"],
                "initiator": fields["initiator"],
                "domain": fields["domain"],
            },
            "meta": fields["meta"],
        }
        assert ArvoOrchestrationSubject.create(content) == subject
        assert validate_uri(subject)

    @PROPERTY_SETTINGS
    @given(value=text)
    def test_encoded_uris_are_always_valid(self, value: str) -> None:
        """validate_uri(encode_uri(s)) holds for any text without lone surrogates."""
        encoded = encode_uri(value)
        assert validate_uri(encoded)
        assert decode_uri(encoded) == value

    @PROPERTY_SETTINGS
    @given(value=text.filter(lambda s: js_trim(s) != ""))
    def test_arvo_managed_ids_carry_their_value(self, value: str) -> None:
        """An ARVO_MANAGED id always decodes back to its value trimmed as JavaScript trims."""
        event = create_arvo_event(
            **BASE, id={"deduplication": "ARVO_MANAGED", "value": value}, disable_telemetry=True
        )
        content, error = parse_arvo_event_id(event.id)
        assert error is None
        assert content["value"] == js_trim(value)  # type: ignore[index]


def build(**fields: Any) -> ArvoEvent:
    """The constructor with a valid base event and some fields replaced."""
    return ArvoEvent(**{**BASE, **fields})


class TestInvalidInput:
    """Invalid input raises the documented error, and valid input is kept exactly as given."""

    @PROPERTY_SETTINGS
    @given(value=pattern_text)
    def test_type(self, value: str) -> None:
        """A type is accepted iff it is reverse-DNS; otherwise a ValidationError on 'type'."""
        if EVENT_TYPE.fullmatch(value):
            assert build(type=value).type == value
        else:
            with pytest.raises(ValidationError) as exc:
                build(type=value)
            assert ("type",) in {issue["loc"] for issue in exc.value.errors()}

    @PROPERTY_SETTINGS
    @given(value=pattern_text)
    def test_domain(self, value: str) -> None:
        """A domain is accepted iff it matches [a-z0-9.]+; otherwise a ValidationError on 'domain'."""
        if DOMAIN.fullmatch(value):
            assert build(domain=value).domain == value
        else:
            with pytest.raises(ValidationError) as exc:
                build(domain=value)
            assert {issue["loc"] for issue in exc.value.errors()} == {("domain",)}

    @PROPERTY_SETTINGS
    @given(value=time_text)
    def test_time(self, value: str) -> None:
        """A time is accepted iff zod's datetime regex (with a real calendar date) accepts it."""
        if ZOD_DATETIME.fullmatch(value):
            assert build(time=value).time == value
        else:
            with pytest.raises(ValidationError) as exc:
                build(time=value)
            assert [issue["msg"] for issue in exc.value.errors()] == ["Invalid datetime"]

    @pytest.mark.parametrize("field", ["source", "subject", "to", "redirectto", "dataschema"])
    @PROPERTY_SETTINGS
    @given(value=st.one_of(text, st.text(alphabet="ab %2F0Cz", max_size=12)))
    def test_uri_fields(self, field: str, value: str) -> None:
        """The constructor accepts a URI field iff it is a non-empty, properly encoded URI; never encodes it."""
        if value and validate_uri(value):
            assert getattr(build(**{field: value}), field) == value
        else:
            with pytest.raises(ValidationError) as exc:
                build(**{field: value})
            assert {issue["loc"] for issue in exc.value.errors()} == {(field,)}

    @PROPERTY_SETTINGS
    @given(value=text)
    def test_create_arvo_event_always_encodes_the_source(self, value: str) -> None:
        """create_arvo_event stores encode_uri(source) or rejects an empty one."""
        if value:
            assert create_arvo_event(
                **{**BASE, "source": value}, disable_telemetry=True
            ).source == encode_uri(value)
        else:
            with pytest.raises(ValidationError):
                create_arvo_event(**{**BASE, "source": value}, disable_telemetry=True)

    @PROPERTY_SETTINGS
    @given(value=pattern_text)
    def test_semantic_version(self, value: str) -> None:
        """is_valid_semantic_version agrees with the ASCII regex of the original."""
        assert is_valid_semantic_version(value) is bool(SEMVER.fullmatch(value))

    @PROPERTY_SETTINGS
    @given(value=st.one_of(text, st.text(alphabet="eJxz+/=", max_size=40)))
    def test_garbage_subject_strings(self, value: str) -> None:
        """Random strings never parse as subjects: InvalidSubjectError, nothing else."""
        with pytest.raises(InvalidSubjectError):
            ArvoOrchestrationSubject.parse(value)
        assert ArvoOrchestrationSubject.is_valid(value) is False

    @PROPERTY_SETTINGS
    @given(subject=encoded_garbage_subjects())
    def test_well_encoded_garbage_subjects(self, subject: str) -> None:
        """base64(zlib(x)) of non-subject payloads raises InvalidSubjectError."""
        with pytest.raises(InvalidSubjectError):
            ArvoOrchestrationSubject.parse(subject)

    @PROPERTY_SETTINGS
    @given(
        value=st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), text),
            lambda c: st.dictionaries(text, c, max_size=3) | st.lists(c, max_size=3),
            max_leaves=10,
        )
    )
    def test_random_subject_content(self, value: Any) -> None:
        """create() of arbitrary JSON either raises InvalidSubjectError or round-trips exactly."""
        try:
            subject = ArvoOrchestrationSubject.create(value)
        except InvalidSubjectError as exc:
            assert exc.issues
        else:
            assert ArvoOrchestrationSubject.parse(subject) == value

    @PROPERTY_SETTINGS
    @given(data=json_objects, bad=non_json_values, key=text, depth=st.integers(0, 3))
    def test_non_json_data(self, data: dict[str, Any], bad: Any, key: str, depth: int) -> None:
        """A non-JSON value anywhere in data raises a ValidationError on 'data'."""
        nested: Any = bad
        for level in range(depth):
            nested = {"k": nested} if level % 2 else [nested]
        with pytest.raises(ValidationError) as exc:
            build(data={**data, key: nested})
        assert [issue["loc"][0] for issue in exc.value.errors()] == ["data"]

    @PROPERTY_SETTINGS
    @given(fields=subject_contents(), bad=non_json_values)
    def test_non_json_extra_subject_content(self, fields: dict[str, Any], bad: Any) -> None:
        """Extra subject keys without a JSON form raise InvalidSubjectError (never NaN in the output)."""
        content = ArvoOrchestrationSubject.parse(ArvoOrchestrationSubject.new(**fields))
        with pytest.raises(InvalidSubjectError):
            ArvoOrchestrationSubject.create({**content, "extra": bad})

    @PROPERTY_SETTINGS
    @given(value=text)
    def test_parse_arvo_event_id_never_raises(self, value: str) -> None:
        """parse_arvo_event_id returns (id, error) for anything that is not an Arvo id."""
        content, error = parse_arvo_event_id(value)
        if error is not None:
            assert content == value
