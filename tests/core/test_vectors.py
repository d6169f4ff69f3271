"""Golden vectors recorded from arvo-core 3.0.25 (``vectors/arvo-3.0.25-probe.json``).

The file is a verbatim copy of the team's ``spec/vectors/arvo-3.0.25-probe.json``, kept beside
the tests so the suite runs from any checkout.

Every CloudEvent in the file must rebuild with ``ArvoEvent.from_dict`` and serialise back to the
same keys, order, values and JSON text; every orchestration subject in the file must decode to
the content the vectors show, and re-encoding that content must give the identical string.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arvo_ray.core import ArvoEvent, ArvoOrchestrationSubject, EventDataschema

VECTORS_FILE = Path(__file__).with_name("vectors") / "arvo-3.0.25-probe.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))

EVENT_KEYS = {"id", "source", "specversion", "type", "subject", "data"}


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) in the JSON tree, depth first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def find_events() -> list[tuple[str, dict[str, Any]]]:
    """Every dict that has the CloudEvent keys."""
    return [
        (path, value)
        for path, value in walk(VECTORS)
        if isinstance(value, dict) and value.keys() >= EVENT_KEYS
    ]


def find_subjects() -> dict[str, str]:
    """Every distinct orchestration subject string (base64 of zlib: it starts 'eJ'), by first path."""
    found: dict[str, str] = {}
    for path, value in walk(VECTORS):
        if isinstance(value, str) and value.startswith("eJ"):
            found.setdefault(value, path)
    return {path: subject for subject, path in found.items()}


EVENTS = find_events()
SUBJECTS = find_subjects()


def subject_by_execution_id() -> dict[str, str]:
    """Known subject strings keyed by their execution id."""
    return {ArvoOrchestrationSubject.parse(s)["execution"]["id"]: s for s in SUBJECTS.values()}


def test_the_vector_file_holds_the_expected_material() -> None:
    """Guard the walkers: the file's events and its four distinct workflow subjects are found."""
    assert len(EVENTS) == 23
    assert len(SUBJECTS) == 4
    assert any(path == "h_to_override.events[0]" for path, _ in EVENTS)


@pytest.mark.parametrize(("path", "vector"), EVENTS, ids=[path for path, _ in EVENTS])
class TestEventVectors:
    def test_parses_and_serialises_to_the_same_keys_order_and_values(
        self, path: str, vector: dict[str, Any]
    ) -> None:
        """from_dict(v).to_dict() has the vector's keys, in order, with equal values."""
        event = ArvoEvent.from_dict(vector)
        out = event.to_dict()
        assert list(out) == list(vector)
        assert out == vector

    def test_json_text_is_byte_identical(self, path: str, vector: dict[str, Any]) -> None:
        """to_json() equals JSON.stringify of the recorded event."""
        expected = json.dumps(vector, separators=(",", ":"), ensure_ascii=False)
        assert ArvoEvent.from_dict(vector).to_json() == expected
        assert ArvoEvent.from_json(expected).to_json() == expected

    def test_value_types_survive(self, path: str, vector: dict[str, Any]) -> None:
        """Integers stay integers and floats stay floats (executionunits 0 vs 0.1)."""
        event = ArvoEvent.from_dict(vector)
        assert type(event.executionunits) is type(vector["executionunits"])

    def test_dataschema_parses_when_present(self, path: str, vector: dict[str, Any]) -> None:
        """A recorded dataschema is <uri>/<semver>; a missing one stays None."""
        parsed = EventDataschema.parse(vector["dataschema"])
        if vector["dataschema"] is None:
            assert parsed is None
        else:
            assert parsed is not None
            assert vector["dataschema"] == f"{parsed['uri']}/{parsed['version']}"


@pytest.mark.parametrize("subject", list(SUBJECTS.values()), ids=list(SUBJECTS))
class TestSubjectVectors:
    def test_decodes(self, subject: str) -> None:
        """The recorded subject parses, and the JSON text inside is what Python would write."""
        content = ArvoOrchestrationSubject.parse(subject)
        raw = zlib.decompress(base64.b64decode(subject)).decode("utf-8")
        assert raw == json.dumps(content, separators=(",", ":"), ensure_ascii=False)

    def test_re_encoding_gives_the_identical_string(self, subject: str) -> None:
        """create(parse(s)) == s: Python subjects are byte-compatible with the original's."""
        assert ArvoOrchestrationSubject.create(ArvoOrchestrationSubject.parse(subject)) == subject

    def test_new_rebuilds_the_identical_string(self, subject: str) -> None:
        """new() with the same fields (and execution id) reproduces the subject byte for byte."""
        content = ArvoOrchestrationSubject.parse(subject)
        rebuilt = ArvoOrchestrationSubject.new(
            orchestrator=content["orchestrator"]["name"],
            version=content["orchestrator"]["version"],
            initiator=content["execution"]["initiator"],
            domain=content["execution"]["domain"],
            meta=content["meta"],
            execution_id=content["execution"]["id"],
        )
        assert rebuilt == subject


def test_orch_init_subject_matches_the_recorded_content() -> None:
    """The init event's subject decodes to the recorded orch_init_subject."""
    assert (
        ArvoOrchestrationSubject.parse(VECTORS["orch_init_event"]["subject"])
        == VECTORS["orch_init_subject"]
    )


BROKER = list(enumerate(VECTORS["broker_order"]))


@pytest.mark.parametrize(("index", "entry"), BROKER, ids=[f"broker_order[{i}]" for i, _ in BROKER])
def test_broker_order_subjects_match_the_recorded_content(
    index: int, entry: dict[str, Any]
) -> None:
    """Each broker entry's decoded subject parts match a subject from the file, or from_parent rebuilds them."""
    known = subject_by_execution_id()
    execution_id = entry["subject_exec"]["id"]
    if execution_id in known:
        content = ArvoOrchestrationSubject.parse(known[execution_id])
        assert content["orchestrator"]["name"] == entry["subject_orch"]
        assert content["execution"] == entry["subject_exec"]
        assert content["meta"] == entry["subject_meta"]
        return
    # The child workflow's subject (arvo.orc.dec) is only recorded decoded: rebuild it from its
    # parent the way the original did and check every recorded part.
    (init,) = [
        e
        for _, e in BROKER
        if e["type"] == entry["subject_orch"] and e["subject_exec"]["id"] == execution_id
    ]
    version = EventDataschema.parse(init["dataschema"])
    assert version is not None
    child = ArvoOrchestrationSubject.from_parent(
        orchestrator=entry["subject_orch"],
        version=version["version"],
        subject=init["data"]["parentSubject$$"],
        meta=entry["subject_meta"],
        execution_id=execution_id,
    )
    content = ArvoOrchestrationSubject.parse(child)
    assert content == {
        "orchestrator": {"name": entry["subject_orch"], "version": "0.0.1"},
        "execution": entry["subject_exec"],
        "meta": entry["subject_meta"],
    }
    assert ArvoOrchestrationSubject.create(content) == child


def test_custom_extension_vector_keeps_its_place() -> None:
    """The recorded custom extension 'myext' sits between 'time' and 'to' after a round trip."""
    (vector,) = VECTORS["h_to_override"]["events"]
    event = ArvoEvent.from_dict(vector)
    assert event.extensions == {"myext": "v"}
    keys = list(event.to_dict())
    assert keys[keys.index("time") + 1] == "myext"
    assert keys[keys.index("myext") + 1] == "to"
