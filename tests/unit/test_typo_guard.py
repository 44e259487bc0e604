"""Ordinary words one edit from a term word are never read as typos ("concession" is not "concussion")."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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


def test_guarded_words_are_not_corrected(lexicon: Lexicon) -> None:
    matcher = Matcher(lexicon)
    for word in ("concession", "addition", "artistic", "impression"):
        assert not matcher.would_correct(word), word
    assert matcher.would_correct("autsim")
