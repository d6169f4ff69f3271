"""``ArvoEvent``: a CloudEvents 1.0 event with Arvo's routing, accounting and tracing extensions.

The event is an immutable pydantic model. Its JSON (``to_dict``/``to_json``) has exactly the
keys, key order and value types of the TypeScript original's ``toJSON()``, so Python and
TypeScript Arvo services can exchange events through any broker. ``ArvoEvent(...)`` validates
fields as given (it is how events are rebuilt from JSON); :func:`create_arvo_event` is the
friendly constructor that applies the original's defaults (``to`` = ``type``, URI-encoding,
ids, time stamps, trace headers).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import math
import operator
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple, SupportsIndex, TypedDict

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from arvo_ray.core import otel
from arvo_ray.core._js_json import (
    is_js_plain,
    is_js_plain_float,
    js_stringify,
    js_stringify_checked,
    js_trim,
)
from arvo_ray.core._primitives import (
    ARVO_DATA_CONTENT_TYPE,
    DOMAIN_PATTERN,
    EVENT_TYPE_PATTERN,
    create_timestamp,
    is_valid_timestamp,
    json_copy,
    new_uuid4,
)
from arvo_ray.core._uri import encode_uri, is_plain_uri, validate_uri

__all__ = [
    "ArvoEvent",
    "ArvoEventId",
    "create_arvo_event",
    "create_arvo_event_id",
    "parse_arvo_event_id",
]

_logger = logging.getLogger("arvo_ray")

ExtensionValue = StrictStr | StrictBool | StrictInt | StrictFloat | None

CORE_FIELDS = (
    "id",
    "source",
    "specversion",
    "type",
    "subject",
    "datacontenttype",
    "dataschema",
    "data",
    "time",
)
ARVO_EXTENSION_FIELDS = (
    "to",
    "accesscontrol",
    "redirectto",
    "executionunits",
    "traceparent",
    "tracestate",
    "parentid",
    "domain",
)
RESERVED_NAMES = frozenset((*CORE_FIELDS, *ARVO_EXTENSION_FIELDS, "extensions"))
_EXTENSION_KEY = re.compile(r"[a-z0-9]+")


class ArvoEventId(TypedDict):
    """How an event id is chosen: ``DEVELOPER_MANAGED`` keeps ``value``; ``ARVO_MANAGED`` wraps it.

    Example:
        >>> create_arvo_event_id({"deduplication": "DEVELOPER_MANAGED", "value": "order-42"})
        'order-42'
        >>> key: ArvoEventId = {"deduplication": "ARVO_MANAGED", "value": "order-42"}
        >>> parse_arvo_event_id(create_arvo_event_id(key))[0]["value"]
        'order-42'
    """

    deduplication: Literal["DEVELOPER_MANAGED", "ARVO_MANAGED"]
    value: str


def create_arvo_event_id(id: ArvoEventId | Mapping[str, str] | str | None = None) -> str:
    """Make an event id.

    * ``None`` or a blank value: a fresh uuid4.
    * a plain string, or ``{"deduplication": "DEVELOPER_MANAGED", "value": v}``: ``v`` trimmed
      as JavaScript's ``trim()`` does (see :func:`js_trim`; the original ignores plain
      strings, accepting them is the Python convenience).
    * ``{"deduplication": "ARVO_MANAGED", "value": v}``: base64(zlib(JSON ``{"uuid", "value"}``)),
      unique per call yet carrying ``v`` for de-duplication (see :func:`parse_arvo_event_id`).
    """
    if id is None:
        return new_uuid4()
    if isinstance(id, str):
        return js_trim(id) or new_uuid4()
    value = js_trim(str(id.get("value", "")))
    if not value:
        return new_uuid4()
    mode = id.get("deduplication")
    if mode == "DEVELOPER_MANAGED":
        return value
    if mode == "ARVO_MANAGED":
        payload = js_stringify({"uuid": new_uuid4(), "value": value})
        return base64.b64encode(zlib.compress(payload.encode("utf-8"))).decode("ascii")
    raise ValueError(
        f"Unknown id deduplication {mode!r}; use 'DEVELOPER_MANAGED' or 'ARVO_MANAGED'"
    )


def parse_arvo_event_id(id: str) -> tuple[dict[str, str], None] | tuple[str, str]:
    """Decode an ``ARVO_MANAGED`` id: ``({"uuid", "value"}, None)``, or ``(id, reason)``; never raises."""
    try:
        content = json.loads(zlib.decompress(base64.b64decode(id, validate=False)).decode("utf-8"))
    except Exception as exc:
        return id, f"Not an Arvo-managed id: {exc}"
    if (
        not isinstance(content, dict)
        or not isinstance(content.get("uuid"), str)
        or not isinstance(content.get("value"), str)
    ):
        return id, "Not an Arvo-managed id: unexpected content"
    return {"uuid": content["uuid"], "value": content["value"]}, None


def _error(field: str, code: str, message: str, value: Any, **ctx: Any) -> InitErrorDetails:
    return {
        "type": PydanticCustomError(code, message, ctx or None),
        "loc": (field,),
        "input": value,
    }


class _NotJson(NamedTuple):
    """Why an event's ``data`` has no JSON form, and the value to report for it."""

    shown: Any
    reason: str


def _json_data(data: dict[str, Any]) -> dict[str, Any] | _NotJson:
    """``data`` as the plain JSON copy the event keeps, or why it cannot be one."""
    try:
        copied: dict[str, Any] = json_copy(data)
    except (TypeError, ValueError) as exc:
        return _NotJson(data, str(exc))
    except RecursionError:
        # A cyclic (or absurdly deep) structure: JSON.stringify throws on it too.
        return _NotJson("<cyclic or too deeply nested>", "data is cyclic or too deeply nested")
    return copied


_DATA_FIELD: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def _with_json_data(values: Any) -> tuple[Any, _NotJson | None]:
    """The constructor's input with ``data`` replaced by its plain JSON copy, as a new mapping.

    Unless ``data`` is a plain dict that copies as is, it first gets the field's own type
    check, so a value the field rejects is passed on unchanged for the field to report.
    Returns the input unchanged, and why, when ``data`` has the right type but no JSON form.
    """
    if type(values) is dict and type(values.get("data")) is dict:
        # The common case: the field's check would only make a shallow copy of this dict.
        try:
            return {**values, "data": json_copy(values["data"])}, None
        except (TypeError, ValueError, RecursionError):
            pass  # no JSON form: the path below says why
    if not isinstance(values, Mapping) or "data" not in values:
        return values, None
    try:
        data = _DATA_FIELD.validate_python(values["data"])
    except ValidationError:
        return values, None
    copied = _json_data(data)
    if isinstance(copied, _NotJson):
        return values, copied
    return {**values, "data": copied}, None


# Each rule reads the event's field values (``data`` is a ``_NotJson`` when it has no JSON
# form) and returns the problems it finds; errors are reported in the order of ``_RULES``.
_Rule = Callable[[Mapping[str, Any]], Sequence[InitErrorDetails]]

_NON_EMPTY = {
    "id": "ID must be a non-empty string",
    "source": "Source must be a non-empty reference of the producer of the event",
    "subject": "Subject must be a non-empty string",
    "dataschema": "Must be a non empty string, if defined",
    "to": "Must be a non empty string, if defined",
    "redirectto": "Must be a non empty string, if defined",
    "accesscontrol": "Must be a non empty string, if defined",
    "parentid": "Must be a non empty string, if defined",
    "traceparent": "Must be a non empty string, if defined",
    "tracestate": "Must be a non empty string, if defined",
}
_URI_FIELDS = (
    ("source", "The source must be a properly encoded URI"),
    ("subject", "The subject must be a properly encoded URI"),
    ("dataschema", "The dataschema must be a properly encoded URI"),
    ("to", "The 'to' must be a properly encoded URI"),
    ("redirectto", "The 'redirectto' must be a properly encoded URI"),
)
_CONTENT_TYPE_MESSAGE = (
    "The content type must be a valid JSON e.g. it must contain\n"
    "'application/cloudevents+json' or 'application/json'.\n"
    f"Arvo recommends using '{ARVO_DATA_CONTENT_TYPE}'"
)
_EXTENSION_KEY_MESSAGE = (
    "In compliance with CloudEvent specs, the extension keys must contain only\n"
    "lowercase letters and numbers, with no spaces or other characters"
)
_RESERVED_KEY_MESSAGE = (
    "The extension key '{key}' is reserved for an ArvoEvent field; pass it as that field instead"
)


_NON_EMPTY_VALUES = operator.itemgetter(*_NON_EMPTY)
_URI_VALUES = operator.itemgetter(*(field for field, _ in _URI_FIELDS))


def _non_empty_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    if "" not in _NON_EMPTY_VALUES(values):  # the common case, checked in one C call
        return ()
    return [
        _error(field, "string_too_short", message, "")
        for field, message in _NON_EMPTY.items()
        if values[field] == ""
    ]


def _uri_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    if is_plain_uri("".join(filter(None, _URI_VALUES(values)))):  # the common case, in C
        return ()
    return [
        _error(field, "invalid_uri", message, values[field])
        for field, message in _URI_FIELDS
        if values[field] and not validate_uri(values[field])
    ]


def _id_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    # Answers carry the id as their `parentid`, a URI: text that is not Unicode (a lone
    # surrogate, which JSON can spell) could never be answered, so it is refused here.
    id_ = values["id"]
    if id_.isascii():
        return ()
    try:
        id_.encode("utf-8")
    except UnicodeEncodeError:
        return [_error("id", "invalid_text", "The id must be Unicode text", id_)]
    return ()


def _specversion_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    version = values["specversion"]
    if version == "1.0":
        return ()
    message = "Spec version must be '1.0' for this version of the specification"
    return [_error("specversion", "invalid_literal", message, version)]


@functools.lru_cache(maxsize=1024)
def _is_known_event_type(type_: str) -> bool:
    # A service sees few event types, each in many events: the check is remembered per type.
    return EVENT_TYPE_PATTERN.fullmatch(type_) is not None


def _type_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    type_ = values["type"]
    if len(type_) <= 256 and _is_known_event_type(type_):  # long text is never remembered
        return ()
    if EVENT_TYPE_PATTERN.fullmatch(type_) is not None:
        return ()
    message = "Type should be prefixed with a reverse-DNS name"
    return [_error("type", "invalid_string", message, type_)]


def _content_type_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    content_type = values["datacontenttype"]
    if "application/cloudevents+json" in content_type or "application/json" in content_type:
        return ()
    return [_error("datacontenttype", "invalid_string", _CONTENT_TYPE_MESSAGE, content_type)]


def _time_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    time = values["time"]
    if is_valid_timestamp(time):
        return ()
    return [_error("time", "invalid_datetime", "Invalid datetime", time)]


def _data_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    data = values["data"]
    if not isinstance(data, _NotJson):
        return ()
    message = "The Arvo data object must be a JSON serializable object: {reason}"
    return [_error("data", "json_serializable", message, data.shown, reason=data.reason)]


def _execution_units_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    # NaN and +/-Infinity have no JSON form (JSON.stringify writes null), so an event
    # carrying one could not round-trip through to_json()/from_json().
    units = values["executionunits"]
    if units is None or (not isinstance(units, bool) and math.isfinite(units)):
        return ()
    message = "Expected a finite number, received {received}"
    return [_error("executionunits", "number_type", message, units, received=repr(units))]


def _domain_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    domain = values["domain"]
    if domain is None:
        return ()
    errors: list[InitErrorDetails] = []
    if not domain:
        message = "Domain must be non-empty string"
        errors.append(_error("domain", "string_too_short", message, domain))
    if DOMAIN_PATTERN.fullmatch(domain) is None:
        message = "Domain must contain only lowercase letters, numbers, and dots"
        errors.append(_error("domain", "invalid_string", message, domain))
    return errors


def _extension_errors(key: str, item: ExtensionValue) -> list[InitErrorDetails]:
    errors: list[InitErrorDetails] = []
    if _EXTENSION_KEY.fullmatch(key) is None:
        errors.append(_error("extensions", "invalid_extension", _EXTENSION_KEY_MESSAGE, key))
    elif key in RESERVED_NAMES:
        errors.append(
            _error("extensions", "reserved_extension", _RESERVED_KEY_MESSAGE, key, key=key)
        )
    if isinstance(item, float) and not math.isfinite(item):
        message = "Extension '{key}' must be a finite number (got {received})"
        errors.append(
            _error("extensions", "number_type", message, item, key=key, received=repr(item))
        )
    return errors


def _extensions_rule(values: Mapping[str, Any]) -> Sequence[InitErrorDetails]:
    return [
        error
        for key, item in values["extensions"].items()
        for error in _extension_errors(key, item)
    ]


_RULES: tuple[_Rule, ...] = (
    _non_empty_rule,
    _uri_rule,
    _id_rule,
    _specversion_rule,
    _type_rule,
    _content_type_rule,
    _time_rule,
    _data_rule,
    _execution_units_rule,
    _domain_rule,
    _extensions_rule,
)


def _semantic_errors(values: Mapping[str, Any]) -> list[InitErrorDetails]:
    """Every rule of the original's zod schemas that pydantic's type checks do not cover."""
    errors: list[InitErrorDetails] = []
    for rule in _RULES:
        found = rule(values)
        if found:
            errors.extend(found)
    return errors


class ArvoEvent(BaseModel):
    """An immutable CloudEvent with Arvo extensions.

    Build events with :func:`create_arvo_event` or a contract's event factory; use the
    constructor (or :meth:`from_json`) to rebuild an event exactly as serialised.

    Attributes:
        to: Who should handle the event (a handler's ``source``); defaults to ``type``.
        redirectto: Where the eventual answer should go instead of back to ``source``.
        parentid: Id of the event this one answers (causality, not routing).
        domain: ``None`` for the local bus, else the name of another, external bus.
        executionunits: A cost figure stamped by the producing handler.
        extensions: Custom CloudEvent extension attributes (lowercase alphanumeric keys).

    Example:
        >>> event = create_arvo_event(source="com.test.producer", type="com.test.event",
        ...                           subject="my-subject", data={"message": "hi"})
        >>> event.to
        'com.test.event'
        >>> ArvoEvent.from_json(event.to_json()) == event
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)

    id: str = Field(default_factory=lambda: new_uuid4())
    source: str
    specversion: str = "1.0"
    type: str
    subject: str
    datacontenttype: str = ARVO_DATA_CONTENT_TYPE
    dataschema: str | None = None
    data: dict[str, Any]
    time: str = Field(default_factory=create_timestamp)
    to: str | None = None
    accesscontrol: str | None = None
    redirectto: str | None = None
    executionunits: StrictInt | StrictFloat | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    parentid: str | None = None
    domain: str | None = None
    extensions: dict[str, ExtensionValue] = Field(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _validate(cls, values: Any, handler: ModelWrapValidatorHandler[ArvoEvent]) -> ArvoEvent:
        # One Python call per event (rather than one per field) keeps construction cheap; the
        # checks still report every broken field with its location, like field validators.
        if isinstance(values, dict) and "to" not in values and "type" in values:
            # `to` defaults to the type when absent; an explicit None is kept so that the
            # "must have a 'to'" rule can reject it for Arvo content.
            values = {**values, "to": values["type"]}
        # The event keeps a plain JSON copy of `data`, made before the fields are validated.
        values, not_json = _with_json_data(values)
        event = handler(values)
        if isinstance(values, ArvoEvent):
            return event
        fields = event.__dict__ if not_json is None else {**event.__dict__, "data": not_json}
        errors = _semantic_errors(fields)
        if errors:
            raise ValidationError.from_exception_data("ArvoEvent", errors)
        if event.datacontenttype == ARVO_DATA_CONTENT_TYPE and not event.to:
            raise ValueError("The ArvoEvent must have a non-empty 'to' field")
        return event

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        # Ray pickles every event several times per hop: the field values in order (and the
        # set fields only when unusual) pickle in about half the time of pydantic's state.
        state = self.__dict__
        if type(self) is not ArvoEvent or tuple(state) != _FIELD_NAMES:
            return super().__reduce_ex__(protocol)  # e.g. built with model_construct: as pydantic
        fields_set = self.__pydantic_fields_set__
        if fields_set == _USUAL_FIELDS_SET:
            return (_unpickled_event, (tuple(state.values()),))
        return (_unpickled_event, (tuple(state.values()), fields_set))

    # -- serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The CloudEvents JSON object, keys in the original's order (custom extensions before Arvo's)."""
        out: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "specversion": self.specversion,
            "type": self.type,
            "subject": self.subject,
            "datacontenttype": self.datacontenttype,
            "dataschema": self.dataschema,
            "data": self.data,
            "time": self.time,
        }
        if self.extensions:
            out.update(self.extensions)
        out["to"] = self.to
        out["accesscontrol"] = self.accesscontrol
        out["redirectto"] = self.redirectto
        out["executionunits"] = self.executionunits
        out["traceparent"] = self.traceparent
        out["tracestate"] = self.tracestate
        out["parentid"] = self.parentid
        out["domain"] = self.domain
        return out

    def to_json(self, indent: int | None = None) -> str:
        """Compact (or indented) JSON text, byte for byte as JavaScript's ``JSON.stringify``.

        Numbers, lone surrogates and the order of integer-like keys are written as JavaScript
        writes them (``3.0`` as ``3``, ``1e-05`` as ``0.00001``, ``"\\ud800"``; see
        :func:`arvo_ray.core.kit.js_stringify`). The one difference: an int above 2**53 in
        ``data`` or an extension is written exactly, where JavaScript, whose numbers are all
        doubles, would have rounded it on the way in.
        """
        # Every other field is a str or None under a fixed key, which json.dumps writes as
        # JSON.stringify does (lone surrogates aside, which the encoder handles anyway).
        units = self.executionunits
        plain = (
            is_js_plain(self.data)
            and (not isinstance(units, float) or is_js_plain_float(units))
            and (not self.extensions or is_js_plain(self.extensions))
        )
        return js_stringify_checked(self.to_dict(), plain, indent)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> ArvoEvent:
        """Rebuild an event from its JSON object; unknown top-level keys become custom extensions.

        Raises:
            pydantic.ValidationError: a field breaks the ArvoEvent rules (path and reason given).
        """
        if not isinstance(value, Mapping):
            raise TypeError(f"An ArvoEvent is a JSON object, got {type(value).__name__}")
        fields: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        for key, item in value.items():
            if key in _KNOWN_FIELDS:
                fields[key] = item
            else:
                extensions[key] = item
        if "to" not in fields:
            fields["to"] = None
        if extensions:
            fields["extensions"] = extensions
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str | bytes | Mapping[str, Any]) -> ArvoEvent:
        """Parse CloudEvents JSON text (or an already-parsed object) back into an event."""
        if isinstance(text, Mapping):
            return cls.from_dict(text)
        return cls.from_dict(json.loads(text))

    # -- views -----------------------------------------------------------------------------

    @property
    def cloudevent(self) -> dict[str, dict[str, Any]]:
        """The event split into CloudEvents ``default`` attributes and ``extensions``."""
        full = self.to_dict()
        return {
            "default": {key: full[key] for key in CORE_FIELDS},
            "extensions": {key: full[key] for key in full if key not in CORE_FIELDS},
        }

    @property
    def otel_attributes(self) -> dict[str, Any]:
        """Span attributes describing the event; ``"N/A"`` stands in for missing values."""
        na = otel.OTEL_NULL
        return {
            "cloudevents.event_id": self.id or na,
            "cloudevents.event_source": self.source or na,
            "cloudevents.event_spec_version": self.specversion or na,
            "cloudevents.event_subject": self.subject or na,
            "cloudevents.event_type": self.type or na,
            "cloudevents.event_time": self.time or na,
            "cloudevents.event_datacontenttype": self.datacontenttype or na,
            "cloudevents.event_dataschema": self.dataschema or na,
            "cloudevents.arvo.event_redirectto": na if self.redirectto is None else self.redirectto,
            "cloudevents.arvo.event_to": na if self.to is None else self.to,
            "cloudevents.arvo.event_executionunits": (
                na if self.executionunits is None else self.executionunits
            ),
            "cloudevents.arvo.event_parentid": na if self.parentid is None else self.parentid,
            "cloudevents.arvo.event_domain": na if self.domain is None else self.domain,
        }

    def __str__(self) -> str:
        return self.to_json()

    def _repr_html_(self) -> str:
        """Jupyter: a table of the set fields, data as indented JSON, the subject decoded."""
        from arvo_ray._display import event_html

        return event_html(self)

    def __repr__(self) -> str:
        return (
            f"ArvoEvent(type={self.type!r}, source={self.source!r}, to={self.to!r}, "
            f"id={self.id!r}, subject={_short(self.subject)!r})"
        )


_KNOWN_FIELDS = frozenset((*CORE_FIELDS, *ARVO_EXTENSION_FIELDS))


def _short(text: str, keep: int = 24) -> str:
    return text if len(text) <= keep else f"{text[:keep]}…"


_FIELD_NAMES = tuple(ArvoEvent.model_fields)
# What create_arvo_event and the factories set: every field but ``extensions``.
_USUAL_FIELDS_SET = frozenset(_FIELD_NAMES) - {"extensions"}


def _unpickled_event(values: tuple[Any, ...], fields_set: set[str] | None = None) -> ArvoEvent:
    event = ArvoEvent.__new__(ArvoEvent)
    object.__setattr__(event, "__dict__", dict(zip(_FIELD_NAMES, values, strict=True)))
    fields_set = set(_USUAL_FIELDS_SET) if fields_set is None else fields_set
    object.__setattr__(event, "__pydantic_fields_set__", fields_set)
    object.__setattr__(event, "__pydantic_extra__", None)
    object.__setattr__(event, "__pydantic_private__", None)
    return event


def create_arvo_event(
    *,
    source: str,
    type: str,
    subject: str,
    data: Mapping[str, Any],
    id: ArvoEventId | Mapping[str, str] | str | None = None,
    time: str | None = None,
    specversion: str = "1.0",
    datacontenttype: str | None = None,
    dataschema: str | None = None,
    to: str | None = None,
    accesscontrol: str | None = None,
    redirectto: str | None = None,
    executionunits: int | float | None = None,
    traceparent: str | None = None,
    tracestate: str | None = None,
    parentid: str | None = None,
    domain: str | None = None,
    extensions: Mapping[str, ExtensionValue] | None = None,
    disable_telemetry: bool = False,
) -> ArvoEvent:
    """Create an event with the original's defaults.

    ``source``, ``subject``, ``to``, ``redirectto``, ``dataschema`` and ``parentid`` are passed
    through JavaScript's ``encodeURI`` (as the original does, so ``a%20b`` becomes ``a%2520b``);
    ``to`` defaults to ``type``; empty ``to``/``redirectto``/``dataschema``/``parentid`` mean
    absent. Unless ``disable_telemetry`` is set, a ``createArvoEvent<type>`` span is opened and
    the event's trace headers default to it.

    Raises:
        pydantic.ValidationError: a field breaks the ArvoEvent rules.
    """
    content_type = datacontenttype or ARVO_DATA_CONTENT_TYPE
    if content_type != ARVO_DATA_CONTENT_TYPE:
        otel.log_to_span(
            "WARNING",
            f"Warning! The provided datacontenttype(={content_type})\n"
            f"is not ArvoEvent compatible (={ARVO_DATA_CONTENT_TYPE}). There may\n"
            "be some limited functionality.",
        )
    fields: dict[str, Any] = {
        "id": create_arvo_event_id(id),
        "source": encode_uri(source),
        "specversion": specversion,
        "type": type,
        "subject": encode_uri(subject),
        "datacontenttype": content_type,
        "dataschema": encode_uri(dataschema) if dataschema else None,
        "data": data,
        "time": time or create_timestamp(),
        "to": encode_uri(to) if to else encode_uri(type),
        "accesscontrol": accesscontrol,
        "redirectto": encode_uri(redirectto) if redirectto else None,
        "executionunits": executionunits,
        "traceparent": traceparent,
        "tracestate": tracestate,
        "parentid": encode_uri(parentid) if parentid else None,
        "domain": domain,
    }
    if extensions:
        fields["extensions"] = extensions
    if disable_telemetry or not otel.is_enabled():
        return ArvoEvent(**fields)
    with otel.get_tracer().start_as_current_span(
        f"createArvoEvent<{type}>",
        attributes={otel.ATTR_ARVO_SPAN_KIND: otel.ArvoExecutionSpanKind.INTERNAL},
    ) as span:
        if traceparent is None or tracestate is None:
            headers = otel.otel_headers_from_span(span)
            if traceparent is None:
                fields["traceparent"] = headers["traceparent"]
            if tracestate is None:
                fields["tracestate"] = headers["tracestate"]
        event = ArvoEvent(**fields)
        if span.is_recording():
            span.set_attributes(event.otel_attributes)
        return event
