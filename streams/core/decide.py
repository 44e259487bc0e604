"""Deciding a search: the one seam between transport and engine.

`Decider(lexicon).decide(event, now_ms)` is pure; the worker, `signpost classify`, the evaluation and the
benchmark all call it. A decision never carries the user id or the query text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypedDict

from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon
from streams.core.matcher import ConditionHit, Match, Matcher
from streams.core.resources import Resource, ResourceRef, country_languages
from streams.core.vocabulary import TIER_RANK, Tier

MAX_RESOURCES = 8


class Decision(TypedDict):
    """One search's decision, as published on the decisions topic (streams/schemas/decision.schema.json)."""
    search_id: str
    intercept: bool
    tier: Tier | None
    conditions: list[ConditionHit]
    resources: list[ResourceRef]
    locale: str | None
    country: str | None
    lexicon_version: str
    decided_at_ms: int


EMPTY: frozenset[str] = frozenset()


class Decider:
    def __init__(self, lexicon: Lexicon, matcher: Matcher | None = None) -> None:
        """`matcher`: one built for a lexicon with the same `matching_digest`, shared (it is immutable)."""
        if matcher is not None and matcher.lexicon.matching_digest != lexicon.matching_digest:
            raise ValueError("a matcher is shared only between versions that match alike")
        self.lexicon = lexicon
        self.matcher = Matcher(lexicon) if matcher is None else matcher
        self.version = lexicon.version
        # Resources with a timetable (not 24/7, not unknown), per country: only these make the order depend on
        # the clock, so only their countries pay for an open-now check, at most once a minute.
        self._timed: dict[str | None, tuple[Resource, ...]] = {}
        for r in lexicon.resources.values():
            if r.open is not None and not r.open.always:
                for country in r.countries or (None,):
                    self._timed[country] = (*self._timed.get(country, ()), r)
        self._open_ids = lru_cache(maxsize=4096)(self._open_ids_uncached)
        # Orders are memoized per (conditions, country, language, lines open): the dicts they hold are shared
        # between decisions, never changed after they are made.
        self._resources = lru_cache(maxsize=32_768)(self._resources_uncached)
        self._serving = lru_cache(maxsize=8192)(
            lambda cid, country: tuple(lexicon.serving(lexicon.conditions[cid], country)))
        self._of_role = lru_cache(maxsize=1024)(lexicon.of_role)
        self._shown = lru_cache(maxsize=16_384)(_shown)
        self._directories = tuple(r for r in lexicon.resources.values() if r.role == "crisis_directory")

    def decide(self, event: SearchEvent, now_ms: int) -> Decision:
        matches = self.matcher.match(event.query, event.language)
        return self.decision(event, matches, now_ms)

    def decision(self, event: SearchEvent, matches: list[Match], now_ms: int) -> Decision:
        tier = matches[0].tier if matches else None
        resources: list[ResourceRef] = []
        if matches:
            country = event.country
            open_ids = self._open_ids(country, now_ms // 60_000) if country in self._timed else EMPTY
            resources = list(self._resources(tuple(m.condition for m in matches), country, event.language,
                                             open_ids))
        return {
            "search_id": event.search_id,
            "intercept": tier is not None,
            "tier": tier,
            "conditions": [m.public() for m in matches],
            "resources": resources,
            "locale": event.locale,
            "country": event.country,
            "lexicon_version": self.version,
            "decided_at_ms": now_ms,
        }

    def open_ids(self, country: str | None, now_ms: int) -> frozenset[str] | None:
        """The country's lines with opening hours that are open this minute; None when none of its lines has
        opening hours (its decisions do not depend on the clock)."""
        return self._open_ids(country, now_ms // 60_000) if country in self._timed else None

    def _open_ids_uncached(self, country: str | None, minute: int) -> frozenset[str]:
        now_ms = minute * 60_000
        return frozenset(r.id for r in self._timed[country] if r.open is not None and r.open.is_open(now_ms))

    def _resources_uncached(self, condition_ids: tuple[str, ...], country: str | None, language: str,
                            open_ids: frozenset[str]) -> tuple[ResourceRef, ...]:
        """Ordered help. Crisis: the country's lines, open ones first (the emergency number first when every
        line is closed now), else its emergency number and the international directories. Then what serves each
        condition, in the searcher's language, else a language of the country, else English."""
        lexicon = self.lexicon
        conditions = [lexicon.conditions[c] for c in condition_ids]
        spoken = country_languages(country)

        def open_now(r: Resource) -> bool | None:
            return None if r.open is None else (r.open.always or r.id in open_ids)

        def by_language(r: Resource) -> int:
            if not r.languages or language in r.languages:
                return 0
            return 1 if any(lang in spoken for lang in r.languages) else 2

        ordered: list[Resource] = []
        if conditions[0].tier == "crisis":
            lines = sorted(self._of_role("crisis_line", country), key=lambda r: (
                {True: 0, None: 1, False: 2}[open_now(r)], by_language(r), r.kind != "hotline"))
            emergency = list(self._of_role("emergency", country))
            directories = list(self._directories)
            if not lines:
                ordered += emergency + directories
            elif all(open_now(r) is False for r in lines):
                ordered += emergency + lines
            else:
                ordered += lines
                if not any(r.kind == "hotline" for r in lines):  # only chat or text: add a way to call
                    ordered += emergency + directories
        for cond in conditions:
            serving = [r for r in self._serving(cond.id, country) if not (r.role and cond.tier == "crisis")]
            readable = [r for r in serving if by_language(r) < 2]
            if not readable:  # English only when nothing in the searcher's or the country's language serves
                readable = [r for r in serving if "en" in r.languages]
            ordered += sorted(readable, key=lambda r: (
                by_language(r),
                cond.id not in r.conditions,  # condition-specific first
                r.kind == "info",  # people to talk to before pages to read
                -TIER_RANK.get(r.tiers[0], 0) if r.tiers else 0,
            ))
        unique = list({r.id: r for r in ordered}.values())
        if any(r.partner for r in unique):  # the deployment's own partners first in their countries (stable)
            unique.sort(key=lambda r: not r.partner)
        shown = unique[:MAX_RESOURCES]
        support = lexicon.support_page
        if support is not None and support not in shown:  # the in-app support page, with every intercept
            shown = [*shown[:MAX_RESOURCES - 1], support]
        return tuple(self._shown(r, language, spoken, open_now(r)) for r in shown)


def _shown(r: Resource, language: str, spoken: tuple[str, ...], open_now: bool | None) -> ResourceRef:
    shown = r.public()
    if r.languages:
        fitting = [lang for lang in r.languages if lang == language] or [
            lang for lang in r.languages if lang in spoken] or list(r.languages)
        shown["language"] = fitting[0]
    if open_now is not None:
        shown["open_now"] = open_now
    return shown
