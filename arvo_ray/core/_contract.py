"""Versioned contracts: what a handler accepts and what it may emit, as pydantic models.

An :class:`ArvoContract` maps semantic versions to an ``accepts`` model and a dict of
``emits`` models keyed by event type. Producers and consumers agree on a contract *version*
through the event's ``dataschema`` (``<uri>/<version>``). Every contract also has a system
error event, ``sys.<type>.error``, whose dataschema uses the wildcard version ``0.0.0`` so it
matches any version of the contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from arvo_ray.core._primitives import (
    DOMAIN_PATTERN,
    EVENT_TYPE_PATTERN,
    SEMVER_PATTERN,
    WILDCARD_VERSION,
    is_valid_semantic_version,
    quote,
)
from arvo_ray.core._uri import validate_uri

__all__ = [
    "ArvoContract",
    "ArvoErrorSchema",
    "ContractVersion",
    "EventDataschema",
    "SchemaRecord",
    "VersionedArvoContract",
    "create_arvo_contract",
    "create_arvo_error",
    "create_simple_arvo_contract",
    "format_validation_error",
    "validate_with_schema",
]

SchemaType = type[BaseModel]
ORCHESTRATOR_PREFIX = "arvo.orc"


class ArvoErrorSchema(BaseModel):
    """Payload of every ``sys.<type>.error`` event.

    Example:
        >>> payload = create_arvo_error(ValueError("value must be positive"))
        >>> ArvoErrorSchema.model_validate(payload)
        ArvoErrorSchema(errorName='ValueError', errorMessage='value must be positive',
                        errorStack=None)
    """

    errorName: str = Field(description="The name of the error.")
    errorMessage: str = Field(description="A descriptive message for the error.")
    errorStack: str | None = Field(description="The stack trace of the error.")


def create_arvo_error(error: BaseException) -> dict[str, Any]:
    """The ``sys.*.error`` payload for an exception: name, message and formatted traceback."""
    import traceback

    name = getattr(error, "name", None)
    if not isinstance(name, str) or not name:
        name = type(error).__name__
    message = getattr(error, "message", None)
    if not isinstance(message, str):
        message = str(error)
    stack = (
        "".join(traceback.format_exception(error)).rstrip()
        if error.__traceback__ is not None
        else None
    )
    return {"errorName": name, "errorMessage": message, "errorStack": stack}


def format_validation_error(error: ValidationError, root: str = "data") -> str:
    """One readable line per problem, naming the field path and the value received."""
    lines = []
    for issue in error.errors(include_url=False):
        path = ".".join([root, *(str(part) for part in issue["loc"])])
        received = issue.get("input")
        shown = quote(repr(received), limit=60)
        lines.append(f"'{path}': {issue['msg']} (got {shown}, {type(received).__name__})")
    return "; ".join(lines)


def validate_with_schema(schema: SchemaType, data: Any) -> dict[str, Any]:
    """Validate ``data`` and return the model's JSON form (unknown keys dropped, defaults filled).

    Raises:
        pydantic.ValidationError: ``data`` does not fit ``schema``.
    """
    return schema.model_validate(data).model_dump(mode="json", by_alias=True)


@dataclass(frozen=True, slots=True)
class SchemaRecord:
    """An event type with the model of its data (and, for system errors, its dataschema).

    Example:
        >>> from pydantic import BaseModel
        >>> class Incremented(BaseModel):
        ...     value: int
        >>> record = SchemaRecord(type="evt.number.increment.success", schema=Incremented)
        >>> record.type, record.schema.model_validate({"value": 2}), record.dataschema
        ('evt.number.increment.success', Incremented(value=2), None)
    """

    type: str
    schema: SchemaType
    dataschema: str | None = None


@dataclass(frozen=True, slots=True)
class ContractVersion:
    """One version of a contract: the accepted event's model and the emitted events' models.

    Example:
        >>> from pydantic import BaseModel
        >>> class Increment(BaseModel):
        ...     value: int
        >>> spec = ContractVersion(accepts=Increment,
        ...     emits={"evt.number.increment.success": Increment})
        >>> contract = create_arvo_contract(uri="#/number/increment", type="com.number.increment",
        ...     versions={"1.0.0": spec})
        >>> contract.versions["1.0.0"] == spec
        True
    """

    accepts: SchemaType
    emits: Mapping[str, SchemaType]


class EventDataschema:
    """Build and parse ``dataschema`` strings of the form ``<contract uri>/<version>``.

    Example:
        >>> EventDataschema.build("#/number/increment", "1.0.0")
        '#/number/increment/1.0.0'
        >>> EventDataschema.parse("#/number/increment/1.0.0")
        {'uri': '#/number/increment', 'version': '1.0.0'}
        >>> EventDataschema.is_valid("#/number/increment/latest")
        False
    """

    @staticmethod
    def build(uri: str, version: str) -> str:
        return f"{uri}/{version}"

    @staticmethod
    def parse(value: Any) -> dict[str, str] | None:
        """``{"uri", "version"}`` of an event (or a dataschema string), or ``None`` if unparseable.

        As in the original, a bare version (``"1.0.0"``) parses with an empty uri.
        """
        text = getattr(value, "dataschema", value)
        if not isinstance(text, str) or not text:
            return None
        uri, _, version = text.rpartition("/")
        if not is_valid_semantic_version(version):
            return None
        return {"uri": uri, "version": version}

    @staticmethod
    def is_valid(value: Any) -> bool:
        return EventDataschema.parse(value) is not None


def _check_type(value: Any, what: str) -> None:
    if not isinstance(value, str) or EVENT_TYPE_PATTERN.fullmatch(value) is None:
        raise ValueError(f"{what}: Type should be prefixed with a reverse-DNS name (got {value!r})")


def _check_schema(schema: Any, where: str) -> SchemaType:
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema
    raise TypeError(
        f"{where} must be a pydantic model class (a subclass of pydantic.BaseModel), got {schema!r}"
    )


class ArvoContract:
    """A versioned, contract-first description of one service.

    Args:
        uri: Identifies the contract (a properly encoded URI, e.g. ``#/services/increment``).
        type: The event type the service accepts (reverse-DNS, e.g. ``com.number.increment``).
        versions: ``{"1.0.0": {"accepts": Model, "emits": {"evt.x.success": Model}}}``.
        domain: Default domain of the service (``None`` = local bus).
        description: Free text.
        metadata: Free-form JSON metadata.

    Raises:
        ValueError: an invalid uri, type, domain, version key or emit type, the reserved
            version ``0.0.0``, or no versions at all.

    Example:
        >>> from pydantic import BaseModel
        >>> class Add(BaseModel):
        ...     a: int
        ...     b: int
        >>> class Sum(BaseModel):
        ...     total: int
        >>> contract = create_arvo_contract(uri="#/calc/add", type="com.calc.add",
        ...     versions={"1.0.0": {"accepts": Add, "emits": {"evt.calc.add.success": Sum}}})
        >>> contract.version("latest").dataschema
        '#/calc/add/1.0.0'
    """

    __slots__ = ("_description", "_domain", "_metadata", "_type", "_uri", "_versions")
    _orchestrator_types = False  # ``arvo.orc.*`` types are reserved for orchestrator contracts

    def __init__(
        self,
        *,
        uri: str,
        type: str,
        versions: Mapping[str, ContractVersion | Mapping[str, Any]],
        domain: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(uri, str) or not uri:
            raise ValueError("URI must be a non-empty string")
        if not validate_uri(uri):
            raise ValueError(f"The URI must a valid URI string (got {uri!r})")
        _check_type(type, f"Contract (uri={uri}) type")
        if not self._orchestrator_types:
            _reject_orchestrator_type(type, f"uri={uri}", "accepts")
        if domain is not None and (
            not isinstance(domain, str) or DOMAIN_PATTERN.fullmatch(domain) is None
        ):
            # Only the rules actually broken are listed ('' breaks both, as in the original).
            problems = []
            if not isinstance(domain, str) or not domain:
                problems.append("The domain must be non-empty string")
            problems.append("Domain must contain only lowercase letters, numbers, and dots")
            raise ValueError(f"Contract (uri={uri}) domain {domain!r}: {'; '.join(problems)}")
        parsed: dict[str, ContractVersion] = {}
        for version, spec in versions.items():
            if not isinstance(version, str) or SEMVER_PATTERN.fullmatch(version) is None:
                raise ValueError(
                    f"Contract (uri={uri}) version {version!r}: Invalid version format of the "
                    "semantic version"
                )
            if version == WILDCARD_VERSION:
                raise ValueError(
                    f"For contract (uri={uri}), the version cannot be '0.0.0'. It is a reserved "
                    "version type."
                )
            accepts: Any
            emits: Any
            if isinstance(spec, ContractVersion):
                accepts, emits = spec.accepts, spec.emits
            elif isinstance(spec, Mapping):
                accepts, emits = spec.get("accepts"), spec.get("emits", {})
            else:
                raise TypeError(
                    f"Contract (uri={uri}) version {version}: expected "
                    "{'accepts': Model, 'emits': {type: Model}}"
                )
            checked_emits: dict[str, SchemaType] = {}
            for emit_type, schema in dict(emits or {}).items():
                _check_type(emit_type, f"Contract (uri={uri}, version={version}) emit type")
                if not self._orchestrator_types:
                    _reject_orchestrator_type(emit_type, f"uri={uri}, version={version}", "emits")
                checked_emits[emit_type] = _check_schema(
                    schema, f"Contract (uri={uri}, version={version}) emits[{emit_type!r}]"
                )
            parsed[version] = ContractVersion(
                accepts=_check_schema(accepts, f"Contract (uri={uri}, version={version}) accepts"),
                emits=checked_emits,
            )
        if not parsed:
            raise ValueError(f"An ArvoContract (uri={uri}) must have at least one version")
        self._uri = uri
        self._type = type
        self._versions = parsed
        self._domain = domain
        self._description = description
        self._metadata = dict(metadata or {})

    @property
    def uri(self) -> str:
        """The contract's identifier."""
        return self._uri

    @property
    def type(self) -> str:
        """The event type the service accepts."""
        return self._type

    @property
    def domain(self) -> str | None:
        """The service's default domain."""
        return self._domain

    @property
    def description(self) -> str | None:
        return self._description

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the metadata."""
        return dict(self._metadata)

    @property
    def versions(self) -> dict[str, ContractVersion]:
        return dict(self._versions)

    @property
    def system_error(self) -> SchemaRecord:
        """The ``sys.<type>.error`` event every version may emit."""
        return SchemaRecord(type=f"sys.{self._type}.error", schema=ArvoErrorSchema)

    def sorted_versions(self, order: Literal["ASC", "DESC"] = "ASC") -> list[str]:
        """Version keys in numeric order (``0.9.0`` < ``0.10.0``)."""
        keys = sorted(self._versions, key=_version_key)
        return keys if order == "ASC" else keys[::-1]

    def version(self, option: str = "latest") -> VersionedArvoContract:
        """One version: ``"latest"`` (or ``"any"``), ``"oldest"``, or an exact ``"x.y.z"``.

        Raises:
            ValueError: the exact version does not exist (the available ones are listed).
        """
        if option in ("latest", "any"):
            key = self.sorted_versions("DESC")[0]
        elif option == "oldest":
            key = self.sorted_versions("ASC")[0]
        elif option in self._versions:
            key = option
        else:
            raise ValueError(
                f"The contract (uri={self._uri}) does not have version={option}. "
                f"Available versions: {', '.join(self.sorted_versions())}"
            )
        return VersionedArvoContract(self, key)

    def export(self) -> dict[str, Any]:
        return {
            "uri": self._uri,
            "type": self._type,
            "domain": self._domain,
            "description": self._description,
            "versions": self.versions,
            "metadata": self.metadata,
        }

    def to_json_schema(self) -> dict[str, Any]:
        """Every version's JSON Schemas, in declaration order (pydantic's generator)."""
        return {
            "uri": self._uri,
            "domain": self._domain,
            "description": self._description,
            "metadata": self.metadata,
            "versions": [
                {
                    key: value
                    for key, value in VersionedArvoContract(self, version).to_json_schema().items()
                    if key not in ("uri", "description")
                }
                for version in self._versions
            ],
        }

    def __iter__(self) -> Iterator[VersionedArvoContract]:
        return (VersionedArvoContract(self, v) for v in self.sorted_versions())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(uri={self._uri!r}, type={self._type!r}, "
            f"versions={self.sorted_versions()!r})"
        )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class VersionedArvoContract:
    """One version of a contract: the view handlers, factories and machines work with.

    Example:
        >>> from pydantic import BaseModel
        >>> class Increment(BaseModel):
        ...     value: int
        >>> contract = create_arvo_contract(uri="#/number/increment", type="com.number.increment",
        ...     versions={"1.0.0": {"accepts": Increment, "emits": {}}})
        >>> v1 = contract.version("1.0.0")
        >>> v1.accepts.type, v1.dataschema, v1.system_error.dataschema
        ('com.number.increment', '#/number/increment/1.0.0', '#/number/increment/0.0.0')
    """

    __slots__ = ("_contract", "_spec", "_version")

    def __init__(self, contract: ArvoContract, version: str) -> None:
        self._contract = contract
        self._version = version
        self._spec = contract._versions[version]

    @property
    def contract(self) -> ArvoContract:
        """The unversioned contract."""
        return self._contract

    @property
    def version(self) -> str:
        """This version's semantic version."""
        return self._version

    @property
    def uri(self) -> str:
        return self._contract.uri

    @property
    def domain(self) -> str | None:
        return self._contract.domain

    @property
    def description(self) -> str | None:
        return self._contract.description

    @property
    def metadata(self) -> dict[str, Any]:
        return self._contract.metadata

    @property
    def accepts(self) -> SchemaRecord:
        return SchemaRecord(type=self._contract.type, schema=self._spec.accepts)

    @property
    def emits(self) -> dict[str, SchemaType]:
        return dict(self._spec.emits)

    @property
    def emit_list(self) -> list[SchemaRecord]:
        return [SchemaRecord(type=t, schema=s) for t, s in self._spec.emits.items()]

    @property
    def system_error(self) -> SchemaRecord:
        return SchemaRecord(
            type=f"sys.{self._contract.type}.error",
            schema=ArvoErrorSchema,
            dataschema=EventDataschema.build(self._contract.uri, WILDCARD_VERSION),
        )

    @property
    def dataschema(self) -> str:
        """``<uri>/<version>``, stamped on every event of this version."""
        return EventDataschema.build(self._contract.uri, self._version)

    def to_json_schema(self) -> dict[str, Any]:
        """JSON Schemas of accepts, system error and emits.

        Schemas come from pydantic's generator (JSON Schema 2020-12, with ``title`` and
        ``$defs``) rather than the original's zod-to-json-schema draft-07 output: no ``$schema``
        key per schema, and ``additionalProperties: false`` only for models that forbid extras.
        """

        def schema_of(model: SchemaType) -> dict[str, Any]:
            return model.model_json_schema(by_alias=True)

        return {
            "uri": self.uri,
            "description": self.description,
            "domain": self.domain,
            "version": self._version,
            "metadata": self.metadata,
            "accepts": {"type": self._contract.type, "schema": schema_of(self._spec.accepts)},
            "systemError": {
                "type": f"sys.{self._contract.type}.error",
                "schema": schema_of(ArvoErrorSchema),
            },
            "emits": [{"type": t, "schema": schema_of(s)} for t, s in self._spec.emits.items()],
        }

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, VersionedArvoContract)
            and other._contract is self._contract
            and other._version == self._version
        )

    def __hash__(self) -> int:
        return hash((id(self._contract), self._version))

    def __repr__(self) -> str:
        return f"VersionedArvoContract(uri={self.uri!r}, version={self._version!r})"


def _reject_orchestrator_type(event_type: str, where: str, kind: str) -> None:
    if event_type.startswith(ORCHESTRATOR_PREFIX):
        raise ValueError(
            f"In contract ({where}), the '{kind}' event (type={event_type}) must not start\n"
            f"with '{ORCHESTRATOR_PREFIX}' because this is a reserved pattern\n"
            "for Arvo orchestrators."
        )


def create_arvo_contract(
    *,
    uri: str,
    type: str,
    versions: Mapping[str, ContractVersion | Mapping[str, Any]],
    domain: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ArvoContract:
    """Create a service contract: the same as :class:`ArvoContract` (the original's name).

    Raises:
        ValueError: a reserved (``arvo.orc*``) or invalid type, or any other contract rule.
    """
    return ArvoContract(
        uri=uri,
        type=type,
        versions=versions,
        domain=domain,
        description=description,
        metadata=metadata,
    )


def create_simple_arvo_contract(
    *,
    uri: str,
    type: str,
    versions: Mapping[str, Mapping[str, SchemaType]],
    domain: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ArvoContract:
    """A request/response contract: accepts ``com.<type>``, emits ``evt.<type>.success``.

    ``versions`` maps each version to ``{"accepts": Model, "emits": Model}`` (one model).

    Example:
        >>> class Key(BaseModel):
        ...     key: str
        >>> class Value(BaseModel):
        ...     value: int
        >>> c = create_simple_arvo_contract(uri="#/value/read", type="value.read",
        ...     versions={"1.0.0": {"accepts": Key, "emits": Value}})
        >>> c.type, c.version("latest").emit_list[0].type
        ('com.value.read', 'evt.value.read.success')
    """
    return create_arvo_contract(
        uri=uri,
        type=f"com.{type}",
        versions={
            version: {"accepts": spec["accepts"], "emits": {f"evt.{type}.success": spec["emits"]}}
            for version, spec in versions.items()
        },
        domain=domain,
        description=description,
        metadata={**(metadata or {}), "contractType": "SimpleArvoContract", "rootType": type},
    )
