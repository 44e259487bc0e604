"""Help resources as the lexicon holds them, and as a decision shows them; the languages of each country."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NotRequired, TypedDict, cast

from babel.languages import get_official_languages

from streams.core.hours import Hours
from streams.core.vocabulary import ResourceKind


class ResourceRef(TypedDict):
    """A resource as a decision shows it."""
    id: str
    kind: ResourceKind
    title: str
    organization: str
    phone: NotRequired[str]
    text_keyword: NotRequired[str]
    url: NotRequired[str]
    hours: NotRequired[str]
    role: NotRequired[str]
    language: NotRequired[str]  # BCP 47: the language this searcher will get it in
    open_now: NotRequired[bool]  # absent where the source states no hours


@dataclass(frozen=True, slots=True)
class Resource:
    id: str
    kind: ResourceKind
    title: str
    organization: str
    source: str
    checked: str | None  # None: a page not yet compared with its source (never for a phone number)
    source_date: str | None = None  # the date the source states, if any
    phone: str | None = None
    text_keyword: str | None = None
    url: str | None = None
    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    hours: str | None = None
    open: Hours | None = None  # None: the source states no hours
    audience: str | None = None
    tiers: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    role: str | None = None
    evidence: str | None = None
    note: str | None = None
    partner: bool = False  # from the deployment's overlay: shown first in its countries (never in a decision)

    def public(self) -> ResourceRef:
        """What a decision carries: enough to render the resource, nothing about how it was checked."""
        shown: dict[str, str] = {"id": self.id, "kind": self.kind, "title": self.title,
                                 "organization": self.organization}
        for key in ("phone", "text_keyword", "url", "hours", "role"):
            value = getattr(self, key)
            if value is not None:
                shown[key] = value
        return cast(ResourceRef, shown)


@lru_cache(maxsize=512)
def country_languages(country: str | None) -> tuple[str, ...]:
    """The languages a country uses, official and de facto, from Unicode CLDR (babel's copy)."""
    if country is None:
        return ()
    try:
        return tuple(get_official_languages(country, de_facto=True))
    except (KeyError, ValueError):
        return ()
