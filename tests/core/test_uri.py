"""JavaScript ``encodeURI``/``decodeURI`` and ``validateURI`` (spec §0.1)."""

from __future__ import annotations

import pytest

from arvo_ray.core import decode_uri, encode_uri, validate_uri

# Spec §0.1, "Observed results" (every row of the table).
VALID = [
    "https://example.com",
    "#/a/b",
    "com.x.y",
    "a%20b",
    "a%C3%BC",
    "eJx+/=",
    "a;b,c?d:e@f&g=h+i$j-_.!~*'()#",
    "",
]
INVALID = [
    "a b",
    "ü",
    "a%zz",
    "a%",
    "a[b]",
    "a{b}",
    "a|b",
    'a"b',
    "a<b",
    "a\\b",
    "a^b",
    "a`b",
    "a%2Fb",  # escape of a reserved char: decode keeps it, encode gives %252F
    "a%41",  # an unnecessary escape
    "a%c3%bc",  # lowercase hex
]


class TestValidateUri:
    @pytest.mark.parametrize("value", VALID, ids=repr)
    def test_accepts_properly_encoded_uris(self, value: str) -> None:
        """A value equal to encodeURI(decodeURI(value)) is a valid URI."""
        assert validate_uri(value) is True

    @pytest.mark.parametrize("value", INVALID, ids=repr)
    def test_rejects_values_that_are_not_their_own_encoding(self, value: str) -> None:
        """Raw unsafe characters, malformed or unnecessary escapes make the URI invalid."""
        assert validate_uri(value) is False

    def test_an_encoded_string_is_always_valid(self) -> None:
        """Whatever encode_uri produces passes validate_uri."""
        for raw in ["a b", "ü", "a%zz", "a[b]", "日本語 テキスト", "emoji 🎉", "100%"]:
            assert validate_uri(encode_uri(raw)) is True

    def test_lone_surrogate_escape_is_invalid(self) -> None:
        """An escape decoding to a UTF-16 surrogate is malformed, so the value is invalid."""
        assert validate_uri("%ED%A0%80") is False


class TestEncodeUri:
    def test_leaves_uri_characters_unescaped(self) -> None:
        """Letters, digits and ;,/?:@&=+$-_.!~*'()# pass through unchanged."""
        plain = "AZaz09;,/?:@&=+$-_.!~*'()#"
        assert encode_uri(plain) == plain

    def test_percent_encodes_everything_else_as_uppercase_utf8(self) -> None:
        """Other characters become %XX of their UTF-8 bytes, with uppercase hex."""
        assert encode_uri("a b") == "a%20b"
        assert encode_uri("ü") == "%C3%BC"
        assert encode_uri("€") == "%E2%82%AC"
        assert encode_uri("🎉") == "%F0%9F%8E%89"
        assert encode_uri('[]{}|"<>\\^`') == "%5B%5D%7B%7D%7C%22%3C%3E%5C%5E%60"

    def test_encodes_the_percent_sign_itself(self) -> None:
        """'%' is always encoded, so already-encoded text is double-encoded (spec §1.2)."""
        assert encode_uri("%") == "%25"
        assert encode_uri("a%20b") == "a%2520b"
        assert encode_uri("a%zz") == "a%25zz"

    def test_lone_surrogate_raises_value_error(self) -> None:
        """Like JavaScript's URIError, a lone surrogate cannot be encoded."""
        with pytest.raises(ValueError, match="URI malformed"):
            encode_uri("a\ud800b")


class TestDecodeUri:
    def test_decodes_escapes_of_unreserved_characters(self) -> None:
        """Escapes of ordinary characters (including multi-byte UTF-8) are decoded."""
        assert decode_uri("a%20b") == "a b"
        assert decode_uri("a%C3%BC") == "aü"
        assert decode_uri("%F0%9F%8E%89") == "🎉"
        assert decode_uri("%41") == "A"

    @pytest.mark.parametrize(
        "escape", ["%3B", "%2F", "%3F", "%3A", "%40", "%26", "%3D", "%2B", "%24", "%2C", "%23"]
    )
    def test_keeps_escapes_of_reserved_characters(self, escape: str) -> None:
        """decodeURI leaves escapes of ; / ? : @ & = + $ , # as they are."""
        assert decode_uri(f"a{escape}b") == f"a{escape}b"

    def test_keeps_the_original_case_of_a_kept_escape(self) -> None:
        """A reserved escape is kept verbatim, lowercase hex included."""
        assert decode_uri("a%2fb") == "a%2fb"

    def test_text_without_percent_is_returned_unchanged(self) -> None:
        """No escape, nothing to decode (even for characters encodeURI would escape)."""
        assert decode_uri("a b ü") == "a b ü"

    @pytest.mark.parametrize(
        "value",
        [
            "a%zz",
            "a%",
            "a%2",
            "%C3",
            "%C3x",
            "%FF",
            "%80",
            "%C3%28",
            "%C0%AF",
            "%ED%A0%80",
            "%F4%90%80%80",
        ],
        ids=repr,
    )
    def test_malformed_escapes_raise_value_error(self, value: str) -> None:
        """Bad hex, truncated, invalid or overlong UTF-8 and surrogates raise (URIError in JS)."""
        with pytest.raises(ValueError, match="URI malformed"):
            decode_uri(value)

    def test_decode_inverts_encode(self) -> None:
        """decode_uri(encode_uri(s)) gives s back for text with no reserved escapes."""
        for raw in ["a b", "ü/ß?x=1#y", "100%", "%41", "tab\there"]:
            assert decode_uri(encode_uri(raw)) == raw
