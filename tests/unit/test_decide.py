"""Decisions follow the contract: schema, no identifiers, a hotline for crisis, the user's country first."""

from __future__ import annotations

import jsonschema
import orjson
import pytest

from streams.core.decide import Decider
from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon, load_lexicon


def event(query: str, locale: str = "en-US", country: str | None = "US") -> SearchEvent:
    return SearchEvent("s1", query, locale, locale.split("-")[0], country, 0, "search", user_id="u-123")


@pytest.mark.parametrize("country", load_lexicon().countries())
def test_crisis_search_gets_a_hotline_for_its_country(country: str, decider: Decider, lexicon: Lexicon) -> None:
    decision = decider.decide(event("i want to kill myself", country=country), 0)
    first = decision["resources"][0]
    assert first["kind"] in ("hotline", "text", "chat")
    assert first["id"] in {r.id for r in lexicon.crisis_lines(country)}
    assert any(r["kind"] == "hotline" for r in decision["resources"])


def test_crisis_search_from_a_country_without_a_line_gets_the_international_directory(decider: Decider) -> None:
    decision = decider.decide(event("i want to die", "en", None), 0)
    assert decision["tier"] == "crisis"
    assert decision["resources"][0]["id"].startswith("intl-")


@pytest.mark.parametrize("query", ["best pizza near me", "anxiety", "i want to die", "am i autistic", "quiero morir"])
def test_every_decision_matches_the_schema_and_carries_no_identifier(
        query: str, decider: Decider, decision_schema: dict) -> None:
    decision = decider.decide(event(query), 1)
    jsonschema.validate(decision, decision_schema)
    encoded = orjson.dumps(decision)
    assert b"u-123" not in encoded
    assert decision["lexicon_version"] == decider.version


def test_support_search_in_the_us_offers_in_person_help(decider: Decider) -> None:
    decision = decider.decide(event("how to deal with anxiety"), 0)
    kinds = {r["kind"] for r in decision["resources"]}
    assert "info" in kinds and ({"in_person", "hotline"} & kinds)
