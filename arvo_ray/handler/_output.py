"""The raw events user code returns (handler outputs, machine emits, resumable services).

All three handler kinds describe an event to emit as a plain dict: ``type``, ``data`` and
optionally ``id``, ``time``, ``to``, ``redirectto``, ``accesscontrol``, ``executionunits``,
``dataschema``, ``domain`` (a list of domains or :class:`ArvoDomain` rules) and
``__extensions`` (custom CloudEvent attributes; ``extensions`` is accepted too). Anything else,
``parentid`` included, is ignored: causality is stamped by the library, not by user code.

Where the contract says which type a model belongs to, the pydantic model itself will do: a
handler may return an instance of the model of one of its emitted types, and a workflow may
emit the accepts model of one of its services, alone or as the ``data`` of a dict without a
``type`` (to add a ``domain``, say). Its event type is the one whose schema is the model's
class, or the only type there is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from pydantic import BaseModel

from arvo_ray.core import ContractViolation

__all__ = ["RawEvent", "normalize_outputs", "raw_extensions"]


class RawEvent(TypedDict, total=False):
    """An event as user code describes it; the library completes and validates it.

    Example:
        >>> import asyncio
        >>> from arvo_ray.core import create_arvo_event_factory
        >>> from arvo_ray.examples.number_domain import value_read_contract
        >>> from arvo_ray.handler import create_arvo_event_handler
        >>> def read(inp) -> RawEvent:
        ...     key = inp.event.data["key"]
        ...     return {"type": "evt.value.read.success", "data": {"key": key, "value": 3},
        ...             "domain": [None, "audit"]}
        >>> handler = create_arvo_event_handler(
        ...     contract=value_read_contract, executionunits=0, handler={"0.0.1": read})
        >>> event = create_arvo_event_factory(value_read_contract.version("0.0.1")).accepts(
        ...     source="com.example.client", subject="s", data={"key": "apples"})
        >>> result = asyncio.run(handler.execute(event))
        >>> [(e.domain, e.to, e.parentid == event.id) for e in result.events]
        [(None, 'com.example.client', True), ('audit', 'com.example.client', True)]
    """

    type: str
    data: Any
    id: Any
    time: str
    to: str
    redirectto: str
    accesscontrol: str
    executionunits: int | float
    dataschema: str
    domain: Sequence[str | None]
    __extensions: Mapping[str, Any]


def _type_of(model: BaseModel, schemas: Mapping[str, Any] | None, where: str, index: int) -> str:
    """The event type ``model`` is the data of, from the contract's schemas."""
    candidates = dict(schemas or {})
    matching = [event_type for event_type, schema in candidates.items() if type(model) is schema]
    if len(matching) == 1:
        return matching[0]
    if not matching and len(candidates) == 1:
        return next(iter(candidates))
    known = ", ".join(sorted(candidates)) or "none"
    raise ContractViolation(
        f"{where} output #{index} is a {type(model).__name__}, which names no single event type "
        f"here (the types are: {known}); return {{'type': <event type>, 'data': <model>}}"
    )


def _plain(
    item: Any, where: str, index: int, schemas: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    plain = type(item) is dict and type(item.get("type")) is str
    if plain and type(item.get("data")) is dict and item.get("domain") is None:
        return dict(item)  # the common case: a plain event description, nothing to check
    if isinstance(item, BaseModel):
        item = {"type": _type_of(item, schemas, where, index), "data": item}
    if not isinstance(item, Mapping):
        raise ContractViolation(
            f"{where} output #{index} must be a dict with 'type' and 'data', got "
            f"{type(item).__name__}"
        )
    raw = dict(item)
    if "type" not in raw and isinstance(raw.get("data"), BaseModel):
        raw["type"] = _type_of(raw["data"], schemas, where, index)
    if not isinstance(raw.get("type"), str):
        raise ContractViolation(f"{where} output #{index} has no 'type' string: {sorted(raw)}")
    data = raw.get("data")
    if isinstance(data, BaseModel):
        raw["data"] = data.model_dump(mode="json", by_alias=True)
    domain = raw.get("domain")
    if domain is not None and (isinstance(domain, str) or not isinstance(domain, Sequence)):
        raise ContractViolation(
            f"{where} output #{index} 'domain' must be a list of domains, e.g. [None, 'external']"
        )
    if domain is not None and len(domain) == 0:
        raise ContractViolation(f"{where} output #{index} 'domain' must not be an empty list")
    return raw


def normalize_outputs(
    result: Any, *, where: str, schemas: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """``None`` → no events; a dict or a model → one; a list/tuple of them → many.

    Args:
        result: What user code returned.
        where: Who returned it, for messages.
        schemas: Event type → data model, for outputs given as models.

    Raises:
        ContractViolation: an output that is not an event description.
    """
    if result is None:
        return []
    if isinstance(result, list | tuple):
        return [_plain(item, where, index, schemas) for index, item in enumerate(result)]
    if isinstance(result, Mapping | BaseModel):
        return [_plain(result, where, 0, schemas)]
    raise ContractViolation(
        f"{where} must return None, an event dict or a list of event dicts, got "
        f"{type(result).__name__}"
    )


def raw_extensions(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """Custom extensions of a raw event (``__extensions`` or ``extensions``)."""
    extensions = raw.get("__extensions") or raw.get("extensions")
    return dict(extensions) if extensions else None
