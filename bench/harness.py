"""What the Kafka benchmarks share: isolated topics, the input events, a worker subprocess, a decisions reader."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from bench.mix import realistic_mix
from streams.kafka_admin import ensure_topics
from streams.settings import Settings
from tests.support.worker import Worker

WORKER_TIMEOUT = 300.0  # seconds a worker gets to start and finish a run


class BenchError(RuntimeError):
    pass


async def create_topics(settings: Settings) -> list[str]:
    """The run's topics; the app id stands for the ones the worker makes itself (`<app id>-...`)."""
    await ensure_topics(settings)
    return [settings.events_topic, settings.decisions_topic, settings.dlq_topic, settings.counters_topic,
            settings.lexicon_topic, settings.app_id]


async def delete_topics(bootstrap: str, topics: Iterable[str]) -> None:
    """Best effort: a benchmark should not leave hundreds of MB on the dev broker. Deletes `topics` and any
    topic named `<one of topics>-...` (Faust's internal topics carry the app id as prefix)."""
    names = set(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = sorted(t for t in existing if t in names or any(t.startswith(f"{n}-") for n in names))
        if doomed:
            await admin.delete_topics(doomed)
    except Exception as exc:
        print(f"bench: could not delete topics ({type(exc).__name__}: {exc})", file=sys.stderr)
    finally:
        await admin.close()


def event(search_id: str, query: str, locale: str, i: int, ts_ms: int) -> bytes:
    return orjson.dumps({"search_id": search_id, "query": query, "locale": locale,
                         "user_id": f"user-{i % 5000}", "ts_ms": ts_ms})


async def produce_mix(bootstrap: str, topic: str, count: int, prefix: str) -> None:
    """`count` realistic searches on `topic`, keyed by search_id, as fast as the producer goes."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    try:
        now = int(time.time() * 1000)
        pending = []
        for i, (query, locale) in enumerate(realistic_mix(count)):
            search_id = f"{prefix}-{i:07d}"
            pending.append(await producer.send(topic, event(search_id, query, locale, i, now), key=search_id.encode()))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


class BenchWorker(Worker):
    """The shared test worker, plus what a benchmark reads of it: readiness, CPU time and peak memory."""

    def __init__(self, settings: Settings, log: Path) -> None:
        super().__init__(settings, log)
        self.rss_peak_kb = 0
        self.rss_samples = 0

    def rss_kb(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    async def ready(self, timeout: float = WORKER_TIMEOUT) -> None:
        """Until the whole worker has started (signpost_worker_ready: Faust's side too, not only the decision
        loop): polled, as the worker offers no event to await from another process."""
        deadline = time.monotonic() + timeout
        while self.metric("signpost_worker_ready") < 1:
            check_progress((self,), deadline, f"the worker was not ready in {timeout:.0f} s")
            await asyncio.sleep(0.2)  # the polling period

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker so far (all its threads)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def sample_rss(self, every: float = 0.5) -> None:
        """Run as a task: keeps the peak resident memory."""
        while self.proc.poll() is None:
            rss = self.rss_kb()
            if rss is not None:
                self.rss_peak_kb = max(self.rss_peak_kb, rss)
                self.rss_samples += 1
            await asyncio.sleep(every)  # the sampling period, not a wait for an event

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"the worker exited with status {self.proc.returncode}:\n{self.log_tail()}")


def check_progress(workers: Iterable[BenchWorker], deadline: float, failure: str) -> None:
    """Raises BenchError, with the first worker's log tail, when a worker has exited or the monotonic
    `deadline` has passed; `failure` says what did not happen in time."""
    workers = list(workers)
    for worker in workers:
        worker.check_alive()
    if time.monotonic() > deadline:
        raise BenchError(f"{failure}:\n{workers[0].log_tail()}")


def decisions_reader(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """Group-less: reads every partition of `topic` from the start, commits nothing."""
    return AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                            enable_auto_commit=False, group_id=None)


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="signpost-bench-")

