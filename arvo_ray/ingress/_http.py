"""The CloudEvents HTTP binding (v1.0.2): an HTTP request's body and headers to ArvoEvents.

Three modes, told apart the way the binding says:

* **binary**: a ``ce-specversion`` header; attributes come from ``ce-*`` headers
  (percent-decoded), ``datacontenttype`` from ``Content-Type`` and the data from the body;
* **batched**: ``Content-Type: application/cloudevents-batch+json``, a JSON array of events;
* **structured**: ``Content-Type: application/cloudevents+json``, one JSON event.

The mode is decided by the ``ce-specversion`` header first, because an Arvo event's own
``datacontenttype`` (``application/cloudevents+json;...;profile=arvo``) would otherwise make
its binary form look structured.

Everything that is wrong with a request raises :class:`IngressError` with the HTTP status it
deserves and a message that names the problem, before any event is accepted: a request is
taken whole or not at all. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError

from arvo_ray.core import ArvoEvent, format_validation_error
from arvo_ray.core.kit import quote

__all__ = ["IngressError", "events_from_http", "event_to_http"]

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("id", "source", "specversion", "type", "subject")
"""CloudEvents' required attributes, and Arvo's ``subject``: an ingress never makes them up."""


class IngressError(Exception):
    """A request the ingress refuses, with its HTTP status (always 4xx for bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type in ("application/json", "text/json") or media_type.endswith("+json")


def _decode_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise IngressError(400, f"The {what} is not valid JSON: {exc}") from exc


def _event(value: object, where: str) -> ArvoEvent:
    """One structured-mode event object, validated as an ArvoEvent.

    A CloudEvent without Arvo's ``to`` extension is addressed to its ``type`` (what Arvo's
    event factories do for events a contract accepts).
    """
    if not isinstance(value, Mapping):
        raise IngressError(400, f"{where} must be a JSON object, got {type(value).__name__}")
    fields = dict(value)
    missing = [name for name in REQUIRED if fields.get(name) in (None, "")]
    if missing:
        raise IngressError(400, f"{where} lacks the required attribute(s) {', '.join(missing)}")
    if "data_base64" in fields:
        encoded = fields.pop("data_base64")
        if not _is_json(_media_type(fields.get("datacontenttype"))):
            raise IngressError(
                415,
                f"{where} carries binary data of type {quote(str(fields.get('datacontenttype')))}:"
                " Arvo event data is a JSON object",
            )
        try:
            fields["data"] = _decode_json(base64.b64decode(str(encoded), validate=True), "data")
        except binascii.Error as exc:
            raise IngressError(400, f"{where} has data_base64 that is not base64: {exc}") from exc
    if not fields.get("to") and isinstance(fields.get("type"), str):
        fields["to"] = fields["type"]
    try:
        return ArvoEvent.from_dict(fields)
    except ValidationError as exc:
        problem = format_validation_error(exc, root="event")
    except (TypeError, ValueError) as exc:
        problem = str(exc)
    event_id = fields.get("id")
    shown = f" (id={quote(str(event_id))})" if event_id is not None else ""
    raise IngressError(400, f"{where}{shown} is not a valid ArvoEvent: {problem}")


def _binary(headers: Mapping[str, str], body: bytes) -> ArvoEvent:
    fields: dict[str, Any] = {
        key[3:]: unquote(value) for key, value in headers.items() if key.startswith("ce-")
    }
    media_type = _media_type(headers.get("content-type"))
    if body:
        if not _is_json(media_type):
            raise IngressError(
                415,
                f"Binary-mode data of type {quote(media_type or '(none)')} is not supported: "
                "Arvo event data is a JSON object (send application/json)",
            )
        fields["data"] = _decode_json(body, "body")
    if headers.get("content-type"):
        fields["datacontenttype"] = headers["content-type"]
    if "traceparent" not in fields and headers.get("traceparent"):
        fields["traceparent"] = headers["traceparent"]
        fields.setdefault("tracestate", headers.get("tracestate"))
    return _event(fields, "The binary-mode event")


def events_from_http(
    headers: Mapping[str, str], body: bytes, *, max_events: int = 10_000
) -> list[ArvoEvent]:
    """The events of one ``POST``, validated; ``headers`` with lower-case names.

    Raises:
        IngressError: 415 for a content type the binding does not define, 400 for invalid
            JSON, a missing or invalid attribute, an empty batch or a batch larger than
            ``max_events``, or two events with the same id in one batch.
    """
    if "ce-specversion" in headers:
        return [_binary(headers, body)]
    media_type = _media_type(headers.get("content-type"))
    if media_type == STRUCTURED:
        return [_event(_decode_json(body, "body"), "The event")]
    if media_type != BATCH:
        raise IngressError(
            415,
            f"Unsupported content type {quote(media_type or '(none)')}: send "
            f"{STRUCTURED} (structured mode), {BATCH} (a batch), or the ce-* headers of "
            "binary mode",
        )
    items = _decode_json(body, "body")
    if not isinstance(items, list):
        raise IngressError(400, f"A batch is a JSON array of events, got {type(items).__name__}")
    if not items:
        raise IngressError(400, "The batch is empty")
    if len(items) > max_events:
        raise IngressError(400, f"The batch holds {len(items)} events; at most {max_events}")
    events = [_event(item, f"Event {index} of the batch") for index, item in enumerate(items)]
    seen: set[str] = set()
    for index, event in enumerate(events):
        if event.id in seen:
            raise IngressError(
                400,
                f"Event {index} of the batch repeats the id {quote(event.id)} of an earlier one",
            )
        seen.add(event.id)
    return events


def event_to_http(event: ArvoEvent) -> tuple[dict[str, str], bytes]:
    """Structured-mode headers and body of ``event``."""
    return {"content-type": f"{STRUCTURED}; charset=utf-8"}, event.to_json().encode("utf-8")
