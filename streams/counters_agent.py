"""The counters' Faust agent and table: merges partial cells from `<app id>-counter-updates` into the table and,
on a tick, closes the partition's due windows (streams/counters.py holds the rules; this module only wires them
to Faust).

What this agent can and cannot promise (docs/decisions.md): it reads on Faust's per-message stream, at least
once, so a rebalance can drop an update and a crash can merge one twice; a closed window is published once per
table state (its marker is in the changelog), but a crash between the publication and the marker's changelog
record can publish it again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
import orjson

from streams.counters import CLOSED, Counting, partition_for, published_key
from streams.metrics import Metrics
from streams.settings import Settings

TICK = b"tick"
Publish = Callable[[str, bytes, bytes], Awaitable[Any]]  # (topic, key, value): a closed window's record


class CounterCells:
    """The `count-cells` agent over the `counter-cells` table, and the timer that ticks every partition."""

    def __init__(self, app: faust.App, settings: Settings, counting: Counting, metrics: Metrics,
                 version: Callable[[], str], publish: Publish | None = None,
                 clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.app = app
        self.settings = settings
        self.counting = counting
        self.metrics = metrics
        self.version = version  # the live lexicon's version, named by a cell that counted none
        self.publish = publish or self._send
        self.clock_ms = clock_ms
        self.updates = app.topic(settings.counter_updates_topic, key_type=bytes, value_type=bytes,
                                 partitions=settings.partitions, internal=True)
        self.cells = app.Table("counter-cells", partitions=settings.partitions, key_type=bytes, value_type=bytes)
        self.agent = app.agent(self.updates, name="count-cells")(self.count_cells)
        app.timer(interval=1.0)(self.tick)

    async def count_cells(self, stream: faust.StreamT[bytes]) -> None:
        """Merges partial cells into the table; on a tick, closes the partition's due windows."""
        async for event in stream.events():
            key, value = event.key, event.value
            if key == TICK:
                await self.close_windows(event.message.partition)
                continue
            current = self.cells.get(key)
            if current is not None and self.counting.is_closed(current):
                self.metrics.late_events.inc()
                continue
            self.cells[key] = self.counting.merge(current, value)

    async def close_windows(self, partition: int) -> None:
        """Publishes (or withholds, below k) every due cell of `partition` and marks it closed."""
        now_ms = self.clock_ms()
        for key, value in list(self.cells.items()):
            if partition_for(key, self.settings.partitions) != partition:
                continue
            if self.counting.is_closed(value):
                if self.counting.expired_marker(key, now_ms):
                    del self.cells[key]
                continue
            if not self.counting.due(key, now_ms):
                continue
            record = self.counting.publishable(key, value, self.version())
            if record is None:
                self.metrics.cells_suppressed.inc()
            else:
                await self.publish(self.settings.counters_topic, published_key(record), orjson.dumps(record))
                self.metrics.cells_published.inc()
            self.cells[key] = CLOSED

    async def tick(self) -> None:
        """Wakes every partition's owner to close due windows, even when no search arrives."""
        producer = await self.app.maybe_start_producer()
        for partition in range(self.settings.partitions):
            await producer.send(self.updates.get_topic_name(), TICK, b"", partition, None, None)

    async def _send(self, topic: str, key: bytes, value: bytes) -> Any:
        producer = await self.app.maybe_start_producer()
        return await producer.send(topic, key, value, None, None, None)
