"""The counters' merge on its own aiokafka consumer, off Faust's stream, run inside the Faust app as a task.

Why not Faust's agent and table: Faust's stream drops a message delivered while flow is suspended around a
rebalance yet commits past it (docs/decisions.md), and its table's changelog, its offsets and what an agent
publishes are written apart, so a crash could merge an update twice or publish a window twice.

Here each batch of a partition of `<app id>-counter-updates` (read read_committed: an aborted decision batch's
cells are never merged) is folded by `PartitionCells` (streams/counter_merge.py), and what it changed goes out
in one Kafka transaction: the changed cells to the compacted changelog `<app id>-counter-cells` (same partition),
the closed windows to the counters topic, and the batch's next offset for the merge's consumer group. A crash
or a rebalance leaves all three or none, so the published counts are exact whatever the decision path's
guarantee; in at-least-once mode a decision batch replayed is counted again, since its updates are sent again.

Each partition has its own transactional id, `<app id>-counter-merge-<partition>`: whoever owns the partition
next fences the old owner (and aborts its open transaction) before it reads the changelog back, so two owners
never both commit, even one paused past its session. A rebalance drops every partition's cells; they are read
back from the changelog when the partition's next batch arrives.

Windows close on ticks: each second the loop sends a tick to each partition it owns; the tick lands after every
update already written there, and closes what is due by its own timestamp (so a batch replayed closes the same).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from streams.acls import AUTHORIZATION_ERRORS, NotAuthorized, merge_group, merge_transactional_prefix
from streams.counter_merge import TICK, PartitionCells, Step
from streams.counters import Counting
from streams.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger(__name__)
TICK_S = 1.0  # how often each owned partition gets a tick (windows close at most this late)
HEALTHY_RUN_S = 60.0  # a run that lasted this long starts the backoff over
IDLE_COMMIT_S = 10.0  # a partition whose ticks changed nothing commits its offset this often (a restart replays less)


class CounterMergeLoop:
    def __init__(self, settings: Settings, counting: Counting, metrics: Metrics, version: Callable[[], str],
                 kafka_options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.counting = counting
        self.metrics = metrics
        self.version = version
        self.kafka_options = kafka_options or {}
        self.group = merge_group(settings)
        self.cells: dict[int, PartitionCells] = {}  # restored partitions: their state is what their offset left
        self.producers: dict[int, AIOKafkaProducer] = {}
        self.committed_at: dict[int, float] = {}
        self.lock = asyncio.Lock()  # a rebalance waits for the batch being written

    async def run(self) -> None:
        s = self.settings
        consumer = AIOKafkaConsumer(bootstrap_servers=s.bootstrap_servers, group_id=self.group,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    isolation_level="read_committed", **self.kafka_options)
        restorer = AIOKafkaConsumer(bootstrap_servers=s.bootstrap_servers, group_id=None, enable_auto_commit=False,
                                    isolation_level="read_committed", **self.kafka_options)
        ticker = AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, acks="all", enable_idempotence=True,
                                  linger_ms=0, **self.kafka_options)
        next_tick = 0.0
        try:
            for client in (ticker, restorer, consumer):
                await client.start()
            consumer.subscribe([s.counter_updates_topic], listener=_Rebalance(self))
            while True:
                batches = await consumer.getmany(timeout_ms=int(TICK_S * 1000))
                async with self.lock:
                    owned = consumer.assignment()
                    for tp, records in batches.items():
                        if tp in owned:  # not revoked since it was fetched
                            await self._merge(tp, records, restorer)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_S
                    for tp in consumer.assignment():
                        await ticker.send(s.counter_updates_topic, b"", key=TICK, partition=tp.partition)
        finally:
            async with self.lock:
                await self.drop()
            for client in (consumer, restorer, ticker):
                await client.stop()

    async def _merge(self, tp: TopicPartition, records: list[Any], restorer: AIOKafkaConsumer) -> None:
        try:
            cells = self.cells.get(tp.partition) or await self._restore(tp.partition, restorer)
            step = cells.step(records)
            if step.changed or time.monotonic() - self.committed_at.get(tp.partition, 0.0) >= IDLE_COMMIT_S:
                await self._write(tp, step, records[-1].offset + 1)
        except BaseException:  # the cells may hold what was not committed: read them back before going on
            await self.drop(tp.partition)
            raise
        self.metrics.cells_published.inc(len(step.published))
        self.metrics.cells_suppressed.inc(step.suppressed)
        self.metrics.late_events.inc(step.late)

    async def _write(self, tp: TopicPartition, step: Step, next_offset: int) -> None:
        """The batch's changed cells, closed windows and next offset, in one transaction."""
        producer = self.producers[tp.partition]
        async with producer.transaction():
            for key, value in step.changelog.items():
                await producer.send(self.settings.counter_cells_topic, value, key=key, partition=tp.partition)
            for key, value in step.published:
                await producer.send(self.settings.counters_topic, value, key=key)
            await producer.send_offsets_to_transaction({tp: OffsetAndMetadata(next_offset, "")}, self.group)
        self.committed_at[tp.partition] = time.monotonic()

    async def _restore(self, partition: int, restorer: AIOKafkaConsumer) -> PartitionCells:
        """Fences the partition's last owner (its open transaction is aborted), then reads its changelog back."""
        s = self.settings
        producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, acks="all", enable_idempotence=True,
                                    transactional_id=f"{merge_transactional_prefix(s)}{partition}",
                                    **self.kafka_options)
        await producer.start()  # InitProducerId: the fence
        self.producers[partition] = producer
        cells = PartitionCells(partition, self.counting, self.version)
        tp = TopicPartition(s.counter_cells_topic, partition)
        restorer.assign([tp])
        await restorer.seek_to_beginning(tp)
        end = (await restorer.end_offsets([tp]))[tp]
        while await restorer.position(tp) < end:
            for records in (await restorer.getmany(tp, timeout_ms=1000)).values():
                for record in records:
                    cells.restore(record.key, record.value)
        self.cells[partition] = cells
        return cells

    async def drop(self, partition: int | None = None) -> None:
        """Forgets a partition's cells (all, without `partition`) and closes its producer."""
        for p in [partition] if partition is not None else set(self.cells) | set(self.producers):
            self.cells.pop(p, None)
            producer = self.producers.pop(p, None)
            if producer is not None:
                await producer.stop()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Before partitions move: wait for the batch being written, then forget every partition's cells."""

    def __init__(self, loop: CounterMergeLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.loop.lock:
            await self.loop.drop()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass


async def run_merge(loop: CounterMergeLoop) -> None:
    """Runs the merge for as long as the worker runs: a failure is logged and retried with backoff, and never
    reaches the decision path (counters are statistics, not help for a person)."""
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            await loop.run()
        except asyncio.CancelledError:
            raise
        except AUTHORIZATION_ERRORS as exc:
            log.error("counter merge: %s; retrying in %.0f s", NotAuthorized.of(exc, loop.settings), delay)
        except KafkaError as exc:
            log.warning("counter merge: Kafka error %s; restarting in %.0f s", type(exc).__name__, delay)
        except Exception as exc:
            log.error("counter merge failed: %s; restarting in %.0f s", type(exc).__name__, delay)
        if time.monotonic() - started > HEALTHY_RUN_S:
            delay = 1.0
        await asyncio.sleep(delay)  # backoff before reconnecting, not a wait for an event
        delay = min(delay * 2, 30.0)
