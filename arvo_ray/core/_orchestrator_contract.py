"""Orchestrator contracts: ``arvo.orc.<name>`` starts a workflow, ``arvo.orc.<name>.done`` ends it.

The init event of every version carries ``parentSubject$$`` (required, nullable): the subject
of the parent workflow when this one runs as a child, so the child's completion event can be
delivered into the parent's subject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, create_model

from arvo_ray.core._contract import ArvoContract, SchemaType, _check_schema

__all__ = [
    "ArvoOrchestratorContract",
    "ArvoOrchestratorEventTypeGen",
    "OrchestrationInitEventBase",
    "create_arvo_orchestrator_contract",
    "is_orchestrator_contract",
]

_NAME = re.compile(r"[a-z0-9.]+")


class OrchestrationInitEventBase(BaseModel):
    """Fields every orchestrator init event carries besides the user's own.

    Example:
        >>> from pydantic import BaseModel
        >>> root = OrchestrationInitEventBase.model_validate({"parentSubject$$": None})
        >>> root.model_dump(by_alias=True)
        {'parentSubject$$': None}
        >>> class Init(BaseModel):
        ...     value: int
        >>> contract = create_arvo_orchestrator_contract(uri="#/orc/number/double",
        ...     name="number.double", versions={"1.0.0": {"init": Init, "complete": Init}})
        >>> issubclass(contract.version("1.0.0").accepts.schema, OrchestrationInitEventBase)
        True
    """

    parent_subject: str | None = Field(
        ...,
        alias="parentSubject$$",
        min_length=1,
        description=(
            "Identifies the subject of the parent process when this orchestration runs as a "
            "child; null for a root orchestration."
        ),
    )


class ArvoOrchestratorEventTypeGen:
    """The event types of an orchestrator named ``name``.

    Example:
        >>> ArvoOrchestratorEventTypeGen.init("number.double")
        'arvo.orc.number.double'
        >>> ArvoOrchestratorEventTypeGen.complete("number.double")
        'arvo.orc.number.double.done'
        >>> ArvoOrchestratorEventTypeGen.is_orchestrator_event_type("com.number.increment")
        False
    """

    prefix = "arvo.orc"

    @staticmethod
    def init(name: str) -> str:
        return f"arvo.orc.{name}"

    @staticmethod
    def complete(name: str) -> str:
        return f"arvo.orc.{name}.done"

    @staticmethod
    def system_error(name: str) -> str:
        return f"sys.arvo.orc.{name}.error"

    @staticmethod
    def is_orchestrator_event_type(event_type: str) -> bool:
        return event_type.startswith(ArvoOrchestratorEventTypeGen.prefix)


class ArvoOrchestratorContract(ArvoContract):
    """A contract whose accepts type is ``arvo.orc.<name>`` and whose one emit is the completion.

    Args:
        uri: The contract's identifier.
        name: Lowercase letters, digits and dots; the init type is ``arvo.orc.<name>``.
        versions: ``{"1.0.0": {"init": InitModel, "complete": CompleteModel}}``.
        domain, description, metadata: As for :class:`ArvoContract`.

    Raises:
        ValueError: an invalid name or any contract rule.

    Example:
        >>> from pydantic import BaseModel
        >>> class Init(BaseModel):
        ...     value: int
        >>> class Done(BaseModel):
        ...     result: int
        >>> contract = ArvoOrchestratorContract(uri="#/orc/number/double",
        ...     name="number.double", versions={"1.0.0": {"init": Init, "complete": Done}})
        >>> contract.name, contract.init_type, contract.complete_type
        ('number.double', 'arvo.orc.number.double', 'arvo.orc.number.double.done')
    """

    __slots__ = ()
    _orchestrator_types = True

    def __init__(
        self,
        *,
        uri: str,
        name: str,
        versions: Mapping[str, Mapping[str, SchemaType]],
        domain: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            raise ValueError(
                f"Invalid 'name' = '{name}'. The 'name' must only contain alphanumeric "
                "characters. e.g. test.orchestrator"
            )
        init_type = ArvoOrchestratorEventTypeGen.init(name)
        complete_type = ArvoOrchestratorEventTypeGen.complete(name)
        super().__init__(
            uri=uri,
            type=init_type,
            versions={
                version: {
                    "accepts": _init_model(
                        _check_schema(
                            spec.get("init"), f"Orchestrator contract {name} v{version} init"
                        ),
                        name,
                        version,
                    ),
                    "emits": {complete_type: spec.get("complete")},
                }
                for version, spec in versions.items()
            },
            domain=domain,
            description=description,
            metadata={
                **(metadata or {}),
                "contractType": "ArvoOrchestratorContract",
                "rootType": name,
                "completeEventType": complete_type,
                "initEventType": init_type,
            },
        )

    @property
    def name(self) -> str:
        return str(self._metadata["rootType"])

    @property
    def init_type(self) -> str:
        return str(self._metadata["initEventType"])

    @property
    def complete_type(self) -> str:
        return str(self._metadata["completeEventType"])


def is_orchestrator_contract(contract: Any) -> bool:
    """True for orchestrator contracts, versioned or not (checked by metadata, as the original does)."""
    metadata = getattr(contract, "metadata", None)
    return (
        isinstance(metadata, Mapping) and metadata.get("contractType") == "ArvoOrchestratorContract"
    )


def _init_model(init: SchemaType, name: str, version: str) -> SchemaType:
    # The user's fields win over the base (like zod's merge); parentSubject$$ comes first.
    return create_model(
        init.__name__,
        __base__=(init, OrchestrationInitEventBase),
        __module__=init.__module__,
        __doc__=init.__doc__ or f"Init event of arvo.orc.{name} version {version}.",
    )


def create_arvo_orchestrator_contract(
    *,
    uri: str,
    name: str,
    versions: Mapping[str, Mapping[str, SchemaType]],
    domain: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ArvoOrchestratorContract:
    """Create the contract of an orchestrator (or resumable) called ``name``.

    The same as :class:`ArvoOrchestratorContract` (its arguments and checks); the name the
    original uses.

    Example:
        >>> class Init(BaseModel):
        ...     key: str
        >>> class Done(BaseModel):
        ...     final: int
        >>> c = create_arvo_orchestrator_contract(uri="#/orc/inc", name="inc",
        ...     versions={"1.0.0": {"init": Init, "complete": Done}})
        >>> c.type, c.complete_type
        ('arvo.orc.inc', 'arvo.orc.inc.done')
    """
    return ArvoOrchestratorContract(
        uri=uri,
        name=name,
        versions=versions,
        domain=domain,
        description=description,
        metadata=metadata,
    )
