"""Anonymized counters on the real broker: exact where k people contributed, nothing where fewer did, one
publication per window across a restart, and no identifier in the topic's bytes."""

from __future__ import annotations

import base64
import hmac
import json
import time
from dataclasses import replace
from hashlib import sha256

import orjson
import pytest

from streams.settings import Settings
from tests.support.kafka import read_all, read_until, until
from tests.support.worker import free_port, metric

WINDOW_S = 20
HASH_KEY = "test-user-hash-key-0123456789"


def counter_settings(settings: Settings) -> Settings:
    return replace(settings, counter_window_s=WINDOW_S, counter_grace_s=1, k_anonymity=10, user_hash_key=HASH_KEY)


def next_window_ms() -> int:
    """A window that opens soon and closes about two windows from now: room to restart a worker inside it."""
    now = int(time.time() * 1000)
    return (now // (WINDOW_S * 1000) + 1) * WINDOW_S * 1000


def searches(window: int, spec: list[tuple[str, str, int, int]], start: int = 0) -> list[tuple[bytes, bytes]]:
    """(query, country, people, searches each) -> records with ids unique to this test."""
    out, n = [], start
    for query, country, people, each in spec:
        for person in range(people):
            for _ in range(each):
                n += 1
                event = {"search_id": f"search-{n:05d}", "query": query, "locale": f"en-{country}",
                         "user_id": f"person-{query[:4]}-{person:03d}", "ts_ms": window + 1000 + n}
                out.append((event["search_id"].encode(), orjson.dumps(event)))
    return out


def suppressed(port: int) -> float:
    return metric(port, "signpost_counter_cells_suppressed_total")


async def send_all(producer, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    for key, value in records:
        await producer.send(topic, value, key=key)
    await producer.flush()


async def test_counts_are_exact_with_k_people_and_withheld_below_and_carry_no_identifier(
        topics: Settings, worker_factory, producer) -> None:
    settings = counter_settings(topics)
    port = free_port()
    worker_factory(settings, SIGNPOST_WEB_PORT=str(port))
    window = next_window_ms()
    records = searches(window, [
        ("how to deal with anxiety", "US", 12, 2),   # 12 people, 24 searches: published
        ("am i depressed", "US", 1, 30),             # one person searching 30 times: withheld
        ("best pizza near me", "US", 15, 1),         # not intercepted: only in the denominator
    ])
    await send_all(producer, settings.events_topic, records)
    published = await read_until(settings.bootstrap_servers, settings.counters_topic, 2, timeout=3 * WINDOW_S + 30)
    await until(lambda: suppressed(port) >= 1, "the withheld cell to be counted", timeout=30)
    published = await read_all(settings.bootstrap_servers, settings.counters_topic)

    cells = {(r["condition"], r["country"]): r for r in (json.loads(m.value) for m in published)}
    assert set(cells) == {("anxiety", "US"), (None, "US")}, "one record per cell, nothing for the lone person"
    anxiety = cells[("anxiety", "US")]
    assert (anxiety["count"], anxiety["users"], anxiety["tier"]) == (24, 12, "support")
    assert (anxiety["window_start_ms"], anxiety["window_end_ms"]) == (window, window + WINDOW_S * 1000)
    assert anxiety["lexicon_version"]
    assert cells[(None, "US")]["count"] == len(records)
    assert all(m.key.decode().startswith(f"{window}|") for m in published)

    raw = b"".join(m.key + m.value for m in published)
    for key, value in records:
        event = json.loads(value)
        digest = hmac.new(HASH_KEY.encode(), event["user_id"].encode(), sha256).digest()
        for secret in (key, event["user_id"].encode(), event["query"].encode(), digest.hex().encode(),
                       base64.b64encode(digest)):
            assert secret not in raw


async def test_a_worker_restarted_mid_window_publishes_the_window_once_and_right(
        topics: Settings, worker_factory, producer) -> None:
    settings = counter_settings(topics)
    window = next_window_ms()
    first = searches(window, [("how to deal with anxiety", "GB", 6, 1)])
    second = searches(window, [("how to deal with anxiety", "GB", 12, 1)], start=len(first))  # 6 new people

    worker = worker_factory(settings)
    await send_all(producer, settings.events_topic, first)
    await read_until(settings.bootstrap_servers, settings.decisions_topic, len(first))
    worker.stop()  # graceful, in the middle of the window
    assert int(time.time() * 1000) < window + WINDOW_S * 1000, "the window must still be open at the restart"

    worker_factory(settings)
    await send_all(producer, settings.events_topic, second)
    await read_until(settings.bootstrap_servers, settings.counters_topic, 2, timeout=3 * WINDOW_S + 30)
    published = [json.loads(m.value) for m in await read_all(settings.bootstrap_servers, settings.counters_topic)]
    anxiety = [r for r in published if r["condition"] == "anxiety"]
    assert len(anxiety) == 1
    assert (anxiety[0]["count"], anxiety[0]["users"]) == (18, 12)


@pytest.mark.xfail(reason="issue 15, open: the counters' merge still runs on Faust's at-least-once stream (read "
                   "uncommitted, changelog and publication outside any transaction): of two runs, one was exact, "
                   "in the other no window was published within 120 s of the restart", strict=False)
async def test_exactly_once_after_a_sigkill_the_published_counts_equal_the_searches_decided(
        topics: Settings, worker_factory, producer) -> None:
    """Exactly-once, a worker SIGKILLed mid-stream and restarted: the window's published counts, read
    read_committed and summed over every record (a window published twice would show), equal the searches."""
    import asyncio
    import signal

    settings = replace(counter_settings(topics), processing_guarantee="exactly_once")
    window = next_window_ms()
    records = searches(window, [("how to deal with anxiety", "DE", 40, 10), ("best pizza near me", "DE", 40, 10)])
    records.sort(key=lambda kv: kv[0][-1:])  # interleave the two kinds across the stream

    async def paced() -> None:
        for i in range(0, len(records), 40):
            await send_all(producer, settings.events_topic, records[i:i + 40])
            await asyncio.sleep(0.05)  # the stream spans the kill

    worker = worker_factory(settings)
    sending = asyncio.create_task(paced())
    await read_until(settings.bootstrap_servers, settings.decisions_topic, len(records) // 4)
    worker.stop(signal.SIGKILL)
    worker_factory(settings)
    await sending
    decided = {m.key for m in await read_until(settings.bootstrap_servers, settings.decisions_topic, len(records),
                                               timeout=120, isolation_level="read_committed")}
    assert len(decided) == len(records)
    await read_until(settings.bootstrap_servers, settings.counters_topic, 2, timeout=3 * WINDOW_S + 60,
                     isolation_level="read_committed")
    published = [json.loads(m.value) for m in await read_all(settings.bootstrap_servers, settings.counters_topic,
                                                             "read_committed")]
    totals = {condition: sum(r["count"] for r in published if r["condition"] == condition)
              for condition in ("anxiety", None)}
    assert totals == {"anxiety": 400, None: len(records)}
