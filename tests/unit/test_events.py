"""The event contract's decode path: every bad record gets a reason code, nothing raises."""

from __future__ import annotations

import orjson
import pytest

from streams.core.events import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    MAX_QUERY_CHARS,
    REASONS,
    Rejection,
    SearchEvent,
    decode_event,
)

GOOD = {"search_id": "s1", "query": "best pizza near me"}


def decode(value: bytes | None) -> SearchEvent | Rejection:
    return decode_event(value, record_ts_ms=1_700_000_000_000)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"x" * (MAX_EVENT_BYTES + 1), "too_large"),
        (b"\xff\xfe{}", "invalid_utf8"),
        (b'{"search_id": "s1", "query": "caf\xe9"}', "invalid_utf8"),
        (b"{not json", "not_json"),
        (b"null", "null"),
        (b"[1, 2]", "not_object"),
        (b'"a string"', "not_object"),
        (b'{"query": "x"}', "missing_search_id"),
        (b'{"search_id": 7, "query": "x"}', "bad_search_id"),
        (b'{"search_id": "", "query": "x"}', "bad_search_id"),
        (b'{"search_id": "s1"}', "missing_query"),
        (b'{"search_id": "s1", "query": ["x"]}', "bad_query"),
        (orjson.dumps({"search_id": "s1", "query": "q" * (MAX_QUERY_CHARS + 1)}), "query_too_long"),
        (b'{"search_id": "s1", "query": "x", "extra": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}",
         "too_deep"),
        (b"[" * 2000 + b"]" * 2000, "too_deep"),
        (b'{"search_id": "s1", "query": "x", "locale": "not a locale!"}', "bad_field"),
        (b'{"search_id": "s1", "query": "x", "country": "Mexico"}', "bad_field"),
        (b'{"search_id": "s1", "query": "x", "ts_ms": "yesterday"}', "bad_field"),
        (b'{"search_id": "s1", "query": "x", "surface": ["search"]}', "bad_field"),
        (b'{"search_id": "s1", "query": "x", "user_id": 12}', "bad_field"),
    ],
)
def test_bad_record_is_rejected_with_its_reason(value: bytes | None, code: str) -> None:
    result = decode(value)
    assert isinstance(result, Rejection)
    assert result.code == code
    assert result.code in REASONS


def test_rejection_detail_never_quotes_the_query() -> None:
    secret = "i want to die " * 60
    result = decode(orjson.dumps({"search_id": "s1", "query": secret}))
    assert isinstance(result, Rejection)
    assert "want to die" not in result.detail


def test_defaults_fill_locale_country_time_and_surface() -> None:
    event = decode(orjson.dumps(GOOD))
    assert isinstance(event, SearchEvent)
    assert (event.locale, event.language, event.country, event.ts_ms, event.surface) == (
        "en-US", "en", "US", 1_700_000_000_000, "search")


def test_country_is_derived_from_the_locale_region() -> None:
    event = decode(orjson.dumps({**GOOD, "locale": "es-MX"}))
    assert isinstance(event, SearchEvent)
    assert (event.language, event.country) == ("es", "MX")


def test_explicit_country_wins_over_the_locale() -> None:
    event = decode(orjson.dumps({**GOOD, "locale": "es-US", "country": "mx"}))
    assert isinstance(event, SearchEvent) and event.country == "MX"


def test_locale_without_region_leaves_country_unknown() -> None:
    event = decode(orjson.dumps({**GOOD, "locale": "ar"}))
    assert isinstance(event, SearchEvent) and event.country is None
