"""A seeded, realistic search mix for the benchmarks: ~97% unrelated searches, the rest looking for help
(typos, coded words, other languages), drawn from the labeled evaluation set's positives."""

from __future__ import annotations

import json
import random
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


def realistic_mix(count: int, seed: int = 42, help_share: float = 0.03) -> list[tuple[str, str]]:
    """(query, locale) pairs."""
    rng = random.Random(seed)
    labeled = [json.loads(line) for line in (ROOT / "tests/eval/queries.jsonl").read_text().splitlines() if line]
    helpful = [(r["query"], r["locale"]) for r in labeled if r["tier"]]
    lookalikes = [(r["query"], r["locale"]) for r in labeled if not r["tier"]]
    locales = list(_WORDS)
    weights = [60, 12, 8, 6, 6, 4, 4]
    mix = []
    for _ in range(count):
        roll = rng.random()
        if roll < help_share:
            mix.append(rng.choice(helpful))
        elif roll < help_share + 0.02:
            mix.append(rng.choice(lookalikes))
        else:
            locale = rng.choices(locales, weights)[0]
            words = _WORDS[locale]
            sep = "" if locale in ("ja-JP", "zh-CN") and rng.random() < 0.5 else " "
            mix.append((sep.join(rng.choice(words) for _ in range(rng.randint(1, 5))), locale))
    return mix
