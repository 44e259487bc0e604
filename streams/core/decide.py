"""Deciding a search: the one seam between transport and engine.

`Decider(lexicon).decide(event, now_ms)` is pure; the worker, `signpost classify`, the evaluation and the
benchmark all call it. A decision never carries the user id or the query text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypedDict

from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon, Resource, ResourceRef
from streams.core.matcher import ConditionHit, Match, Matcher
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


class Decider:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.matcher = Matcher(lexicon)
        self.version = lexicon.version
        self._resources = lru_cache(maxsize=4096)(self._resources_uncached)

    def decide(self, event: SearchEvent, now_ms: int) -> Decision:
        matches = self.matcher.match(event.query)
        return self.decision(event, matches, now_ms)

    def decision(self, event: SearchEvent, matches: list[Match], now_ms: int) -> Decision:
        tier = matches[0].tier if matches else None
        resources: list[ResourceRef] = []
        if matches:
            resources = list(self._resources(tuple(m.condition for m in matches), event.country, event.language))
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

    def _resources_uncached(self, condition_ids: tuple[str, ...], country: str | None,
                            language: str) -> tuple[ResourceRef, ...]:
        """Ordered help: for crisis the country's lines first (else the international directory), then what
        serves each condition in the user's country and language, then English pages."""
        lexicon = self.lexicon
        conditions = [lexicon.conditions[c] for c in condition_ids]
        ordered: list[Resource] = []
        if conditions[0].tier == "crisis":
            lines = lexicon.crisis_lines(country)
            ordered += sorted(lines, key=lambda r: (language not in r.languages, r.kind != "hotline"))
            if not any(r.kind == "hotline" for r in lines):  # no line, or only chat/text: add a way to call
                ordered += [r for r in lexicon.resources.values() if r.role == "crisis_directory"]
        for cond in conditions:
            serving = [
                r for r in lexicon.resources.values()
                if r.role is None and (cond.id in r.conditions or cond.tier in r.tiers)
                and (not r.countries or country in r.countries)
            ]
            ordered += sorted(serving, key=lambda r: (
                cond.id not in r.conditions,  # condition-specific first
                r.kind == "info",  # people to talk to before pages to read
                bool(r.languages) and language not in r.languages,
                -TIER_RANK.get(r.tiers[0], 0) if r.tiers else 0,
            ))
        unique = list({r.id: r for r in ordered}.values())
        return tuple(r.public() for r in unique[:MAX_RESOURCES])
