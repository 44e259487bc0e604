"""Latency under steady load: a caught-up worker, searches sent at a fixed rate, send → decision read back.

Each search carries its send time (ts_ms); the bench keeps the precise one (perf_counter) by search_id and stamps
each decision when the group-less reader hands it over. Both ends live in this process.
"""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.harness import (
    WORKER_TIMEOUT,
    BenchWorker,
    check_progress,
    create_topics,
    decisions_reader,
    delete_topics,
    event,
    scratch_dir,
)
from bench.mix import realistic_mix
from tests.support.kafka import isolated_settings

DRAIN_TIMEOUT = 60.0  # seconds, after the last send, for the last decisions
# The first seconds of the stream warm the worker (Python's specializing interpreter, the matcher's per-word
# memo, the counters' first cells and changelog writes): their latencies are reported apart, not in p50/p99.
WARMUP_S = 5.0
KEY_PREFIX = "lat-"  # search ids are KEY_PREFIX and the search's number in the stream


async def paced_send(producer: AIOKafkaProducer, topic: str, rate: int, seconds: float,
                     sent_at: dict[bytes, float]) -> float:
    """Sends rate × seconds searches, keeping the schedule (catching up in bursts if the loop lags)."""
    mix = realistic_mix(int(rate * seconds), seed=7)
    started = time.perf_counter()
    i = 0
    while i < len(mix):
        due = min(len(mix), int((time.perf_counter() - started) * rate) + 1)
        while i < due:
            query, locale = mix[i]
            search_id = f"{KEY_PREFIX}{i:07d}"
            key = search_id.encode()
            sent_at[key] = time.perf_counter()
            await producer.send(topic, event(search_id, query, locale, i, int(time.time() * 1000)), key=key)
            i += 1
        await asyncio.sleep(0.0005)  # pacing
    return time.perf_counter() - started


async def measure(worker: BenchWorker, bootstrap: str, settings, rate: int, seconds: float) -> dict:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    reader = decisions_reader(bootstrap, settings.decisions_topic)
    await producer.start()
    await reader.start()
    try:
        sent_at: dict[bytes, float] = {}
        latencies: list[float] = []
        warmup: list[float] = []  # the first WARMUP_S of the stream, reported apart
        warm_count = int(rate * WARMUP_S)

        async def read(until_key: bytes | None, want: int, deadline: float) -> None:
            """Reads decisions until `until_key` arrived, or `want` latencies are in."""
            while until_key is not None or len(latencies) < want:
                check_progress((worker,), deadline, f"the worker decided only {len(latencies)} of {want or 1} "
                                                    "searches in time")
                batches = await reader.getmany(timeout_ms=200)
                now = time.perf_counter()
                for records in batches.values():
                    for record in records:
                        if record.key == until_key:
                            until_key = None
                        elif record.key in sent_at:
                            into = warmup if int(record.key[len(KEY_PREFIX):]) < warm_count else latencies
                            into.append((now - sent_at.pop(record.key)) * 1000)

        # Warm-up: the worker has started (Faust's counters side too), joined its group, been assigned the
        # partitions and decided once.
        await worker.ready()
        await producer.send_and_wait(settings.events_topic, event("warmup", "weather tomorrow", "en-US", 0,
                                                                   int(time.time() * 1000)), key=b"warmup")
        await read(b"warmup", 0, time.monotonic() + WORKER_TIMEOUT)

        total = int(rate * seconds)  # measured, after warm_count searches of warm-up
        # The harness's own full collections would stall its reader and show up as the worker's latency.
        gc.collect()
        gc.freeze()
        sending = asyncio.create_task(paced_send(producer, settings.events_topic, rate, WARMUP_S + seconds, sent_at))
        reading = asyncio.create_task(read(None, total, time.monotonic() + WARMUP_S + seconds + DRAIN_TIMEOUT))
        try:
            took, _ = await asyncio.gather(sending, reading)
        finally:
            reading.cancel()
            sending.cancel()
    finally:
        await reader.stop()
        await producer.stop()
    latencies.sort()
    warmup.sort()
    pick = lambda values, q: values[min(len(values) - 1, int(len(values) * q))]  # noqa: E731
    return {"rate": rate, "seconds": seconds, "sent": total, "decided": len(latencies),
            "send_rate": (warm_count + total) / took, "p50_ms": pick(latencies, 0.5), "p99_ms": pick(latencies, 0.99),
            "p999_ms": pick(latencies, 0.999), "max_ms": latencies[-1],
            "warmup_seconds": WARMUP_S, "warmup_p50_ms": pick(warmup, 0.5) if warmup else None,
            "warmup_p99_ms": pick(warmup, 0.99) if warmup else None,
            "rss_peak_mb": worker.rss_peak_kb * 1024 / 1e6}


async def run(bootstrap: str, rate: int = 2000, seconds: float = 60.0) -> dict:
    with scratch_dir() as scratch:
        settings = isolated_settings(bootstrap, "lat", Path(scratch) / "data")
        topics = await create_topics(settings)
        worker = BenchWorker(settings, Path(scratch) / "worker.log")
        sampler = asyncio.create_task(worker.sample_rss())
        try:
            return await measure(worker, bootstrap, settings, rate, seconds)
        finally:
            sampler.cancel()
            worker.stop()
            await delete_topics(bootstrap, topics)
