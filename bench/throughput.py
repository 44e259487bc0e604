"""Throughput, side by side on the same input topic: three pass-through loops (bench/clients.py: aiokafka
batched, confluent-kafka, Kafka's Java client), then the Signpost worker.

N realistic searches go on a fresh 4-partition topic first; each contender then reads it from the earliest offset
with its own consumer group and writes one record per search to its own topic.
- pass-throughs: from the first fetched record to the last batch committed (every record acknowledged).
- worker: from the arrival of the first decision to the arrival of the N-th distinct one, read back by a
  group-less consumer; also from the decisions' own timestamps (when the worker's producer made them).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path

from bench import clients
from bench.harness import (
    WORKER_TIMEOUT,
    BenchError,
    BenchWorker,
    check_progress,
    create_topics,
    decisions_reader,
    delete_topics,
    produce_mix,
    scratch_dir,
)
from tests.support.kafka import isolated_settings

PAIR_FACTOR = 4  # the pair reads a topic this many times longer
PAIR_WINDOW_S = 4.0  # and is measured over this long once both decide (both still have a backlog then)
PASS_THROUGHS = ("aiokafka", "confluent", "jvm")


async def pass_through(name: str, bootstrap: str, source: str, sink: str, group: str, count: int) -> dict:
    if name == "aiokafka":
        return await asyncio.wait_for(clients.aiokafka_batched(bootstrap, source, sink, group, count),
                                      WORKER_TIMEOUT)
    if name == "confluent":
        return await asyncio.to_thread(clients.confluent, bootstrap, source, sink, group, count)
    return await clients.jvm(bootstrap, source, sink, group, count, WORKER_TIMEOUT)


async def worker_run(worker: BenchWorker, bootstrap: str, topic: str, count: int,
                     others: tuple[BenchWorker, ...] = (), window_s: float | None = None) -> dict[str, float]:
    """Events a second from the first decision to the last; `others` are more workers in the same group, and
    then the count starts only once every worker is deciding (after the group's rebalance) and lasts
    `window_s`: the workers' shares of the backlog differ, and once one has finished the other decides alone."""
    reader = decisions_reader(bootstrap, topic)
    await reader.start()
    sampler = asyncio.create_task(worker.sample_rss())
    try:
        seen: set[bytes] = set()
        first = last = cpu = 0.0
        counted_from = 0  # decisions seen when the measured stretch began
        first_ts, last_ts = None, 0
        deadline = time.monotonic() + WORKER_TIMEOUT
        while len(seen) < count and not (first and window_s and time.perf_counter() - first >= window_s):
            check_progress((worker, *others), deadline,
                           f"the workers decided only {len(seen)} of {count} searches in {WORKER_TIMEOUT:.0f} s")
            batches = await reader.getmany(timeout_ms=1000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    seen.add(record.key)
                    first_ts = record.timestamp if first_ts is None else min(first_ts, record.timestamp)
                    last_ts = max(last_ts, record.timestamp)
            if batches:
                if not first and all(w.decided() > 0 for w in (worker, *others) if others):
                    first, cpu = now, sum(w.cpu_seconds() for w in (worker, *others))
                    counted_from = len(seen)
                last = now
        cpu = sum(w.cpu_seconds() for w in (worker, *others)) - cpu
        rss_kb = worker.rss_kb() or 0
    finally:
        sampler.cancel()
        await reader.stop()
    elapsed, elapsed_ts = last - first, (last_ts - first_ts) / 1000
    measured = len(seen) - counted_from
    return {"events": len(seen), "measured_events": measured, "seconds": elapsed,
            "events_per_second": measured / elapsed,
            "events_per_second_by_record_ts": len(seen) / elapsed_ts if elapsed_ts and not others else None,
            "cpu_us_per_event": cpu / measured * 1e6, "cpu_share": cpu / elapsed,
            "rss_peak_mb": worker.rss_peak_kb * 1024 / 1e6, "rss_end_mb": rss_kb * 1024 / 1e6,
            "rss_samples": worker.rss_samples, "cache_hit_rate": cache_hit_rate(worker)}


def cache_hit_rate(worker: BenchWorker) -> float | None:
    lookups = worker.metric("signpost_decision_cache_lookups_total")
    return worker.metric("signpost_decision_cache_hits_total") / lookups if lookups else None


async def run(bootstrap: str, count: int = 200_000, rounds: int = 2) -> dict:
    """`rounds` interleaved rounds of the pass-throughs then the worker, each with its own group and output
    topic; the best round of each is reported (a slow round measures the machine's neighbours), all are kept,
    with the load average at each."""
    with scratch_dir() as scratch:
        scratch = Path(scratch)
        source = isolated_settings(bootstrap, "tput", scratch / "source")
        topics = await create_topics(source)
        worker = None
        loops: dict[str, list[dict]] = {name: [] for name in (*PASS_THROUGHS, "worker")}
        try:
            produced = time.perf_counter()
            await produce_mix(bootstrap, source.events_topic, count, "tput")
            produced = time.perf_counter() - produced
            print(f"  produced {count:,} searches in {produced:.1f} s", flush=True)
            for round_ in range(rounds):
                for name in PASS_THROUGHS:
                    sink = isolated_settings(bootstrap, f"{name}{round_}", scratch / f"{name}{round_}",
                                             events_topic=source.events_topic)
                    topics += await create_topics(sink)
                    result = await pass_through(name, bootstrap, source.events_topic, sink.decisions_topic,
                                                sink.app_id, count)
                    loops[name].append({**result, "load": os.getloadavg()[0]})
                    print(f"  round {round_ + 1}: {name} {result['events_per_second']:,.0f} events/s, "
                          f"{result['cpu_us_per_event']:.1f} µs CPU each", flush=True)
                worker_settings = isolated_settings(bootstrap, f"tput{round_}", scratch / f"data{round_}",
                                                    events_topic=source.events_topic)
                topics += await create_topics(worker_settings)
                worker = BenchWorker(worker_settings, scratch / f"worker{round_}.log")
                single = await worker_run(worker, bootstrap, worker_settings.decisions_topic, count)
                loops["worker"].append({**single, "load": os.getloadavg()[0]})
                worker.stop()
                print(f"  round {round_ + 1}: worker {single['events_per_second']:,.0f} events/s, "
                      f"{single['cpu_us_per_event']:.1f} µs CPU each", flush=True)
            # The pair's group rebalances once both have joined, which takes seconds: it reads a longer topic
            # (the same searches and PAIR_FACTOR - 1 times as many more), counted once both decide.
            await produce_mix(bootstrap, source.events_topic, count * (PAIR_FACTOR - 1), "pair")
            print("  two workers in one group ...", flush=True)
            pair_settings = isolated_settings(bootstrap, "pair", scratch / "pair-a", events_topic=source.events_topic)
            topics += await create_topics(pair_settings)
            worker = BenchWorker(pair_settings, scratch / "pair-a.log")
            second = BenchWorker(replace(pair_settings, data_dir=scratch / "pair-b"), scratch / "pair-b.log")
            try:
                pair = await worker_run(worker, bootstrap, pair_settings.decisions_topic, count * PAIR_FACTOR,
                                        (second,), window_s=PAIR_WINDOW_S)
            finally:
                second.stop()
            if pair["measured_events"] < count // 2:  # reported as such; the other figures of the run stand
                pair["too_few"] = True
                print(f"  two workers: only {pair['measured_events']:,} searches once both decided: too few to "
                      "measure (raise BENCH_EVENTS)", flush=True)
            else:
                print(f"  two workers: {pair['events_per_second']:,.0f} events/s", flush=True)
        except TimeoutError:
            raise BenchError(f"a pass-through did not forward {count:,} searches in {WORKER_TIMEOUT:.0f} s") from None
        finally:
            if worker:
                worker.stop()
            await delete_topics(bootstrap, topics)
    best = {name: max(results, key=lambda r: r["events_per_second"]) for name, results in loops.items()}
    worker_eps = best["worker"]["events_per_second"]
    return {"events": count, "rounds": rounds, **best, "two_workers": pair,
            "ratios": {name: worker_eps / best[name]["events_per_second"] for name in PASS_THROUGHS},
            "all_rounds": loops}
