"""Throughput, side by side on the same input topic: a bare aiokafka loop, then the Signpost worker.

N realistic searches go on a fresh 4-partition topic first; each contender then reads it from the earliest offset
with its own consumer group and writes one record per search to its own topic.
- bare: from the first fetched record to the last forwarded record delivered (producer flushed).
- worker: from the arrival of the first decision to the arrival of the N-th distinct one, read back by a
  group-less consumer; also from the decisions' own timestamps (when the worker's producer made them).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer

from bench.harness import (WORKER_TIMEOUT, BenchError, Worker, create_topics, decisions_reader, delete_topics,
                           faust_like_producer, isolated_settings, produce_mix, scratch_dir)


async def bare_loop(bootstrap: str, source: str, sink: str, group: str, count: int) -> dict[str, float]:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    producer = faust_like_producer(bootstrap)
    await consumer.start()
    await producer.start()
    try:
        forwarded, first, cpu = 0, 0.0, 0.0
        while forwarded < count:
            batches = await consumer.getmany(timeout_ms=1000)
            if not batches:
                continue
            if not first:
                first, cpu = time.perf_counter(), time.process_time()
            pending = []
            for records in batches.values():
                for record in records:
                    search = orjson.loads(record.value)
                    decision = {"search_id": search["search_id"], "intercept": False, "tier": None,
                                "locale": search.get("locale"), "decided_at_ms": int(time.time() * 1000)}
                    pending.append(await producer.send(sink, orjson.dumps(decision), key=record.key))
            await asyncio.gather(*pending)  # at least once: delivered before committed, like the worker
            await consumer.commit()
            forwarded += len(pending)
        await producer.flush()
        elapsed, cpu = time.perf_counter() - first, time.process_time() - cpu
    finally:
        await producer.stop()
        await consumer.stop()
    return {"events": forwarded, "seconds": elapsed, "events_per_second": forwarded / elapsed,
            "cpu_us_per_event": cpu / forwarded * 1e6, "cpu_share": cpu / elapsed}


async def worker_run(worker: Worker, bootstrap: str, topic: str, count: int,
                     others: tuple[Worker, ...] = ()) -> dict[str, float]:
    """Events a second from the first decision to the last; `others` are more workers in the same group, and
    then the count starts only once every worker is deciding (after the group's rebalance)."""
    reader = decisions_reader(bootstrap, topic)
    await reader.start()
    sampler = asyncio.create_task(worker.sample_rss())
    try:
        seen: set[bytes] = set()
        first = last = cpu = 0.0
        counted_from = 0  # decisions seen when the measured stretch began
        first_ts, last_ts = None, 0
        deadline = time.monotonic() + WORKER_TIMEOUT
        while len(seen) < count:
            for each in (worker, *others):
                each.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"the worker decided only {len(seen)} of {count} searches in "
                                 f"{WORKER_TIMEOUT:.0f} s:\n{worker.log_tail()}")
            batches = await reader.getmany(timeout_ms=1000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    seen.add(record.key)
                    first_ts = record.timestamp if first_ts is None else min(first_ts, record.timestamp)
                    last_ts = max(last_ts, record.timestamp)
            if batches:
                if not first and all(w.decided() > 0 for w in others):
                    first, cpu = now, sum(w.cpu_seconds() for w in (worker, *others))
                    counted_from = len(seen)
                last = now
        cpu = sum(w.cpu_seconds() for w in (worker, *others)) - cpu
        rss_kb = worker.rss_kb() or 0
    finally:
        sampler.cancel()
        await reader.stop()
    elapsed, elapsed_ts = last - first, (last_ts - first_ts) / 1000
    return {"events": len(seen), "seconds": elapsed, "events_per_second": (count - counted_from) / elapsed,
            "events_per_second_by_record_ts": count / elapsed_ts if elapsed_ts else 0.0,
            "cpu_us_per_event": cpu / (count - counted_from) * 1e6, "cpu_share": cpu / elapsed,
            "rss_peak_mb": worker.rss_peak_kb * 1024 / 1e6, "rss_end_mb": rss_kb * 1024 / 1e6,
            "rss_samples": worker.rss_samples}


async def run(bootstrap: str, count: int = 200_000) -> dict:
    with scratch_dir() as scratch:
        scratch = Path(scratch)
        worker_settings = isolated_settings(bootstrap, "tput", scratch / "data")
        bare_settings = isolated_settings(bootstrap, "bare", scratch / "bare", events_topic=worker_settings.events_topic)
        topics = await create_topics(worker_settings) + await create_topics(bare_settings)
        worker = None
        try:
            produced = time.perf_counter()
            await produce_mix(bootstrap, worker_settings.events_topic, count, "tput")
            produced = time.perf_counter() - produced
            print(f"  produced {count:,} searches in {produced:.1f} s; bare aiokafka loop ...", flush=True)
            bare = await asyncio.wait_for(
                bare_loop(bootstrap, bare_settings.events_topic, bare_settings.decisions_topic,
                          bare_settings.app_id, count), WORKER_TIMEOUT)
            print(f"  bare: {bare['events_per_second']:,.0f} events/s; Signpost worker ...", flush=True)
            worker = Worker(worker_settings, scratch / "worker.log")
            faust = await worker_run(worker, bootstrap, worker_settings.decisions_topic, count)
            print(f"  worker: {faust['events_per_second']:,.0f} events/s; two workers in one group ...", flush=True)
            worker.stop()
            pair_settings = isolated_settings(bootstrap, "pair", scratch / "pair-a",
                                              events_topic=worker_settings.events_topic)
            topics += await create_topics(pair_settings)
            worker = Worker(pair_settings, scratch / "pair-a.log")
            second = Worker(replace(pair_settings, data_dir=scratch / "pair-b"), scratch / "pair-b.log")
            try:
                pair = await worker_run(worker, bootstrap, pair_settings.decisions_topic, count, (second,))
            finally:
                second.stop()
            print(f"  two workers: {pair['events_per_second']:,.0f} events/s", flush=True)
        except asyncio.TimeoutError:
            raise BenchError(f"the bare loop did not forward {count:,} searches in {WORKER_TIMEOUT:.0f} s") from None
        finally:
            if worker:
                worker.stop()
            await delete_topics(bootstrap, topics)
    return {"events": count, "bare": bare, "worker": faust, "two_workers": pair,
            "ratio": faust["events_per_second"] / bare["events_per_second"]}
