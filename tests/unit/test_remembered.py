"""Decisions remembered for repeated searches: the same bytes as a fresh decision, bounded, no identifiers."""

from __future__ import annotations

from datetime import datetime

import orjson

from streams.core.decide import Decider
from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon
from streams.core.remembered import Remembered
from streams.pipeline import Pipeline, Record

NOON = int(datetime.fromisoformat("2025-12-03T12:00+00:00").timestamp() * 1000)


def search(search_id: str, query: str, locale: str = "en-US", country: str | None = "US",
           user_id: str = "u-123") -> SearchEvent:
    return SearchEvent(search_id, query, locale, locale.split("-")[0], country, NOON, "search", user_id)


def test_a_repeated_search_gets_the_record_a_fresh_decision_would_give(decider: Decider) -> None:
    remembered = Remembered(decider)
    for query in ("i want to kill myself", "weather tomorrow", "depression", "best pasta recipe"):
        remembered.decide(search("first", query), NOON)
        decision, value = remembered.decide(search("second-1", query), NOON + 1)
        fresh = decider.decide(search("second-1", query), NOON + 1)
        assert value == orjson.dumps(fresh)
        assert decision == fresh
    assert remembered.hits == 4 and remembered.lookups == 8


def test_the_same_query_in_another_country_is_decided_for_that_country(decider: Decider) -> None:
    remembered = Remembered(decider)
    remembered.decide(search("a", "i want to die", "en-US", "US"), NOON)
    _, value = remembered.decide(search("b", "i want to die", "en-GB", "GB"), NOON)
    assert value == orjson.dumps(decider.decide(search("b", "i want to die", "en-GB", "GB"), NOON))
    assert remembered.hits == 0


def test_a_line_that_opened_since_is_shown_open(decider: Decider) -> None:
    """Estonia: 116 123 answers 10-24; a decision remembered at 05:00 is made again at 11:00."""
    remembered = Remembered(decider)
    night = int(datetime.fromisoformat("2025-12-03T05:00+02:00").timestamp() * 1000)
    day = int(datetime.fromisoformat("2025-12-03T11:00+02:00").timestamp() * 1000)
    remembered.decide(search("n", "i want to die", "et-EE", "EE"), night)
    decision, value = remembered.decide(search("d", "i want to die", "et-EE", "EE"), day)
    assert {r["id"]: r["open_now"] for r in decision["resources"] if r["id"] == "ee-116123"} == {"ee-116123": True}
    assert value == orjson.dumps(decider.decide(search("d", "i want to die", "et-EE", "EE"), day))
    assert remembered.hits == 0


def test_it_holds_at_most_its_size_and_never_a_user_or_search_id(decider: Decider) -> None:
    remembered = Remembered(decider, size=3)
    for i in range(10):
        remembered.decide(search(f"search-{i}", f"weather day {i}", user_id=f"person-{i}"), NOON)
    assert len(remembered._entries) == 3
    held = repr(list(remembered._entries))
    assert "person-" not in held and "search-" not in held
    assert all(b"person-" not in entry.middle for entry in remembered._entries.values())


def test_size_zero_remembers_nothing(decider: Decider) -> None:
    remembered = Remembered(decider, size=0)
    remembered.decide(search("a", "weather"), NOON)
    _, value = remembered.decide(search("b", "weather"), NOON)
    assert value == orjson.dumps(decider.decide(search("b", "weather"), NOON))
    assert remembered.hits == 0 and not remembered._entries


def test_a_new_lexicon_version_forgets_the_old_ones_decisions(lexicon: Lexicon) -> None:
    old, new = Decider(lexicon), Decider(lexicon)
    pipeline = Pipeline(old, "decisions", "dlq")
    record = Record("t", 0, 0, NOON, b"k", orjson.dumps({"search_id": "a", "query": "weather", "ts_ms": NOON}))
    pipeline.process([record], lambda *_: None)
    assert pipeline.process([record], lambda *_: None).remembered == 1
    pipeline.decider = new
    outcome = pipeline.process([record], lambda *_: None)
    assert (outcome.remembered, outcome.remember_lookups) == (0, 1)
