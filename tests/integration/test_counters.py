"""Anonymized counters on the real broker: exact where k people contributed, nothing where fewer did, one
publication per window across a restart, exact after a SIGKILL in exactly-once mode and within the documented
bound in at-least-once mode, and no identifier in the topic's bytes."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import signal
import time
from collections import Counter
from dataclasses import replace
from hashlib import sha256
from typing import Any

import orjson

from streams.counter_merge import IN_FLIGHT_MS
from streams.settings import Settings
from tests.support.kafka import read_all, read_until, until
from tests.support.worker import free_port, metric

WINDOW_S = 20
HASH_KEY = "test-user-hash-key-0123456789"
# A search decided later than its window's end plus the grace period is not counted (late): a test that restarts a
# worker inside a window gives it room for two start-ups (10 to 40 s each on this loaded 2-core machine), a
# SIGKILLed member's session timeout (10 s) and the stream.
RESTART_GRACE_S = 90


def counter_settings(settings: Settings, grace_s: int = 1) -> Settings:
    return replace(settings, counter_window_s=WINDOW_S, counter_grace_s=grace_s, k_anonymity=10,
                   user_hash_key=HASH_KEY)


def next_window_ms() -> int:
    """A window that opens soon and closes about two windows from now."""
    now = int(time.time() * 1000)
    return (now // (WINDOW_S * 1000) + 1) * WINDOW_S * 1000


def this_window_ms() -> int:
    """The window open now (with RESTART_GRACE_S, its searches count for 90 s after it ends)."""
    now = int(time.time() * 1000)
    return now // (WINDOW_S * 1000) * WINDOW_S * 1000


def published_by(settings: Settings) -> float:
    """When the window from `this_window_ms()` is published at the latest: its end, the grace, the merge's
    in-flight margin and a tick, with room for a slow start."""
    return WINDOW_S + settings.counter_grace_s + IN_FLIGHT_MS / 1000 + 60


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
    worker = worker_factory(settings, SIGNPOST_WEB_PORT=str(port))
    # Deciding before the searches come: with a 1 s grace they count only if decided within 21 s of their window's
    # start, and a worker's start-up took 40 s once under the whole suite on this machine.
    await until(worker.ready, "the worker to be deciding", timeout=120)
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
    settings = counter_settings(topics, RESTART_GRACE_S)
    window = this_window_ms()
    first = searches(window, [("how to deal with anxiety", "GB", 6, 1)])
    second = searches(window, [("how to deal with anxiety", "GB", 12, 1)], start=len(first))  # 6 new people

    worker = worker_factory(settings)
    await send_all(producer, settings.events_topic, first)
    await read_until(settings.bootstrap_servers, settings.decisions_topic, len(first))
    worker.stop()  # graceful, in the middle of the window

    worker_factory(settings)
    await send_all(producer, settings.events_topic, second)
    await read_until(settings.bootstrap_servers, settings.counters_topic, 2, timeout=published_by(settings),
                     isolation_level="read_committed")
    published = [json.loads(m.value) for m in await read_all(settings.bootstrap_servers, settings.counters_topic)]
    anxiety = [r for r in published if r["condition"] == "anxiety"]
    assert len(anxiety) == 1
    assert (anxiety[0]["count"], anxiety[0]["users"]) == (18, 12)


async def second_worker_mid_stream(settings: Settings, worker_factory, producer,
                             kill: bool = True) -> tuple[int, list[Any], list[Any]]:
    """A worker SIGKILLed a quarter into a stream of 800 searches (400 intercepted, by 40 people) and another
    started (without `kill`, the other joins beside it: a rebalance alone); (searches, decision records
    read_committed, counter records read_committed) once the window is out."""
    window = this_window_ms()
    records = searches(window, [("how to deal with anxiety", "DE", 40, 10), ("best pizza near me", "DE", 40, 10)])
    records.sort(key=lambda kv: kv[0][-1:])  # interleave the two kinds across the stream

    async def paced() -> None:
        for i in range(0, len(records), 40):
            await send_all(producer, settings.events_topic, records[i:i + 40])
            await asyncio.sleep(0.05)  # the stream spans the kill: pacing, not a wait for an event

    worker = worker_factory(settings)
    await until(worker.ready, "the worker to be deciding", timeout=90)  # so that the stream spans the kill
    sending = asyncio.create_task(paced())
    await read_until(settings.bootstrap_servers, settings.decisions_topic, len(records) // 4)
    if kill:
        worker.stop(signal.SIGKILL)
    worker_factory(replace(settings, data_dir=settings.data_dir.parent / "second"))  # Faust's folder is its own
    await sending
    await read_until(settings.bootstrap_servers, settings.counters_topic, 2, timeout=published_by(settings),
                     isolation_level="read_committed")
    decisions = await read_all(settings.bootstrap_servers, settings.decisions_topic, "read_committed")
    counters = [json.loads(m.value) for m in await read_all(settings.bootstrap_servers, settings.counters_topic,
                                                            "read_committed")]
    return len(records), decisions, counters


def record_figures(record_property, searched: int, decisions: list[Any], count: dict[str | None, int]) -> None:
    """The figures, for the JUnit report (`--junitxml`): searches, decision records, distinct searches decided,
    and the published counts."""
    for name, value in (("searches", searched), ("decision_records", len(decisions)),
                        ("searches_decided", len({m.key for m in decisions})),
                        ("published_intercepted", count["anxiety"]), ("published_all", count[None])):
        record_property(name, value)


def totals(counters: list[dict[str, Any]]) -> dict[str | None, int]:
    """Each condition's count summed over every record of the topic: a window published twice would show."""
    return {condition: sum(r["count"] for r in counters if r["condition"] == condition)
            for condition in ("anxiety", None)}


async def test_exactly_once_after_a_sigkill_the_published_counts_equal_the_searches_decided(
        topics: Settings, worker_factory, producer, record_property) -> None:
    """Exactly-once: the decision batches and their counter updates commit together, and the merge's cells, offsets
    and published windows too, so the counts read read_committed are the searches, exactly."""
    settings = replace(counter_settings(topics, RESTART_GRACE_S), processing_guarantee="exactly_once")
    searched, decisions, counters = await second_worker_mid_stream(settings, worker_factory, producer)
    record_figures(record_property, searched, decisions, totals(counters))
    assert len({m.key for m in decisions}) == len(decisions) == searched
    assert totals(counters) == {"anxiety": 400, None: searched}


async def test_exactly_once_across_a_rebalance_the_published_counts_equal_the_searches_decided(
        topics: Settings, worker_factory, producer, record_property) -> None:
    """A second worker joins once a quarter of the stream is decided: both groups rebalance, and the merge's
    partitions move, with their cells, while the window is still open."""
    settings = replace(counter_settings(topics, RESTART_GRACE_S), processing_guarantee="exactly_once")
    searched, decisions, counters = await second_worker_mid_stream(settings, worker_factory, producer, kill=False)
    record_figures(record_property, searched, decisions, totals(counters))
    assert len({m.key for m in decisions}) == len(decisions) == searched
    assert totals(counters) == {"anxiety": 400, None: searched}


async def test_at_least_once_after_a_sigkill_each_search_counts_once_or_as_often_as_it_was_decided(
        topics: Settings, worker_factory, producer, record_property) -> None:
    """At-least-once, the documented bound (README, "Anonymized counters"): no search is missing from the counts,
    and a search counts at most as often as its decision was written (a batch replayed after the kill counts
    again; the merge itself adds nothing, being transactional in both modes)."""
    settings = counter_settings(topics, RESTART_GRACE_S)
    searched, decisions, counters = await second_worker_mid_stream(settings, worker_factory, producer)
    record_figures(record_property, searched, decisions, totals(counters))
    decided = Counter(m.key for m in decisions)
    assert len(decided) == searched
    intercepted = sum(1 for m in decisions if json.loads(m.value)["intercept"])  # duplicates included
    count = totals(counters)
    assert 400 <= count["anxiety"] <= intercepted
    assert searched <= count[None] <= len(decisions)
