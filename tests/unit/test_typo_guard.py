"""Ordinary words one edit from a term word are never read as typos ("concession" is not "concussion")."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from streams.core.decide import Decider
from streams.core.lexicon import Lexicon
from streams.core.matcher import Matcher

ROOT = Path(__file__).resolve().parents[2]


def test_the_typo_guard_is_current_for_this_lexicon(lexicon: Lexicon) -> None:
    spec = importlib.util.spec_from_file_location("typo_guard", ROOT / "ops/lexicon/typo_guard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = set(module.guard_words(Matcher(lexicon, guard=False))) - lexicon.typo_guard
    assert not missing, f"run `.venv/bin/python ops/lexicon/typo_guard.py`; unguarded: {sorted(missing)[:20]}"


def test_the_common_word_list_is_current_for_this_lexicon(lexicon: Lexicon) -> None:
    spec = importlib.util.spec_from_file_location("typo_guard", ROOT / "ops/lexicon/typo_guard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.common_words(Matcher(lexicon, guard=False)) == dict(lexicon.common_words), (
        "run `.venv/bin/python ops/lexicon/typo_guard.py`")


@pytest.mark.parametrize("word", ["concession", "addition", "artistic", "impression"])
def test_guarded_words_are_not_corrected(word: str, decider: Decider) -> None:
    assert not decider.matcher.would_correct(word)


def test_a_misspelt_condition_is_corrected(decider: Decider) -> None:
    assert decider.matcher.would_correct("autsim")
