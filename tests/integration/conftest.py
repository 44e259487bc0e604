"""Integration fixtures: a real Apache Kafka broker (ops/kafka/devkafka via ops/with-kafka) and real workers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.kafka_admin import ensure_topics
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SIGNPOST = str(Path(sys.executable).with_name("signpost"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def bootstrap() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        if os.environ.get("CI"):
            pytest.fail("KAFKA_BOOTSTRAP_SERVERS is not set: run the suite through `make test`")
        pytest.skip("no broker: run through `make test` (ops/with-kafka starts the local Apache Kafka)")
    return servers


@pytest.fixture
def isolated_settings(bootstrap: str, tmp_path: Path) -> Settings:
    """Topics and consumer group of this test alone."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        bootstrap_servers=bootstrap, app_id=f"signpost-test-{suffix}", events_topic=f"search-events-{suffix}",
        decisions_topic=f"intercept-decisions-{suffix}", dlq_topic=f"search-events-dlq-{suffix}",
        counters_topic=f"condition-counters-{suffix}", data_dir=tmp_path / "data",
    )


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    """The worker's environment: these settings, a free web port of its own unless `extra` names one."""
    return {**os.environ, **settings.as_env(), "SIGNPOST_WEB_PORT": str(_free_port()), **extra}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    def __init__(self, settings: Settings, log: Path, **extra: str) -> None:
        self.env = env_for(settings, **extra)
        self.log = log
        self.proc = subprocess.Popen([SIGNPOST, "worker", "-l", "warn"], env=self.env, cwd=ROOT,
                                     stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
async def topics(isolated_settings: Settings) -> Settings:
    await ensure_topics(isolated_settings)
    return isolated_settings


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator:
    started: list[Worker] = []

    def start(settings: Settings, **extra: str) -> Worker:
        worker = Worker(settings, tmp_path / f"worker-{len(started)}.log", **extra)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(signal.SIGKILL)


@pytest.fixture
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    await p.start()
    yield p
    await p.stop()


async def read_until(bootstrap: str, topic: str, want: int, timeout: float = 90.0, **options: Any) -> list:
    """Read `topic` from the start until `want` records arrived (or fail after `timeout` s); `options` go to
    the consumer (security settings, for instance)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, **options)
    await consumer.start()
    got: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"only {len(got)} of {want} records arrived on {topic} in {timeout:.0f} s")
            batches = await consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
            for records in batches.values():
                got.extend(records)
    finally:
        await consumer.stop()
    return got


async def read_all(bootstrap: str, topic: str, isolation: str = "read_uncommitted") -> list:
    """Everything on `topic` now, up to its end offsets (the last stable offset under read_committed)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, isolation_level=isolation)
    await consumer.start()
    got: list = []
    try:
        partitions = consumer.assignment()
        while not partitions:
            await asyncio.sleep(0.05)  # assignment is set by start(); this only guards a slow metadata fetch
            partitions = consumer.assignment()
        end = await consumer.end_offsets(list(partitions))
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                got.extend(records)
    finally:
        await consumer.stop()
    return got


async def until(check, what: str, timeout: float = 60.0):  # noqa: ANN001
    """Polls `check()` (an HTTP API or /metrics) until it returns something truthy, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OSError:  # the server is not listening yet
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)  # polling Prometheus's API for a condition, with a deadline
