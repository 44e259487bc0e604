"""Stable committed offsets (streams/stable_offsets.py) on the real broker: while a transaction holds a group's
offsets pending, the broker says so, and a plain fetch answers the offsets of before; once it commits, both
answer the transaction's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from streams.settings import Settings
from streams.stable_offsets import StableOffsetFetch, _read, stable_committed


@pytest.fixture
async def member(topics: Settings) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer of the test's group, assigned the events' partition 0, that knows its coordinator."""
    consumer = AIOKafkaConsumer(bootstrap_servers=topics.bootstrap_servers, group_id=topics.app_id,
                                enable_auto_commit=False)
    await consumer.start()
    consumer.assign([TopicPartition(topics.events_topic, 0)])
    await consumer._coordinator.ensure_coordinator_known()
    yield consumer
    await consumer.stop()


async def test_offsets_pending_in_a_transaction_are_unstable_until_it_commits(
        topics: Settings, member: AIOKafkaConsumer) -> None:
    tp = TopicPartition(topics.events_topic, 0)
    await member.commit({tp: OffsetAndMetadata(5, "")})
    producer = AIOKafkaProducer(bootstrap_servers=topics.bootstrap_servers,
                                transactional_id=f"stable-offsets-{uuid.uuid4().hex[:8]}")
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_offsets_to_transaction({tp: OffsetAndMetadata(9, "")}, topics.app_id)

        answer = await member._coordinator._send_req(StableOffsetFetch(topics.app_id, {tp}))
        assert _read(answer) == ({}, True)  # pending: asked for stable offsets, the broker will not answer 5
        assert (await member.committed(tp)) == 5  # what aiokafka alone reads: a new owner would decide 5..8 again

        await producer.commit_transaction()
        assert await stable_committed(member, topics.app_id, {tp}) == {tp: 9}
    finally:
        await producer.stop()


async def test_partitions_with_no_committed_offset_are_left_out(topics: Settings, member: AIOKafkaConsumer) -> None:
    assert await stable_committed(member, topics.app_id, {TopicPartition(topics.events_topic, 0)}) == {}
