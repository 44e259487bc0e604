"""The counters' merge as plain Python: one partition of `<app id>-counter-updates` folded into its cells, and
its due windows closed on a tick.

No Kafka here, and no clock: the merge loop (streams/counter_merge_loop.py) hands a batch of the partition's
records to `PartitionCells.step` and writes what comes back (the changed cells, for the changelog, and the
published windows) together with the batch's next offset in one Kafka transaction. Time is the ticks' own
timestamps, so a batch read again after a crash makes the same step again, and a partition restored from its
changelog (`restore`) is the state its committed offset left. streams/counters.py holds the merge and
k-anonymity rules; this module only applies them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from streams.counters import ALL, CLOSED, Counting, parse_key, published_key

log = logging.getLogger(__name__)
TICK = b"tick"  # the key of a tick record: "close what is due by my timestamp"
# An update may take this long from its batch's fold (where an event past its window's grace is refused as late)
# to the updates topic, held and sent by the decision loop, and still be counted: a tick closes a window only this
# long after the fold stopped counting it.
IN_FLIGHT_MS = 5_000


class UpdateRecord(Protocol):
    """What the merge reads of a record (aiokafka's ConsumerRecord has it)."""

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def offset(self) -> int: ...


@dataclass
class Step:
    """What one batch changed: each changed cell's new state (None: dropped), in the partition's changelog, and
    the closed windows' records for the counters topic. `late`: searches in updates to closed windows;
    `suppressed`: cells withheld below k."""

    changelog: dict[bytes, bytes | None] = field(default_factory=dict)
    published: list[tuple[bytes, bytes]] = field(default_factory=list)
    late: int = 0
    suppressed: int = 0
    malformed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.changelog or self.published)


class PartitionCells:
    """The cells of one partition of the updates topic, keyed as streams/counters.py keys them."""

    def __init__(self, partition: int, counting: Counting, version: Callable[[], str]) -> None:
        self.partition = partition
        self.counting = counting
        self.version = version  # the live lexicon's version, named by a cell whose updates carry none
        self.cells: dict[bytes, bytes] = {}

    def restore(self, key: bytes, value: bytes | None) -> None:
        """One changelog record, read back in order."""
        if value is None:
            self.cells.pop(key, None)
        else:
            self.cells[key] = value

    def step(self, records: Iterable[UpdateRecord]) -> Step:
        """Merges the partial cells in `records` and, on each tick, closes the windows due by its timestamp."""
        step = Step()
        for record in records:
            if record.key == TICK:
                self._close(record.timestamp, step)
                continue
            try:
                self._merge(record, step)
            except (ValueError, KeyError, TypeError, AttributeError):  # only workers write here: a bug, not input
                step.malformed += 1
                log.warning("counter update at partition %d, offset %d is malformed; skipped", self.partition,
                            record.offset)
        return step

    def _merge(self, record: UpdateRecord, step: Step) -> None:
        key, value = record.key, record.value
        if key is None or value is None:
            raise ValueError("no key or value")
        condition = parse_key(key)[1]
        searches = int(orjson.loads(value)["n"])
        current = self.cells.get(key)
        if current is not None and self.counting.is_closed(current):
            if condition == ALL:  # the denominator cell counts each search once
                step.late += searches
            return
        self.cells[key] = step.changelog[key] = self.counting.merge(current, value)

    def _close(self, now_ms: int, step: Step) -> None:
        """Publishes (or withholds, below k) every cell due by `now_ms` and marks it closed; drops old markers."""
        for key, value in list(self.cells.items()):
            if self.counting.is_closed(value):
                if self.counting.expired_marker(key, now_ms):
                    del self.cells[key]
                    step.changelog[key] = None
                continue
            if not self.counting.due(key, now_ms - IN_FLIGHT_MS):
                continue
            record = self.counting.publishable(key, value, self.version())
            if record is None:
                step.suppressed += 1
            else:
                step.published.append((published_key(record), orjson.dumps(record)))
            self.cells[key] = step.changelog[key] = CLOSED
