"""Contract checks shared by machines and resumables: service wiring and input resolution.

Workflows (unlike plain handlers) consume events of several contracts: their own init event
and the responses of every service they call. These functions decide which contract an
incoming event belongs to and whether it fits, and check at definition time that a workflow's
services are wired sensibly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from arvo_ray.core._contract import (
    ArvoContract,
    EventDataschema,
    SchemaType,
    VersionedArvoContract,
    format_validation_error,
)
from arvo_ray.core._event import ArvoEvent
from arvo_ray.core._primitives import WILDCARD_VERSION
from arvo_ray.core.errors import ConfigViolation, ContractViolation

__all__ = ["InputValidation", "validate_input", "validate_services"]


@dataclass(frozen=True, slots=True)
class InputValidation:
    """Outcome of :func:`validate_input`.

    Attributes:
        status: ``VALID``, ``CONTRACT_UNRESOLVED`` (no contract knows the event type),
            ``INVALID`` (dataschema missing or naming another contract/version) or
            ``INVALID_DATA`` (data does not fit the model).
        contract_type: ``"self"`` or ``"service"`` when the contract was resolved.
        error: What is wrong, for ``INVALID`` and ``INVALID_DATA``.
        contract: The contract version the event belongs to, once resolved.
        data: The event's data as that contract's model, when ``VALID``.
    """

    status: Literal["VALID", "CONTRACT_UNRESOLVED", "INVALID", "INVALID_DATA"]
    contract_type: Literal["self", "service"] | None = None
    error: str | None = None
    contract: VersionedArvoContract | None = None
    data: Any = None

    def raise_unless_valid(self, event: ArvoEvent, where: str) -> None:
        """Raise the original's violation for an event ``where`` (a machine, a resumable) rejects.

        Raises:
            ConfigViolation: no contract of the workflow knows the event type.
            ContractViolation: the dataschema or the data does not fit.
        """
        if self.status == "CONTRACT_UNRESOLVED":
            raise ConfigViolation(
                "Contract validation failed - Event does not match any registered contract "
                f"schemas in the {where}",
                metadata={"event_id": event.id, "event_type": event.type},
            )
        if self.status != "VALID":
            raise ContractViolation(
                "Input validation failed - Event data does not meet contract requirements: "
                f"{self.error}",
                metadata={"event_id": event.id, "event_type": event.type},
            )


def validate_services(
    self_contract: VersionedArvoContract | ArvoContract,
    services: Mapping[str, VersionedArvoContract],
    *,
    kind: str,
) -> None:
    """Reject services that share a URI, or that are the workflow itself.

    Raises:
        ConfigViolation: with the original's message.
    """
    seen: dict[str, str] = {}
    for key, contract in services.items():
        if not isinstance(contract, VersionedArvoContract):
            raise ConfigViolation(
                f"In {kind}, service '{key}' must be a versioned contract, e.g. "
                f"contract.version('1.0.0'); got {type(contract).__name__}"
            )
        if contract.uri in seen:
            # The original names the later key first.
            raise ConfigViolation(
                f"In {kind}, the service contracts must have unique URIs. Multiple versions of "
                f"the same contract are not allow. The contracts '{key}' and "
                f"'{seen[contract.uri]}' have the same URI '{contract.uri}'"
            )
        seen[contract.uri] = key
    # Checked only once the services are known to be unique, as in the original.
    for key, contract in services.items():
        if contract.uri == self_contract.uri:
            raise ConfigViolation(
                f"In {kind}, Circular dependency detected: Machine with URI "
                f"'{self_contract.uri}' is registered as service '{key}'. Self-referential "
                "services create execution loops and are prohibited."
            )


def _service_schema(
    event_type: str, services: Mapping[str, VersionedArvoContract]
) -> tuple[VersionedArvoContract, SchemaType] | None:
    for contract in services.values():
        schema = contract.emits.get(event_type)
        if schema is not None:
            return contract, schema
        error = contract.system_error
        if error.type == event_type:
            return contract, error.schema
    return None


def validate_input(
    event: ArvoEvent,
    self_contract: VersionedArvoContract | ArvoContract,
    services: Mapping[str, VersionedArvoContract],
) -> InputValidation:
    """Resolve the contract of an event a workflow received and check the event against it.

    Unlike plain handlers, workflows require a parseable ``dataschema`` on every event. A
    service's system error (dataschema version ``0.0.0``) matches any version of the service.
    An unversioned ``self_contract`` (resumables) is resolved with the event's version.
    """
    parsed = EventDataschema.parse(event.dataschema)
    if parsed is None:
        # Worded as the original (recorded), which prints a missing dataschema as 'null'.
        shown = "null" if event.dataschema is None else event.dataschema
        return InputValidation(
            status="INVALID",
            error=(
                f"Event dataschema resolution failed: Unable to parse dataschema='{shown}' "
                f"for event(id='{event.id}', type='{event.type}'). This makes the event opaque "
                "and does not allow contract resolution"
            ),
        )
    contract: VersionedArvoContract
    schema: SchemaType
    contract_type: Literal["self", "service"]
    if event.type == _accepts_type(self_contract):
        contract_type = "self"
        if isinstance(self_contract, ArvoContract):
            try:
                contract = self_contract.version(parsed["version"])
            except ValueError as exc:
                return InputValidation(status="INVALID", contract_type="self", error=str(exc))
        else:
            contract = self_contract
        schema = contract.accepts.schema
    else:
        found = _service_schema(event.type, services)
        if found is None:
            return InputValidation(status="CONTRACT_UNRESOLVED")
        contract_type = "service"
        contract, schema = found
    if parsed["uri"] != contract.uri:
        return InputValidation(
            status="INVALID",
            contract_type=contract_type,
            error=(
                f"Contract URI mismatch: {contract_type} Contract(uri='{contract.uri}', "
                f"type='{contract.accepts.type}') does not match Event(dataschema="
                f"'{event.dataschema}', type='{event.type}')"
            ),
        )
    if parsed["version"] != WILDCARD_VERSION and parsed["version"] != contract.version:
        return InputValidation(
            status="INVALID",
            contract_type=contract_type,
            error=(
                f"Contract version mismatch: {contract_type} Contract(version='{contract.version}', "
                f"type='{contract.accepts.type}', uri={contract.uri}) does not match "
                f"Event(dataschema='{event.dataschema}', type='{event.type}')"
            ),
        )
    try:
        data = schema.model_validate(event.data)
    except ValidationError as exc:
        return InputValidation(
            status="INVALID_DATA",
            contract_type=contract_type,
            error=format_validation_error(exc),
            contract=contract,
        )
    return InputValidation(
        status="VALID", contract_type=contract_type, contract=contract, data=data
    )


def _accepts_type(contract: Any) -> str:
    return str(contract.type if isinstance(contract, ArvoContract) else contract.accepts.type)
