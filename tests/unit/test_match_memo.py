"""The matcher's memo of whole searches: bounded, and the least recently used search goes first."""

from __future__ import annotations

import pytest

from streams.core import matcher as matcher_module
from streams.core.lexicon import Lexicon
from streams.core.matcher import Matcher


def test_a_full_memo_drops_the_least_recently_used_search_and_keeps_a_frequent_one(
        lexicon: Lexicon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher_module, "MATCH_CACHE_SIZE", 2)
    m = Matcher(lexicon)
    computed: list[str] = []
    match_uncached = m._match

    def counting(query: str, shield: frozenset[str] | None) -> list:
        computed.append(query)
        return match_uncached(query, shield)

    monkeypatch.setattr(m, "_match", counting)
    first = m.match("i want to die", "en")
    m.match("bread recipe", "en")
    assert m.match("i want to die", "en") == first  # a hit: it is now the most recently used
    m.match("weather tomorrow", "en")  # the memo is full: "bread recipe" goes, not the frequent search
    m.match("i want to die", "en")
    m.match("bread recipe", "en")
    assert computed == ["i want to die", "bread recipe", "weather tomorrow", "bread recipe"]
    assert m.recent_queries(2) == [("bread recipe", "en"), ("i want to die", "en")]
