"""The raw events user code returns (handler outputs, machine emits, resumable services).

All three handler kinds describe an event to emit as a plain dict: ``type``, ``data`` and
optionally ``id``, ``time``, ``to``, ``redirectto``, ``accesscontrol``, ``executionunits``,
``dataschema``, ``domain`` (a list of domains or :class:`ArvoDomain` rules) and
``__extensions`` (custom CloudEvent attributes; ``extensions`` is accepted too). Anything else,
``parentid`` included, is ignored: causality is stamped by the library, not by user code.
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


def _plain(item: Any, where: str, index: int) -> dict[str, Any]:
    if isinstance(item, BaseModel):
        raise ContractViolation(
            f"{where} output #{index} is a {type(item).__name__} model; return "
            "{'type': <event type>, 'data': <model or dict>} so the event type is explicit"
        )
    if not isinstance(item, Mapping):
        raise ContractViolation(
            f"{where} output #{index} must be a dict with 'type' and 'data', got "
            f"{type(item).__name__}"
        )
    raw = dict(item)
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


def normalize_outputs(result: Any, *, where: str) -> list[dict[str, Any]]:
    """``None`` → no events; a dict → one; a list/tuple of dicts → many.

    Raises:
        ContractViolation: an output that is not an event description.
    """
    if result is None:
        return []
    if isinstance(result, Mapping | BaseModel):
        return [_plain(result, where, 0)]
    if isinstance(result, list | tuple):
        return [_plain(item, where, index) for index, item in enumerate(result)]
    raise ContractViolation(
        f"{where} must return None, an event dict or a list of event dicts, got "
        f"{type(result).__name__}"
    )


def raw_extensions(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """Custom extensions of a raw event (``__extensions`` or ``extensions``)."""
    extensions = raw.get("__extensions") or raw.get("extensions")
    return dict(extensions) if extensions else None
