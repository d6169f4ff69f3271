"""The CloudEvents HTTP binding: every mode in, every bad request refused whole with its status."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from arvo_ray.core import ArvoEvent, create_arvo_event_factory
from arvo_ray.examples.number_domain import increment_contract
from arvo_ray.ingress import IngressError, event_to_http, events_from_http


def increment(value: int = 1, **fields: Any) -> ArvoEvent:
    factory = create_arvo_event_factory(increment_contract.version("0.0.1"))
    return factory.accepts(source="com.test.client", data={"init": value, "increment": 2}, **fields)


def sdk_event(event: ArvoEvent) -> CloudEvent:
    """The same event as the CNCF SDK's CloudEvent (absent extensions left out)."""
    attributes = {k: v for k, v in event.to_dict().items() if k != "data" and v is not None}
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    return CloudEvent(attributes=attributes, data=event.data)


def same_event(parsed: ArvoEvent, sent: ArvoEvent) -> bool:
    """Equal in every attribute; the time as an instant (the SDK writes it its own way)."""
    times = datetime.fromisoformat(parsed.time), datetime.fromisoformat(sent.time)
    return times[0] == times[1] and {**parsed.to_dict(), "time": None} == {
        **sent.to_dict(),
        "time": None,
    }


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def refused(headers: dict[str, str], body: bytes | str) -> IngressError:
    with pytest.raises(IngressError) as caught:
        events_from_http(headers, body.encode() if isinstance(body, str) else body)
    return caught.value


def test_structured_mode_from_the_cncf_sdk_gives_the_same_event() -> None:
    event = increment(traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    message = ce_http.to_structured(sdk_event(event), JSONFormat())
    [parsed] = events_from_http(lower(dict(message.headers)), message.body)
    assert same_event(parsed, event)


def test_binary_mode_from_the_cncf_sdk_gives_the_same_event() -> None:
    event = increment(subject="a subject with spaces, % and ünïcode")
    message = ce_http.to_binary(sdk_event(event), JSONFormat())
    headers = lower(dict(message.headers))
    assert headers["ce-specversion"] == "1.0"
    [parsed] = events_from_http(headers, message.body)
    assert same_event(parsed, event)


def test_binary_mode_takes_the_w3c_traceparent_header() -> None:
    event = increment()
    message = ce_http.to_binary(sdk_event(event), JSONFormat())
    headers = {
        **lower(dict(message.headers)),
        "traceparent": "00-" + "c" * 32 + "-" + "d" * 16 + "-01",
    }
    [parsed] = events_from_http(headers, message.body)
    assert parsed.traceparent == headers["traceparent"]


def test_a_batch_keeps_its_order() -> None:
    events = [increment(value) for value in range(5)]
    body = "[" + ",".join(e.to_json() for e in events) + "]"
    parsed = events_from_http({"content-type": "application/cloudevents-batch+json"}, body.encode())
    assert [p.to_dict() for p in parsed] == [e.to_dict() for e in events]


def test_a_cloudevent_without_to_goes_to_its_type() -> None:
    fields = increment().to_dict()
    del fields["to"]
    [parsed] = events_from_http(
        {"content-type": "application/cloudevents+json"}, json.dumps(fields).encode()
    )
    assert parsed.to == parsed.type == "com.increment.number"


def test_json_data_in_base64_is_decoded() -> None:
    fields = increment(7).to_dict()
    fields["data_base64"] = base64.b64encode(json.dumps(fields.pop("data")).encode()).decode()
    [parsed] = events_from_http(
        {"content-type": "application/cloudevents+json"}, json.dumps(fields).encode()
    )
    assert parsed.data == {"init": 7, "increment": 2}


def test_event_to_http_round_trips() -> None:
    event = increment(3)
    headers, body = event_to_http(event)
    assert events_from_http(headers, body)[0].to_dict() == event.to_dict()


@pytest.mark.parametrize(
    ("content_type", "body", "status", "words"),
    [
        ("application/cloudevents+json", "{not json", 400, "not valid JSON"),
        ("application/cloudevents+json", "[1]", 400, "must be a JSON object"),
        ("application/cloudevents-batch+json", "[]", 400, "batch is empty"),
        ("application/cloudevents-batch+json", "{}", 400, "JSON array"),
        ("text/plain", "hello", 415, "Unsupported content type text/plain"),
        ("", "{}", 415, "Unsupported content type"),
        ("application/cloudevents+json", b"\xff\xfe", 400, "not valid JSON"),
    ],
)
def test_malformed_requests_get_4xx_naming_the_problem(
    content_type: str, body: str | bytes, status: int, words: str
) -> None:
    error = refused({"content-type": content_type}, body)
    assert error.status == status
    assert words in error.message


@pytest.mark.parametrize("attribute", ["id", "source", "type", "subject", "specversion"])
def test_a_missing_required_attribute_is_named(attribute: str) -> None:
    fields = increment().to_dict()
    del fields[attribute]
    error = refused({"content-type": "application/cloudevents+json"}, json.dumps(fields))
    assert error.status == 400
    assert f"lacks the required attribute(s) {attribute}" in error.message


def test_one_bad_event_refuses_the_whole_batch_and_names_its_index() -> None:
    good = increment().to_dict()
    bad = {**increment().to_dict(), "type": "no-dots"}
    error = refused({"content-type": "application/cloudevents-batch+json"}, json.dumps([good, bad]))
    assert error.status == 400
    assert error.message.startswith("Event 1 of the batch")


def test_a_batch_with_a_repeated_id_is_refused() -> None:
    event = increment().to_dict()
    error = refused(
        {"content-type": "application/cloudevents-batch+json"}, json.dumps([event, event])
    )
    assert error.status == 400
    assert "repeats the id" in error.message


def test_a_batch_larger_than_the_limit_is_refused() -> None:
    body = "[" + ",".join(increment().to_json() for _ in range(3)) + "]"
    with pytest.raises(IngressError, match="at most 2") as caught:
        events_from_http(
            {"content-type": "application/cloudevents-batch+json"}, body.encode(), max_events=2
        )
    assert caught.value.status == 400


def test_binary_mode_with_non_json_data_is_unsupported() -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "com.x",
        "ce-type": "com.increment.number",
        "ce-subject": "s",
        "content-type": "application/octet-stream",
    }
    error = refused(headers, b"\x00\x01")
    assert error.status == 415
    assert "application/octet-stream" in error.message
