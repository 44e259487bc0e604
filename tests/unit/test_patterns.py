"""Compositional patterns: word classes and sequences, with optional steps, bounded gaps and look-alikes.

The engine's semantics are tested on a small pattern file of their own, so that they do not move with the
lexicon's content (which the evaluation sets measure)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from streams.core import normalize
from streams.core.lexicon import Lexicon, LexiconError, load_lexicon
from streams.core.matcher import Matcher
from streams.core.patterns import PatternMatcher
from tests.conftest import ROOT

SPEC = {
    "language": "en",
    "classes": {
        "self": ["i", "i'm"],
        "want": ["want to", "wanna", "would rather", "wish i could"],
        "end": ["die", "not exist", "disappear forever", "fade to grey"],
        "quantity": ["how many", "how much"],
        "substance": ["tylenol", "sleeping pills"],
        "die": ["to die", "to overdose"],
        "symptom": ["overdose symptoms", "side effects"],
        "wish": ["死にたい"],
        "suicide_word": ["suicide"],
        "squad": ["squad", "squad cast"],
        "really": ["本当に"],
    },
    "patterns": [
        {"id": "en-t-self-want-end", "condition": "suicide", "sequence": ["self?", "want", "end"], "why": "wish"},
        {"id": "en-t-quantity-die", "condition": "suicide", "sequence": ["quantity", "substance", "*", "die"],
         "why": "method question"},
        {"id": "en-t-symptoms", "condition": "suicide", "exclude": True, "sequence": ["substance", "symptom"],
         "why": "a medical question"},
        {"id": "en-t-film", "condition": "suicide", "exclude": True, "sequence": ["suicide_word", "squad"],
         "why": "a film"},
        {"id": "en-t-unspaced", "condition": "suicide", "sequence": ["really", "*", "wish"], "why": "unspaced"},
    ],
}


def lexicon_with(tmp_path: Path, spec: dict) -> Lexicon:
    target = tmp_path / "lexicon"
    shutil.copytree(ROOT / "lexicon", target)
    shutil.rmtree(target / "patterns", ignore_errors=True)
    (target / "patterns").mkdir()
    (target / "patterns" / "en.json").write_text(json.dumps(spec, ensure_ascii=False))
    return load_lexicon(target)


@pytest.fixture(scope="module")
def lexicon_t(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return lexicon_with(tmp_path_factory.mktemp("patterns"), SPEC)


@pytest.fixture(scope="module")
def matcher(lexicon_t: Lexicon) -> Matcher:
    return Matcher(lexicon_t)


def patterns_of(lexicon: Lexicon, query: str) -> list[tuple[str, tuple[str, ...]]]:
    matcher = PatternMatcher(lexicon.patterns, lexicon.common_words)
    folded = normalize.fold(query)
    tokens = normalize.words(folded)
    gates = [t for t in tokens if t in matcher.anchor_words] + matcher.unspaced_gates(folded)
    found, _ = matcher.match(tokens, gates, ())
    return [(p.id, used) for p, used in found]


@pytest.mark.parametrize(("query", "why"), [
    ("i would rather not exist", "wish, with the optional 'self'"),
    ("honestly wanna disappear forever", "wish, without 'self', inside a longer search"),
    ("how many tylenol would it take to die", "method: a gap of three words before 'to die'"),
    ("how much sleeping pills to overdose", "method, multi-word class phrases"),
    ("本当にもう死にたい", "unspaced script: a gap of a few characters"),
])
def test_a_pattern_matches_what_its_classes_compose(lexicon_t: Lexicon, query: str, why: str) -> None:
    assert patterns_of(lexicon_t, query), why


@pytest.mark.parametrize(("query", "why"), [
    ("how many tylenol for a headache", "no 'to die'"),
    ("how many tylenol overdose symptoms to die", "the look-alike pattern cancels the condition"),
    ("how many people in the world want a tylenol to die for", "the classes are out of order"),
    ("how many tylenol can a person take in one day before they die", "the gap is longer than three words"),
    ("want to go and die laughing", "'want' and 'die' are not adjacent"),
])
def test_a_pattern_does_not_match_outside_its_sequence(matcher: Matcher, query: str, why: str) -> None:
    assert not any(m.condition == "suicide" for m in matcher.match(query)), why


def test_a_look_alike_pattern_cancels_a_term_match_inside_its_span_only(matcher: Matcher) -> None:
    assert "suicide" in {m.condition for m in matcher.match("suicide")}
    assert "suicide" not in {m.condition for m in matcher.match("suicide squad cast")}
    assert "suicide" in {m.condition for m in matcher.match("suicide squad i want to die")}
    assert "suicide" in {m.condition for m in matcher.match("tylenol overdose symptoms suicide")}


def test_a_look_alike_stays_within_one_clause(matcher: Matcher) -> None:
    # "will nicht ... sterben" (not wanting to die) must not reach across "ich will" into the next clause
    assert "suicide" not in {m.condition for m in matcher.match("ich will nicht sterben")}
    assert "suicide" in {m.condition for m in matcher.match("ich will nicht mehr so leben ich will sterben")}


def test_the_words_either_side_of_a_look_alike_are_matched_apart(tmp_path: Path) -> None:
    spec = {"language": "en",
            "classes": {"cut": ["cut myself"], "blade": ["razor"], "shaving": ["shaving"]},
            "patterns": [{"id": "en-t-cut", "condition": "self_harm", "sequence": ["cut", "*", "blade"], "why": "t"},
                         {"id": "en-t-shaving", "condition": "self_harm", "exclude": True, "sequence": ["shaving"],
                          "why": "an accident"}]}
    matcher = Matcher(lexicon_with(tmp_path, spec))

    def harm(query: str) -> bool:
        return "self_harm" in {m.condition for m in matcher.match(query)}

    assert harm("cut myself with a razor")
    assert not harm("cut myself shaving with a razor"), "the gap reached across the look-alike"
    assert harm("cut myself shaving then cut myself with a razor"), "the words after it match alone"


def test_a_pattern_match_names_the_pattern_and_the_lexicons_words_never_the_search(matcher: Matcher) -> None:
    match = next(m for m in matcher.match("I would RATHER fade to GREY!!") if m.condition == "suicide")
    assert (match.kind, match.tier) == ("pattern", "crisis")
    assert match.term == "en-t-self-want-end: i + would rather + fade to grey"


@pytest.mark.parametrize(("change", "entry", "problem"), [
    (lambda s: s["patterns"][0].update(sequence=["self?", "wants", "end"]), "en-t-self-want-end", "class"),
    (lambda s: s["patterns"][0].update(condition="sadness"), "en-t-self-want-end", "condition"),
    (lambda s: s["patterns"][0].update(sequence=["*", "end"]), "en-t-self-want-end", "gap"),
    (lambda s: s["patterns"][0].update(sequence=["self?"]), "en-t-self-want-end", "optional"),
    (lambda s: s["patterns"].append(dict(s["patterns"][1])), "en-t-quantity-die", "also used"),
    (lambda s: s.update(language="fr"), "language", "file name"),
])
def test_a_broken_pattern_file_is_refused_naming_the_file_and_entry(
        tmp_path: Path, change, entry: str, problem: str) -> None:
    spec = json.loads(json.dumps(SPEC))
    change(spec)
    with pytest.raises(LexiconError) as error:
        lexicon_with(tmp_path, spec)
    assert entry in error.value.entry and problem in error.value.problem
