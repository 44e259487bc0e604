"""A seeded, realistic search mix for the benchmarks: ~97% unrelated searches, the rest looking for help
(typos, coded words, other languages), drawn from the labeled evaluation set's positives.

How often a search repeats follows the published search-log studies, so that a cache of decisions is not
flattered: query frequency follows a Zipf law (Xie and O'Hallaron, "Locality in search engine queries and its
implications for caching", INFOCOM 2002, doi:10.1109/INFCOM.2002.1019374, two real traces; abstract checked
at research.microsoft.com/apps/pubs/default.aspx?id=80113 on 2026-12-01), with a long tail of searches seen
once; Silverstein, Henzinger, Marais and Moricz ("Analysis of a very large web search engine query log", SIGIR
Forum 33(1), 1999, doi:10.1145/331403.331405, about a billion AltaVista searches) found most queries asked by
only one user: 63.7%, as Search Engine Watch's summary of the study gives it
(searchenginewatch.com/sew/news/2047351/search-spotlight-altavista-searches, checked 2026-12-01; we have not
read the paper's own table). Here the unrelated searches
are drawn by rank from a Zipf law of exponent ZIPF_S over a vocabulary as large as the mix: in 200,000
searches 65% of the distinct searches are seen once, which is 22% of all searches, and 66% of the searches were
seen before in the mix, the most a cache could ever answer (`python -m bench.mix` prints these).
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_WORDS = {
    "en-US": ["best", "cheap", "new", "how", "to", "near", "me", "review", "price", "weather", "recipe", "easy", "chicken", "pasta", "tickets", "movie", "song", "lyrics", "football", "score", "today", "tomorrow", "news", "election", "iphone", "samsung", "laptop", "shoes", "dress", "jacket", "flights", "hotel", "paris", "london", "york", "restaurant", "open", "now", "coffee", "amazon", "deals", "black", "friday", "christmas", "gift", "ideas", "for", "dad", "mom", "kids", "toys", "game", "download", "free", "online", "translate", "calculator", "stock", "market", "bitcoin", "tesla", "car", "insurance", "jobs", "hiring", "remote", "salary", "apartment", "rent", "homework", "math", "history", "chemistry", "biology", "essay"],
    "es-MX": ["receta", "fácil", "pollo", "clima", "mañana", "hoy", "partido", "resultados", "noticias", "precio", "barato", "tienda", "cerca", "de", "mí", "vuelos", "hotel", "cancún", "ciudad", "de", "méxico", "película", "canción", "letra", "descargar", "gratis", "trabajo", "empleo", "renta", "departamento", "tarea", "historia"],
    "pt-BR": ["receita", "fácil", "frango", "previsão", "do", "tempo", "amanhã", "jogo", "hoje", "notícias", "preço", "barato", "loja", "perto", "voos"],
    "fr-FR": ["recette", "facile", "poulet", "météo", "demain", "match", "aujourd'hui", "actualités", "prix", "pas", "cher", "magasin", "vols"],
    "de-DE": ["rezept", "einfach", "hähnchen", "wetter", "morgen", "spiel", "heute", "nachrichten", "preis", "günstig", "laden", "flüge"],
    "ja-JP": ["東京", "天気", "明日", "レシピ", "簡単", "ラーメン", "映画", "歌詞", "ニュース", "安い", "ホテル", "予約"],
    "zh-CN": ["北京", "天气", "明天", "食谱", "简单", "电影", "歌词", "新闻", "便宜", "酒店", "预订", "手机"],
}


ZIPF_S = 0.9  # the Zipf exponent of the unrelated searches (chosen for the share seen once, above)
_LOCALE_WEIGHTS = [60, 12, 8, 6, 6, 4, 4]


def _vocabulary(rng: random.Random, size: int) -> list[tuple[str, str]]:
    """`size` distinct unrelated (query, locale) pairs, in the order a Zipf rank picks them."""
    locales = list(_WORDS)
    seen: set[tuple[str, str]] = set()
    vocabulary: list[tuple[str, str]] = []
    while len(vocabulary) < size:
        locale = rng.choices(locales, _LOCALE_WEIGHTS)[0]
        words = _WORDS[locale]
        sep = "" if locale in ("ja-JP", "zh-CN") and rng.random() < 0.5 else " "
        pair = (sep.join(rng.choice(words) for _ in range(rng.randint(1, 5))), locale)
        if pair not in seen:
            seen.add(pair)
            vocabulary.append(pair)
    return vocabulary


def realistic_mix(count: int, seed: int = 42, help_share: float = 0.03) -> list[tuple[str, str]]:
    """(query, locale) pairs."""
    rng = random.Random(seed)
    labeled = [json.loads(line) for line in (ROOT / "tests/eval/queries.jsonl").read_text().splitlines() if line]
    helpful = [(r["query"], r["locale"]) for r in labeled if r["tier"]]
    lookalikes = [(r["query"], r["locale"]) for r in labeled if not r["tier"]]
    vocabulary = _vocabulary(rng, max(1, count))
    ranks = list(itertools.accumulate(1 / (rank + 1) ** ZIPF_S for rank in range(len(vocabulary))))
    mix = []
    for _ in range(count):
        roll = rng.random()
        if roll < help_share:
            mix.append(rng.choice(helpful))
        elif roll < help_share + 0.02:
            mix.append(rng.choice(lookalikes))
        else:
            mix.append(rng.choices(vocabulary, cum_weights=ranks)[0])
    return mix


def repeats(mix: list[tuple[str, str]]) -> dict[str, float]:
    """How much of a mix repeats: the share of distinct searches seen once, of all searches seen once, and of
    searches seen before (the most any cache could answer)."""
    counts = Counter(mix)
    once = sum(1 for n in counts.values() if n == 1)
    return {"distinct_seen_once": once / len(counts), "searches_seen_once": once / len(mix),
            "searches_seen_before": 1 - len(counts) / len(mix)}


if __name__ == "__main__":
    print(repeats(realistic_mix(200_000)))
