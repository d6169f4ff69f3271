"""Event ids: uuid4 defaults, DEVELOPER_MANAGED and ARVO_MANAGED deduplication (spec §1.4)."""

from __future__ import annotations

import base64
import json
import re
import zlib

import pytest

from arvo_ray.core import ArvoEventId, create_arvo_event_id, parse_arvo_event_id
from arvo_ray.core import _event as event_module

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

# Spec §1.4: value ' custom-id ' with uuid 36b975c1-… gives exactly this id (pako == zlib).
SPEC_UUID = "36b975c1-1771-4392-833c-1295202f23a8"
SPEC_ID = "eJyrViotzUxRslIyNkuyNDdNNtQ1NDc31DUxtjTStTA2TtY1NLI0NTIwSjMyTrRQ0lEqS8wpTQUqTy4tLsnP1QVqrQUASp8SNg=="


class TestCreateArvoEventId:
    def test_no_id_gives_a_fresh_uuid4(self) -> None:
        """Without an id, a random version-4 uuid is generated each time."""
        first, second = create_arvo_event_id(), create_arvo_event_id(None)
        assert UUID4.fullmatch(first)
        assert UUID4.fullmatch(second)
        assert first != second

    def test_developer_managed_keeps_the_trimmed_value(self) -> None:
        """DEVELOPER_MANAGED ids are the value, trimmed, verbatim."""
        spec: ArvoEventId = {"deduplication": "DEVELOPER_MANAGED", "value": "  my-id  "}
        assert create_arvo_event_id(spec) == "my-id"

    def test_plain_string_is_a_python_convenience(self) -> None:
        """A plain string is used (trimmed) as a developer-managed id."""
        assert create_arvo_event_id("  abc ") == "abc"

    @pytest.mark.parametrize("deduplication", ["DEVELOPER_MANAGED", "ARVO_MANAGED"])
    @pytest.mark.parametrize("value", ["", "   ", "\n\t"], ids=repr)
    def test_blank_value_falls_back_to_uuid4(self, deduplication: str, value: str) -> None:
        """A blank value with either strategy gives a fresh uuid4."""
        assert UUID4.fullmatch(
            create_arvo_event_id({"deduplication": deduplication, "value": value})
        )

    def test_blank_plain_string_falls_back_to_uuid4(self) -> None:
        """A blank plain string gives a fresh uuid4 too."""
        assert UUID4.fullmatch(create_arvo_event_id("   "))

    def test_arvo_managed_is_byte_identical_to_the_original(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """base64(zlib(compact JSON {uuid, value})) equals the id the TypeScript build made."""
        monkeypatch.setattr(event_module, "new_uuid4", lambda: SPEC_UUID)
        assert (
            create_arvo_event_id({"deduplication": "ARVO_MANAGED", "value": " custom-id "})
            == SPEC_ID
        )

    def test_arvo_managed_payload_is_compact_json_with_uuid_and_value(self) -> None:
        """The decoded payload is {"uuid": <uuid4>, "value": <trimmed value>} in that key order."""
        made = create_arvo_event_id({"deduplication": "ARVO_MANAGED", "value": " custom-id "})
        text = zlib.decompress(base64.b64decode(made)).decode()
        payload = json.loads(text)
        assert list(payload) == ["uuid", "value"]
        assert UUID4.fullmatch(payload["uuid"])
        assert payload["value"] == "custom-id"
        assert text == json.dumps(payload, separators=(",", ":"))

    def test_arvo_managed_keeps_non_ascii_unescaped(self) -> None:
        """Non-ASCII values are written as UTF-8, not \\u escapes, as JSON.stringify does."""
        made = create_arvo_event_id({"deduplication": "ARVO_MANAGED", "value": "ü"})
        assert '"value":"ü"' in zlib.decompress(base64.b64decode(made)).decode("utf-8")

    def test_arvo_managed_ids_are_unique_per_call(self) -> None:
        """The same value gives different ids (the uuid differs) that carry the same value."""
        spec: ArvoEventId = {"deduplication": "ARVO_MANAGED", "value": "same"}
        first, second = create_arvo_event_id(spec), create_arvo_event_id(spec)
        assert first != second
        contents = [parse_arvo_event_id(made)[0] for made in (first, second)]
        assert [content["value"] for content in contents if isinstance(content, dict)] == [
            "same"
        ] * 2

    def test_unknown_deduplication_is_rejected(self) -> None:
        """An unknown strategy is a ValueError listing the valid ones."""
        with pytest.raises(ValueError, match="'DEVELOPER_MANAGED' or 'ARVO_MANAGED'"):
            create_arvo_event_id({"deduplication": "OTHER", "value": "x"})


class TestParseArvoEventId:
    def test_decodes_the_spec_example(self) -> None:
        """The spec's id decodes to its uuid and value, with no error."""
        assert parse_arvo_event_id(SPEC_ID) == ({"uuid": SPEC_UUID, "value": "custom-id"}, None)

    @pytest.mark.parametrize(
        "value", ["abc", "6fe4fce5-1bca-4cd0-b7f4-f638917ccac2", "", "!!!!", "eJ"]
    )
    def test_returns_the_id_and_a_truthy_error_for_other_ids(self, value: str) -> None:
        """Non-Arvo ids give (id, error) and never raise."""
        content, error = parse_arvo_event_id(value)
        assert content == value
        assert error

    def test_rejects_zlib_json_without_uuid_and_value(self) -> None:
        """A well-encoded payload of the wrong shape is not an Arvo-managed id."""
        other = base64.b64encode(zlib.compress(b'{"uuid": 1}')).decode()
        assert parse_arvo_event_id(other) == (other, "Not an Arvo-managed id: unexpected content")


class TestIdText:
    def test_an_id_that_is_not_unicode_text_is_refused(self) -> None:
        """A lone surrogate (JSON can spell one) could never be an answer's ``parentid``."""
        from pydantic import ValidationError

        from arvo_ray.core import ArvoEvent

        fields = {"source": "com.test.client", "type": "com.test.event", "subject": "s", "data": {}}
        with pytest.raises(ValidationError, match="The id must be Unicode text"):
            ArvoEvent(id="\ud800", **fields)
        assert ArvoEvent(id="événement-1", **fields).id == "événement-1"
