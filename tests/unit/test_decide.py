"""Decisions follow the contract: schema, no identifiers, a hotline for crisis, the user's country first."""

from __future__ import annotations

from datetime import datetime

import jsonschema
import orjson
import pytest

from streams.core.decide import Decider
from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon, load_lexicon


def event(query: str, locale: str = "en-US", country: str | None = "US") -> SearchEvent:
    return SearchEvent("s1", query, locale, locale.split("-")[0], country, 0, "search", user_id="u-123")


WEDNESDAY_NOON_UTC = 1_764_763_200_000  # 2025-12-03 12:00 UTC
SUNDAY_NIGHT_UTC = 1_765_155_600_000  # 2025-12-08 01:00 UTC, a Monday in Asia's small hours, Sunday night in Europe


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


@pytest.mark.parametrize("country", load_lexicon().countries())
def test_crisis_search_gets_a_line_of_its_country_first(country: str, decider: Decider, lexicon: Lexicon) -> None:
    decision = decider.decide(event("i want to kill myself", country=country), WEDNESDAY_NOON_UTC)
    lines = {r.id: r for r in lexicon.crisis_lines(country)}
    first = decision["resources"][0]
    if all(r.open is not None and not r.open.is_open(WEDNESDAY_NOON_UTC) for r in lines.values()):
        assert first.get("role") == "emergency"
    else:
        assert first["id"] in lines and first.get("open_now", True)
    assert any(r["kind"] == "hotline" for r in decision["resources"])


FALLBACK_ONLY = sorted(set(load_lexicon().countries("emergency")) - set(load_lexicon().countries()))


@pytest.mark.parametrize("country", FALLBACK_ONLY)
def test_a_country_without_a_verified_line_gets_its_emergency_number_then_the_directories(
        country: str, decider: Decider) -> None:
    resources = decider.decide(event("i want to kill myself", country=country), WEDNESDAY_NOON_UTC)["resources"]
    assert resources[0]["role"] == "emergency" and resources[0]["kind"] == "hotline"
    assert {"crisis_directory"} <= {r.get("role") for r in resources}
    assert not any(r.get("role") == "crisis_line" for r in resources)


def test_a_line_closed_now_gives_way_to_one_that_is_open(decider: Decider) -> None:
    """Estonia: 116 123 answers 10-24, the children's line 116 111 around the clock."""
    night = decider.decide(event("i want to die", "et-EE", "EE"), ms("2025-12-03T05:00+02:00"))["resources"]
    day = decider.decide(event("i want to die", "et-EE", "EE"), ms("2025-12-03T11:00+02:00"))["resources"]
    assert [r["id"] for r in night if r.get("role") == "crisis_line"][0] == "ee-lasteabi-116111"
    assert {r["id"]: r["open_now"] for r in night if r["id"] == "ee-116123"} == {"ee-116123": False}
    assert {r["id"]: r["open_now"] for r in day if r["id"] == "ee-116123"} == {"ee-116123": True}


def test_when_every_line_is_closed_the_emergency_number_comes_first(decider: Decider) -> None:
    """Croatia's verified line (116 111) answers on working days 9-20 only."""
    sunday = decider.decide(event("i want to die", "hr-HR", "HR"), ms("2025-12-07T15:00+01:00"))["resources"]
    monday = decider.decide(event("i want to die", "hr-HR", "HR"), ms("2025-12-08T15:00+01:00"))["resources"]
    assert sunday[0]["role"] == "emergency" and sunday[1]["id"] == "hr-hrabri-telefon-116111"
    assert not sunday[1]["open_now"]
    assert monday[0]["id"] == "hr-hrabri-telefon-116111" and monday[0]["open_now"]


def test_hours_the_source_does_not_state_are_never_shown_as_open(decider: Decider, lexicon: Lexicon) -> None:
    unknown = {r.id for r in lexicon.resources.values() if r.open is None}
    resources = decider.decide(event("i want to die", "nl-NL", "NL"), WEDNESDAY_NOON_UTC)["resources"]
    assert unknown & {r["id"] for r in resources}
    assert all("open_now" not in r for r in resources if r["id"] in unknown)


def test_support_in_germany_is_in_german_and_never_falls_back_to_english(decider: Decider) -> None:
    resources = decider.decide(event("depression", "de-DE", "DE"), WEDNESDAY_NOON_UTC)["resources"]
    assert resources and [r["language"] for r in resources] == ["de"] * len(resources)


def test_english_pages_serve_only_where_nothing_in_a_local_language_does(decider: Decider) -> None:
    resources = decider.decide(event("depression", "en-DE", "DE"), WEDNESDAY_NOON_UTC)["resources"]
    assert resources[0]["language"] == "en" and "de" in {r["language"] for r in resources}  # theirs, then local
    hindi = decider.decide(event("depression", "hi-DE", "DE"), WEDNESDAY_NOON_UTC)["resources"]
    assert {r["language"] for r in hindi} <= {"hi", "de"}  # never a language neither the searcher nor DE uses
    india = decider.decide(event("epilepsy", "hi-IN", "IN"), WEDNESDAY_NOON_UTC)["resources"]
    assert india and {r["language"] for r in india} == {"en"}  # no Hindi page on epilepsy yet: English


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
