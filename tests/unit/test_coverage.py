"""The coverage floors of the largest markets (lexicon/markets.json), held as tests."""

from __future__ import annotations

import json

import pytest

from streams.core.decide import Decider
from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon, load_lexicon
from streams.coverage import Market, country_cover, load_markets
from tests.conftest import ROOT

MARKETS = load_markets(ROOT / "lexicon")
RAW = {m["country"]: m for m in json.loads((ROOT / "lexicon/markets.json").read_text())["markets"]}
NOON_UTC = 1_764_763_200_000  # a Wednesday


def search(lexicon: Lexicon, condition: str, market: Market) -> SearchEvent:
    """A searcher of the market's first language: the lexicon's first term for `condition` in that language (an
    English one where the lexicon has none yet: `signpost coverage` lists those languages as gaps)."""
    terms = lexicon.conditions[condition].terms
    language = market.languages[0]
    query = terms.get(language, terms["en"])[0]
    return SearchEvent("s", query, f"{language}-{market.country}", language, market.country, 0, "search")


def test_thirty_markets_are_listed() -> None:
    assert len(MARKETS) == 30 and len({m.country for m in MARKETS}) == 30


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.country)
def test_a_market_has_a_verified_line_or_says_why_not(market: Market, lexicon: Lexicon) -> None:
    has_line = bool(lexicon.crisis_lines(market.country))
    assert has_line != bool(RAW[market.country].get("no_line"))


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.country)
def test_a_crisis_search_gets_its_countrys_line_or_emergency_number_and_the_directories(
        market: Market, lexicon: Lexicon, decider: Decider) -> None:
    resources = decider.decide(search(lexicon, "suicide", market), NOON_UTC)["resources"]
    lines = {r.id for r in lexicon.crisis_lines(market.country)}
    emergency = {r.id for r in lexicon.of_role("emergency", market.country)}
    roles = [r.get("role") for r in resources]
    if lines:
        assert resources[0]["id"] in lines | emergency
    else:
        assert "crisis_directory" in roles and "crisis_line" not in roles
        if emergency:
            assert resources[0]["id"] in emergency


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.country)
def test_the_support_gaps_of_a_market_are_exactly_those_listed(market: Market, lexicon: Lexicon) -> None:
    """Fails when a gap opens, and when a listed one closes (then shorten the list in lexicon/markets.json)."""
    gaps = country_cover(lexicon, market.country, market.languages).support_gaps
    assert sorted(gaps) == sorted(RAW[market.country].get("support_gaps", []))


@pytest.mark.parametrize("market", [m for m in MARKETS if "depression" not in RAW[m.country].get("support_gaps", [])],
                         ids=lambda m: m.country)
def test_a_depression_search_gets_help_in_a_language_of_the_market_first(
        market: Market, lexicon: Lexicon, decider: Decider) -> None:
    event = search(lexicon, "depression", market)
    first = decider.decide(event, NOON_UTC)["resources"][0]
    assert first["language"] in market.languages


def test_every_phone_fact_has_a_source_of_the_operator_or_a_government(lexicon: Lexicon) -> None:
    """Not an aggregator, mirror, proxy, archive or school page (the kinds the 2026-12-01 audit found)."""
    refused = ("yep.tools", "phynetinc", "webarchive", "webharvest", "git.lsit", "domain.glass", "luke.lol",
               "paperai", "pages.dev", "progress.guide", "wikipedia.org", "sfisd.net", "upday.com", "163.com",
               "hourstv", "portalnmt")
    bad = [r.id for r in load_lexicon().resources.values() if any(host in r.source for host in refused)]
    assert not bad
