"""Latency under steady load: a caught-up worker, searches sent at a fixed rate, send → decision read back.

Each search carries its send time (ts_ms); the bench keeps the precise one (perf_counter) by search_id and stamps
each decision when the group-less reader hands it over. Both ends live in this process.

In the middle of the measured minute a new lexicon version is published on the lexicon topic: the worker checks
it in a process of its own, builds it while its decision loop waits, and swaps it in between two batches. The
searches sent from the publish until a second after the first decision by the new version are reported apart
("around the switch") beside the others.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.harness import (
    WORKER_TIMEOUT,
    BenchError,
    BenchWorker,
    check_progress,
    create_topics,
    decisions_reader,
    delete_topics,
    event,
    scratch_dir,
)
from bench.mix import realistic_mix
from streams.core.lexicon import DEFAULT_LEXICON_DIR, compile_lexicon, read_folder
from streams.lexicon_topic import MAX_RECORD_BYTES, encode, from_files
from tests.support.kafka import isolated_settings

DRAIN_TIMEOUT = 60.0  # seconds, after the last send, for the last decisions
# The first seconds of the stream warm the worker (Python's specializing interpreter, the matcher's per-word
# memo, the counters' first cells and changelog writes): their latencies are reported apart, not in p50/p99.
WARMUP_S = 5.0
KEY_PREFIX = "lat-"  # search ids are KEY_PREFIX and the search's number in the stream
SWITCH_TAIL_S = 1.0  # after the first decision by the new version, still "around the switch"
SEND_LINGER_MS = 1  # the sender batches what it sends within a millisecond, as a search frontend's producer would


def new_version(scratch: Path) -> tuple[str, bytes]:
    """A new lexicon version (the repository's with another manifest version, one term and one class phrase more:
    the worker builds a whole new matcher, the dearest switch; a version that changes only resources keeps the
    live matcher, one that changes only terms its patterns), encoded before the stream starts: the harness must
    not compress 3 MB while it measures."""
    folder = scratch / "lexicon-next"
    shutil.copytree(DEFAULT_LEXICON_DIR, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = "9.0.0"
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    condition = json.loads((folder / "conditions" / "insomnia.json").read_text())
    condition["terms"]["en"].append("sleepless every night")
    (folder / "conditions" / "insomnia.json").write_text(json.dumps(condition, ensure_ascii=False))
    patterns = json.loads((folder / "patterns" / "en.json").read_text())
    patterns["classes"]["want"].append("so badly want to")
    (folder / "patterns" / "en.json").write_text(json.dumps(patterns, ensure_ascii=False))
    files = read_folder(folder)
    lexicon = compile_lexicon(files)
    return lexicon.version, encode(from_files(lexicon, files, None, "bench: a publish mid-minute"))


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


async def measure(worker: BenchWorker, bootstrap: str, settings, rate: int, seconds: float,
                  switch_to: tuple[str, bytes]) -> dict:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=SEND_LINGER_MS, acks=1)
    # The lexicon goes out through a producer of its own, as `signpost lexicon publish` does: the searches' producer
    # (a search frontend's) never carries it, and its megabyte does not share their produce requests.
    publisher = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=MAX_RECORD_BYTES)
    reader = decisions_reader(bootstrap, settings.decisions_topic)
    await producer.start()
    await publisher.start()
    await reader.start()
    try:
        sent_at: dict[bytes, float] = {}
        latencies: list[float] = []
        timed: list[tuple[float, float]] = []  # (sent, latency ms) of the measured searches
        version, record = switch_to
        marker = f'"lexicon_version":"{version}"'.encode()
        switch: dict[str, float] = {}  # "published", "first_new": perf_counter times
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
                    for decision in records:
                        if "first_new" not in switch and marker in decision.value:
                            switch["first_new"] = now
                        if decision.key == until_key:
                            until_key = None
                        elif decision.key in sent_at:
                            sent = sent_at.pop(decision.key)
                            if int(decision.key[len(KEY_PREFIX):]) < warm_count:
                                warmup.append((now - sent) * 1000)
                            else:
                                latencies.append((now - sent) * 1000)
                                timed.append((sent, latencies[-1]))

        async def publish_mid_minute() -> None:
            await asyncio.sleep(WARMUP_S + seconds / 2)  # the schedule of the run, not a wait for an event
            switch["published"] = time.perf_counter()
            await publisher.send_and_wait(settings.lexicon_topic, record, key=version.encode(), partition=0)

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
        publishing = asyncio.create_task(publish_mid_minute())
        try:
            took, _, _ = await asyncio.gather(sending, reading, publishing)
        finally:
            reading.cancel()
            sending.cancel()
            publishing.cancel()
    finally:
        await reader.stop()
        await publisher.stop()
        await producer.stop()
    latencies.sort()
    warmup.sort()
    pick = lambda values, q: values[min(len(values) - 1, int(len(values) * q))]  # noqa: E731
    # On a machine loaded by others the checking process can take longer than the minute's second half: then
    # every search after the publish is "around the switch", and the run says it never switched.
    switched_at = switch.get("first_new")
    window = (switch["published"], math.inf if switched_at is None else switched_at + SWITCH_TAIL_S)
    around = sorted(ms for sent, ms in timed if window[0] <= sent <= window[1])
    steady = sorted(ms for sent, ms in timed if not window[0] <= sent <= window[1])
    switched = {"version": version,
                "publish_to_first_decision_s": None if switched_at is None else switched_at - switch["published"],
                "around_searches": len(around), "around_p50_ms": pick(around, 0.5),
                "around_p99_ms": pick(around, 0.99), "around_max_ms": around[-1],
                "steady_p50_ms": pick(steady, 0.5), "steady_p99_ms": pick(steady, 0.99), "steady_max_ms": steady[-1],
                "p50_by_second_from_publish": by_second(timed, switch["published"], pick),
                # the longest the decision loop stood still at once to take the new version and free the old: the
                # most a search waited for the switch itself, beside the batch window a search may wait anyway
                "longest_pause_ms": worker.metric("signpost_lexicon_switch_longest_pause_seconds") * 1000,
                "batch_window_ms": settings.batch_window_ms}
    return {"switch": switched, "rate": rate, "seconds": seconds, "sent": total, "decided": len(latencies),
            "send_rate": (warm_count + total) / took, "p50_ms": pick(latencies, 0.5), "p99_ms": pick(latencies, 0.99),
            "p999_ms": pick(latencies, 0.999), "max_ms": latencies[-1],
            "warmup_seconds": WARMUP_S, "warmup_p50_ms": pick(warmup, 0.5) if warmup else None,
            "warmup_p99_ms": pick(warmup, 0.99) if warmup else None,
            "rss_peak_mb": worker.rss_peak_kb * 1024 / 1e6}


def by_second(timed: list[tuple[float, float]], origin: float, pick: Callable) -> dict[int, float]:
    """p50 latency (ms) of the searches sent in each whole second from `origin` (negative: before it)."""
    seconds: dict[int, list[float]] = {}
    for sent, ms in timed:
        seconds.setdefault(math.floor(sent - origin), []).append(ms)
    return {second: round(pick(sorted(values), 0.5), 1) for second, values in sorted(seconds.items())}


async def floor(bootstrap: str, rate: int, seconds: float) -> dict:
    """The harness's own send → receive latency, no worker in between: the same sender, mix and rate, read back
    from the events topic itself by the same group-less reader. One trip through the broker, where a decision
    makes two (search to worker, decision to reader)."""
    with scratch_dir() as scratch:
        settings = isolated_settings(bootstrap, "floor", Path(scratch) / "data")
        topics = await create_topics(settings)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=SEND_LINGER_MS, acks=1)
        reader = decisions_reader(bootstrap, settings.events_topic)
        await producer.start()
        await reader.start()
        try:
            sent_at: dict[bytes, float] = {}
            latencies: list[float] = []
            warm_count, total = int(rate * WARMUP_S), int(rate * seconds)
            await producer.send_and_wait(settings.events_topic, b"{}", key=b"warmup")
            while not any(m.key == b"warmup" for ms in (await reader.getmany(timeout_ms=200)).values() for m in ms):
                pass

            async def read() -> None:
                deadline = time.monotonic() + WARMUP_S + seconds + DRAIN_TIMEOUT
                while len(latencies) < total and time.monotonic() < deadline:
                    batches = await reader.getmany(timeout_ms=200)
                    now = time.perf_counter()
                    for records in batches.values():
                        for record in records:
                            sent = sent_at.pop(record.key, None)
                            if sent is not None and int(record.key[len(KEY_PREFIX):]) >= warm_count:
                                latencies.append((now - sent) * 1000)

            gc.collect()
            gc.freeze()
            await asyncio.gather(paced_send(producer, settings.events_topic, rate, WARMUP_S + seconds, sent_at),
                                 read())
        finally:
            await reader.stop()
            await producer.stop()
            await delete_topics(bootstrap, topics)
    latencies.sort()
    if not latencies:
        raise BenchError("the latency floor read back no search")
    pick = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))]  # noqa: E731
    return {"rate": rate, "seconds": seconds, "received": len(latencies), "p50_ms": pick(0.5),
            "p99_ms": pick(0.99), "p999_ms": pick(0.999), "max_ms": latencies[-1]}


async def run(bootstrap: str, rate: int = 2000, seconds: float = 60.0) -> dict:
    with scratch_dir() as scratch:
        settings = isolated_settings(bootstrap, "lat", Path(scratch) / "data")
        topics = await create_topics(settings)
        switch_to = new_version(Path(scratch))
        worker = BenchWorker(settings, Path(scratch) / "worker.log")
        sampler = asyncio.create_task(worker.sample_rss())
        try:
            return await measure(worker, bootstrap, settings, rate, seconds, switch_to)
        finally:
            sampler.cancel()
            worker.stop()
            await delete_topics(bootstrap, topics)
