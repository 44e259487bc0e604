"""The Faust app, built by a factory: topics, the deciding agent, and the command line.

Nothing heavy happens at import time. `main()` reads the settings, loads the lexicon when the worker is asked
for (a broken lexicon stops start-up with the file and entry), builds the app, and hands the command line to
Faust, so Faust's commands (`worker`, `agents`, ...) and Signpost's (`classify`, `lexicon-check`, ...) live
together.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any, Sequence

import faust
import orjson
from faust.types import TP

from streams.core.decide import Decider
from streams.core.lexicon import Lexicon, LexiconError, load_lexicon
from streams.counters import CLOSED, Counting, partition_for, user_hash_key
from streams.metrics import Metrics
from streams.pipeline import Pipeline, Record
from streams.settings import Settings, SettingsError

log = logging.getLogger(__name__)
TICK = b"tick"


class Signpost:
    """What the app's agents and commands share; the lexicon is loaded on first use, once."""

    def __init__(self, settings: Settings, lexicon: Lexicon | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self._lexicon = lexicon
        self._decider: Decider | None = None

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = load_lexicon(self.settings.lexicon_dir)
        return self._lexicon

    @property
    def decider(self) -> Decider:
        if self._decider is None:
            self._decider = Decider(self.lexicon)
            self.metrics.lexicon_info.labels(self._decider.version).set(1)
            self.metrics.known_conditions(self._decider.lexicon.conditions)
        return self._decider


def create_app(settings: Settings, lexicon: Lexicon | None = None) -> faust.App:
    signpost = Signpost(settings, lexicon)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")],
        processing_guarantee=settings.processing_guarantee,
        web_port=settings.web_port,
        web_host="0.0.0.0",
        datadir=str(settings.data_dir),
        store="memory://",
        topic_partitions=settings.partitions,
        value_serializer="raw",
        key_serializer="raw",
        producer_linger_ms=5,
        producer_compression_type="lz4" if _has_lz4() else None,
        stream_buffer_maxsize=16384,
        broker_commit_every=10000,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,  # one owner per counter cell: a standby must not publish it too
        loghandlers=[],
    )
    app.signpost = signpost  # type: ignore[attr-defined]
    events = app.topic(settings.events_topic, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw", partitions=settings.partitions)
    app.topic(settings.decisions_topic, partitions=settings.partitions)
    app.topic(settings.dlq_topic, partitions=settings.partitions)

    counting = Counting(settings.counter_window_s, settings.counter_grace_s, settings.k_anonymity,
                        user_hash_key(settings.user_hash_key, settings.data_dir), settings.partitions,
                        settings.dp_epsilon)
    updates = app.topic(f"{settings.app_id}-counter-updates", key_type=bytes, value_type=bytes,
                        key_serializer="raw", value_serializer="raw", partitions=settings.partitions,
                        internal=True)
    cells = app.Table("counter-cells", partitions=settings.partitions, key_type=bytes, value_type=bytes)

    @app.agent(events, name="decide-searches")
    async def decide_searches(stream: faust.StreamT[bytes]) -> None:
        pipeline = Pipeline(signpost.decider, settings.decisions_topic, settings.dlq_topic, keep_decided=True)
        producer = await app.maybe_start_producer()

        async def send(topic: str, key: bytes | None, value: bytes | None, headers: Any) -> Any:
            return await producer.send(topic, key, value, None, None, headers)

        window = settings.batch_window_ms / 1000 or 0.001
        async for batch in stream.take_events(settings.batch_size, within=window):
            records = [_record(event.message) for event in batch]
            outcome, pending = await pipeline.process(records, send)
            partial = counting.fold(outcome.decided, int(time.time() * 1000))
            for key, value, partition in counting.updates(partial):
                pending.append(await producer.send(updates.get_topic_name(), key, value, partition, None, None))
            # At least once: the batch is acked (and so committable) only after every decision, dead letter
            # and counter update is delivered.
            await asyncio.gather(*pending)
            metrics.late_events.inc(partial.late)
            metrics.observe_batch(outcome)
            measure_lag(records)

    @app.agent(updates, name="count-cells")
    async def count_cells(stream: faust.StreamT[bytes]) -> None:
        """Merges partial cells into the table; on a tick, closes the partition's due windows."""
        producer = await app.maybe_start_producer()
        async for event in stream.events():
            key, value = event.key, event.value
            if key == TICK:
                await close_windows(event.message.partition, producer)
                continue
            current = cells.get(key)
            if current is not None and counting.is_closed(current):
                metrics.late_events.inc()
                continue
            cells[key] = counting.merge(current, value)

    async def close_windows(partition: int, producer: Any) -> None:
        now_ms = int(time.time() * 1000)
        version = signpost.decider.version
        for key, value in list(cells.items()):
            if partition_for(key, settings.partitions) != partition:
                continue
            if counting.is_closed(value):
                if counting.expired_marker(key, now_ms):
                    del cells[key]
                continue
            if not counting.due(key, now_ms):
                continue
            record = counting.publishable(key, value, version)
            if record is None:
                metrics.cells_suppressed.inc()
            else:
                topic_key = f"{record['window_start_ms']}|{record['condition'] or 'all'}|{record['country']}"
                await producer.send(settings.counters_topic, topic_key.encode(), orjson.dumps(record), None,
                                    None, None)
                metrics.cells_published.inc()
            cells[key] = CLOSED

    @app.timer(interval=1.0)
    async def tick() -> None:
        """Wakes every partition's owner to close due windows, even when no search arrives."""
        producer = await app.maybe_start_producer()
        for partition in range(settings.partitions):
            await producer.send(updates.get_topic_name(), TICK, b"", partition, None, None)

    def measure_lag(records: list[Record]) -> None:
        """Per batch: how far each partition's end is beyond the last record this batch decided."""
        last: dict[int, int] = {}
        for record in records:
            last[record.partition] = record.offset
        consumer = app.consumer
        for partition, offset in last.items():
            highwater = consumer.highwater(TP(settings.events_topic, partition))
            if highwater is not None:
                metrics.lag.labels(settings.events_topic, str(partition)).set(max(0, highwater - offset - 1))

    metrics = signpost.metrics

    @app.page("/metrics")
    async def metrics_view(web: Any, request: Any) -> Any:
        return web.bytes(metrics.exposition(), content_type="text/plain")

    @app.on_partitions_revoked.connect
    async def forget_lag(app: faust.App, revoked: Any, **kwargs: Any) -> None:
        for tp in revoked:
            if tp.topic == settings.events_topic:
                try:
                    metrics.lag.remove(tp.topic, str(tp.partition))
                except KeyError:
                    pass

    from streams import commands

    commands.register(app, signpost)
    return app


def _record(message: Any) -> Record:
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=int(message.timestamp * 1000) if message.timestamp else 0,
        key=message.key,
        value=message.value,
        headers=tuple(message.headers or ()),
    )


def _has_lz4() -> bool:
    try:
        import lz4  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"signpost: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    lexicon = None
    if "worker" in argv[1:]:
        try:
            lexicon = load_lexicon(settings.lexicon_dir)
        except LexiconError as exc:
            print(f"signpost: the lexicon is broken, refusing to start: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        logging.getLogger("streams").setLevel(settings.log_level)
    app = create_app(settings, lexicon)
    sys.argv = argv
    app.main()
