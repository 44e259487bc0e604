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
from collections.abc import Collection, Mapping
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
    required: frozenset[str]  # the classes that must all match somewhere in the search


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
        required = frozenset(s.word_class for s in steps if s.word_class and not s.optional)
        pattern = Pattern(spec["id"], language, spec["condition"], tuple(steps), spec.get("exclude", False),
                          spec.get("why", ""), required)
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
    """Per search, the matcher asks `wanted(tokens)` during its own pass over the words (a set lookup per word);
    only a search holding an anchor word, or already matching a condition that has look-alike patterns, pays for
    the scan of every class phrase and the walk of the few patterns anchored there."""

    def __init__(self, patterns: PatternSet) -> None:
        anchored: dict[str, list[Pattern]] = {}
        exclusions: dict[str, list[Pattern]] = {}
        for pattern in patterns.patterns:
            if pattern.exclude:
                exclusions.setdefault(pattern.condition, []).append(pattern)
            else:
                anchored.setdefault(_anchor(pattern, patterns.classes), []).append(pattern)
        self._anchored = {k: tuple(v) for k, v in anchored.items()}
        self.exclusions = {k: tuple(v) for k, v in exclusions.items()}
        used = {s.word_class for p in patterns.patterns for s in p.steps if s.word_class}
        self._automaton = _automaton({n: patterns.classes[n] for n in used})
        anchor_keys = [normalize.phrase(phrase) for name in self._anchored for phrase in patterns.classes[name]]
        self.anchor_words = frozenset(k.split(" ")[0] for k in anchor_keys if not _UNSPACED.search(k))
        self._unspaced_anchors = _automaton({n: tuple(p for p in patterns.classes[n] if _UNSPACED.search(p))
                                             for n in self._anchored})

    @property
    def active(self) -> bool:
        return self._automaton is not None

    def unspaced_anchor(self, folded: str) -> bool:
        return self._unspaced_anchors is not None and next(self._unspaced_anchors.iter(folded), None) is not None

    def match(self, tokens: list[str], found: Collection[str]) -> tuple[list[tuple[Pattern, tuple[str, ...]]],
                                                                        set[str]]:
        """The positive patterns the search's words satisfy, each with the lexicon phrases it used; and the
        conditions (of those and of `found`) that a look-alike pattern cancels."""
        text = " " + " ".join(tokens) + " "
        hits: dict[str, list[Hit]] = {}
        for end, (length, spaced, owners) in self._automaton.iter(text):
            start = end - length + 1
            hit = Hit(start + 1, end, "", True) if spaced else Hit(start, end + 1, "", False)
            for name, phrase in owners:
                hits.setdefault(name, []).append(hit._replace(phrase=phrase))
        if not hits:
            return [], set()
        positives = []
        for name in list(hits):
            for pattern in self._anchored.get(name, ()):
                if pattern.required <= hits.keys():
                    used = _walk(pattern.steps, 0, None, False, hits, text)
                    if used is not None:
                        positives.append((pattern, used))
        conditions = {*found, *(p.condition for p, _ in positives)}
        cancelled = {c for c in conditions if any(
            p.required <= hits.keys() and _walk(p.steps, 0, None, False, hits, text) is not None
            for p in self.exclusions.get(c, ()))}
        return positives, cancelled


def _anchor(pattern: Pattern, classes: Mapping[str, tuple[str, ...]]) -> str:
    """The required class least likely in an ordinary search: the one whose shortest first word is longest ("now",
    "mi", "i" are everywhere), the later one on a tie (objects such as "die" or "pills" come last)."""
    required = [s.word_class for s in pattern.steps if s.word_class and not s.optional]

    def shortest_first_word(name: str) -> int:
        return min(len(normalize.phrase(p).split(" ")[0]) for p in classes[name])

    return max(reversed(required), key=shortest_first_word)


def _automaton(classes: Mapping[str, tuple[str, ...]]) -> Any:
    """One Aho-Corasick automaton over the phrases of `classes`: spaced phrases as " phrase " (whole words of the
    search's word text), unspaced ones bare (anywhere)."""
    keyed: dict[str, list[tuple[str, str]]] = {}
    for name, phrases in classes.items():
        for phrase in phrases:
            key = normalize.phrase(phrase)
            keyed.setdefault(key if _UNSPACED.search(key) else f" {key} ", []).append((name, phrase))
    if not keyed:
        return None
    automaton = ahocorasick.Automaton()
    for key, owners in keyed.items():
        automaton.add_word(key, (len(key), key.startswith(" "), tuple(owners)))
    automaton.make_automaton()
    return automaton


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
