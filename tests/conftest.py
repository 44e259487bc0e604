from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.core.decide import Decider
from streams.core.lexicon import Lexicon, load_lexicon

pytest_plugins = ["tests.support.kafka"]

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "streams" / "schemas"


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return load_lexicon()


@pytest.fixture(scope="session")
def decider(lexicon: Lexicon) -> Decider:
    return Decider(lexicon)


@pytest.fixture(scope="session")
def decision_schema() -> dict:
    return json.loads((SCHEMAS / "decision.schema.json").read_text())
