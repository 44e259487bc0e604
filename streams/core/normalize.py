"""Text normalization shared by the lexicon compiler and the per-search matcher.

Both sides go through the same functions, so a term and a search that mean the same string compare equal.
Everything here is plain Python on str; the hot path avoids work a plain ASCII query does not need.
"""

from __future__ import annotations

import re
import unicodedata

# Combining marks folded away: Latin/Greek/Cyrillic diacritics and Arabic harakat, and the Arabic tatweel (U+0640,
# a stretch: "انتحـــار" is "انتحار"). Other scripts' marks (Devanagari vowel signs, Japanese voicing marks) carry
# meaning and are kept.
_FOLD_MARKS = dict.fromkeys([*range(0x0300, 0x0370), *range(0x064B, 0x0660), 0x0670, 0x0640])

# Cyrillic and Greek letters that look like Latin ones, used to slip words past filters ("ѕuicide").
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i",
        "ј": "j", "к": "k", "м": "m", "т": "t", "н": "h", "в": "b", "ԁ": "d", "ɡ": "g",
        "α": "a", "ε": "e", "ο": "o", "ρ": "p", "τ": "t", "ι": "i", "κ": "k", "ν": "v", "υ": "u",
    }
)
# Scripts written without spaces between words (or, for Hangul, with particles glued to them): their phrases
# match anywhere, not only on word boundaries.
UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]")
_NON_LATIN_LETTER = re.compile(r"[\u0370-\u04ff]")

# Digit and symbol spellings ("depr3ssion", "$uicide", "k!ll", "suicid3"): a run touching a letter is decoded.
# Decoding only ever adds matches (the plain text is matched first), so "mp3" read as "mpe" costs nothing.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "l", "€": "e"})
_LEET_RUN = re.compile(r"(?<=[^\W\d_])[013457@$!|€]+|[013457@$!|€]+(?=[^\W\d_])")
_CODED_HINT = re.compile(r"[013457@$!|€.\-_*·'’~+]")

def _marks_class() -> str:
    """A character class of every combining mark (Unicode category M), which `\\w` leaves out."""
    ranges: list[list[int]] = []  # [first, last] code points of each run of marks
    for code in range(0x300, 0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


_MARKS = _marks_class()
# A word: letters, digits and the marks that belong to them (Devanagari vowel signs, Thai tone marks...).
_WORD = re.compile(rf"[\w{_MARKS}]+")
_INNER_SEPARATOR = re.compile(r"(?<=\w)[.\-_*·'’~+]+(?=\w)")
_SINGLE_LETTER_RUN = re.compile(r"\b(?:\w[\s.\-_*·]+){2,}\w\b")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def fold(text: str) -> str:
    """NFKC, case folding, and accent folding for Latin, Greek, Cyrillic and Arabic."""
    if text.isascii():
        return text.lower()  # NFKC leaves ASCII alone, and casefold is lower() there
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    text = unicodedata.normalize("NFC", decomposed.translate(_FOLD_MARKS))
    if _NON_LATIN_LETTER.search(text) and _LATIN.search(text):
        text = " ".join(_unconfuse(word) for word in text.split(" "))
    return text


def _unconfuse(word: str) -> str:
    if _LATIN.search(word) and _NON_LATIN_LETTER.search(word):
        return word.translate(_CONFUSABLES)
    return word


def words(folded: str) -> list[str]:
    if folded.isascii() and folded.replace(" ", "").isalnum():  # the common case, without the regex
        return folded.split()
    return _WORD.findall(folded)


def phrase(text: str) -> str:
    """A lexicon term as the matcher stores it: folded words joined by single spaces."""
    return " ".join(words(fold(text)))


def squash(text: str) -> str:
    """The space-less form of a phrase, as hashtags and run-together spellings write it."""
    return "".join(words(fold(text)))


def hashtags(raw: str) -> list[str]:
    """Hashtag bodies, camel case split into words (#SewerSlide -> "sewer slide")."""
    return [_CAMEL.sub(" ", body) for body in _HASHTAG.findall(raw)]


# Words that hashtags glue onto a condition's name (#ocdawareness, #adhdtiktok, #mydepressionjourney).
HASHTAG_PREFIXES = ("livingwith", "my", "stop", "end", "beat", "fight", "pro", "anti", "ihave")
HASHTAG_SUFFIXES = (
    "awareness", "recovery", "tiktok", "tok", "twt", "warriors", "warrior", "life", "support", "community",
    "struggles", "problems", "memes", "meme", "journey", "help", "matters", "month", "day", "mom", "mum", "kids",
    "brain", "check", "test", "relief", "fighter", "survivor", "family", "sucks", "things", "tips", "clean",
)


def hashtag_words(body: str) -> list[str]:
    """A run-together hashtag word split off its usual prefix and suffix: "ocdawareness" -> ocd, awareness."""
    out: list[str] = []
    for word in body.split(" "):
        head: list[str] = []
        tail: list[str] = []
        for prefix in HASHTAG_PREFIXES:
            if word.startswith(prefix) and len(word) > len(prefix) + 1:
                head, word = [prefix], word[len(prefix):]
                break
        for suffix in HASHTAG_SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix) + 1:
                tail, word = [suffix], word[: -len(suffix)]
                break
        out += [*head, word, *tail]
    return out


def decoded(folded: str, tokens: list[str]) -> str | None:
    """The search with coded spellings undone, or None when it has none.

    Undoes digit/symbol spellings, separators inside words ("sui-cide", "d.e.p.r.e.s.s.i.o.n") and spaced
    letters ("s u i c i d e"). Each step runs only when a cheap check says it can change something.
    """
    text = folded
    if _CODED_HINT.search(text):
        text = _LEET_RUN.sub(lambda m: m.group(0).translate(_LEET), text)
        text = _INNER_SEPARATOR.sub("", text)
    if 1 in map(len, tokens) and sum(len(t) == 1 for t in tokens) >= 3:
        text = _SINGLE_LETTER_RUN.sub(lambda m: _WORD_GAP.sub("", m.group(0)), text)
    return text if text != folded else None


_WORD_GAP = re.compile(r"[\s.\-_*·]+")
