"""The decision path: a batch loop on its own aiokafka consumer, run inside the Faust app as a task.

Why not a Faust agent: measured here, Faust's per-message machinery (a `wait_first` of four tasks per
message in the consumer's drain loop, stream iteration, acks) costs tens of microseconds an event, and worse,
in faust-streaming 0.15.3 a message that arrives while flow is suspended during a rebalance or recovery is
dropped by that `wait_first` yet its offset is marked read and later committed: a restarted worker lost a
search that way in our tests (see docs/decisions.md). A search about suicide must never be dropped, so the
decision path reads with aiokafka directly (so does the counters' merge); Faust keeps the web server and commands.

Delivery:
- at_least_once: every decision and dead letter of a batch, and the counter update that carries its cells
  (held up to COUNTER_FLUSH_S), is acknowledged by the broker (idempotent producer, acks=all) before the
  batch's offsets are committed; batches are pipelined (up to MAX_INFLIGHT_BATCHES decided and awaiting
  acknowledgement) and committed in order. What may be committed, when and with which cells is decided by
  `Delivery` (streams/delivery.py); this module only talks to Kafka. A crash or rebalance can replay those
  batches: a decision may arrive twice, identical, keyed by search_id.
- exactly_once: a batch's records and its offsets commit in one Kafka transaction; readers with
  isolation.level=read_committed see each decision once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError, TopicAuthorizationFailedError
from aiokafka.structs import OffsetAndMetadata

from streams.acls import AUTHORIZATION_ERRORS, NotAuthorized, transactional_prefix
from streams.counters import CellBatch, Counting
from streams.delivery import Delivery, Offsets, Release
from streams.lexicon_topic import LiveLexicon, Pacer
from streams.metrics import Metrics
from streams.pipeline import Pipeline
from streams.settings import Settings
from streams.stable_offsets import stable_committed

log = logging.getLogger(__name__)
MAX_INFLIGHT_BATCHES = 8  # decided but not yet acknowledged: bounds memory and the replay after a crash
COMMIT_INTERVAL_S = 0.2  # how often acknowledged offsets are committed: the most a crash replays
# at-least-once: partial counter cells are merged across batches for this long, then sent as one update a cell
# (a small batch would otherwise send about one update a search); the batches' offsets wait for that send.
COUNTER_FLUSH_S = 0.25


class DecisionLoop:
    def __init__(self, settings: Settings, pipeline: Pipeline, counting: Counting, metrics: Metrics,
                 updates_topic: str, kafka_options: dict[str, Any] | None = None,
                 live: LiveLexicon | None = None) -> None:
        self.settings = settings
        self.live = live  # a new lexicon version is swapped in here, between two batches
        self.pipeline = pipeline
        self.counting = counting
        self.metrics = metrics
        self.updates_topic = updates_topic
        self.kafka_options = kafka_options or {}
        self.exactly_once = settings.processing_guarantee == "exactly_once"
        self._partitions: dict[str, int] = {}
        self.delivery = Delivery(COUNTER_FLUSH_S, COMMIT_INTERVAL_S)  # at-least-once: what may be committed
        self.deciding = False  # consumer and producer started, output topics known (the worker's /readyz)
        # exactly-once: a rebalance waits for the open transaction, then drops the batches read before it (their
        # partitions are read again from the committed offsets, which that transaction may have moved)
        self._transaction = asyncio.Lock()
        self._generation = 0

    def _consumer(self) -> AIOKafkaConsumer:
        s = self.settings
        return AIOKafkaConsumer(
            bootstrap_servers=s.bootstrap_servers, group_id=s.app_id,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=s.batch_size,
            fetch_max_wait_ms=max(1, s.batch_window_ms),
            isolation_level="read_committed" if self.exactly_once else "read_uncommitted",
            **self.kafka_options,
        )

    def _producer(self) -> AIOKafkaProducer:
        s = self.settings
        # linger 0: the loop hands over whole batches already, waiting longer only adds latency
        options: dict[str, Any] = {"enable_idempotence": True, "acks": "all", "linger_ms": 0,
                                   "max_batch_size": 256 * 1024}
        if self.exactly_once:
            options["transactional_id"] = transactional_id(s)
        return AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, **options, **self.kafka_options)

    async def run(self) -> None:
        # Faust's progress spinner leaves the root logger at DEBUG, which makes aiokafka build a log record
        # per send: the per-search path logs nothing below WARNING.
        for name in ("aiokafka", "kafka"):
            logging.getLogger(name).setLevel(logging.WARNING)
        consumer, producer = self._consumer(), self._producer()
        await producer.start()
        await consumer.start()
        consumer.subscribe([self.settings.events_topic], listener=_Rebalance(self, consumer))
        # A decision goes to the partition number of its search (modulo the topic's size): it saves hashing each
        # key in Python, and keeps a search's decision beside it for anyone joining the two.
        self._partitions = {t: len(await producer.partitions_for(t))
                            for t in (self.settings.decisions_topic, self.settings.dlq_topic, self.updates_topic)}
        # at-least-once: batches are pipelined; a committer commits each batch's offsets, in order, once all of
        # its records are acknowledged, while the next batches are already being decided.
        inflight: asyncio.Queue[tuple[int, asyncio.Future[Any]]] = asyncio.Queue(maxsize=MAX_INFLIGHT_BATCHES)
        committer = None if self.exactly_once else asyncio.create_task(self._commit_in_order(consumer, inflight))
        self.delivery = Delivery(COUNTER_FLUSH_S, COMMIT_INTERVAL_S)  # held cells die with a run: a restart replays
        self.deciding = True
        pacer = None if self.live is None else self.live.pacer  # a new version builds in the turns it gives
        if pacer is not None:
            pacer.attach()
        try:
            while True:
                wait_s = self.delivery.wait_s(idle_s=1.0)
                building = pacer is not None and pacer.working
                if building:
                    wait_s = min(wait_s, Pacer.IDLE_S)
                batches = await consumer.getmany(timeout_ms=int(wait_s * 1000), max_records=self.settings.batch_size)
                generation = self._generation  # a batch read before a rebalance, see _Rebalance
                # no search for IDLE_S and a gap since the last of the build's turns, or none of them for too long
                if building and pacer is not None and ((not batches and pacer.rested()) or pacer.starved()):
                    pacer.give(pacer.SLICE_S)
                if self.live is not None:  # between two batches (or idle): a new lexicon version takes over here,
                    self.pipeline.decider = self.live.at_batch_boundary()  # so one version decides a whole batch
                if batches or self.delivery.flush_due():
                    await self._batch(consumer, producer, batches, inflight, generation)
                if committer is not None and committer.done():
                    committer.result()  # raises what stopped it
        finally:
            self.deciding = False
            if pacer is not None:
                pacer.detach()
            if committer is not None:
                committer.cancel()
                await asyncio.gather(committer, return_exceptions=True)
                await asyncio.shield(self._drain(consumer, producer, inflight))
            await consumer.stop()
            await producer.stop()

    async def _batch(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer,
                     batches: dict[TopicPartition, list[Any]], inflight: asyncio.Queue[Any], generation: int) -> None:
        records = [m for messages in batches.values() for m in messages]  # ConsumerRecords serve as Records
        offsets: Offsets = {tp: messages[-1].offset + 1 for tp, messages in batches.items()}
        if self.exactly_once:
            async with self._transaction:
                if generation != self._generation:
                    return  # read before a rebalance: decided again from the committed offsets, by their owner
                async with producer.transaction():
                    outcome, partial, pending, _ = await self._publish(producer, records)
                    await pending
                    await producer.send_offsets_to_transaction(_committed(offsets), self.settings.app_id)
        else:
            # the offsets go with the batch that sends their counter cells: committed once all of it is acked
            outcome, partial, pending, release = await self._publish(
                producer, records, lambda cells: self.delivery.hold(cells, offsets))
            assert release is not None
            await inflight.put((release.ticket, pending))
        self.metrics.observe_batch(outcome)
        self.metrics.late_events.inc(partial.late)
        for tp, messages in batches.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, highwater - messages[-1].offset - 1))

    async def _commit_in_order(self, consumer: AIOKafkaConsumer, inflight: asyncio.Queue[Any]) -> None:
        """Awaits each handed-over batch's acknowledgement, in order, and commits what `Delivery` allows (at
        most every COMMIT_INTERVAL_S): offsets only move past records the broker has."""
        while True:
            try:
                ticket, pending = await asyncio.wait_for(inflight.get(), timeout=COMMIT_INTERVAL_S)
            except TimeoutError:  # no batch for a while: commit what is acknowledged
                pass
            else:
                await self._acknowledged(ticket, pending)
            await self._commit(consumer, self.delivery.committable())

    async def _acknowledged(self, ticket: int, pending: asyncio.Future[Any]) -> None:
        try:
            await pending  # every record of the batch acknowledged by the broker (raises if one failed)
        except BaseException:
            self.delivery.failed(ticket)
            raise
        self.delivery.acknowledged(ticket)

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: Offsets) -> None:
        if not offsets:
            return
        try:
            await consumer.commit(_committed(offsets))
        except CommitFailedError:  # the partitions moved in a rebalance: their new owner replays them
            log.warning("a commit after a rebalance failed; the new owner decides those records again")

    async def _drain(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer,
                     inflight: asyncio.Queue[Any]) -> None:
        """On a graceful stop: wait for the batches handed over, send the held counter cells, then commit it
        all, so a restart replays nothing."""
        while not inflight.empty():
            await self._acknowledged(*inflight.get_nowait())
        if self.delivery.holding:
            _, _, pending, release = await self._publish(producer, [], lambda _: self.delivery.flush())
            assert release is not None
            await self._acknowledged(release.ticket, pending)
        await self._commit(consumer, self.delivery.committable(force=True))

    async def _publish(self, producer: AIOKafkaProducer, records: list[Any],
                       hold: Callable[[CellBatch], Release] | None = None,
                       ) -> tuple[Any, CellBatch, asyncio.Future[Any], Release | None]:
        """Decides the records and hands the output to the producer as whole batches, one per topic-partition:
        one future a batch instead of one a record. The returned future is done when the broker has them all.

        Without `hold` (exactly-once) the batch's counter cells go out with it. With it (at-least-once) the
        cells go to `Delivery`, and the cells it releases go out instead, under the returned ticket."""
        builders = _Builders(producer, self._partitions)
        outcome = self.pipeline.process(records, builders.emit)
        partial = self.counting.fold(outcome.decided, int(time.time() * 1000))
        release = None if hold is None else hold(partial)
        for key, value, partition in self.counting.updates(partial if release is None else release.cells):
            builders.emit(self.updates_topic, key, value, None, partition)
        delivered = [_delivered(await f, topic) for topic, f in builders.submit()]
        return outcome, partial, asyncio.gather(*delivered), release


def transactional_id(settings: Settings) -> str:
    """`<app id>-decide-<host>-<data dir>`: one worker instance's, the same after its restart.

    The same after a restart, so the restarted worker fences its killed predecessor and aborts its open
    transaction at once (instead of readers waiting out the transaction timeout). Apart for two workers, even
    on one host: one would fence the other at every start. A worker's data folder (its counters' table state,
    never shared) tells instances on one host apart, and the host those with the same path on different
    machines (containers). aiokafka 0.14 sends no group generation with the offsets of a transaction
    (KIP-447), so this id is also what fences a zombie: see docs/decisions.md."""
    folder = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:12]
    return f"{transactional_prefix(settings)}{socket.gethostname()}-{folder}"


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Before partitions move: commit what is acknowledged, then let `Delivery` drop the held cells (their
    records are read again from the committed offsets, by this worker or the next owner).

    Exactly-once: wait for the open transaction to end, and drop the batches read before. Otherwise the
    transaction's offsets could commit after the partitions' next owner has read the committed offsets (aiokafka
    sends no group generation with them, so the broker takes them): that owner would decide its batch again, a
    duplicate under read_committed. aiokafka reads nothing more until the new assignment. On an assignment,
    exactly-once reads the committed offsets as stable ones (streams/stable_offsets.py) and starts there."""

    def __init__(self, loop: DecisionLoop, consumer: AIOKafkaConsumer) -> None:
        self.loop, self.consumer = loop, consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self.loop.exactly_once:
            async with self.loop._transaction:
                self.loop._generation += 1
            return
        try:
            await self.loop._commit(self.consumer, self.loop.delivery.committable(force=True))
        except KafkaError as exc:
            log.warning("a commit before a rebalance failed (%s); those records are decided again",
                        type(exc).__name__)
        self.loop.delivery.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self.loop.exactly_once and assigned:  # start where the last owner's transactions left off, once ended
            for tp, offset in (await stable_committed(self.consumer, self.loop.settings.app_id, assigned)).items():
                self.consumer.seek(tp, offset)


def _committed(offsets: Offsets) -> dict[TopicPartition, OffsetAndMetadata]:
    return {tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()}


class _Builders:
    """Output records gathered into aiokafka batch builders, one per topic-partition."""

    def __init__(self, producer: AIOKafkaProducer, partitions: dict[str, int]) -> None:
        self.producer = producer
        self.partitions = partitions
        self.open: dict[tuple[str, int], Any] = {}
        self.full: list[tuple[str, int, Any]] = []

    def emit(self, topic: str, key: bytes | None, value: bytes | None, headers: Any, partition: int) -> None:
        size = self.partitions.get(topic)
        tp = (topic, partition % size if size else partition)
        builder = self.open.get(tp)
        if builder is None:
            builder = self.open[tp] = self.producer.create_batch()
        headers = list(headers) if headers else []
        if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:  # full: start another
            self.full.append((*tp, builder))
            builder = self.open[tp] = self.producer.create_batch()
            builder.append(timestamp=None, key=key, value=value, headers=headers)

    def submit(self) -> list[tuple[str, Awaitable[asyncio.Future[Any]]]]:
        batches = self.full + [(topic, partition, b) for (topic, partition), b in self.open.items()]
        return [(topic, self.producer.send_batch(b, topic, partition=partition)) for topic, partition, b in batches]


async def _delivered(future: asyncio.Future[Any], topic: str) -> Any:
    """A batch's acknowledgement; a refusal for want of an ACL names the topic (the broker's error does not)."""
    try:
        return await future
    except TopicAuthorizationFailedError as exc:
        raise TopicAuthorizationFailedError(topic) from exc


async def supervise(loop: DecisionLoop, on_fatal: Callable[[BaseException], Awaitable[None]]) -> None:
    """Runs the loop; a broker outage is retried with backoff, anything else stops the worker loudly: a
    missing ACL too, naming what the worker's principal lacks (retrying would stall every search)."""
    delay = 1.0
    while True:
        try:
            await loop.run()
        except asyncio.CancelledError:
            raise
        except AUTHORIZATION_ERRORS as exc:
            refused = NotAuthorized.of(exc, loop.settings)
            await on_fatal(refused)
            raise refused from exc
        except KafkaError as exc:
            log.warning("decision loop: Kafka error %s; restarting in %.0f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)  # backoff before reconnecting, not a wait for an event
            delay = min(delay * 2, 30.0)
        except BaseException as exc:
            await on_fatal(exc)
            raise
