"""Least privilege on a real broker with KRaft's StandardAuthorizer, holding exactly the ACLs `signpost acls`
prints for this module's topics: the worker decides; the frontend reads decisions and nothing that holds a query
or a user id; the analyst reads counters only; a worker short of one ACL stops, naming it, and loses nothing.

The broker is this module's own (tests/support/devbroker.py): SASL_SSL for the three principals, and its
PLAINTEXT listener as the admin (the super user) that creates the topics and sets the ACLs.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

from streams.kafka_admin import DLQ_RETENTION_MS, ensure_topics
from streams.kafka_security import aiokafka_options
from streams.settings import Settings
from tests.support.devbroker import DevBroker, devbroker
from tests.support.kafka import read_all, read_until
from tests.support.worker import SIGNPOST, Worker, worker_env

# The module's broker starts, then 17 ACLs are set with a JVM each (kafka-acls): on this loaded 2-core machine that
# took longer than the suite's 300 s per test, all of it in the first test's setup.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevBroker]:
    with devbroker(tmp_path_factory.mktemp("devkafka-acls"), ("SASL_SSL",), acls=True) as broker:
        yield broker


def principal_settings(broker: DevBroker, user: str, base: Settings) -> Settings:
    """The same topic names, reached over SASL_SSL as `user` (devkafka's users have the password <user>-secret)."""
    return replace(base, bootstrap_servers=broker.bootstrap("SASL_SSL"), security_protocol="SASL_SSL",
                   sasl_mechanism="SCRAM-SHA-512", sasl_username=user, sasl_password=f"{user}-secret",
                   ssl_cafile=broker.cafile)


@pytest.fixture(scope="module")
def granted(acl_broker: DevBroker, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """This module's topics, made by the admin, and the ACLs `signpost acls` prints for them, set by the admin."""
    suffix = uuid.uuid4().hex[:8]
    admin = Settings(bootstrap_servers=acl_broker.bootstrap("PLAINTEXT"), app_id=f"signpost-acl-{suffix}",
                     events_topic=f"search-events-{suffix}", decisions_topic=f"intercept-decisions-{suffix}",
                     dlq_topic=f"search-events-dlq-{suffix}", counters_topic=f"condition-counters-{suffix}",
                     data_dir=tmp_path_factory.mktemp("acl-worker"))
    asyncio.run(ensure_topics(admin))
    printed = subprocess.run([SIGNPOST, "acls"], env=worker_env(admin), capture_output=True, text=True,
                             check=True, timeout=120).stdout
    commands = [line for line in printed.splitlines() if line.startswith("kafka-acls.sh")]
    assert len(commands) == 17
    for line in commands:
        acl_broker.kafka_acls(line)
    return admin


@pytest.fixture
async def clients() -> AsyncIterator[list[Any]]:
    started: list[Any] = []
    yield started
    for client in reversed(started):
        await client.stop()


async def send_searches(admin: Settings, queries: dict[str, str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=admin.bootstrap_servers)
    await producer.start()
    try:
        for search_id, query in queries.items():
            await producer.send(admin.events_topic, orjson.dumps({"search_id": search_id, "query": query}),
                                key=search_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def first_read(settings: Settings, topic: str, group: str, clients: list[Any]) -> list[Any]:
    """A consumer in `group` reads `topic` from the start: what it got in its first fetch that returned."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                **aiokafka_options(settings))
    clients.append(consumer)
    await consumer.start()
    batches = await consumer.getmany(timeout_ms=20_000)
    return [record for records in batches.values() for record in records]


async def test_the_worker_decides_with_exactly_its_acls(acl_broker: DevBroker, granted: Settings,
                                                        tmp_path: Path, clients: list[Any]) -> None:
    worker_settings = principal_settings(acl_broker, "signpost", granted)
    queries = {f"a-{i}": q for i, q in enumerate(["i want to kill myself", "pizza near me", "am i depressed"] * 4)}
    await send_searches(granted, queries)
    worker = Worker(worker_settings, tmp_path / "worker.log")
    try:
        decisions = await read_until(granted.bootstrap_servers, granted.decisions_topic, len(queries), 120)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{worker.log_tail(60)}") from None
    finally:
        worker.stop()
    assert {r.key.decode() for r in decisions} == set(queries)
    assert "not authorized" not in worker.log.read_text()

    # the frontend reads the decisions in its own group
    frontend = principal_settings(acl_broker, "frontend", granted)
    read = await first_read(frontend, granted.decisions_topic, "signpost-frontend", clients)
    assert {r.key.decode() for r in read} <= set(queries) and read


@pytest.mark.parametrize("topic", ["events_topic", "dlq_topic"])
async def test_the_frontend_may_not_read_searches_or_dead_letters(acl_broker: DevBroker, granted: Settings,
                                                                  topic: str, clients: list[Any]) -> None:
    frontend = principal_settings(acl_broker, "frontend", granted)
    with pytest.raises(TopicAuthorizationFailedError):
        await first_read(frontend, getattr(granted, topic), "signpost-frontend", clients)


async def test_the_frontend_may_not_use_another_group(acl_broker: DevBroker, granted: Settings,
                                                      clients: list[Any]) -> None:
    frontend = principal_settings(acl_broker, "frontend", granted)
    with pytest.raises(GroupAuthorizationFailedError):
        await first_read(frontend, granted.decisions_topic, granted.app_id, clients)  # the worker's group


async def test_the_analyst_reads_the_counters_and_nothing_else(acl_broker: DevBroker, granted: Settings,
                                                               clients: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=granted.bootstrap_servers)  # the admin, standing in for
    await producer.start()  # a worker's published window: counters take a minute to close
    try:
        await producer.send_and_wait(granted.counters_topic, b'{"condition": "suicide", "count": 12}', key=b"w")
    finally:
        await producer.stop()
    analyst = principal_settings(acl_broker, "analyst", granted)
    read = await first_read(analyst, granted.counters_topic, "signpost-analyst", clients)
    assert [r.key for r in read] == [b"w"]
    for topic in (granted.events_topic, granted.decisions_topic, granted.dlq_topic, granted.counter_updates_topic,
                  granted.counter_cells_topic):
        with pytest.raises(TopicAuthorizationFailedError):
            await first_read(analyst, topic, "signpost-analyst", clients)
    writer = AIOKafkaProducer(bootstrap_servers=analyst.bootstrap_servers, **aiokafka_options(analyst))
    clients.append(writer)
    await writer.start()
    with pytest.raises(KafkaError):  # nor write a counter
        await asyncio.wait_for(writer.send_and_wait(granted.counters_topic, b"{}"), 60)


async def test_a_worker_without_one_acl_stops_naming_it_and_loses_nothing(
        acl_broker: DevBroker, granted: Settings, tmp_path: Path) -> None:
    write_decisions = next(line for line in subprocess.run(
        [SIGNPOST, "acls"], env=worker_env(granted), capture_output=True, text=True, check=True).stdout.splitlines()
        if f"--topic {granted.decisions_topic} " in line and "User:signpost" in line)
    acl_broker.kafka_acls(write_decisions.replace(" --add ", " --remove --force ", 1))
    worker_settings = principal_settings(acl_broker, "signpost", granted)
    before = len(await read_all(granted.bootstrap_servers, granted.decisions_topic))
    await send_searches(granted, {"m-1": "quiero morir"})
    try:
        worker = Worker(worker_settings, tmp_path / "refused.log")
        code = await asyncio.get_running_loop().run_in_executor(None, worker.proc.wait, 180)
        log = worker.log.read_text()
        assert code != 0, "the worker must stop, not retry for ever"
        assert (f"not authorized: the broker refused User:signpost on topic '{granted.decisions_topic}'" in log
                and "it needs Write, Describe on topic" in log), worker.log_tail(40)
    finally:
        acl_broker.kafka_acls(write_decisions)
    # with the ACL back, a new worker decides the search the refused one could not publish
    worker = Worker(worker_settings, tmp_path / "restored.log")
    try:
        decisions = await read_until(granted.bootstrap_servers, granted.decisions_topic, before + 1, 120)
    finally:
        worker.stop()
    assert "m-1" in {r.key.decode() for r in decisions}


async def test_the_dead_letters_are_kept_a_week_only(granted: Settings) -> None:
    """The dead letters hold raw searches: the topic the worker creates says how long (docs/security.md)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=granted.bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, granted.dlq_topic)])
    finally:
        await admin.close()
    [(_, _, _, _, entries)] = response.resources
    assert {name: value for name, value, *_ in entries}["retention.ms"] == str(DLQ_RETENTION_MS)
