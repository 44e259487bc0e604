"""The matching engine: a search in, the conditions it is about out, each saying what matched.

Compiled once per lexicon (`Matcher(lexicon)`), immutable after. Terms of spaced scripts are indexed by their
first word (a set lookup per search word, then the phrase compared), plain and squeezed for stretched letters;
terms of unspaced scripts and run-together hashtags go through Aho-Corasick automata; a symmetric-deletion
index proposes typo corrections that rapidfuzz then confirms. A search that names nothing costs one fold,
one tokenization, a dictionary lookup per word, and the (memoized) typo probe of its longer words.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypedDict

from rapidfuzz.distance import OSA

from streams.core import normalize
from streams.core.build import automata, pace, paced, scan
from streams.core.lexicon import EVERY_LANGUAGE, Condition, Lexicon
from streams.core.patterns import BREAK, PatternMatcher
from streams.core.vocabulary import TIER_RANK, MatchKind, Tier

_UNSPACED = normalize.UNSPACED
TYPO_MIN_LENGTH = 6  # shorter words have too many ordinary neighbours one edit away ...
PHRASE_TYPO_MIN_LENGTH = 4  # ... unless the word sits in a phrase whose other words must match too ("slef harm")
TYPO_MAX_LENGTH = 24
CORRECTIONS_CACHE_SIZE = 200_000  # search vocabularies are heavy-tailed: words recur, so corrections are memoized
MATCH_CACHE_SIZE = 50_000  # ... and so do whole searches: a repeated one costs a dictionary lookup
MAX_READINGS = 8
HASHTAG_SUBSTRING_MIN = 6  # inside a hashtag, shorter terms match only the whole tag ("#romania" is not "mania")

PATTERN_SCORE = 0.9  # a composition of lexicon words, not one of its phrases
_LEGACY_CODES = {"iw": "he", "in": "id", "tl": "fil"}  # locales still written with them (Java's, Android's)
# One-letter deletions of the typo words -> the words, in a dict per deletion length: a word's own and its
# deletions' are two lookups, and a version that adds words copies only the lengths they touch, in dicts of at most
# 10,000 entries whose growth never stands the decision loop still for long (one dict of 147,548 grew by 2-3 ms
# at once: streams/core/build.py `Patched`).
TypoIndex = Mapping[int, Mapping[str, tuple[str, ...]]]
KIND_SCORE: dict[MatchKind, float] = {"exact": 1.0, "translation": 1.0, "hashtag": 1.0, "coded": 0.95}


class Fix(NamedTuple):
    words: tuple[str, ...]  # the term words this token may be
    kind: MatchKind  # typo | coded (stretched letters)
    score: float
    phrase_only: bool  # a short word: may complete a phrase, never match alone
    guarded: frozenset[str] = frozenset()  # the languages it is a common word of (the typo guard): not read there


_UNKNOWN = Fix((), "typo", 0.0, False)  # a cache miss: stands for "not looked up yet", never applied


class Entry(NamedTuple):
    exclusion: bool
    condition: str
    kind: MatchKind  # exact | translation | coded (an exclusion is told by its flag)
    term: str  # as the lexicon writes it
    context: tuple[str, ...]  # for contextual terms: one of these words must be in the search


class ConditionHit(TypedDict):
    """What a decision says of one matched condition: the lexicon's own term, never the user's text."""
    id: str
    tier: Tier
    term: str
    kind: MatchKind
    score: float


@dataclass(frozen=True, slots=True)
class Match:
    condition: str
    tier: Tier
    term: str
    kind: MatchKind
    score: float

    def public(self) -> ConditionHit:
        return {"id": self.condition, "tier": self.tier, "term": self.term, "kind": self.kind,
                "score": round(self.score, 3)}


class Matcher:
    def __init__(self, lexicon: Lexicon, guard: bool = True, patterns: PatternMatcher | None = None,
                 typos: tuple[str, TypoIndex] | None = None) -> None:
        """`patterns`: a live version's, kept (they are immutable) when this lexicon's patterns read the same files
        (`Lexicon.patterns_digest`, the caller's check); otherwise they are built. `typos`: a live version's
        `typo_digest` and typo index, kept when this one's words are the same; otherwise it is built."""
        self.lexicon = lexicon
        keyed: dict[str, list[Entry]] = {}
        for cond in lexicon.conditions.values():
            for text, entry in paced(_entries(cond)):
                for key in {normalize.phrase(text), normalize.squash(text)}:
                    if key and (" " not in text or len(key) >= 5 or key == normalize.phrase(text)):
                        keyed.setdefault(key, []).append(entry)
        unspaced = {k for k in paced(keyed) if _UNSPACED.search(k)}
        self._phrases = _phrase_index({k: v for k, v in keyed.items() if k not in unspaced})
        self._unspaced = _automaton({k: keyed[k] for k in unspaced})
        hashtag: dict[str, list[Entry]] = {}
        for key, entries in paced(keyed.items()):
            hashtag.setdefault(key.replace(" ", ""), []).extend(entries)
        self._hashtag = _automaton(hashtag)
        self._tiers = {c.id: c.tier for c in lexicon.conditions.values()}
        # Typo candidates: words of spaced-script terms, indexed by every one-letter deletion. Words shorter than
        # TYPO_MIN_LENGTH are candidates only inside multi-word phrases.
        words = {
            (word, " " in key) for key in paced(keyed) if not _UNSPACED.search(key)
            for word in key.split(" ") if word.isalpha() and len(word) <= TYPO_MAX_LENGTH
        }
        vocabulary = {w for w, _ in words}
        self._vocabulary = _by_length(vocabulary)  # by length, as the typo index is
        self._lookalike_words = frozenset(word for key, entries in paced(keyed.items())
                                          if any(e.exclusion for e in entries) for word in key.split(" "))
        self._short_phrase_words = frozenset(
            w for w, in_phrase in words if in_phrase and PHRASE_TYPO_MIN_LENGTH <= len(w) < TYPO_MIN_LENGTH)
        typo_words = sorted(w for w in vocabulary if len(w) >= TYPO_MIN_LENGTH or w in self._short_phrase_words)
        self.typo_digest = hashlib.sha256("\n".join(typo_words).encode()).hexdigest()  # what the index reads
        self.typo_words = tuple(typo_words)
        pace()
        self._deletions: TypoIndex
        if typos is not None and typos[0] == self.typo_digest:
            self._deletions = typos[1]
        else:
            index: dict[int, dict[str, set[str]]] = {}
            for word in paced(typo_words):
                for deletion in _deletions(word):
                    index.setdefault(len(deletion), {}).setdefault(deletion, set()).add(word)
            self._deletions = {length: {k: tuple(sorted(v)) for k, v in paced(by_deletion.items())}
                               for length, by_deletion in index.items()}
        pace()
        self._corrections_cache: dict[str, Fix | None] = {}
        # Least recently used searches go first: clearing it whole when full made the most frequent searches miss
        # again after each clear (the bench mix: 30% of searches missed instead of 40%).
        self._match_cache: OrderedDict[tuple[str, str | None], tuple[Match, ...]] = OrderedDict()
        self._guard: Mapping[str, frozenset[str]] = lexicon.typo_guard if guard else {}
        # The guard a searcher's language reads: its own common words, English's (searched in every market) and
        # those guarded everywhere. A language the guard has no list for reads the guard of every language.
        self._shields: dict[str | None, frozenset[str]] = {
            lang: frozenset({lang, "en"}) | EVERY_LANGUAGE
            for lang in {lang for languages in self._guard.values() for lang in languages}}
        self._shields.update({old: self._shields[new] for old, new in _LEGACY_CODES.items() if new in self._shields})
        self._patterns = PatternMatcher(lexicon.patterns, lexicon.common_words) if patterns is None else patterns
        # An overlay's never-intercept phrases: spaced ones by their first word, unspaced ones as substrings.
        never: dict[str, list[tuple[str, ...]]] = {}
        for phrase in lexicon.never_intercept:
            if not _UNSPACED.search(phrase):
                phrase_words = tuple(phrase.split(" "))
                never.setdefault(phrase_words[0], []).append(phrase_words)
        self._never = {first: tuple(v) for first, v in never.items()}
        self._never_unspaced = tuple(p for p in lexicon.never_intercept if _UNSPACED.search(p))

    # -- the per-search path -------------------------------------------------------------------------------

    def match(self, query: str, language: str | None = None) -> list[Match]:
        """The conditions a search is about, most urgent first (memoized: the same search, the same answer).
        `language` is the searcher's (their locale's): a correction never reads a common word of it as a typo;
        None, or one the typo guard has no list for, reads the guard of every language."""
        shield = self._shields.get(language)
        key = (query, None if shield is None else language)
        cache = self._match_cache
        cached = cache.get(key)
        if cached is None:
            cached = cache[key] = tuple(self._match(query, shield))
            if len(cache) > MATCH_CACHE_SIZE:
                cache.popitem(last=False)  # the least recently used
        else:
            cache.move_to_end(key)
        return list(cached)

    @property
    def patterns(self) -> PatternMatcher:
        return self._patterns

    @property
    def typo_index(self) -> TypoIndex:
        return self._deletions

    def typo_changes(self, other_words: Iterable[str]) -> dict[int, dict[str, tuple[str, ...] | None]]:
        """What differs between this typo index and that of a matcher whose typo words are `other_words`, by
        length as the index is: each deletion of a word one of them has and the other not, with this index's words
        for it (None: none)."""
        changes: dict[int, dict[str, tuple[str, ...] | None]] = {}
        for word in set(self.typo_words).symmetric_difference(other_words):
            for deletion in _deletions(word):
                changes.setdefault(len(deletion), {})[deletion] = self._deletions.get(len(deletion), {}).get(deletion)
        return changes

    def hand_typos_as(self, stand_in: TypoIndex) -> None:
        """For a build about to be handed over: its typo index replaced by what stands for it there
        (streams/core/build.py `Kept`, `Patched`)."""
        self._deletions = stand_in

    def recent_queries(self, most: int) -> list[tuple[str, str | None]]:
        """The `most` searches used last, with their language (to warm the next version's matcher; they never
        leave the worker)."""
        cache = self._match_cache
        return list(itertools.islice(reversed(cache), min(most, len(cache))))

    def _match(self, query: str, shield: frozenset[str] | None) -> list[Match]:
        folded = normalize.fold(query)
        tokens = normalize.words(folded)
        if (self._never or self._never_unspaced) and self._never_intercepted(folded, tokens):
            return []
        found: dict[str, Match] = {}
        # One pass over the words: phrases starting at each word, and each word's (memoized) correction.
        (one_word, pairs, opens), cache = self._phrases, self._corrections_cache
        hits: list[tuple[int, int, Entry]] = []
        fixes: list[tuple[int, Fix]] = []
        anchors, gates = self._patterns.anchor_words, []
        last = len(tokens) - 1
        for i, token in enumerate(tokens):
            if token in anchors:
                gates.append(token)
            if token in opens and i < last:  # longer phrases first
                for words, entries in pairs.get((token, tokens[i + 1]), ()):
                    n = len(words)
                    if n == 2 or tuple(tokens[i:i + n]) == words:
                        hits.extend((i, i + n - 1, entry) for entry in entries)
            alone = one_word.get(token)
            if alone is not None:
                hits.extend((i, i, entry) for entry in alone)
            fix = cache.get(token, _UNKNOWN)
            if fix is _UNKNOWN:
                fix = self._remember(token)
            if fix is not None and not _guarded(fix, shield):
                fixes.append((i, fix))
        if hits:
            self._settle(hits, " " + " ".join(tokens) + " ", None, found, None)
        if fixes:
            self._scan_corrected(tokens, fixes, found)
        if not folded.isascii() and _UNSPACED.search(folded):
            self._scan_unspaced(folded, found)
            gates += self._patterns.unspaced_gates(folded)
        if "#" in query:
            for body in normalize.hashtags(unicodedata.normalize("NFKC", query)):
                self._scan_hashtag(normalize.squash(body), found)
                body_words = normalize.words(normalize.fold(body))
                self._scan(self._phrases, body_words, "hashtag", found)
                self._scan(self._phrases, normalize.hashtag_words(" ".join(body_words)), "hashtag", found)
        coded = normalize.decoded(folded, tokens)
        if coded is not None:
            self._scan(self._phrases, normalize.words(coded), "coded", found)
        if gates or (found and not found.keys().isdisjoint(self._patterns.exclusions)):
            self._scan_patterns(tokens, gates, found, shield)
        if not found:
            return []
        return sorted(found.values(), key=lambda m: (-TIER_RANK[m.tier], -m.score, m.condition))

    def _never_intercepted(self, folded: str, tokens: list[str]) -> bool:
        """Whether the search holds one of the overlay's never-intercept phrases (whole words)."""
        never = self._never
        for i, token in enumerate(tokens):
            for words in never.get(token, ()):
                if tuple(tokens[i:i + len(words)]) == words:
                    return True
        return any(phrase in folded for phrase in self._never_unspaced)

    def _scan_patterns(self, tokens: list[str], gates: list[str], found: dict[str, Match],
                       shield: frozenset[str] | None) -> None:
        """Compositional patterns. A matched look-alike pattern cancels its condition within its own span: the
        rest of the search is matched again, and the condition stands if it matches there."""
        matched, cancelled = self._patterns.match(tokens, gates, found.keys())
        for pattern, used in matched:
            cond = pattern.condition
            if cond not in found or found[cond].score < PATTERN_SCORE:
                found[cond] = Match(cond, self._tiers[cond], f"{pattern.id}: {' + '.join(used)}", "pattern",
                                    PATTERN_SCORE)
        matched_again: dict[str, list[Match]] = {}  # two conditions cancelled by one span: one match again
        for cond, rest in cancelled.items():
            found.pop(cond, None)
            # the words either side of a look-alike are matched apart: "κόπηκα στο ξύρισμα με ξυράφι" (cut
            # shaving with a razor) holds no "κόπηκα ... ξυράφι" once "ξύρισμα" is a look-alike's
            for part in rest.split(BREAK):
                if part.strip() and part.strip() != " ".join(tokens):
                    if part not in matched_again:
                        matched_again[part] = self._match(part, shield)
                    again = next((m for m in matched_again[part] if m.condition == cond), None)
                    if again is not None and (cond not in found or again.score > found[cond].score):
                        found[cond] = again

    def _scan(self, phrases: PhraseIndex, tokens: list[str], kind: MatchKind | None,
              found: dict[str, Match], score: float | None = None, phrase_only: set[int] | None = None) -> None:
        """Spaced-script terms, whole words only: a set lookup per word; longer phrases checked from their first pair.
        Positions in `phrase_only` (short corrected words) may complete a phrase but not match alone."""
        hits: list[tuple[int, int, Entry]] = []
        one_word, pairs, opens = phrases
        last = len(tokens) - 1
        for i, token in enumerate(tokens):
            if token in opens and i < last:
                for words, entries in pairs.get((token, tokens[i + 1]), ()):
                    n = len(words)
                    if n == 2 or tuple(tokens[i:i + n]) == words:
                        hits.extend((i, i + n - 1, entry) for entry in entries)
            alone = one_word.get(token)
            if alone is not None and not (phrase_only and i in phrase_only):
                hits.extend((i, i, entry) for entry in alone)
        if hits:
            self._settle(hits, " " + " ".join(tokens) + " ", kind, found, score)

    def _scan_unspaced(self, folded: str, found: dict[str, Match]) -> None:
        """Terms of scripts written without spaces (Japanese, Chinese, Thai; Hangul with particles) match anywhere."""
        hits = [(end - length + 1, end, entry) for end, (length, entries) in scan(self._unspaced, folded)
                for entry in entries]
        if hits:
            self._settle(hits, f" {folded} ", None, found, None)

    def _scan_hashtag(self, body: str, found: dict[str, Match]) -> None:
        """Terms inside a run-together hashtag (#suicideprevention, #mydepressionjourney)."""
        hits = [(end - length + 1, end, entry) for end, (length, entries) in scan(self._hashtag, body)
                if length >= HASHTAG_SUBSTRING_MIN or length == len(body) for entry in entries]
        if hits:
            self._settle(hits, f" {body} ", "hashtag", found, None)

    def _settle(self, hits: list[tuple[int, int, Entry]], text: str, kind: MatchKind | None,
                found: dict[str, Match], score: float | None) -> None:
        exclusions = [(s, e, entry.condition) for s, e, entry in hits if entry.exclusion]
        for start, end, entry in hits:
            if entry.exclusion:
                continue
            if any(s <= start and end <= e and c == entry.condition for s, e, c in exclusions):
                continue
            if entry.context and not any(f" {w} " in text for w in entry.context):
                continue
            this_kind = kind or entry.kind
            this_score = score if score is not None else KIND_SCORE[this_kind]
            best = found.get(entry.condition)
            if best is None or this_score > best.score:
                found[entry.condition] = Match(entry.condition, self._tiers[entry.condition], entry.term,
                                               this_kind, this_score)

    def _remember(self, token: str) -> Fix | None:
        cache = self._corrections_cache
        if len(cache) >= CORRECTIONS_CACHE_SIZE:
            cache.clear()
        fix = cache[token] = self._correct(token)
        return fix

    def _scan_corrected(self, tokens: list[str], fixes: list[tuple[int, Fix]], found: dict[str, Match]) -> None:
        """Words one edit or a stretch away from a term word ("depressoin", "killlll"), read as that word. A word
        with several equally near readings tries each (at most MAX_READINGS combinations)."""
        kind: MatchKind = "coded"
        score = KIND_SCORE["coded"]
        phrase_only = set()
        for i, fix in fixes:
            if fix.kind == "typo":
                kind, score = "typo", min(score, fix.score)
            if fix.phrase_only:
                phrase_only.add(i)
        positions = [i for i, _ in fixes]
        for n, reading in enumerate(itertools.product(*(fix.words for _, fix in fixes))):
            if n == MAX_READINGS:
                break
            corrected = list(tokens)
            for i, word in zip(positions, reading, strict=True):
                corrected[i] = word
            self._scan(self._phrases, corrected, kind, found, score, phrase_only)

    def _correct(self, token: str) -> Fix | None:
        """How to read a token that is not itself a term word, or None."""
        if len(token) < PHRASE_TYPO_MIN_LENGTH or not token.isalpha():
            return None
        if token in self._vocabulary.get(len(token), ()):
            return self._misspelled(token)
        if _STRETCH.search(token):
            for squeezed in _unstretched(token):
                if squeezed in self._vocabulary.get(len(squeezed), ()):
                    return Fix((squeezed,), "coded", KIND_SCORE["coded"], False)
            token = _STRETCH.sub(r"\1\1", token)
        if len(token) > TYPO_MAX_LENGTH or _UNSPACED.search(token):
            return None
        nearest = self._nearest(token)
        if not nearest:
            return None
        phrase_only = len(token) < TYPO_MIN_LENGTH or min(map(len, nearest)) < TYPO_MIN_LENGTH
        return Fix(nearest, "typo", 1.0 - 1.0 / max(len(token), *map(len, nearest)), phrase_only,
                   self._guard.get(token, frozenset()))

    def _misspelled(self, word: str) -> Fix | None:
        """A term word that is no term alone, no common word of any language, and one edit from a one-word term:
        a misspelling a lexicon writer kept inside a phrase ("sucide kaise kare"), read as that term where it
        stands alone ("sucide")."""
        if (word in self._phrases.one_word or word in self.lexicon.common_words
                or word in self._lookalike_words):  # "отряд самоубийц" (Suicide Squad) is not a misspelling
            return None
        nearest = tuple(w for w in self._nearest(word) if w != word and w in self._phrases.one_word)
        if not nearest:
            return None
        return Fix(nearest, "typo", 1.0 - 1.0 / max(len(word), *map(len, nearest)),
                   len(word) < TYPO_MIN_LENGTH or min(map(len, nearest)) < TYPO_MIN_LENGTH,
                   self._guard.get(word, frozenset()))

    def _nearest(self, token: str) -> tuple[str, ...]:
        """The vocabulary words one edit (OSA: insert, delete, substitute, swap) away."""
        same, shorter = self._deletions.get(len(token), {}), self._deletions.get(len(token) - 1, {})
        shorter_words = self._vocabulary.get(len(token) - 1, frozenset())
        candidates: set[str] = set(same.get(token, ()))
        for deletion in _deletions(token):
            if deletion in shorter:
                candidates.update(shorter[deletion])
            if deletion in shorter_words:
                candidates.add(deletion)
        short = len(token) < TYPO_MIN_LENGTH
        near = []
        for candidate in sorted(candidates):
            if (short or len(candidate) < TYPO_MIN_LENGTH) and (
                    candidate[0] != token[0] or (len(candidate) < TYPO_MIN_LENGTH
                                                 and candidate not in self._short_phrase_words)):
                continue
            if OSA.distance(token, candidate, score_cutoff=1) <= 1:
                near.append(candidate)
        return tuple(near)

    def would_correct(self, word: str, language: str | None = None) -> bool:
        """Whether a (folded) word would be read as a typo of a term word by a searcher of `language` (None: of
        any language): for building the typo guard."""
        fix = self._correct(word)
        return fix is not None and not _guarded(fix, self._shields.get(language))



def _guarded(fix: Fix, shield: frozenset[str] | None) -> bool:
    """Whether the typo guard keeps a correction from a searcher reading `shield` (None: every language's)."""
    return bool(fix.guarded) and (shield is None or not shield.isdisjoint(fix.guarded))


def _entries(cond: Condition) -> Iterable[tuple[str, Entry]]:
    for lang, terms in cond.terms.items():
        kind: MatchKind = "exact" if lang == "en" else "translation"
        for term in terms:
            yield term, Entry(False, cond.id, kind, term, ())
    for term in cond.coded:
        yield term, Entry(False, cond.id, "coded", term, ())
    for ctx in cond.contextual:
        context = tuple(normalize.phrase(w) for w in ctx.with_)
        yield ctx.term, Entry(False, cond.id, "coded", ctx.term, context)
    for exclusions in cond.exclusions.values():
        for term in exclusions:
            yield term, Entry(True, cond.id, "exact", term, ())


_STRETCH = re.compile(r"(\w)\1{2,}")


def _unstretched(token: str) -> list[str]:
    """Each stretched run ("nnnn") read as one letter and as two: "killlll" -> "kil", "kill"."""
    one, two = _STRETCH.sub(r"\1", token), _STRETCH.sub(r"\1\1", token)
    return [one, two]


def _by_length(words: Iterable[str]) -> dict[int, frozenset[str]]:
    """Words by their length: sets of a few thousand, each built in one short step when a version is taken (the
    vocabulary's 14,503 as one set: a frame of 2.4-3.3 ms)."""
    by_length: dict[int, set[str]] = {}
    for word in words:
        by_length.setdefault(len(word), set()).add(word)
    return {length: frozenset(same) for length, same in by_length.items()}


def _deletions(word: str) -> list[str]:
    return [word[:i] + word[i + 1:] for i in range(len(word))]


class PhraseIndex(NamedTuple):
    """Spaced-script phrases: one-word ones by their word; longer ones by their first two words, longest first
    (by the first word alone, "i" or "to" would open hundreds of phrases to compare with the search), with the
    set of words that open one, so most search words cost a set lookup."""
    one_word: dict[str, tuple[Entry, ...]]
    pairs: dict[tuple[str, str], tuple[tuple[tuple[str, ...], tuple[Entry, ...]], ...]]
    opens: frozenset[str]


def _phrase_index(keyed: dict[str, list[Entry]]) -> PhraseIndex:
    one_word: dict[str, tuple[Entry, ...]] = {}
    pairs: dict[tuple[str, str], list[tuple[tuple[str, ...], tuple[Entry, ...]]]] = {}
    for key, entries in paced(keyed.items()):
        words = tuple(key.split(" "))
        if len(words) == 1:
            one_word[key] = tuple(dict.fromkeys(entries))
        else:
            pairs.setdefault((words[0], words[1]), []).append((words, tuple(dict.fromkeys(entries))))
    return PhraseIndex(one_word, {pair: tuple(sorted(v, key=lambda p: -len(p[0]))) for pair, v in paced(pairs.items())},
                       frozenset(first for first, _ in pairs))


def _automaton(keyed: dict[str, list[Entry]]) -> tuple[Any, ...]:
    return automata((key, (len(key), tuple(dict.fromkeys(entries)))) for key, entries in keyed.items())
