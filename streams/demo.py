"""A realistic demo stream: mostly ordinary searches, a few looking for help, a few broken records.

`signpost demo` produces it to the events topic and reads the decisions back, printing each intercept as
the search frontend would render it, then a summary. The demo knows its own (synthetic) queries and shows
them beside the decisions; the decisions themselves never carry them.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.core.decide import Decision
from streams.kafka_security import aiokafka_options
from streams.settings import Settings

ORDINARY = [
    ("best pizza near me", "en-US"), ("weather tomorrow", "en-US"), ("taylor swift tour dates", "en-US"),
    ("how to boil an egg", "en-GB"), ("cheap flights to lisbon", "en-GB"), ("iphone 17 review", "en-US"),
    ("tropical depression gulf of mexico", "en-US"), ("suicide squad cast", "en-US"),
    ("great depression causes", "en-US"), ("panic at the disco tour", "en-US"), ("cat videos funny", "en-US"),
    ("ana de armas movies", "en-US"), ("bipolar transistor", "en-US"), ("trauma surgeon salary", "en-US"),
    ("receta de tacos al pastor", "es-MX"), ("clima en monterrey", "es-MX"), ("resultados liga mx", "es-MX"),
    ("depresión tropical golfo de méxico", "es-MX"), ("previsão do tempo são paulo", "pt-BR"),
    ("jogo do flamengo hoje", "pt-BR"), ("recette crêpes", "fr-FR"), ("horaires sncf", "fr-FR"),
    ("wetter berlin", "de-DE"), ("bundesliga tabelle", "de-DE"), ("ricetta carbonara", "it-IT"),
    ("東京 天気", "ja-JP"), ("ラーメン 渋谷", "ja-JP"), ("北京 天气", "zh-CN"), ("서울 날씨", "ko-KR"),
    ("cricket score today", "en-IN"), ("погода москва", "ru-RU"), ("مباراة الأهلي اليوم", "ar-EG"),
    ("running shoes sale", "en-AU"), ("stroke of luck meaning", "en-US"), ("seizure of assets law", "en-GB"),
]
HELP_SEEKING = [
    ("i want to kill myself", "en-US"), ("how to deal with anxiety", "en-US"), ("am i autistic", "en-US"),
    ("quiero morir", "es-MX"), ("sewer slide", "en-US"), ("depr3ssion", "en-US"), ("i think i have adhd", "en-GB"),
    ("quero morrer", "pt-BR"), ("je veux mourir", "fr-FR"), ("ich will nicht mehr leben", "de-DE"),
    ("死にたい", "ja-JP"), ("想死", "zh-CN"), ("자살", "ko-KR"), ("#anxietyrelief", "en-US"),
    ("signs of bipolar disorder", "en-US"), ("síntomas de depresión", "es-ES"), ("epilepsy first aid", "en-AU"),
    ("grippy sock vacation", "en-US"), ("panic attack at night", "en-CA"), ("postpartum depression", "en-US"),
]
BROKEN = [b"{not json", b"", b"null", b"[1, 2, 3]", b'{"search_id": 42, "query": "x"}', b"\xff\xfe\xfa"]


def searches(count: int, seed: int) -> Iterator[tuple[bytes, bytes, str | None]]:
    """(key, value, query-or-None-for-broken) with ~95% ordinary, ~4% help-seeking, ~1% broken."""
    rng = random.Random(seed)
    for _ in range(count):
        roll = rng.random()
        search_id = str(uuid.UUID(int=rng.getrandbits(128)))
        if roll < 0.01:
            yield search_id.encode(), rng.choice(BROKEN), None
            continue
        query, locale = rng.choice(HELP_SEEKING if roll < 0.05 else ORDINARY)
        event = {"search_id": search_id, "query": query, "locale": locale,
                 "user_id": f"u{rng.randrange(500)}", "ts_ms": int(time.time() * 1000), "surface": "search"}
        yield search_id.encode(), orjson.dumps(event), query


async def run_demo(settings: Settings, *, count: int, rate: float, seed: int) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                **aiokafka_options(settings))
    await consumer.start()
    partitions = [TopicPartition(settings.decisions_topic, p)
                  for p in (consumer.partitions_for_topic(settings.decisions_topic) or range(settings.partitions))]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5, **aiokafka_options(settings))
    await producer.start()
    sent: dict[str, tuple[str, float]] = {}
    tiers: Counter[str] = Counter()
    latencies: list[float] = []
    broken = 0
    try:
        reader = asyncio.create_task(_read(consumer, sent, tiers, latencies))
        started = time.monotonic()
        for i, (key, value, query) in enumerate(searches(count, seed)):
            if query is None:
                broken += 1
            else:
                sent[key.decode()] = (query, time.monotonic())
            await producer.send(settings.events_topic, value, key=key)
            delay = started + (i + 1) / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await producer.flush()
        deadline = time.monotonic() + 30
        while sum(tiers.values()) < len(sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        reader.cancel()
    finally:
        await producer.stop()
        await consumer.stop()
    latencies.sort()
    got = sum(tiers.values())
    print("\n--- summary ---")
    print(f"searches sent: {len(sent)} valid + {broken} broken (to {settings.dlq_topic})")
    print(f"decisions received: {got}  " + "  ".join(f"{t}: {n}" for t, n in sorted(tiers.items())))
    if latencies:
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        print(f"send-to-decision latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    if got < len(sent):
        print(f"missing decisions: {len(sent) - got} (is the worker running? see .signpost-worker.log)")


async def _read(consumer: AIOKafkaConsumer, sent: dict[str, tuple[str, float]], tiers: Counter[str],
                latencies: list[float]) -> None:
    async for message in consumer:
        decision: Decision = orjson.loads(message.value)
        entry = sent.get(decision["search_id"])
        if entry is None:
            continue
        query, sent_at = entry
        latencies.append(time.monotonic() - sent_at)
        tiers[decision["tier"] or "none"] += 1
        if decision["intercept"]:
            print(render(query, decision))


def render(query: str, decision: Decision) -> str:
    """What the search frontend would show above the results."""
    conditions = ", ".join(f"{c['id']} ({c['kind']})" for c in decision["conditions"])
    first = decision["resources"][0] if decision["resources"] else None
    help_line = ""
    if first is not None:
        help_line = f" -> {first['title']}" + (f" {first['phone']}" if "phone" in first else "")
    return f"[{decision['tier']:>7}] {decision['locale']:<6} {query!r}: {conditions}{help_line}"
