"""``ArvoOrchestrationSubject``: the event subject that names one workflow instance.

A subject is ``base64(zlib(compact JSON))`` of ``{orchestrator, execution, meta}``. The bytes
are identical to the TypeScript original's (``zlib.compress`` at level 6 matches pako), so a
subject minted here is accepted there and the other way round. Workflows use the subject as
their memory key, and the embedded orchestrator name/version route an event to its machine.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import zlib
from collections.abc import Mapping
from typing import Any, TypedDict

from arvo_ray.core._js_json import js_stringify
from arvo_ray.core._primitives import (
    DOMAIN_PATTERN,
    EVENT_TYPE_PATTERN,
    SEMVER_PATTERN,
    WILDCARD_VERSION,
    clean_string,
    new_uuid4,
)

__all__ = [
    "ArvoOrchestrationSubject",
    "ArvoOrchestrationSubjectContent",
    "InvalidSubjectError",
]


class OrchestratorInfo(TypedDict):
    name: str
    version: str


class ExecutionInfo(TypedDict):
    id: str
    initiator: str
    domain: str | None


class ArvoOrchestrationSubjectContent(TypedDict):
    """The decoded subject: which orchestrator (name, version), which run, and free-form meta.

    Example:
        >>> content: ArvoOrchestrationSubjectContent = {
        ...     "orchestrator": {"name": "arvo.orc.number.double", "version": "1.0.0"},
        ...     "execution": {"id": "run-1", "initiator": "com.number.client", "domain": None},
        ...     "meta": {}}
        >>> ArvoOrchestrationSubject.parse(ArvoOrchestrationSubject.create(content)) == content
        True
    """

    orchestrator: OrchestratorInfo
    execution: ExecutionInfo
    meta: dict[str, str]


class InvalidSubjectError(ValueError):
    """A subject string could not be decoded, or subject content breaks the schema.

    Attributes:
        issues: One readable line per broken rule (empty for decoding failures).

    Example:
        >>> try:
        ...     ArvoOrchestrationSubject.new(
        ...         orchestrator="double", version="1.0.0", initiator="com.number.client")
        ... except InvalidSubjectError as error:
        ...     print(error.issues)
        ['orchestrator.name: Orchestrator name should be prefixed with a reverse-DNS name']
    """

    def __init__(self, message: str, issues: list[str] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


def _schema_issues(content: Any) -> list[str]:
    """Every rule of the original's subject schema that ``content`` breaks."""
    if not isinstance(content, Mapping):
        return [f"Expected object, received {type(content).__name__}"]
    issues: list[str] = []
    orchestrator = content.get("orchestrator")
    execution = content.get("execution")
    meta = content.get("meta")
    if not isinstance(orchestrator, Mapping):
        issues.append("orchestrator: Required object")
    else:
        name = orchestrator.get("name")
        if not isinstance(name, str):
            issues.append("orchestrator.name: Required string")
        else:
            if EVENT_TYPE_PATTERN.fullmatch(name) is None:
                issues.append(
                    "orchestrator.name: Orchestrator name should be prefixed with a reverse-DNS name"
                )
            if ";" in name:
                issues.append("orchestrator.name: Orchestrator name must not contain semicolon")
        version = orchestrator.get("version")
        if not isinstance(version, str) or SEMVER_PATTERN.fullmatch(version) is None:
            issues.append("orchestrator.version: Invalid version format of the semantic version")
    if not isinstance(execution, Mapping):
        issues.append("execution: Required object")
    else:
        run_id = execution.get("id")
        if not isinstance(run_id, str) or not run_id:
            issues.append("execution.id: ID must be a non-empty string")
        elif ";" in run_id:
            issues.append("execution.id: ID must not contain semicolon")
        initiator = execution.get("initiator")
        if not isinstance(initiator, str):
            issues.append("execution.initiator: Required string")
        else:
            if EVENT_TYPE_PATTERN.fullmatch(initiator) is None:
                issues.append(
                    "execution.initiator: Orchestration initiator should be prefixed with a "
                    "reverse-DNS name"
                )
            if ";" in initiator:
                issues.append("execution.initiator: Initiator must not contain semicolon")
        if "domain" not in execution:
            issues.append("execution.domain: Required (nullable, not optional)")
        else:
            domain = execution["domain"]
            if domain is not None:
                if not isinstance(domain, str) or not domain:
                    issues.append("execution.domain: The domain must be non-empty string")
                if not isinstance(domain, str) or DOMAIN_PATTERN.fullmatch(domain) is None:
                    issues.append(
                        "execution.domain: Domain must contain only lowercase letters, numbers, "
                        "and dots"
                    )
    if not isinstance(meta, Mapping):
        issues.append("meta: Required object")
    else:
        for key, value in meta.items():
            if not isinstance(key, str):
                # json.dumps would silently turn 1 into "1" and True into "true".
                issues.append(f"meta: key {key!r} must be a string, got {type(key).__name__}")
            elif not isinstance(value, str):
                issues.append(f"meta.{key}: Expected string, received {type(value).__name__}")
    return issues


def _encode(content: Mapping[str, Any]) -> str:
    """Raises ``TypeError``/``ValueError`` for content with no exact JSON form (sets, NaN...)."""
    text = js_stringify(content)
    return base64.b64encode(zlib.compress(text.encode("utf-8"))).decode("ascii")


def _decode(subject: str) -> str:
    """Subject text to its JSON text; lenient like Node's base64 (url-safe, missing padding)."""
    normalised = subject.strip().replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        raw = base64.b64decode(normalised, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSubjectError(f"invalid base64: {exc}") from exc
    try:
        inflated = zlib.decompress(raw)
    except zlib.error as exc:
        raise InvalidSubjectError(f"not zlib data ({exc})") from exc
    try:
        return inflated.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSubjectError(f"not UTF-8 text ({exc})") from exc


@functools.lru_cache(maxsize=8192)
def _parse_cached(subject: str) -> str:
    """The validated JSON text of ``subject`` (callers get a fresh object via ``json.loads``)."""
    try:
        text = _decode(subject)
    except InvalidSubjectError as exc:
        raise InvalidSubjectError(_parse_message(str(exc), subject)) from exc
    try:
        content = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSubjectError(_parse_message(f"not JSON ({exc})", subject)) from exc
    except RecursionError as exc:
        raise InvalidSubjectError(_parse_message("JSON nested too deeply", subject)) from exc
    issues = _schema_issues(content)
    if issues:
        raise InvalidSubjectError(
            _parse_message("Invalid ArvoOrchestrationContextType: " + "; ".join(issues), subject),
            issues,
        )
    return text


def _parse_message(cause: str, subject: str) -> str:
    shown = subject if len(subject) <= 200 else subject[:200] + "…"
    return clean_string(
        f"Error parsing orchestration subject string to the context.\n"
        f"Error -> {cause}\nsubject -> {shown}"
    )


class ArvoOrchestrationSubject:
    """Create and read orchestration subjects (all static; subjects are plain strings).

    Example:
        >>> subject = ArvoOrchestrationSubject.new(
        ...     orchestrator="arvo.orc.inc", version="1.0.0", initiator="com.test.client")
        >>> ArvoOrchestrationSubject.parse(subject)["orchestrator"]
        {'name': 'arvo.orc.inc', 'version': '1.0.0'}
    """

    @staticmethod
    def create(content: Mapping[str, Any]) -> str:
        """Validate and encode ``content`` as given (key order and extra keys are kept).

        Raises:
            InvalidSubjectError: the content breaks the subject schema; every issue is listed.
        """
        issues = _schema_issues(content)
        encoded = None
        if not issues:
            try:
                encoded = _encode(content)
            except (TypeError, ValueError, RecursionError) as exc:
                # Extra keys are kept as given, so they must be plain JSON too.
                issues = [f"content is not JSON serialisable ({exc})"]
        if encoded is None:
            try:
                shown = js_stringify(content, indent=2)
            except (TypeError, ValueError, RecursionError):
                try:
                    shown = json.dumps(content, indent=2, ensure_ascii=False, default=repr)
                except (TypeError, ValueError, RecursionError):
                    shown = repr(content)
            raise InvalidSubjectError(
                clean_string(
                    "Error creating orchestration subject string from the provided context.\n"
                    f"Error -> Invalid ArvoOrchestrationContextType: {'; '.join(issues)}\n"
                    f"Context -> {shown}"
                ),
                issues,
            )
        return encoded

    @staticmethod
    def new(
        *,
        orchestrator: str,
        version: str | None,
        initiator: str,
        domain: str | None = None,
        meta: Mapping[str, str] | None = None,
        execution_id: str | None = None,
    ) -> str:
        """A subject for a new run of ``orchestrator`` (a fresh uuid4 execution id by default).

        ``version=None`` means the wildcard ``0.0.0``. ``execution_id`` lets a caller make the
        subject deterministic (e.g. derived from the id of the event that starts the run).
        """
        return ArvoOrchestrationSubject.create(
            {
                "orchestrator": {
                    "name": orchestrator,
                    "version": WILDCARD_VERSION if version is None else version,
                },
                "execution": {
                    "id": execution_id or new_uuid4(),
                    "initiator": initiator,
                    "domain": domain,
                },
                "meta": dict(meta or {}),
            }
        )

    @staticmethod
    def from_parent(
        *,
        orchestrator: str,
        version: str | None,
        subject: str,
        domain: str | None = None,
        meta: Mapping[str, str] | None = None,
        execution_id: str | None = None,
    ) -> str:
        """A child run's subject: initiated by the parent orchestrator, inheriting its domain and meta.

        The child's ``initiator`` is the parent's orchestrator name, its domain is ``domain`` or
        else the parent's, and its meta is the parent's updated with ``meta``.

        Raises:
            InvalidSubjectError: the parent subject or the new content is invalid.
        """
        parent = ArvoOrchestrationSubject.parse(subject)
        return ArvoOrchestrationSubject.new(
            orchestrator=orchestrator,
            version=version,
            initiator=parent["orchestrator"]["name"],
            domain=domain if domain is not None else parent["execution"].get("domain"),
            meta={**parent["meta"], **(meta or {})},
            execution_id=execution_id,
        )

    @staticmethod
    def parse(subject: str) -> ArvoOrchestrationSubjectContent:
        """Decode and validate a subject; returns the JSON content as encoded (extra keys included).

        Raises:
            InvalidSubjectError: not base64/zlib/JSON, or the content breaks the schema.
        """
        if not isinstance(subject, str):
            raise InvalidSubjectError(
                _parse_message(f"expected a string, got {type(subject).__name__}", repr(subject))
            )
        return json.loads(_parse_cached(subject))  # type: ignore[no-any-return]

    @staticmethod
    def is_valid(subject: object) -> bool:
        """True when ``subject`` parses (never raises)."""
        if not isinstance(subject, str):
            return False
        try:
            _parse_cached(subject)
        except InvalidSubjectError:
            return False
        return True
