"""The closed vocabularies are written once (streams/core/vocabulary.py): the schemas and metrics agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streams.core import vocabulary
from streams.metrics import TIER_LABELS

SCHEMAS = Path(__file__).resolve().parents[2] / "streams" / "schemas"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def test_the_decision_schema_uses_the_core_vocabulary() -> None:
    props = schema("decision.schema.json")["properties"]
    assert props["tier"]["enum"] == [*vocabulary.TIERS, None]
    condition = props["conditions"]["items"]["properties"]
    assert condition["tier"]["enum"] == list(vocabulary.TIERS)
    assert condition["kind"]["enum"] == list(vocabulary.MATCH_KINDS)
    assert set(props["resources"]["items"]["properties"]["kind"]["enum"]) == set(vocabulary.RESOURCE_KINDS)


def test_the_lexicon_schemas_use_the_core_vocabulary() -> None:
    assert schema("lexicon/condition.schema.json")["properties"]["tier"]["enum"] == list(vocabulary.TIERS)
    resource = schema("lexicon/resources.schema.json")["items"]["properties"]
    assert resource["kind"]["enum"] == list(vocabulary.RESOURCE_KINDS)
    assert resource["tiers"]["items"]["enum"] == list(vocabulary.TIERS)
    assert resource["role"]["enum"] == list(vocabulary.ROLES)


def test_every_tier_has_a_rank_and_a_metric_label() -> None:
    assert set(vocabulary.TIER_RANK) == set(vocabulary.TIERS)
    assert set(TIER_LABELS) == {*vocabulary.TIERS, "none"}
