"""Compositional patterns: word classes per language, and sequences of them that mean a condition.

`lexicon/patterns/<language>.json` names classes ("want": the forms of wanting people type) and patterns
(["self?", "want", "die"]). Phrase lists alone cannot say "a quantity of a substance, then 'to die'" in every
tense and language; patterns can, and stay explainable: a match names its pattern and the lexicon's words it used.

Compiled once per lexicon: the class phrases of spaced scripts indexed by their first word, those of unspaced
scripts in Aho-Corasick automata. Only a search that opens a pattern's gate is scanned for class phrases (a
lookup per word, and the automata when it has unspaced letters), and then walked over the few gated patterns.
Semantics (lexicon/FORMAT.md): consecutive steps are adjacent words; `name?` may be absent; `*` is a gap of at
most GAP_WORDS words (GAP_CHARS characters in unspaced scripts); `exclude` patterns cancel their condition.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, NamedTuple

from streams.core import normalize
from streams.core.build import Kept, automata, pace, paced, scan

GAP_WORDS = 3
GAP_CHARS = 8
_UNSPACED = normalize.UNSPACED


class Step(NamedTuple):
    word_class: str  # qualified: "<language>:<name>"; "" for a gap
    optional: bool


GAP = Step("", True)


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: one object per pattern
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


def read_patterns(path: PurePath, raw: dict[str, Any], conditions: Mapping[str, object],
                  fail: Any) -> tuple[dict[str, tuple[str, ...]], list[Pattern]]:
    """One language file, schema-valid already, into classes and patterns; `fail(entry, problem)` raises."""
    language = raw["language"]
    if language != path.stem:
        fail("language", f"language {language!r} must equal the file name {path.stem!r}")
    classes: dict[str, tuple[str, ...]] = {}
    for name, phrases in paced(raw["classes"].items()):
        for phrase in paced(phrases):
            if not normalize.phrase(phrase):
                fail(f"classes.{name}", f"phrase {phrase!r} has no letters once normalized")
        classes[f"{language}:{name}"] = tuple(phrases)
    patterns = []
    for spec in paced(raw["patterns"]):
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


class _Language:
    """One language file's patterns, compiled. Every pattern, positive or look-alike, is gated by the key words of
    its anchor class (`anchor_words`)."""

    def __init__(self, patterns: PatternSet, common_words: Mapping[str, float]) -> None:
        fold: _Memo = _Memo(normalize.phrase)  # a build meets each class phrase several times: folded once
        key_of: _Memo = _Memo(lambda key: _key_word(key, common_words))
        gates: dict[str, set[Pattern]] = {}
        lookalike_words: set[str] = set()
        unspaced: dict[str, list[str]] = {}
        expected: dict[str, float] = {}
        for pattern in paced(patterns.patterns):
            anchor = _anchor(pattern, patterns.classes, common_words, expected, fold, key_of)
            for phrase in paced(patterns.classes[anchor]):
                key = fold[phrase]
                if _UNSPACED.search(key):
                    unspaced.setdefault(anchor, []).append(phrase)
                    key = "\0" + anchor  # unspaced gates open through their own automaton, by class
                else:
                    key = key_of[key]  # a phrase matches only where its least common word is
                    if pattern.exclude:
                        lookalike_words.add(key)
                gates.setdefault(key, set()).add(pattern)
        # gate -> (positive groups, look-alike groups): patterns needing the same classes, with those classes
        self._gates: dict[str, tuple[Groups, Groups]] = {}
        # Words that open a positive pattern's gate: the matcher looks each search word up here. A look-alike's
        # gate matters only once its condition matched, so `lookalike_words` is consulted only then.
        self.anchor_words = frozenset(k for k, ps in paced(gates.items())
                                      if not k.startswith("\0") and any(not p.exclude for p in ps))
        self.lookalike_words = frozenset(lookalike_words)
        self._unspaced = _automata({n: tuple(p) for n, p in unspaced.items()}, fold)[1]
        self._spaced, self._bare = _automata({n: patterns.classes[n] for n in {
            s.word_class for p in paced(patterns.patterns) for s in p.steps if s.word_class}}, fold)
        self._classes = {p.id: frozenset(s.word_class for s in p.steps if s.word_class)
                         for p in paced(patterns.patterns)}
        self.exclusions = frozenset(p.condition for p in patterns.patterns if p.exclude)
        # With each gated pattern, the classes it requires that have key words (classes with unspaced phrases
        # left out): it is walked only if the search holds a key word of every one of them (`_present`).
        keyed: dict[str, set[str]] = {}  # key word -> the classes it is a key word of
        unspaced_classes = set()
        for name, phrases in paced(patterns.classes.items()):
            folded = [fold[p] for p in paced(phrases)]
            if any(_UNSPACED.search(k) for k in folded):
                unspaced_classes.add(name)
            else:
                for k in folded:
                    keyed.setdefault(key_of[k], set()).add(name)
        self._key_classes = {word: frozenset(names) for word, names in paced(keyed.items())}
        for gate, gated in paced(gates.items()):
            by_needs: dict[tuple[bool, frozenset[str]], list[Pattern]] = {}
            for p in sorted(gated, key=lambda p: p.id):
                by_needs.setdefault((p.exclude, p.required - unspaced_classes), []).append(p)
            positive, lookalike = (tuple((needs, tuple(ps)) for (exclude, needs), ps in by_needs.items()
                                         if exclude is lookalikes) for lookalikes in (False, True))
            self._gates[gate] = (positive, lookalike)

    @property
    def groups(self) -> Mapping[str, tuple[Groups, Groups]]:
        return self._gates

    @property
    def key_classes(self) -> Mapping[str, frozenset[str]]:
        return self._key_classes

    @property
    def has_unspaced(self) -> bool:
        return bool(self._unspaced)

    def unspaced_gates(self, folded: str) -> list[str]:
        return ["\0" + name for _, (_, _, owners) in scan(self._unspaced, folded) for name, _ in owners]

    def hits(self, tokens: list[str], text: str, patterns: list[Pattern]) -> dict[str, list[Hit]]:
        """The search's phrases of the classes these patterns use, by class."""
        hits: dict[str, list[Hit]] = {}
        needed = frozenset().union(*(self._classes[p.id] for p in patterns))
        for start, stop, spaced, owners in self._class_phrases(tokens, text):
            for name, phrase in owners:
                if name in needed:
                    hits.setdefault(name, []).append(Hit(start, stop, phrase, spaced))
        return hits

    def _class_phrases(self, tokens: list[str], text: str) -> list[tuple[int, int, bool, Owners]]:
        """Every class phrase in the search, as (start, stop) in `text`, ordered by where it ends, the longer first
        where two end together."""
        found: list[tuple[int, int, int, int, bool, Owners]] = []  # (end, -length, start, stop, ...) in `text`
        index, at, last = self._spaced, 1, len(tokens) - 1
        for i, token in enumerate(tokens):
            for key in ((token,), (token, tokens[i + 1])) if i < last else ((token,),):
                for words, owners in index.get(key, ()):
                    n = len(words)
                    if n <= 2 or tuple(tokens[i:i + n]) == words:
                        stop = at + sum(len(w) + 1 for w in words) - 1
                        found.append((stop, at - stop - 2, at, stop, True, owners))  # the key: " phrase "
            at += len(token) + 1
        if self._bare and _UNSPACED.search(text):  # only a search with unspaced letters can hold their phrases
            found += ((end, -length, end - length + 1, end + 1, False, owners)
                      for end, (length, _, owners) in scan(self._bare, text))
        found.sort(key=lambda hit: hit[:2])
        return [hit[2:] for hit in found]


class PatternMatcher:
    """The patterns of every language file, compiled one language at a time (`_Language`), so that a version which
    edits one file builds and hands over that language only (`kept`: the live version's others, or stand-ins for
    them). The matcher notes, in its own pass over the search's words, the words that open a gate (a set lookup per
    word, `anchor_words`). Only then are the languages of those gates scanned for the phrases of the classes their
    patterns use, and the patterns walked; a look-alike pattern is walked only when its condition matched, by a term
    or a pattern of any language."""

    def __init__(self, patterns: PatternSet, common_words: Mapping[str, float] | None = None,
                 kept: Mapping[str, tuple[str, _Language]] | None = None) -> None:
        """`kept`: by language, a live version's digest and part (or its stand-in, `Kept`), kept when this
        version's part reads the same (the same common words too: the caller's check)."""
        common_words, kept = common_words or {}, kept or {}
        by_language: dict[str, list[Pattern]] = {}
        for pattern in patterns.patterns:
            by_language.setdefault(pattern.language, []).append(pattern)
        self.digests: dict[str, str] = {}  # language -> what its part reads (its common words: the caller compares)
        self._languages: dict[str, _Language] = {}
        for language, theirs in sorted(by_language.items()):
            prefix = language + ":"
            part = PatternSet({n: c for n, c in patterns.classes.items() if n.startswith(prefix)}, tuple(theirs))
            digest = self.digests[language] = _digest(part)
            live_digest, live = kept.get(language, ("", None))
            self._languages[language] = live if live is not None and live_digest == digest else \
                _Language(part, common_words)
        if not any(isinstance(part, Kept) for part in self._languages.values()):
            self._merge()  # else the process this build is handed to merges it (`__setstate__`)

    def language(self, language: str) -> _Language:
        return self._languages[language]

    def __getstate__(self) -> dict[str, Any]:
        return {"digests": self.digests, "languages": self._languages}  # what `_merge` derives is derived again

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.digests, self._languages = state["digests"], state["languages"]
        self._merge()

    def _merge(self) -> None:
        """What the per-search path reads of every language at once: the words that open a gate, by gate the
        languages it opens (positive patterns, look-alikes), the classes each key word is a key word of, and the
        conditions a look-alike may cancel."""
        parts = self._languages.values()
        pace()  # each union is a step of up to a millisecond
        self.anchor_words = frozenset().union(*(p.anchor_words for p in parts))
        pace()
        self.lookalike_words = frozenset().union(*(p.lookalike_words for p in parts))
        pace()
        self.exclusions = frozenset().union(*(p.exclusions for p in parts))
        opens: tuple[dict[str, list[tuple[str, Groups]]], ...] = ({}, {})
        key_classes: dict[str, frozenset[str]] = {}
        for language, part in self._languages.items():
            for gate, groups in paced(part.groups.items()):
                for side, opened in zip(groups, opens, strict=True):
                    if side:
                        opened.setdefault(gate, []).append((language, side))
            for word, classes in paced(part.key_classes.items()):
                key_classes[word] = key_classes[word] | classes if word in key_classes else classes
        # gate -> (language, the groups of patterns it opens there), for positive patterns and for look-alikes
        self._opens = tuple({gate: tuple(them) for gate, them in paced(opened.items())} for opened in opens)
        self._key_classes = key_classes
        self._unspaced = tuple(p for p in parts if p.has_unspaced)

    def unspaced_gates(self, folded: str) -> list[str]:
        return [gate for part in self._unspaced for gate in part.unspaced_gates(folded)]

    def match(self, tokens: list[str], gates: list[str], found: Collection[str]) -> tuple[
            list[tuple[Pattern, tuple[str, ...]]], dict[str, str]]:
        """The positive patterns the search's words satisfy, each with the lexicon phrases it used; and the
        conditions (of those and of `found`) that a look-alike pattern cancels, each with the search's words less
        the look-alike's span: a condition still matched there stands ("suicide squad i want to die")."""
        key_classes = self._key_classes
        present = frozenset().union(*(key_classes[w] for w in set(tokens) if w in key_classes))
        positive = self._gated(0, gates, present)
        if not positive and not (found and not self.exclusions.isdisjoint(found)):
            return [], {}
        # Look-alikes matter once a condition matched, by a term or by a positive pattern found just now.
        lookalike_gates = [t for t in tokens if t in self.lookalike_words] + [g for g in gates if g[0] == "\0"]
        lookalikes = self._gated(1, lookalike_gates, present)
        if not positive and not any(p.condition in found for ps in lookalikes.values() for p in ps):
            return [], {}
        text = " " + " ".join(tokens) + " "
        hits = {language: self._languages[language].hits(
            tokens, text, [*positive.get(language, ()), *lookalikes.get(language, ())])
            for language in {*positive, *lookalikes}}
        positives = []
        for key, patterns in positive.items():
            for pattern in patterns:
                if pattern.required <= hits[key].keys():
                    used = _walk(pattern.steps, 0, None, False, hits[key], text)
                    if used is not None:
                        positives.append((pattern, tuple(h.phrase for h in used)))
        positives.sort(key=lambda matched: matched[0].id)
        conditions = {*found, *(p.condition for p, _ in positives)}
        cancelled: dict[str, str] = {}  # condition -> the search's words with the look-alike's span blanked
        for key, patterns in lookalikes.items():
            for pattern in patterns:
                if pattern.condition in conditions and pattern.required <= hits[key].keys():
                    # a look-alike stays within one clause: its gaps never hold its first class again
                    used = _walk(pattern.steps, 0, None, False, hits[key], text,
                                 hits[key].get(pattern.steps[0].word_class, []))
                    if used is not None:
                        rest = cancelled.get(pattern.condition, text)
                        cancelled[pattern.condition] = rest[:used[0].start] + BREAK * (used[-1].end - used[0].start) \
                            + rest[used[-1].end:]
        return positives, cancelled

    def _gated(self, side: int, gates: list[str], present: frozenset[str]) -> dict[str, list[Pattern]]:
        """By language, the patterns of one side (0 positive, 1 look-alike) behind these gates whose every required
        class is present."""
        gated: dict[str, dict[str, Pattern]] = {}
        opens = self._opens[side]
        for gate in gates:
            for language, groups in opens.get(gate, ()):
                for needs, patterns in groups:
                    if needs <= present:
                        gated.setdefault(language, {}).update((p.id, p) for p in patterns)
        return {language: list(patterns.values()) for language, patterns in gated.items()}


def _digest(part: PatternSet) -> str:
    """What a language's patterns read: its classes and patterns as written."""
    digest = hashlib.sha256()
    for name, phrases in sorted(part.classes.items()):
        digest.update(("\0".join((name, *phrases)) + "\1").encode())
    for p in part.patterns:
        digest.update(repr((p.id, p.condition, p.steps, p.exclude, p.why)).encode() + b"\1")
    return digest.hexdigest()


BREAK = "\n"  # what a look-alike's span is blanked with: the words either side of it are matched apart
RARE_ZIPF = 1.0  # what a word outside the common-word list counts as (Zipf 1: about once in 100 million words)


def _zipf(word: str, common: Mapping[str, float]) -> float:
    return common.get(word, RARE_ZIPF - len(word) / 100)  # among rare words, a longer one is rarer


def _key_word(key: str, common: Mapping[str, float]) -> str:
    """The word of a phrase least likely in an ordinary search (a phrase can match only where all its words are)."""
    return min(reversed(key.split(" ")), key=lambda w: _zipf(w, common))


def _anchor(pattern: Pattern, classes: Mapping[str, tuple[str, ...]], common: Mapping[str, float],
            expected: dict[str, float], fold: _Memo, key_of: _Memo) -> str:
    """The required class least likely in an ordinary search: the smallest sum of its phrases' key-word
    frequencies (`expected`, filled in once a class); the later class on a tie (objects such as "die" or
    "pills" come last)."""
    required = [s.word_class for s in pattern.steps if s.word_class and not s.optional]
    for name in required:
        if name not in expected:
            expected[name] = sum(10 ** _zipf(key_of[fold[p]], common) for p in classes[name])
    return min(reversed(required), key=expected.__getitem__)


Owners = tuple[tuple[str, str], ...]  # (class, phrase as the lexicon writes it)
Groups = tuple[tuple[frozenset[str], tuple[Pattern, ...]], ...]  # (the classes they need, the patterns)


class _Memo(dict[str, str]):
    """A function's results, each computed on first use."""

    def __init__(self, function: Callable[[str], str]) -> None:
        super().__init__()
        self.function = function

    def __missing__(self, key: str) -> str:
        value = self[key] = self.function(key)
        return value


def _automata(classes: Mapping[str, tuple[str, ...]], fold: _Memo) -> tuple[
        dict[tuple[str, ...], tuple[tuple[tuple[str, ...], Owners], ...]], tuple[Any, ...]]:
    """The phrases of `classes`: spaced ones by their first two words (a word alone for one-word phrases; the
    first word alone would give "i" hundreds of phrases to compare), unspaced ones in automata."""
    keyed: dict[str, list[tuple[str, str]]] = {}
    for name, phrases in paced(classes.items()):
        for phrase in paced(phrases):
            keyed.setdefault(fold[phrase], []).append((name, phrase))
    spaced: dict[tuple[str, ...], list[tuple[tuple[str, ...], Owners]]] = {}
    bare = []
    for key, owners in paced(keyed.items()):
        if _UNSPACED.search(key):
            bare.append((key, (len(key), False, tuple(owners))))
        else:
            words = tuple(key.split(" "))
            spaced.setdefault(words[:2], []).append((words, tuple(owners)))
    return ({first: tuple(v) for first, v in paced(spaced.items())},
            automata(bare))


def _walk(steps: tuple[Step, ...], i: int, prev: Hit | None, gap: bool, hits: dict[str, list[Hit]],
          text: str, openers: list[Hit] | None = None) -> tuple[Hit, ...] | None:
    """The hits that satisfy steps[i:] after `prev`, or None. With `openers`, a gap may hold none of them: a new
    clause starts there ("ich will nicht mehr so leben, ich will sterben" holds no "will nicht ... sterben")."""
    if i == len(steps):
        return ()
    step = steps[i]
    if not step.word_class:  # a gap (not `is GAP`: a build handed over from another process has its own copies)
        return _walk(steps, i + 1, prev, True, hits, text, openers)
    for hit in hits.get(step.word_class, ()):
        if prev is None or _follows(prev, hit, gap, text, openers):
            rest = _walk(steps, i + 1, hit, False, hits, text, openers)
            if rest is not None:
                return (hit, *rest)
    return _walk(steps, i + 1, prev, gap, hits, text, openers) if step.optional else None


def _follows(prev: Hit, hit: Hit, gap: bool, text: str, openers: list[Hit] | None) -> bool:
    if hit.start < prev.end:
        return False
    if gap and openers and any(prev.end <= h.start and h.end <= hit.start for h in openers):
        return False  # the gap holds the pattern's first class again: a new clause
    between = text[prev.end:hit.start]
    if prev.spaced and hit.spaced:
        words = between.count(" ") - 1  # the text between two bounded phrases is " ", " w ", " w w "...
        return words == 0 or (gap and words <= GAP_WORDS)
    letters = len(between.replace(" ", ""))
    return letters == 0 or (gap and letters <= GAP_CHARS)
