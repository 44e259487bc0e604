"""Compositional patterns: word classes per language, and sequences of them that mean a condition.

`lexicon/patterns/<language>.json` names classes ("want": the forms of wanting people type) and patterns
(["self?", "want", "die"]). Phrase lists alone cannot say "a quantity of a substance, then 'to die'" in every
tense and language; patterns can, and stay explainable: a match names its pattern and the lexicon's words it used.

Compiled once per lexicon into one Aho-Corasick automaton over all class phrases. Per search: one scan of the
search's words (in C), and only when a class matched, a walk over the few patterns anchored on a matched class.
Semantics (lexicon/FORMAT.md): consecutive steps are adjacent words; `name?` may be absent; `*` is a gap of at
most GAP_WORDS words (GAP_CHARS characters in unspaced scripts); `exclude` patterns cancel their condition.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick

from streams.core import normalize

GAP_WORDS = 3
GAP_CHARS = 8
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


class Step(NamedTuple):
    word_class: str  # qualified: "<language>:<name>"; "" for a gap
    optional: bool


GAP = Step("", True)


@dataclass(frozen=True, slots=True)
class Pattern:
    id: str
    language: str
    condition: str
    steps: tuple[Step, ...]
    exclude: bool
    why: str

    @property
    def required(self) -> frozenset[str]:
        return frozenset(s.word_class for s in self.steps if s.word_class and not s.optional)


@dataclass(frozen=True, slots=True)
class PatternSet:
    classes: Mapping[str, tuple[str, ...]]  # qualified class name -> phrases as the lexicon writes them
    patterns: tuple[Pattern, ...]


EMPTY = PatternSet({}, ())


def read_patterns(path: Path, raw: dict[str, Any], conditions: Mapping[str, object],
                  fail: Any) -> tuple[dict[str, tuple[str, ...]], list[Pattern]]:
    """One language file, schema-valid already, into classes and patterns; `fail(entry, problem)` raises."""
    language = raw["language"]
    if language != path.stem:
        fail("language", f"language {language!r} must equal the file name {path.stem!r}")
    classes: dict[str, tuple[str, ...]] = {}
    for name, phrases in raw["classes"].items():
        for phrase in phrases:
            if not normalize.phrase(phrase):
                fail(f"classes.{name}", f"phrase {phrase!r} has no letters once normalized")
        classes[f"{language}:{name}"] = tuple(phrases)
    patterns = []
    for spec in raw["patterns"]:
        entry = f"patterns.{spec['id']}"
        if spec["condition"] not in conditions:
            fail(entry, f"names condition {spec['condition']!r}, which does not exist")
        steps = []
        for word in spec["sequence"]:
            if word == "*":
                steps.append(GAP)
                continue
            name, optional = word.removesuffix("?"), word.endswith("?")
            if name not in raw["classes"]:
                fail(entry, f"names class {name!r}, which this file does not define")
            steps.append(Step(f"{language}:{name}", optional))
        if steps[0] is GAP or steps[-1] is GAP or any(a is GAP and b is GAP for a, b in itertools.pairwise(steps)):
            fail(entry, "a gap (*) must stand between two classes")
        pattern = Pattern(spec["id"], language, spec["condition"], tuple(steps), spec.get("exclude", False),
                          spec.get("why", ""))
        if not pattern.required:
            fail(entry, "every step is optional: the pattern would match any search")
        patterns.append(pattern)
    return classes, patterns


class Hit(NamedTuple):
    start: int  # in the search's word text, the phrase without its bounding spaces
    end: int
    phrase: str  # the lexicon's phrase
    spaced: bool


class PatternMatcher:
    def __init__(self, patterns: PatternSet) -> None:
        self._automaton: Any = None
        self._anchored: dict[str, tuple[Pattern, ...]] = {}
        keyed: dict[str, list[tuple[str, str]]] = {}
        for name, phrases in patterns.classes.items():
            for phrase in phrases:
                key = normalize.phrase(phrase)
                keyed.setdefault(key if _UNSPACED.search(key) else f" {key} ", []).append((name, phrase))
        if keyed:
            automaton = ahocorasick.Automaton()
            for key, owners in keyed.items():
                automaton.add_word(key, (len(key), key.startswith(" "), tuple(owners)))
            automaton.make_automaton()
            self._automaton = automaton
        anchored: dict[str, list[Pattern]] = {}
        for pattern in patterns.patterns:
            # Anchor on the required class whose shortest phrase is longest: the one least often matched.
            anchor = max(pattern.required, key=lambda c: (min(len(p) for p in patterns.classes[c]), c))
            anchored.setdefault(anchor, []).append(pattern)
        self._anchored = {k: tuple(v) for k, v in anchored.items()}

    @property
    def active(self) -> bool:
        return self._automaton is not None

    def match(self, tokens: list[str]) -> list[tuple[Pattern, tuple[str, ...]]]:
        """The patterns the search's words satisfy, each with the lexicon phrases it used."""
        if self._automaton is None or not tokens:
            return []
        text = " " + " ".join(tokens) + " "
        hits: dict[str, list[Hit]] = {}
        for end, (length, spaced, owners) in self._automaton.iter(text):
            start = end - length + 1
            hit = Hit(start + 1, end, "", True) if spaced else Hit(start, end + 1, "", False)
            for name, phrase in owners:
                hits.setdefault(name, []).append(hit._replace(phrase=phrase))
        if not hits:
            return []
        found = []
        seen: set[str] = set()
        for name in hits:
            for pattern in self._anchored.get(name, ()):
                if pattern.id in seen or not pattern.required <= hits.keys():
                    continue
                seen.add(pattern.id)
                used = _walk(pattern.steps, 0, None, False, hits, text)
                if used is not None:
                    found.append((pattern, used))
        return found


def _walk(steps: tuple[Step, ...], i: int, prev: Hit | None, gap: bool, hits: dict[str, list[Hit]],
          text: str) -> tuple[str, ...] | None:
    """The phrases that satisfy steps[i:] after `prev`, or None."""
    if i == len(steps):
        return ()
    step = steps[i]
    if step is GAP:
        return _walk(steps, i + 1, prev, True, hits, text)
    for hit in hits.get(step.word_class, ()):
        if prev is None or _follows(prev, hit, gap, text):
            rest = _walk(steps, i + 1, hit, False, hits, text)
            if rest is not None:
                return (hit.phrase, *rest)
    return _walk(steps, i + 1, prev, gap, hits, text) if step.optional else None


def _follows(prev: Hit, hit: Hit, gap: bool, text: str) -> bool:
    if hit.start < prev.end:
        return False
    between = text[prev.end:hit.start]
    if prev.spaced and hit.spaced:
        words = between.count(" ") - 1  # the text between two bounded phrases is " ", " w ", " w w "...
        return words == 0 or (gap and words <= GAP_WORDS)
    letters = len(between.replace(" ", ""))
    return letters == 0 or (gap and letters <= GAP_CHARS)
