"""Fixtures and readers for a real Apache Kafka broker (ops/kafka/devkafka via ops/with-kafka), registered for
every test by `pytest_plugins` in tests/conftest.py; `isolated_settings` serves the benchmarks too."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from streams.kafka_admin import ensure_topics
from streams.settings import Settings
from tests.support.worker import Worker

T = TypeVar("T")
USER, PASSWORD = "signpost", "signpost-secret"  # devkafka's development SASL user
SASL_ENV = {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "KAFKA_SASL_USERNAME": USER, "KAFKA_SASL_PASSWORD": PASSWORD}


def isolated_settings(bootstrap: str, tag: str, data_dir: Path, **overrides: Any) -> Settings:
    """Topics and consumer group of one test or benchmark run alone."""
    suffix = f"{tag}-{uuid.uuid4().hex[:8]}"
    fields: dict[str, Any] = dict(
        bootstrap_servers=bootstrap, app_id=f"signpost-{suffix}", events_topic=f"search-events-{suffix}",
        decisions_topic=f"intercept-decisions-{suffix}", dlq_topic=f"search-events-dlq-{suffix}",
        counters_topic=f"condition-counters-{suffix}", lexicon_topic=f"signpost-lexicon-{suffix}",
        data_dir=data_dir,
    )
    return Settings(**{**fields, **overrides})


@pytest.fixture(scope="session")
def bootstrap() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        if os.environ.get("CI"):
            pytest.fail("KAFKA_BOOTSTRAP_SERVERS is not set: run the suite through `make test`")
        pytest.skip("no broker: run through `make test` (ops/with-kafka starts the local Apache Kafka)")
    return servers


@pytest.fixture
def test_settings(bootstrap: str, tmp_path: Path) -> Settings:
    return isolated_settings(bootstrap, "test", tmp_path / "data")


@pytest.fixture
async def topics(test_settings: Settings) -> Settings:
    await ensure_topics(test_settings)
    return test_settings


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
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


async def read_until(bootstrap: str, topic: str, want: int, timeout: float = 90.0,
                     **options: Any) -> list[ConsumerRecord[bytes, bytes]]:
    """Read `topic` from the start until `want` records arrived (or fail after `timeout` s); `options` go to
    the consumer (security settings, for instance)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, **options)
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
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


async def read_all(bootstrap: str, topic: str,
                   isolation: str = "read_uncommitted") -> list[ConsumerRecord[bytes, bytes]]:
    """Everything on `topic` now, up to its end offsets (the last stable offset under read_committed)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, isolation_level=isolation)
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
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


async def until(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Polls `check()` (an HTTP API or /metrics, which offer no event to await) until it returns something
    truthy, with a deadline."""
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
        await asyncio.sleep(0.5)
