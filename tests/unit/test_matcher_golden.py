"""Golden searches: each case says why it exists. One case per test id, so one failure hides no other."""

from __future__ import annotations

import pytest

from streams.core.decide import Decider
from streams.core.events import SearchEvent

# (query, locale, expected tier or None, expected condition or None, expected kind or None, why)
GOLDEN = [
    ("best pizza near me", "en-US", None, None, None, "an ordinary search: no intercept"),
    ("how to deal with anxiety", "en-US", "support", "anxiety", "exact", "the issue's support example"),
    ("i want to kill myself", "en-US", "crisis", "suicide", "exact", "the issue's crisis example"),
    ("am i autistic", "en-US", "info", "autism", "exact", "the issue's info example"),
    ("quiero morir", "es-MX", "crisis", "suicide", "translation", "Spanish crisis search"),
    ("depression", "en-US", "support", "depression", "exact", "the condition's own name"),
    ("i want to die", "en-US", "crisis", "suicide", "exact", "first-person crisis phrase"),
    ("sewer slide", "en-US", "crisis", "suicide", "coded", "a coded word for suicide"),
    ("unalive myself", "en-US", "crisis", "suicide", "coded", "a coded word for suicide"),
    ("depr3ssion", "en-US", "support", "depression", "coded", "digit-for-letter spelling"),
    ("$uicide", "en-US", "crisis", "suicide", "coded", "symbol-for-letter spelling"),
    ("s u i c i d e", "en-US", "crisis", "suicide", "coded", "spaced letters"),
    ("d.e.p.r.e.s.s.i.o.n", "en-US", "support", "depression", "coded", "dotted letters"),
    ("depressionnnnn", "en-US", "support", "depression", "coded", "stretched letters"),
    ("#SewerSlide", "en-US", "crisis", "suicide", "hashtag", "a camel-case hashtag"),
    ("#suicideprevention", "en-US", "crisis", "suicide", "hashtag", "a run-together hashtag"),
    ("depressoin", "en-US", "support", "depression", "typo", "two letters swapped"),
    ("autsim", "en-US", "info", "autism", "typo", "a transposition"),
    ("sucide", "en-US", "crisis", "suicide", "typo", "a misspelling the lexicon also holds inside a phrase"),
    ("suiside", "en-US", "crisis", "suicide", "typo", "the same, another spelling"),
    ("отряд самоубийц", "ru-RU", None, None, None, "a look-alike's own word is never read as a misspelling"),
    ("انتحـــار", "ar-EG", "crisis", "suicide", "translation", "tatweel, the Arabic stretch, folded away"),
    ("menty b", "en-US", "support", "mental_health_crisis", "coded", "slang for a mental breakdown"),
    ("grippy sock vacation", "en-US", "support", "mental_health_crisis", "coded", "slang for a psychiatric stay"),
    ("thinspo", "en-US", "support", None, "coded", "pro-eating-disorder slang"),
    ("死にたい", "ja-JP", "crisis", "suicide", "translation", "Japanese, no spaces"),
    ("我想死", "zh-CN", "crisis", "suicide", "translation", "Chinese inside a longer run of characters"),
    ("хочу умереть", "ru-RU", "crisis", "suicide", "translation", "Russian"),
    ("tropical depression", "en-US", None, None, None, "weather, not mood"),
    ("the great depression", "en-US", None, None, None, "history, not mood"),
    ("suicide squad", "en-US", None, None, None, "a film"),
    ("bipolar transistor", "en-US", None, None, None, "electronics"),
    ("trauma surgeon", "en-US", None, None, None, "a profession"),
    ("seizure of assets", "en-US", None, None, None, "law"),
    ("panic! at the disco", "en-US", None, None, None, "a band"),
    ("impression", "en-US", None, None, None, "two edits from depression: not a typo of it"),
    ("autumn", "en-US", None, None, None, "not a typo of autism"),
    ("ana de armas", "en-US", None, None, None, "a name code without context"),
    ("pro ana tips", "en-US", "support", None, "coded", "the same name code with context"),
    ("cat videos", "en-US", None, None, None, "a name code without context"),
    ("ed sheeran", "en-US", None, None, None, "a name code without context"),
    ("addition worksheets", "en-US", None, None, None, "one edit from addiction, but an ordinary word"),
    ("suicide squad i want to die", "en-US", "crisis", "suicide", None, "an exclusion cancels only its own span"),
    ("ich will nicht mehr so leben ich will sterben", "de-DE", "crisis", "suicide", None,
     "a look-alike's gap never holds its first class again: the second clause stands"),
    ("self harm karne ka mann karta hai", "hi-IN", "crisis", "self_harm", None,
     "Filipino 'karne' (meat) cancels only after a marker: in Hinglish it is 'to do'"),
    ("hiwain ang karne", "fil-PH", None, None, None, "cutting meat is cooking"),
    ("crisis hotline", "es-MX", "crisis", "suicide", "exact", "looking for a crisis line: the country's line first"),
]


@pytest.mark.parametrize(("query", "locale", "tier", "condition", "kind", "why"), GOLDEN,
                         ids=[case[0] for case in GOLDEN])
def test_golden(decider: Decider, query: str, locale: str, tier: str | None, condition: str | None,
                kind: str | None, why: str) -> None:
    language, _, country = locale.partition("-")
    decision = decider.decide(SearchEvent("g", query, locale, language, country or None, 0, "search"), 0)
    assert decision["tier"] == tier, why
    if condition is not None:
        matched = {c["id"]: c for c in decision["conditions"]}
        assert condition in matched, why
        if kind is not None:
            assert matched[condition]["kind"] == kind, why
    elif kind is not None:
        assert decision["conditions"][0]["kind"] == kind, why
