"""Committed offsets read with `require_stable` (OffsetFetch v7, KIP-447), which aiokafka 0.14 cannot ask for.

Exactly-once: a worker killed while its transaction commits leaves that transaction's offsets pending for a
moment (or, with a broker killed too, until the coordinator moves). A plain OffsetFetch answers the offsets of
before, so the partitions' next owner decides the batch again: a duplicate under read_committed (seen once in
tests/faults/test_cluster_faults.py). Asked for stable offsets, the broker answers UNSTABLE_OFFSET_COMMIT until
the transaction has ended, committed or aborted; the loop asks again, then seeks there before its first read.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, NotCoordinatorForGroupError, for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Boolean, CompactArray, CompactString, Int16, Int32, Int64, Schema, TaggedFields

log = logging.getLogger(__name__)
UNSTABLE_OFFSET_COMMIT = 88
RETRY_S = 0.1


class _OffsetFetchResponse_v7(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 9
    API_VERSION = 7
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("topics", CompactArray(
            ("name", CompactString("utf-8")),
            ("partitions", CompactArray(
                ("partition_index", Int32), ("committed_offset", Int64), ("committed_leader_epoch", Int32),
                ("metadata", CompactString("utf-8")), ("error_code", Int16), ("tags", TaggedFields))),
            ("tags", TaggedFields))),
        ("error_code", Int16),
        ("tags", TaggedFields),
    )


class _OffsetFetchRequest_v7(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 9
    API_VERSION = 7
    RESPONSE_TYPE = _OffsetFetchResponse_v7
    SCHEMA = Schema(
        ("group_id", CompactString("utf-8")),
        ("topics", CompactArray(("name", CompactString("utf-8")), ("partition_indexes", CompactArray(Int32)),
                                ("tags", TaggedFields))),
        ("require_stable", Boolean),
        ("tags", TaggedFields),
    )


_Struct: TypeAlias = _OffsetFetchRequest_v7


class StableOffsetFetch(Request[_Struct]):  # type: ignore[misc]
    API_KEY = 9

    def __init__(self, group_id: str, partitions: set[TopicPartition]) -> None:
        by_topic: dict[str, list[int]] = {}
        for tp in sorted(partitions):
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        self.group_id = group_id
        self.topics: list[tuple[str, list[int], dict[int, bytes]]] = [(t, ps, {}) for t, ps in by_topic.items()]

    def build(self, request_struct_class: type[_Struct]) -> _Struct:
        return request_struct_class(self.group_id, self.topics, True, {})


def _read(response: Any) -> tuple[dict[TopicPartition, int], bool]:
    """(committed offsets, still unstable); an error other than UNSTABLE_OFFSET_COMMIT raises."""
    if response.error_code:
        raise for_code(response.error_code)()
    offsets, unstable = {}, False
    for topic, partitions, _ in response.topics:
        for partition, offset, _epoch, _metadata, error_code, _ in partitions:
            if error_code == UNSTABLE_OFFSET_COMMIT:
                unstable = True
            elif error_code:
                raise for_code(error_code)()
            elif offset >= 0:
                offsets[TopicPartition(topic, partition)] = offset
    return offsets, unstable


async def stable_committed(consumer: AIOKafkaConsumer, group_id: str,
                           partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
    """The group's committed offsets of `partitions` once no transaction holds any of them pending (partitions
    with none committed are left out). Retriable errors and unstable answers are asked again."""
    coordinator = consumer._coordinator  # aiokafka has no public way to send a request to the group coordinator
    waited = 0
    while True:
        try:
            await coordinator.ensure_coordinator_known()
            offsets, unstable = _read(await coordinator._send_req(StableOffsetFetch(group_id, partitions)))
        except KafkaError as exc:
            if not exc.retriable:
                raise
            if isinstance(exc, NotCoordinatorForGroupError):
                coordinator.coordinator_dead()
            unstable = True
        if not unstable:
            if waited:
                log.warning("committed offsets were pending in a transaction; read after %.1f s", waited * RETRY_S)
            return offsets
        waited += 1
        await asyncio.sleep(RETRY_S)
