"""The closed vocabularies of the engine, written once: the code, the metric labels and the JSON Schemas
(tests/unit/test_vocabulary.py compares them) all take their words from here."""

from __future__ import annotations

from typing import Literal, get_args

Tier = Literal["crisis", "support", "info"]
TIERS: tuple[Tier, ...] = get_args(Tier)
TIER_RANK: dict[str, int] = {"crisis": 3, "support": 2, "info": 1}  # a search's tier is its highest match's

MatchKind = Literal["exact", "translation", "typo", "coded", "hashtag", "pattern"]
MATCH_KINDS: tuple[MatchKind, ...] = get_args(MatchKind)

ResourceKind = Literal["hotline", "text", "chat", "info", "in_person"]
RESOURCE_KINDS: tuple[ResourceKind, ...] = get_args(ResourceKind)
CONTACT_KINDS: tuple[ResourceKind, ...] = ("hotline", "text", "chat")  # a person answers

Role = Literal["crisis_line", "crisis_directory", "emergency"]
ROLES: tuple[Role, ...] = get_args(Role)
