"""ArvoEvent and create_arvo_event (spec §1; upstream tests/ArvoEvent/index.spec.ts)."""

from __future__ import annotations

import json
import logging
import pickle
import re
from typing import Any

import pytest
from pydantic import ValidationError

from arvo_ray.core import (
    ARVO_DATA_CONTENT_TYPE,
    ArvoEvent,
    create_arvo_event,
    parse_arvo_event_id,
)

BASE: dict[str, Any] = {
    "source": "test.producer",
    "type": "cmd.saad.test",
    "subject": "test.json",
    "data": {"message": "Hello, World!"},
    "to": "worker",
}

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

KEY_ORDER = [
    "id",
    "source",
    "specversion",
    "type",
    "subject",
    "datacontenttype",
    "dataschema",
    "data",
    "time",
    "to",
    "accesscontrol",
    "redirectto",
    "executionunits",
    "traceparent",
    "tracestate",
    "parentid",
    "domain",
]

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

# Spec §1.3, "Full example".
FULL_INPUT: dict[str, Any] = {
    "source": "com.test.producer",
    "type": "com.test.event",
    "subject": "my-subject",
    "data": {"message": "hi"},
    "to": "a b",
    "redirectto": "x y",
    "parentid": "p q",
    "dataschema": "#/a b/1.0.0",
    "accesscontrol": "role:admin",
    "executionunits": 1.5,
    "domain": "a.b",
    "traceparent": TRACEPARENT,
    "tracestate": "k=v",
    "id": {"deduplication": "DEVELOPER_MANAGED", "value": "  my-id  "},
    "time": "2024-01-01T00:00:00.000+05:00",
    "extensions": {"custom1": "x", "n": 1, "b": True, "z": None},
}
FULL_JSON = (
    '{"id":"my-id","source":"com.test.producer","specversion":"1.0","type":"com.test.event","subject":"my-subject",'
    '"datacontenttype":"application/cloudevents+json;charset=UTF-8;profile=arvo","dataschema":"#/a%20b/1.0.0",'
    '"data":{"message":"hi"},"time":"2024-01-01T00:00:00.000+05:00",'
    '"custom1":"x","n":1,"b":true,"z":null,'
    '"to":"a%20b","accesscontrol":"role:admin","redirectto":"x%20y","executionunits":1.5,'
    '"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","tracestate":"k=v","parentid":"p%20q","domain":"a.b"}'
)


def make(**overrides: Any) -> ArvoEvent:
    """create_arvo_event with the upstream base input, telemetry off."""
    return create_arvo_event(**{**BASE, **overrides}, disable_telemetry=True)


def minimal() -> ArvoEvent:
    """The spec's minimal example (§1.3)."""
    return create_arvo_event(
        source="com.test.producer",
        type="com.test.event",
        subject="my-subject",
        data={"message": "hi"},
        disable_telemetry=True,
    )


def messages(exc: pytest.ExceptionInfo[ValidationError], field: str) -> list[str]:
    """The messages of the validation issues located at ``field``."""
    return [issue["msg"] for issue in exc.value.errors() if issue["loc"] == (field,)]


class TestUpstreamArvoEvent:
    """The upstream suite, test for test."""

    def test_should_use_the_type_field_in_case_to_is_not_provided(self) -> None:
        """Without 'to', the event is addressed to its own type."""
        event = make(to=None)
        assert event.to == event.type == "cmd.saad.test"

    def test_should_output_a_warning_when_non_arvo_datacontenttype_is_used(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """application/json still creates an event; only a warning is logged."""
        with caplog.at_level(logging.WARNING, logger="arvo_ray"):
            event = make(datacontenttype="application/json")
        assert event.datacontenttype == "application/json"
        assert [record.getMessage() for record in caplog.records] == [
            "Warning! The provided datacontenttype(=application/json)\n"
            "is not ArvoEvent compatible (=application/cloudevents+json;charset=UTF-8;profile=arvo). There may\n"
            "be some limited functionality."
        ]
        assert caplog.records[0].levelname == "WARNING"

    def test_should_create_a_valid_arvo_event_with_minimal_required_fields(self) -> None:
        """Fields are copied; content type, spec version, id and time get defaults."""
        event = make()
        assert event.source == "test.producer"
        assert event.type == "cmd.saad.test"
        assert event.subject == "test.json"
        assert event.data == {"message": "Hello, World!"}
        assert event.datacontenttype == ARVO_DATA_CONTENT_TYPE
        assert event.specversion == "1.0"
        assert event.id
        assert event.time

    def test_should_use_provided_developer_managed_id_and_time_if_given(self) -> None:
        """A DEVELOPER_MANAGED id and an explicit time are kept verbatim."""
        event = make(
            id={"deduplication": "DEVELOPER_MANAGED", "value": "custom-id"},
            time="2023-05-01T12:00:00Z",
        )
        assert event.id == "custom-id"
        assert event.time == "2023-05-01T12:00:00Z"

    def test_should_use_provided_arvo_managed_id_and_time_if_given(self) -> None:
        """An ARVO_MANAGED id decodes back to the given value."""
        event = make(
            id={"deduplication": "ARVO_MANAGED", "value": "custom-id"}, time="2023-05-01T12:00:00Z"
        )
        content, error = parse_arvo_event_id(event.id)
        assert error is None
        assert isinstance(content, dict)
        assert content["value"] == "custom-id"
        assert event.time == "2023-05-01T12:00:00Z"

    def test_should_handle_custom_extensions(self) -> None:
        """Custom extensions are kept and exposed by .extensions."""
        event = make(extensions={"customfield": "custom-value"})
        assert event.extensions["customfield"] == "custom-value"

    def test_should_handle_arvo_specific_extensions(self) -> None:
        """to, accesscontrol, redirectto and executionunits are kept."""
        event = make(
            to="recipient", accesscontrol="public", redirectto="redirect-url", executionunits=5
        )
        assert event.to == "recipient"
        assert event.accesscontrol == "public"
        assert event.redirectto == "redirect-url"
        assert event.executionunits == 5

    def test_should_handle_opentelemetry_extensions(self) -> None:
        """traceparent and tracestate are kept without any format check."""
        event = make(traceparent="test-trace-parent", tracestate="test-trace-state")
        assert event.traceparent == "test-trace-parent"
        assert event.tracestate == "test-trace-state"

    def test_should_return_errors_when_invalid_data_is_provided(self) -> None:
        """A value with no JSON form in data (JS: a Symbol) makes creation fail."""
        with pytest.raises(ValidationError):
            make(data={"message": object()})

    def test_should_encode_uri_components_for_certain_fields(self) -> None:
        """Spaces are encoded; '/', '@', '?', '=' and accesscontrol stay as given."""
        event = make(
            source="test source with spaces",
            subject="test/subject",
            to="recipient@example.com",
            redirectto="https://example.com/redirect?param=value",
            accesscontrol="userid=1234",
            executionunits=100,
        )
        assert event.source == "test%20source%20with%20spaces"
        assert event.subject == "test/subject"
        assert event.to == "recipient@example.com"
        assert event.redirectto == "https://example.com/redirect?param=value"
        assert event.accesscontrol == "userid=1234"
        assert event.cloudevent["extensions"]["executionunits"] == 100

    def test_should_handle_parentid_extension(self) -> None:
        """parentid is kept."""
        assert make(parentid="parent-event-id").parentid == "parent-event-id"

    def test_should_encode_parentid_uri_components(self) -> None:
        """parentid is URI-encoded."""
        assert (
            make(parentid="parent event with spaces").parentid == "parent%20event%20with%20spaces"
        )

    def test_should_handle_null_parentid(self) -> None:
        """parentid defaults to None."""
        assert make().parentid is None
        assert make(parentid=None).parentid is None

    def test_should_include_parentid_in_cloudevent_extensions(self) -> None:
        """parentid is an extension in the CloudEvent view."""
        assert (
            make(parentid="parent-event-id").cloudevent["extensions"]["parentid"]
            == "parent-event-id"
        )

    def test_should_include_parentid_in_to_json_output(self) -> None:
        """to_dict carries parentid and domain, equal to the attributes."""
        event = make(parentid="parent-event-id", domain="test")
        assert event.to_dict()["parentid"] == event.parentid == "parent-event-id"
        assert event.to_dict()["domain"] == event.domain == "test"

    def test_should_include_parentid_in_opentelemetry_attributes(self) -> None:
        """The parentid is an otel attribute; a missing domain reads 'N/A'."""
        attributes = make(parentid="parent-event-id").otel_attributes
        assert attributes["cloudevents.arvo.event_parentid"] == "parent-event-id"
        assert attributes["cloudevents.arvo.event_domain"] == "N/A"

    def test_should_handle_parentid_with_other_arvo_extensions(self) -> None:
        """All extensions coexist, and the domain appears in the otel attributes."""
        event = make(
            parentid="parent-event-id",
            to="recipient",
            accesscontrol="public",
            redirectto="redirect-url",
            executionunits=5,
            domain="test.test",
        )
        assert (event.parentid, event.to, event.accesscontrol) == (
            "parent-event-id",
            "recipient",
            "public",
        )
        assert (event.redirectto, event.executionunits, event.domain) == (
            "redirect-url",
            5,
            "test.test",
        )
        assert event.otel_attributes["cloudevents.arvo.event_domain"] == "test.test"

    def test_should_throw_error_on_faulty_domain(self) -> None:
        """An uppercase domain is rejected with the character-set message."""
        with pytest.raises(
            ValidationError, match="Domain must contain only lowercase letters, numbers, and dots"
        ):
            make(domain="test.test.TEST")

    def test_should_throw_error_on_empty_string_of_domain(self) -> None:
        """An empty domain is rejected as empty."""
        with pytest.raises(ValidationError, match="Domain must be non-empty string"):
            make(domain="")


class TestEncoding:
    """Spec §1.2: which fields create_arvo_event URI-encodes, and how."""

    @pytest.mark.parametrize(
        "field", ["source", "subject", "to", "redirectto", "dataschema", "parentid"]
    )
    def test_encodes_every_uri_field_unconditionally(self, field: str) -> None:
        """Already-encoded text is encoded again ('%' becomes '%25')."""
        event = make(**{field: "a%20b"})
        assert getattr(event, field) == "a%2520b"

    def test_double_encodes_a_malformed_escape(self) -> None:
        """A malformed escape is made valid by encoding its '%'."""
        assert make(source="a%zz").source == "a%25zz"

    def test_keeps_uri_characters(self) -> None:
        """@ ? = / : # + pass through encodeURI unchanged."""
        event = make(source="https://x.com/a?b=c#d+e@f", to="recipient@example.com")
        assert event.source == "https://x.com/a?b=c#d+e@f"
        assert event.to == "recipient@example.com"

    def test_does_not_encode_accesscontrol(self) -> None:
        """accesscontrol is free text, never URI-checked or encoded."""
        assert make(accesscontrol="role admin|x").accesscontrol == "role admin|x"

    @pytest.mark.parametrize("field", ["redirectto", "dataschema", "parentid"])
    def test_empty_string_means_absent_for_optional_uri_fields(self, field: str) -> None:
        """'' for redirectto, dataschema or parentid becomes None."""
        assert getattr(make(**{field: ""}), field) is None

    def test_empty_to_falls_back_to_the_type(self) -> None:
        """'' for to means absent, so to becomes the type."""
        assert make(to="").to == "cmd.saad.test"

    def test_to_defaults_to_the_encoded_type(self) -> None:
        """The default 'to' is the type (types never need encoding)."""
        assert minimal().to == "com.test.event"

    @pytest.mark.parametrize("field", ["accesscontrol", "traceparent", "tracestate"])
    def test_empty_string_is_an_error_for_the_other_optional_fields(self, field: str) -> None:
        """'' for accesscontrol, traceparent or tracestate is rejected, not dropped."""
        with pytest.raises(ValidationError) as exc:
            make(**{field: ""})
        assert messages(exc, field) == ["Must be a non empty string, if defined"]

    def test_empty_domain_reports_both_domain_issues(self) -> None:
        """'' breaks both domain rules and both are reported (§0.3)."""
        with pytest.raises(ValidationError) as exc:
            make(domain="")
        assert messages(exc, "domain") == [
            "Domain must be non-empty string",
            "Domain must contain only lowercase letters, numbers, and dots",
        ]

    def test_lone_surrogate_in_a_uri_field_raises_value_error(self) -> None:
        """Text encodeURI cannot encode is refused with ValueError (JS: URIError)."""
        with pytest.raises(ValueError, match="URI malformed"):
            make(source="a\ud800")


class TestSerialisation:
    """Spec §1.3: key order, values and the JSON text."""

    def test_minimal_example_has_the_exact_keys_in_order(self) -> None:
        """to_dict lists core fields, then Arvo and OTel extensions, in the original's order."""
        assert list(minimal().to_dict()) == KEY_ORDER

    def test_minimal_example_values(self) -> None:
        """The minimal example's defaults match the original."""
        out = minimal().to_dict()
        assert UUID4.fullmatch(out.pop("id"))
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", out.pop("time"))
        assert out == {
            "source": "com.test.producer",
            "specversion": "1.0",
            "type": "com.test.event",
            "subject": "my-subject",
            "datacontenttype": ARVO_DATA_CONTENT_TYPE,
            "dataschema": None,
            "data": {"message": "hi"},
            "to": "com.test.event",
            "accesscontrol": None,
            "redirectto": None,
            "executionunits": None,
            "traceparent": None,
            "tracestate": None,
            "parentid": None,
            "domain": None,
        }

    def test_full_example_has_custom_extensions_between_core_and_arvo_fields(self) -> None:
        """Custom extensions come right after 'time', before 'to' (§1.3 observed order)."""
        keys = list(create_arvo_event(**FULL_INPUT, disable_telemetry=True).to_dict())
        assert keys == [*KEY_ORDER[:9], "custom1", "n", "b", "z", *KEY_ORDER[9:]]

    def test_full_example_json_is_byte_identical(self) -> None:
        """to_json() of the full example equals the original's JSON.stringify output."""
        event = create_arvo_event(**FULL_INPUT, disable_telemetry=True)
        assert event.to_json() == FULL_JSON
        assert str(event) == FULL_JSON

    def test_indented_json_matches_json_stringify_spacing(self) -> None:
        """to_json(indent) equals JSON.stringify(obj, null, indent)."""
        event = create_arvo_event(**FULL_INPUT, disable_telemetry=True)
        assert event.to_json(2) == json.dumps(json.loads(FULL_JSON), indent=2, ensure_ascii=False)

    def test_non_ascii_is_written_verbatim(self) -> None:
        """Like JSON.stringify, non-ASCII characters are not \\u-escaped."""
        assert '"message":"héllo ✓"' in make(data={"message": "héllo ✓"}).to_json()

    def test_cloudevent_splits_default_attributes_and_extensions(self) -> None:
        """cloudevent gives the nine default attributes and all extensions (custom first)."""
        view = create_arvo_event(**FULL_INPUT, disable_telemetry=True).cloudevent
        assert list(view["default"]) == KEY_ORDER[:9]
        assert list(view["extensions"]) == ["custom1", "n", "b", "z", *KEY_ORDER[9:]]
        assert view["extensions"]["parentid"] == "p%20q"

    def test_extensions_lists_only_custom_extensions(self) -> None:
        """.extensions holds the custom extensions only, not the eight known ones."""
        event = create_arvo_event(**FULL_INPUT, disable_telemetry=True)
        assert event.extensions == {"custom1": "x", "n": 1, "b": True, "z": None}

    def test_from_json_rebuilds_an_equal_event(self) -> None:
        """from_json(to_json()) is the identity (deliberate departure from the original)."""
        event = create_arvo_event(**FULL_INPUT, disable_telemetry=True)
        again = ArvoEvent.from_json(event.to_json())
        assert again == event
        assert again.to_json() == FULL_JSON

    def test_from_json_accepts_bytes_and_mappings(self) -> None:
        """from_json takes text, bytes or an already parsed object."""
        event = minimal()
        assert ArvoEvent.from_json(event.to_json().encode()) == event
        assert ArvoEvent.from_json(event.to_dict()) == event
        assert ArvoEvent.from_dict(event.to_dict()) == event

    def test_from_dict_turns_unknown_keys_into_custom_extensions(self) -> None:
        """Top-level keys that are not ArvoEvent fields become custom extensions."""
        event = ArvoEvent.from_dict({**minimal().to_dict(), "myext": "v"})
        assert event.extensions == {"myext": "v"}

    def test_from_dict_requires_to_for_arvo_content(self) -> None:
        """A JSON object without 'to' and with the Arvo content type is rejected."""
        body = minimal().to_dict()
        del body["to"]
        with pytest.raises(ValidationError, match="The ArvoEvent must have a non-empty 'to' field"):
            ArvoEvent.from_dict(body)

    def test_from_dict_rejects_non_objects(self) -> None:
        """An event is a JSON object; anything else is a TypeError naming the type."""
        with pytest.raises(TypeError, match="got list"):
            ArvoEvent.from_json("[1, 2]")

    def test_from_json_rejects_malformed_json(self) -> None:
        """Text that is not JSON raises json.JSONDecodeError (a ValueError)."""
        with pytest.raises(ValueError):
            ArvoEvent.from_json("{not json")

    def test_an_event_pickles_as_its_field_values(self) -> None:
        """Ray pickles events on every hop: the usual set fields are not spelt out, and the
        copy is the same event, set fields included."""
        event = make(data={"n": [1, 2.5, None]}, extensions={"tenant": "acme"})
        usual = make()
        for original in (event, usual):
            again = pickle.loads(pickle.dumps(original, protocol=5))
            assert again == original and again.model_fields_set == original.model_fields_set
            assert again.to_json() == original.to_json()
        assert b"specversion" in pickle.dumps(event) and b"specversion" not in pickle.dumps(usual)

    def test_an_event_built_without_validation_pickles_as_pydantic_does(self) -> None:
        """model_construct may leave fields out; such an event still round-trips."""
        partial = ArvoEvent.model_construct(source="com.test.a", id="e1")
        again = pickle.loads(pickle.dumps(partial))
        assert (again.source, again.id) == ("com.test.a", "e1")
        assert again.model_fields_set == partial.model_fields_set

    def test_create_arvo_event_of_to_dict_is_not_an_identity(self) -> None:
        """Feeding to_dict() back into create_arvo_event re-encodes URI fields; use from_dict."""
        event = make(source="a b")
        fields = {k: v for k, v in event.to_dict().items() if k != "specversion"}
        again = create_arvo_event(**fields, disable_telemetry=True)
        assert event.source == "a%20b"
        assert again.source == "a%2520b"
        assert ArvoEvent.from_dict(event.to_dict()).source == "a%20b"


class TestOtelAttributes:
    """Spec §1.5."""

    def test_minimal_event_attributes_use_na_for_missing_values(self) -> None:
        """Missing values read 'N/A'; accesscontrol, trace headers and data are not exported."""
        event = minimal()
        assert event.otel_attributes == {
            "cloudevents.event_id": event.id,
            "cloudevents.event_source": "com.test.producer",
            "cloudevents.event_spec_version": "1.0",
            "cloudevents.event_subject": "my-subject",
            "cloudevents.event_type": "com.test.event",
            "cloudevents.event_time": event.time,
            "cloudevents.event_datacontenttype": ARVO_DATA_CONTENT_TYPE,
            "cloudevents.event_dataschema": "N/A",
            "cloudevents.arvo.event_redirectto": "N/A",
            "cloudevents.arvo.event_to": "com.test.event",
            "cloudevents.arvo.event_executionunits": "N/A",
            "cloudevents.arvo.event_parentid": "N/A",
            "cloudevents.arvo.event_domain": "N/A",
        }

    def test_zero_execution_units_stay_zero(self) -> None:
        """Extensions use '??', so executionunits 0 is exported as 0, not 'N/A'."""
        assert make(executionunits=0).otel_attributes["cloudevents.arvo.event_executionunits"] == 0

    def test_full_event_attributes(self) -> None:
        """Every present value is exported as is."""
        attributes = create_arvo_event(**FULL_INPUT, disable_telemetry=True).otel_attributes
        assert attributes["cloudevents.event_dataschema"] == "#/a%20b/1.0.0"
        assert attributes["cloudevents.arvo.event_redirectto"] == "x%20y"
        assert attributes["cloudevents.arvo.event_executionunits"] == 1.5
        assert attributes["cloudevents.arvo.event_domain"] == "a.b"
        assert not any(
            "accesscontrol" in key or "trace" in key or "custom1" in key for key in attributes
        )


class TestTimeValidation:
    """Spec §1.6: zod datetime({offset: true})."""

    @pytest.mark.parametrize(
        "value",
        [
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.123456789Z",
            "2024-01-01T00:00Z",
            "2024-01-01T00:00:00+05:00",
            "2024-01-01T00:00:00+0500",
            "2024-01-01T00:00:00.000-03:30",
            "2024-02-29T23:59:59Z",
            "2000-02-29T00:00:00Z",
        ],
    )
    def test_accepted_time_formats(self, value: str) -> None:
        """ISO date-times with Z or a +HH:MM/+HHMM offset, seconds and fraction optional."""
        assert make(time=value).time == value

    @pytest.mark.parametrize(
        "value",
        [
            "2024-01-01T00:00:00+05",
            "2024-01-01T00:00:00z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00.Z",
            "٢٠٢٤-01-01T00:00:00Z",
            "not a date",
        ],
    )
    def test_rejected_time_formats(self, value: str) -> None:
        """Short offsets, lowercase z, spaces, missing offsets and impossible dates fail."""
        with pytest.raises(ValidationError) as exc:
            make(time=value)
        assert messages(exc, "time") == ["Invalid datetime"]


class TestFieldValidation:
    """The remaining constructor rules (§1.1, §1.6)."""

    def test_rejects_a_non_json_content_type(self) -> None:
        """The content type must mention JSON; the message is the original's."""
        with pytest.raises(ValidationError) as exc:
            make(datacontenttype="application/xml")
        assert messages(exc, "datacontenttype") == [
            "The content type must be a valid JSON e.g. it must contain\n"
            "'application/cloudevents+json' or 'application/json'.\n"
            "Arvo recommends using 'application/cloudevents+json;charset=UTF-8;profile=arvo'"
        ]

    def test_application_json_allows_a_missing_to(self) -> None:
        """The 'to' requirement applies only to the exact Arvo content type."""
        event = ArvoEvent(
            source="a",
            type="com.a.b",
            subject="s",
            data={},
            to=None,
            datacontenttype="application/json",
        )
        assert event.to is None

    def test_arvo_content_type_requires_to(self) -> None:
        """With the Arvo content type, to=None is refused with the original's message."""
        with pytest.raises(ValueError, match="The ArvoEvent must have a non-empty 'to' field"):
            ArvoEvent(source="a", type="com.a.b", subject="s", data={}, to=None)

    def test_constructor_defaults_to_to_the_type_when_absent(self) -> None:
        """Leaving 'to' out of the constructor addresses the event to its type."""
        assert ArvoEvent(source="a", type="com.a.b", subject="s", data={}).to == "com.a.b"

    @pytest.mark.parametrize(
        "data",
        [
            {"f": lambda: 1},
            {"s": {1, 2}},
            {"n": float("nan")},
            {"i": float("inf")},
            {"b": b"x"},
            {"c": 1j},
            {"deep": [{"k": object()}]},
            {"nested": {1: "int key"}},
        ],
        ids=[
            "function",
            "set",
            "nan",
            "inf",
            "bytes",
            "complex",
            "nested-object",
            "nested-int-key",
        ],
    )
    def test_rejects_data_without_an_exact_json_form(self, data: dict[Any, Any]) -> None:
        """Functions, sets, NaN, infinities, bytes and non-string keys are not JSON data."""
        with pytest.raises(ValidationError) as exc:
            make(data=data)
        (message,) = messages(exc, "data")
        assert message.startswith("The Arvo data object must be a JSON serializable object")

    def test_rejects_non_string_top_level_keys(self) -> None:
        """data is a JSON object, so its keys are strings."""
        with pytest.raises(ValidationError) as exc:
            make(data={1: "int key"})
        assert exc.value.errors()[0]["loc"][0] == "data"

    def test_rejects_cyclic_data(self) -> None:
        """A self-referencing structure fails validation instead of recursing forever."""
        data: dict[str, Any] = {}
        data["self"] = data
        with pytest.raises(ValidationError, match="JSON serializable"):
            make(data=data)

    @pytest.mark.parametrize(
        "data", [[1, 2], "text", None, 5], ids=["array", "string", "null", "number"]
    )
    def test_data_must_be_an_object(self, data: Any) -> None:
        """Arrays, strings and other non-objects are refused."""
        with pytest.raises(ValidationError) as exc:
            make(data=data)
        assert exc.value.errors()[0]["loc"] == ("data",)

    def test_data_is_a_deep_copy(self) -> None:
        """The event holds its own copy of data; later changes to the input do not leak in."""
        payload: dict[str, Any] = {"nested": {"n": 1}, "items": [1]}
        event = make(data=payload)
        payload["nested"]["n"] = 2
        payload["items"].append(2)
        assert event.data == {"nested": {"n": 1}, "items": [1]}

    def test_tuples_in_data_become_lists(self) -> None:
        """Tuples are JSON arrays, stored as lists."""
        assert make(data={"t": (1, 2)}).data == {"t": [1, 2]}

    def test_rejects_extension_values_that_are_not_scalars(self) -> None:
        """Extension values must be string, boolean, number or null (§1.6)."""
        with pytest.raises(ValidationError):
            make(extensions={"k": {"a": 1}})

    def test_rejects_extension_keys_with_other_characters(self) -> None:
        """Extension keys are lowercase letters and digits only; the message is the original's."""
        with pytest.raises(ValidationError) as exc:
            make(extensions={"Bad_Key": 1})
        assert messages(exc, "extensions") == [
            "In compliance with CloudEvent specs, the extension keys must contain only\n"
            "lowercase letters and numbers, with no spaces or other characters"
        ]

    @pytest.mark.parametrize("key", ["id", "type", "source", "data", "to", "domain", "parentid"])
    def test_rejects_extension_keys_that_shadow_fields(self, key: str) -> None:
        """Deliberate departure: reserved names cannot be custom extensions (no shadowing)."""
        with pytest.raises(ValidationError, match=f"The extension key '{key}' is reserved"):
            make(extensions={key: "zzz"})

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=repr)
    def test_rejects_non_finite_extension_numbers(self, value: float) -> None:
        """NaN and infinities have no JSON form, so extensions cannot hold them."""
        with pytest.raises(ValidationError, match="must be a finite number"):
            make(extensions={"x": value})

    @pytest.mark.parametrize("value", [0, -1, 1.5, 10**6])
    def test_accepts_zero_negative_and_fractional_execution_units(self, value: float) -> None:
        """executionunits is any finite number."""
        assert make(executionunits=value).executionunits == value

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=repr)
    def test_rejects_non_finite_execution_units(self, value: float) -> None:
        """NaN is rejected (as in zod); infinities too (departure: they have no JSON form)."""
        with pytest.raises(ValidationError) as exc:
            make(executionunits=value)
        assert messages(exc, "executionunits") == [f"Expected a finite number, received {value!r}"]

    @pytest.mark.parametrize("value", [True, "5"], ids=repr)
    def test_rejects_execution_units_that_are_not_numbers(self, value: Any) -> None:
        """Booleans and numeric strings are not numbers."""
        with pytest.raises(ValidationError):
            make(executionunits=value)

    @pytest.mark.parametrize("value", ["test.event", "test", "com.Test.event", "com.test_x.event"])
    def test_rejects_types_that_are_not_reverse_dns(self, value: str) -> None:
        """The type must be a reverse-DNS name (§0.2)."""
        with pytest.raises(ValidationError) as exc:
            make(type=value)
        assert messages(exc, "type") == ["Type should be prefixed with a reverse-DNS name"]

    def test_rejects_another_spec_version(self) -> None:
        """specversion must be '1.0'."""
        with pytest.raises(ValidationError) as exc:
            make(specversion="2.0")
        assert messages(exc, "specversion") == [
            "Spec version must be '1.0' for this version of the specification"
        ]

    @pytest.mark.parametrize(
        ("field", "message"),
        [
            ("id", "ID must be a non-empty string"),
            ("source", "Source must be a non-empty reference of the producer of the event"),
            ("subject", "Subject must be a non-empty string"),
        ],
    )
    def test_rejects_empty_required_strings(self, field: str, message: str) -> None:
        """id, source and subject must be non-empty."""
        body = {**minimal().to_dict(), field: ""}
        with pytest.raises(ValidationError) as exc:
            ArvoEvent.from_dict(body)
        assert messages(exc, field) == [message]

    @pytest.mark.parametrize(
        ("field", "message"),
        [
            ("source", "The source must be a properly encoded URI"),
            ("subject", "The subject must be a properly encoded URI"),
            ("to", "The 'to' must be a properly encoded URI"),
            ("redirectto", "The 'redirectto' must be a properly encoded URI"),
            ("dataschema", "The dataschema must be a properly encoded URI"),
        ],
    )
    def test_constructor_rejects_unencoded_uri_fields(self, field: str, message: str) -> None:
        """The constructor validates URI fields as given (it never encodes them)."""
        body = {**minimal().to_dict(), field: "a b"}
        with pytest.raises(ValidationError) as exc:
            ArvoEvent.from_dict(body)
        assert messages(exc, field) == [message]

    def test_reports_every_broken_field_at_once(self) -> None:
        """One ValidationError lists all problems with their field paths."""
        body = {
            **minimal().to_dict(),
            "type": "bad",
            "source": "a b",
            "domain": "X",
            "time": "never",
        }
        with pytest.raises(ValidationError) as exc:
            ArvoEvent.from_dict(body)
        assert {issue["loc"] for issue in exc.value.errors()} == {
            ("type",),
            ("source",),
            ("domain",),
            ("time",),
        }

    def test_rejects_unknown_constructor_fields(self) -> None:
        """Deliberate departure: unknown constructor keys are an error, not silently dropped."""
        with pytest.raises(ValidationError):
            ArvoEvent(source="a", type="com.a.b", subject="s", data={}, unknown="x")  # type: ignore[call-arg]


class TestImmutability:
    def test_fields_cannot_be_assigned(self) -> None:
        """The event is frozen."""
        event = minimal()
        with pytest.raises(ValidationError, match="frozen"):
            event.id = "x"  # type: ignore[misc]

    def test_repr_names_type_source_and_id(self) -> None:
        """repr shows the identifying fields, shortening long subjects."""
        event = make(subject="s" * 100)
        text = repr(event)
        assert text.startswith(
            "ArvoEvent(type='cmd.saad.test', source='test.producer', to='worker', id="
        )
        assert "s" * 24 + "…" in text
        assert "s" * 25 not in text

    def test_default_time_is_current_utc(self) -> None:
        """Without 'time' the event gets the current UTC time in the original's format."""
        from datetime import UTC, datetime, timedelta

        stamp = datetime.fromisoformat(minimal().time)
        assert abs(stamp - datetime.now(UTC)) < timedelta(seconds=5)
