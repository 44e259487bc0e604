"""The matching engine: a search in, the conditions it is about out, each saying what matched.

Compiled once per lexicon (`Matcher(lexicon)`), immutable after. One Aho-Corasick automaton holds every term
and exclusion (plain, and squashed for hashtags and run-together spellings); a second holds them squeezed
for stretched letters; a symmetric-deletion index proposes typo corrections that rapidfuzz then confirms.
A search that names nothing costs one fold, one tokenization and one automaton pass, plus the typo probe
for its longer words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, NamedTuple

import ahocorasick
from rapidfuzz.distance import OSA

from streams.core import normalize
from streams.core.lexicon import TIER_RANK, Condition, Lexicon

# Scripts written without spaces between words (or, for Hangul, with particles glued to them): their terms
# match anywhere, not only on word boundaries.
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
TYPO_MIN_LENGTH = 6  # shorter words have too many ordinary neighbours one edit away
TYPO_MAX_LENGTH = 24
HASHTAG_SUBSTRING_MIN = 6  # inside a hashtag, shorter terms match only the whole tag ("#romania" is not "mania")

KIND_SCORE = {"exact": 1.0, "translation": 1.0, "hashtag": 1.0, "coded": 0.95}


class Entry(NamedTuple):
    exclusion: bool
    condition: str
    kind: str  # exact | translation | coded (for terms)
    term: str  # as the lexicon writes it
    boundary: bool  # must start and end on word boundaries
    context: tuple[str, ...]  # for contextual terms: one of these words must be in the search


@dataclass(frozen=True, slots=True)
class Match:
    condition: str
    tier: str
    term: str
    kind: str  # exact | translation | typo | coded | hashtag
    score: float

    def public(self) -> dict[str, object]:
        return {"id": self.condition, "tier": self.tier, "term": self.term, "kind": self.kind,
                "score": round(self.score, 3)}


class Matcher:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.version = lexicon.version
        keyed: dict[str, list[Entry]] = {}
        for cond in lexicon.conditions.values():
            for text, entry in _entries(cond):
                for key in {normalize.phrase(text), normalize.squash(text)}:
                    if key and (" " not in text or len(key) >= 5 or key == normalize.phrase(text)):
                        keyed.setdefault(key, []).append(entry)
        self._plain = _automaton(keyed)
        squeezed: dict[str, list[Entry]] = {}
        for key, entries in keyed.items():
            squeezed.setdefault(normalize.squeeze(key), []).extend(entries)
        self._squeezed = _automaton(squeezed)
        self._tiers = {c.id: c.tier for c in lexicon.conditions.values()}
        # Typo candidates: single words of spaced-script terms, indexed by every one-letter deletion.
        self._vocabulary = frozenset(
            word for key in keyed if not _UNSPACED.search(key)
            for word in key.split(" ") if TYPO_MIN_LENGTH <= len(word) <= TYPO_MAX_LENGTH and word.isalpha()
        )
        self._deletions: dict[str, tuple[str, ...]] = {}
        index: dict[str, set[str]] = {}
        for word in self._vocabulary:
            for deletion in _deletions(word):
                index.setdefault(deletion, set()).add(word)
        self._deletions = {k: tuple(sorted(v)) for k, v in index.items()}
        self._guard = lexicon.typo_guard

    # -- the per-search path -------------------------------------------------------------------------------

    def match(self, query: str) -> list[Match]:
        folded = normalize.fold(query)
        tokens = normalize.words(folded)
        found: dict[str, Match] = {}
        self._scan(self._plain, tokens, None, found)
        if "#" in query:
            for body in normalize.hashtags(unicodedata.normalize("NFKC", query)):
                self._scan_hashtag(normalize.squash(body), found)
                self._scan(self._plain, normalize.words(normalize.fold(body)), "hashtag", found)
        coded = normalize.decoded(folded)
        if coded is not None:
            self._scan(self._plain, normalize.words(coded), "coded", found)
        if normalize.is_stretched(folded):
            self._scan(self._squeezed, normalize.words(normalize.squeeze(coded or folded)), "coded", found)
        self._typos(tokens, found)
        return sorted(found.values(), key=lambda m: (-TIER_RANK[m.tier], -m.score, m.condition))

    def _scan(self, automaton: ahocorasick.Automaton, tokens: list[str], kind: str | None,
              found: dict[str, Match], score: float | None = None) -> None:
        if not tokens:
            return
        text = " " + " ".join(tokens) + " "
        hits: list[tuple[int, int, Entry]] = []
        for end, (key, entries) in automaton.iter(text):
            start = end - len(key) + 1
            on_boundary = text[start - 1] == " " and text[end + 1] == " "
            for entry in entries:
                if on_boundary or not entry.boundary:
                    hits.append((start, end, entry))
        if hits:
            self._settle(hits, text, kind, found, score)

    def _scan_hashtag(self, body: str, found: dict[str, Match]) -> None:
        """Terms inside a run-together hashtag (#suicideprevention, #mydepressionjourney)."""
        hits: list[tuple[int, int, Entry]] = []
        for end, (key, entries) in self._plain.iter(body):
            if " " in key:
                continue
            start = end - len(key) + 1
            if len(key) >= HASHTAG_SUBSTRING_MIN or (start == 0 and end == len(body) - 1):
                hits.extend((start, end, e) for e in entries)
        if hits:
            self._settle(hits, f" {body} ", "hashtag", found, None)

    def _settle(self, hits: list[tuple[int, int, Entry]], text: str, kind: str | None,
                found: dict[str, Match], score: float | None) -> None:
        exclusions = [(s, e) for s, e, entry in hits if entry.exclusion]
        for start, end, entry in hits:
            if entry.exclusion:
                continue
            if any(s <= start and end <= e for s, e in exclusions):
                continue
            if entry.context and not any(f" {w} " in text for w in entry.context):
                continue
            this_kind = kind or entry.kind
            this_score = score if score is not None else KIND_SCORE[this_kind]
            best = found.get(entry.condition)
            if best is None or this_score > best.score:
                found[entry.condition] = Match(entry.condition, self._tiers[entry.condition], entry.term,
                                               this_kind, this_score)

    def _typos(self, tokens: list[str], found: dict[str, Match]) -> None:
        corrected = list(tokens)
        similarity = 1.0
        for i, token in enumerate(tokens):
            if not (TYPO_MIN_LENGTH <= len(token) <= TYPO_MAX_LENGTH) or token in self._vocabulary:
                continue
            if token in self._guard or not token.isalpha() or _UNSPACED.search(token):
                continue
            best = self._correct(token)
            if best is not None:
                corrected[i] = best
                similarity = min(similarity, 1.0 - 1.0 / max(len(token), len(best)))
        if similarity < 1.0:
            self._scan(self._plain, corrected, "typo", found, similarity)

    def _correct(self, token: str) -> str | None:
        index = self._deletions
        candidates: set[str] = set(index.get(token, ()))
        vocabulary = self._vocabulary
        for deletion in _deletions(token):
            if deletion in vocabulary:
                candidates.add(deletion)
            candidates.update(index.get(deletion, ()))
        best, best_distance = None, 2
        for candidate in sorted(candidates):
            distance = OSA.distance(token, candidate, score_cutoff=1)
            if distance < best_distance:
                best, best_distance = candidate, distance
        return best

    def explain(self, query: str) -> list[dict[str, object]]:
        return [m.public() for m in self.match(query)]


def _entries(cond: Condition) -> Iterable[tuple[str, Entry]]:
    for lang, terms in cond.terms.items():
        kind = "exact" if lang == "en" else "translation"
        for term in terms:
            yield term, Entry(False, cond.id, kind, term, _needs_boundary(term), ())
    for term in cond.coded:
        yield term, Entry(False, cond.id, "coded", term, _needs_boundary(term), ())
    for ctx in cond.contextual:
        context = tuple(normalize.phrase(w) for w in ctx.with_)
        yield ctx.term, Entry(False, cond.id, "coded", ctx.term, True, context)
    for exclusions in cond.exclusions.values():
        for term in exclusions:
            yield term, Entry(True, cond.id, "exclusion", term, _needs_boundary(term), ())


def _needs_boundary(term: str) -> bool:
    return _UNSPACED.search(term) is None


def _deletions(word: str) -> list[str]:
    return [word[:i] + word[i + 1:] for i in range(len(word))]


def _automaton(keyed: dict[str, list[Entry]]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for key, entries in keyed.items():
        automaton.add_word(key, (key, tuple(dict.fromkeys(entries))))
    automaton.make_automaton()
    return automaton
