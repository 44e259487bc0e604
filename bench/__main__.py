"""`python -m bench` (`make bench`): engine, latency (with the harness's own floor), throughput (three
pass-through loops on aiokafka, confluent-kafka and Kafka's Java client, then the worker), memory.

Noisy neighbours on a shared machine slow a pass now and then: the engine reports the best of 3 passes and
throughput the best of 2 interleaved rounds (all rounds are in latest.json, each with the load average when it
ended). Compare ratios within one run, not figures across runs.

Needs a broker: run it through `ops/with-kafka`. Prints one table and writes it to bench/results/latest.md and
latest.json with the machine it ran on. Environment: BENCH_EVENTS (throughput input, default 200000),
BENCH_LATENCY_SECONDS (default 60), BENCH_LATENCY_RATE (searches/s, default 2000).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import platform
import sys
from pathlib import Path

import uvloop

from bench import engine, latency, throughput
from bench.harness import BenchError

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "load": {"start": os.getloadavg()[0]}}


def rows(results: dict) -> list[tuple[str, str, str, str]]:
    """(measure, figure, target, verdict)"""
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISS"

    e, t, lat, floor = results["engine"], results["throughput"], results["latency"], results["floor"]
    w, ratios = t["worker"], t["ratios"]
    rss = w["rss_peak_mb"]
    hit = w.get("cache_hit_rate")
    took = lat["switch"]["publish_to_first_decision_s"]
    switched = "no decision by it within the minute" if took is None else f"switch {took:.1f} s after it"
    in_time = took is not None and took <= lat["seconds"] / 2
    table = [
        (f"engine: searches per CPU-second (decide, one core, best of {e['passes']})",
         f"{e['searches_per_second']:,.0f}", "≥ 150,000", verdict(e["searches_per_second"] >= 150_000)),
        ("engine: match p50 / p99 per search", f"{e['p50_us']:.1f} / {e['p99_us']:.1f} µs", "p99 < 100 µs",
         verdict(e["p99_us"] < 100)),
    ]
    if "cold_per_second" in e:
        table.append(("engine: decide and encode, decisions remembered, cold / warm pass (per CPU-second, hit rate)",
                      f"{e['cold_per_second']:,.0f} ({e['cold_hit_rate']:.0%}) / {e['warm_per_second']:,.0f} "
                      f"({e['warm_hit_rate']:.0%})", "", ""))
    names = {"aiokafka": "aiokafka batched pass-through", "confluent": "confluent-kafka (librdkafka) pass-through",
             "jvm": "Java client + Jackson pass-through", "worker": "Signpost worker, full pipeline"}
    for name, label in names.items():
        r = t[name]
        warm = (f"; second half {r['second_half_events_per_second']:,.0f}/s, "
                f"{r['second_half_cpu_us_per_event']:.1f} µs") if "second_half_events_per_second" in r else ""
        table.append((f"throughput: {label} ({t['events']:,} events, best of {t['rounds']})",
                      f"{r['events_per_second']:,.0f} events/s, {r['cpu_us_per_event']:.1f} µs CPU each "
                      f"({r['cpu_share']:.0%} of a core){warm}", "", ""))
    table += [
        ("throughput: worker / aiokafka batched", f"{ratios['aiokafka']:.2f}", "≥ 0.8",
         verdict(ratios["aiokafka"] >= 0.8)),
        ("throughput: worker / Java client", f"{ratios['jvm']:.2f}", "≥ 1.0", verdict(ratios["jvm"] >= 1.0)),
        ("throughput: worker / confluent-kafka", f"{ratios['confluent']:.2f}", "", ""),
        ("throughput: worker CPU per search", f"{w['cpu_us_per_event']:.1f} µs", "≤ 12 µs",
         verdict(w["cpu_us_per_event"] <= 12)),
        ("throughput: worker's remembered decisions, hit rate (a cold worker over the mix)",
         "n/a" if hit is None else f"{hit:.0%}", "", ""),
        ("throughput: two workers in one group (same 2 cores, 4 s once both decide)",
         "too few searches once both decided" if t["two_workers"].get("too_few")
         else f"{t['two_workers']['events_per_second']:,.0f} events/s", "", ""),
        (f"latency: harness floor, send → receive, no worker ({floor['rate']:,}/s for {floor['seconds']:g} s), "
         "p50 / p99 / max", f"{floor['p50_ms']:.1f} / {floor['p99_ms']:.1f} / {floor['max_ms']:.1f} ms", "", ""),
        (f"latency: send → decision ({lat['rate']:,}/s for {lat['seconds']:g} s), p50 / p99 / p99.9 / max",
         f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} / {lat['p999_ms']:.1f} / {lat['max_ms']:.1f} ms", "", ""),
        ("latency: p50 above the floor", f"{lat['p50_ms'] - floor['p50_ms']:.1f} ms", "≤ 1.5 ms",
         verdict(lat["p50_ms"] - floor["p50_ms"] <= 1.5)),
        ("latency: p99", f"{lat['p99_ms']:.1f} ms", "≤ 15 ms", verdict(lat["p99_ms"] <= 15)),
        ("latency: max (no spike over 50 ms)", f"{lat['max_ms']:.1f} ms", "≤ 50 ms", verdict(lat["max_ms"] <= 50)),
        (f"latency: the {lat['warmup_seconds']:g} s of warm-up before, p50 / p99",
         f"{lat['warmup_p50_ms']:.1f} / {lat['warmup_p99_ms']:.1f} ms", "", ""),
        (f"latency: a lexicon published mid-minute, {switched}: p50 / p99 / max of the "
         f"{lat['switch']['around_searches']:,} searches around the switch",
         f"{lat['switch']['around_p50_ms']:.1f} / {lat['switch']['around_p99_ms']:.1f} / "
         f"{lat['switch']['around_max_ms']:.1f} ms", "switch within the minute", verdict(in_time)),
        ("latency: the other searches of the minute, p50 / p99 / max",
         f"{lat['switch']['steady_p50_ms']:.1f} / {lat['switch']['steady_p99_ms']:.1f} / "
         f"{lat['switch']['steady_max_ms']:.1f} ms", "", ""),
        ("latency: the switch's longest pause of the decision loop (taking the new version, freeing the old)",
         f"{lat['switch']['longest_pause_ms']:.1f} ms", f"≤ the batch window ({lat['switch']['batch_window_ms']} ms)",
         verdict(0 < lat["switch"]["longest_pause_ms"] <= lat["switch"]["batch_window_ms"])),
        ("memory: worker peak RSS (throughput run, caches included)", f"{rss:.0f} MB", "≤ 250 MB",
         verdict(rss <= 250)),
    ]
    return table


def markdown(table: list[tuple[str, str, str, str]], info: dict) -> str:
    lines = ["| measure | figure | target | |", "|---|---:|---|---|"]
    lines += [f"| {m} | {f} | {t} | {v} |" for m, f, t, v in table]
    loads = ", ".join(f"{stage} {load:.1f}" for stage, load in info["load"].items())
    lines += ["", f"{info['nproc']} × {info['cpu']}, Python {info['python']}, {info['date']}; "
                  f"load average (1 min) after each stage: {loads}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        print("bench: KAFKA_BOOTSTRAP_SERVERS is not set; run `make bench` "
              "(or `ops/with-kafka .venv/bin/python -m bench`)", file=sys.stderr)
        return 2
    events = int(os.environ.get("BENCH_EVENTS", "200000"))
    seconds = float(os.environ.get("BENCH_LATENCY_SECONDS", "60"))
    rate = int(os.environ.get("BENCH_LATENCY_RATE", "2000"))
    results: dict = {"machine": machine()}
    # The bare loop and the harness run on uvloop as the worker does: the comparison is loop against loop.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        load = results["machine"]["load"]
        print("engine ...", flush=True)
        results["engine"] = engine.run()
        load["engine"] = os.getloadavg()[0]
        # Latency before throughput: the throughput runs leave the broker deleting large topics a minute later
        # (file.delete.delay.ms), which is not the steady state the latency target is about. The floor first,
        # at the same rate for as long: the harness's own send → receive, no worker in between.
        print(f"latency floor ({rate:,}/s for {seconds:g} s, no worker) ...", flush=True)
        results["floor"] = asyncio.run(latency.floor(bootstrap, rate, seconds))
        load["floor"] = os.getloadavg()[0]
        print(f"latency ({rate:,}/s for {seconds:g} s) ...", flush=True)
        results["latency"] = asyncio.run(latency.run(bootstrap, rate, seconds))
        load["latency"] = os.getloadavg()[0]
        print(f"throughput ({events:,} events) ...", flush=True)
        results["throughput"] = asyncio.run(throughput.run(bootstrap, events))
        load["throughput"] = os.getloadavg()[0]
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    table = rows(results)
    results["table"] = [dict(zip(("measure", "figure", "target", "verdict"), row, strict=True)) for row in table]
    text = markdown(table, results["machine"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print()
    print(text, end="")
    print(f"written to {RESULTS / 'latest.md'} and latest.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
