"""Ordinary words one edit from a term word are never read as typos ("concession" is not "concussion")."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from streams.core.decide import Decider
from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon
from streams.core.matcher import Matcher

ROOT = Path(__file__).resolve().parents[2]


def test_the_typo_guard_is_current_for_this_lexicon(lexicon: Lexicon) -> None:
    spec = importlib.util.spec_from_file_location("typo_guard", ROOT / "ops/lexicon/typo_guard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wanted = module.guard_words(Matcher(lexicon, guard=False))
    missing = [w for w, langs in wanted.items() if not set(langs) <= lexicon.typo_guard.get(w, frozenset())]
    assert not missing, f"run `.venv/bin/python ops/lexicon/typo_guard.py`; unguarded: {missing[:20]}"


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


@pytest.mark.parametrize(("word", "theirs", "other"), [("greif", "de", "en"), ("afective", "ro", "es"),
                                                       ("pils", "nl", "en")])
def test_a_common_word_of_one_language_is_a_typo_in_another(word: str, theirs: str, other: str,
                                                           decider: Decider) -> None:
    assert not decider.matcher.would_correct(word, theirs)
    assert not decider.matcher.would_correct(word), "a searcher of no known language reads every language's guard"
    assert decider.matcher.would_correct(word, other)


@pytest.mark.parametrize("language", ["de", "sw", None])
def test_a_common_english_word_is_never_corrected(language: str | None, decider: Decider) -> None:
    assert not decider.matcher.would_correct("concession", language)


def test_the_searchers_language_decides_a_typo(decider: Decider) -> None:
    def conditions(query: str, language: str | None) -> set[str]:
        return {m.condition for m in decider.matcher.match(query, language)}

    assert "grief" in conditions("greif counseling near me", "en")
    assert "grief" not in conditions("greif counseling near me", "de"), "German 'greif' (grab) is no typo there"
    assert "grief" not in conditions("greif counseling near me", None)


@pytest.mark.parametrize(("locale", "helped"), [("en-US", True), ("de-DE", False)])
def test_a_decision_reads_the_typo_guard_of_the_locales_language(locale: str, helped: bool,
                                                                 decider: Decider) -> None:
    language, country = locale.split("-")
    event = SearchEvent("s-1", "greif counseling near me", locale, language, country, 0, "search")
    assert decider.decide(event, 0)["intercept"] is helped
