"""Shared primitives: name patterns, semantic versions, clean_string and time stamps (spec §0)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from arvo_ray.core import (
    ARVO_DATA_CONTENT_TYPE,
    WILDCARD_VERSION,
    clean_string,
    compare_semantic_versions,
    create_timestamp,
    is_valid_domain,
    is_valid_event_type,
    is_valid_semantic_version,
    is_wildcard_version,
    parse_semantic_version,
)

TIMESTAMP_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00")


class TestEventTypePattern:
    @pytest.mark.parametrize(
        "value", ["a.b.c", "com.test.event", "arvo.orc.test", "a1.b2.c3.d4", "0.0.0"]
    )
    def test_accepts_reverse_dns_names_with_three_or_more_segments(self, value: str) -> None:
        """Lowercase alphanumeric segments, at least three, separated by dots (§0.2)."""
        assert is_valid_event_type(value) is True

    @pytest.mark.parametrize(
        "value",
        [
            "test.event",
            "test",
            "com.Test.event",
            "com.test_x.event",
            "com.test-x.event",
            "a..b.c",
            ".a.b.c",
            "a.b.c.",
            "",
            "a.b.c ",
            "a.b.ç",
        ],
    )
    def test_rejects_anything_else(self, value: str) -> None:
        """Two segments, uppercase, '_' or '-', empty segments and non-ASCII are invalid."""
        assert is_valid_event_type(value) is False

    def test_rejects_non_strings(self) -> None:
        """Only strings can be event types."""
        assert is_valid_event_type(None) is False
        assert is_valid_event_type(123) is False


class TestDomainPattern:
    @pytest.mark.parametrize("value", ["a", "a.b", "..", "1", "test.test", "production.us"])
    def test_accepts_lowercase_letters_digits_and_dots(self, value: str) -> None:
        """Any non-empty mix of [a-z0-9.] is a domain (§0.3)."""
        assert is_valid_domain(value) is True

    @pytest.mark.parametrize("value", ["A", "a-b", "", "a b", "a_b", "é"])
    def test_rejects_other_characters_and_the_empty_string(self, value: str) -> None:
        """Uppercase, '-', '_', spaces, non-ASCII and '' are not domains."""
        assert is_valid_domain(value) is False

    def test_none_is_not_a_domain_string(self) -> None:
        """None (no domain) is handled by the nullable fields, not by the pattern."""
        assert is_valid_domain(None) is False


class TestSemanticVersion:
    @pytest.mark.parametrize("value", ["1.0.0", "0.0.1", "10.20.30", "01.0.0", "0.0.0"])
    def test_accepts_three_numeric_parts(self, value: str) -> None:
        """X.Y.Z of decimal digits is valid, leading zeros included (§0.4)."""
        assert is_valid_semantic_version(value) is True

    @pytest.mark.parametrize(
        "value", ["1.0", "v1.0.0", "1.0.0-beta", "1.0.0.0", "", "1..0", "a.b.c", "١.٠.٠", "1.0.0\n"]
    )
    def test_rejects_other_forms(self, value: str) -> None:
        """Two parts, prefixes, pre-release tags, four parts and non-ASCII digits are invalid."""
        assert is_valid_semantic_version(value) is False

    def test_parse_splits_into_integers(self) -> None:
        """parse_semantic_version gives (major, minor, patch) as ints."""
        assert parse_semantic_version("1.2.3") == (1, 2, 3)
        assert parse_semantic_version("01.002.0") == (1, 2, 0)

    def test_parse_is_as_lenient_as_parse_int(self) -> None:
        """Extra parts are ignored and a trailing tag is cut off, as parseInt does."""
        assert parse_semantic_version("1.2.3.4") == (1, 2, 3)
        assert parse_semantic_version("1.2.3-beta") == (1, 2, 3)

    def test_parse_rejects_fewer_than_three_parts(self) -> None:
        """Fewer than three parts is a format error with the original's message."""
        with pytest.raises(ValueError, match=r"^Invalid semantic version format: 1\.2$"):
            parse_semantic_version("1.2")

    def test_parse_rejects_non_numeric_parts(self) -> None:
        """A part with no leading digits is an invalid version number."""
        with pytest.raises(ValueError, match=r"^Invalid version number in a\.b\.c$"):
            parse_semantic_version("a.b.c")
        with pytest.raises(ValueError, match=r"^Invalid version number in 1\.x\.3$"):
            parse_semantic_version("1.x.3")

    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ("1.0.0", "0.10.0", 1),
            ("0.9.0", "0.10.0", -1),
            ("1.0.0", "1.0.0", 0),
            ("2.0.0", "0.0.0", 2),
            ("1.2.3", "1.2.10", -7),
            ("1.10.0", "1.9.99", 1),
        ],
    )
    def test_compare_returns_the_first_differing_difference(
        self, a: str, b: str, expected: int
    ) -> None:
        """Comparison is numeric per component (not lexicographic) and returns the difference."""
        assert compare_semantic_versions(a, b) == expected

    def test_sorting_with_compare_orders_numerically(self) -> None:
        """0.9.0 < 0.10.0 < 1.0.0 when sorted with the comparison."""
        from functools import cmp_to_key

        versions = ["1.0.0", "0.10.0", "0.9.0"]
        assert sorted(versions, key=cmp_to_key(compare_semantic_versions)) == [
            "0.9.0",
            "0.10.0",
            "1.0.0",
        ]


class TestWildcardVersion:
    def test_wildcard_is_zero_zero_zero(self) -> None:
        """The reserved version is '0.0.0'."""
        assert WILDCARD_VERSION == "0.0.0"

    def test_is_wildcard_only_for_exactly_zero_zero_zero(self) -> None:
        """Only the literal '0.0.0' is the wildcard (not '00.0.0', not '0.0.1')."""
        assert is_wildcard_version("0.0.0") is True
        assert is_wildcard_version("0.0.1") is False
        assert is_wildcard_version("00.0.0") is False
        assert is_wildcard_version(None) is False


class TestCleanString:
    def test_trims_lines_and_drops_empty_ones(self) -> None:
        """Every line is trimmed and blank lines vanish (§0.5)."""
        assert clean_string("  Hello  \n  World  \n\n  ") == "Hello\nWorld"

    def test_single_line_is_trimmed(self) -> None:
        """A one-line string is just stripped."""
        assert clean_string("   x   ") == "x"

    def test_blank_input_gives_empty_string(self) -> None:
        """Nothing but whitespace and newlines gives ''."""
        assert clean_string(" \n \n") == ""


@pytest.fixture
def karachi_tz() -> Iterator[None]:
    """Run with the process time zone set to UTC+5 (restored afterwards)."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Karachi"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()


class TestCreateTimestamp:
    def test_format_has_milliseconds_and_a_literal_utc_offset(self) -> None:
        """The default event time reads YYYY-MM-DDTHH:MM:SS.mmm+00:00 (§0.6)."""
        assert TIMESTAMP_FORMAT.fullmatch(create_timestamp())

    def test_formats_a_given_moment_in_utc(self) -> None:
        """An aware datetime is converted to UTC and truncated to milliseconds."""
        moment = datetime(2024, 1, 1, 5, 0, 0, 123_999, tzinfo=timezone(timedelta(hours=5)))
        assert create_timestamp(moment) == "2024-01-01T00:00:00.123+00:00"

    def test_is_true_utc_even_outside_a_utc_process(self, karachi_tz: None) -> None:
        """Deliberate departure: the original labels local time +00:00; this is real UTC."""
        before = datetime.now(UTC) - timedelta(seconds=1)
        stamp = datetime.fromisoformat(create_timestamp())
        after = datetime.now(UTC) + timedelta(seconds=1)
        assert before <= stamp <= after


def test_arvo_data_content_type_value() -> None:
    """The Arvo content type string is exactly the original's."""
    assert ARVO_DATA_CONTENT_TYPE == "application/cloudevents+json;charset=UTF-8;profile=arvo"
