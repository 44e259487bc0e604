"""At-least-once delivery: what the decision loop may commit, when, and with which counter cells.

Plain Python over plain data, with an injected clock: no Kafka here (the loop hands in offsets as
`{partition: next offset}` and commits what `committable()` returns), so every rule is unit-tested without a
broker (tests/unit/test_delivery.py). Quix Streams' checkpoint (quixstreams/checkpointing/) has the same shape:
one object knows what has been processed and what may be committed, the consumer loop only asks it.

The rules:
- A batch handed to the producer gets a ticket, in order. Its offsets may be committed only once its records
  are acknowledged (`acknowledged`) and every earlier ticket's too: a later batch acknowledged first waits.
- A batch that failed to be acknowledged (`failed`) stops the commits at itself: no offset moves past a record
  the broker may not have. The loop then restarts from the committed offsets.
- A batch's counter cells are held (`hold`) until `flush_s` has passed since the first held one, then released
  as one update a cell; the held batches' offsets go with the batch that carries that update.
- A rebalance (`revoked`) drops the held cells with their offsets: their records are decided again, from the
  committed offsets, by whoever owns each partition next, and counted then (counting the held cells too would
  count them twice). Offsets of revoked partitions are never committed by this worker afterwards.
- A graceful stop flushes the held cells (`flush`), then commits everything once acknowledged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from streams.counters import CellBatch

Offsets = dict[Hashable, int]  # partition -> next offset to read (aiokafka's TopicPartition is a Hashable)


@dataclass
class Release:
    """What a batch sends beside its own records: the counter cells due now (maybe none), and the ticket under
    which its offsets (and those of the held batches they carry) wait for acknowledgement."""

    cells: CellBatch
    ticket: int


@dataclass
class _Ticket:
    offsets: Offsets
    acknowledged: bool = False
    failed: bool = False


@dataclass
class Delivery:
    flush_s: float  # how long counter cells are held (decision_loop.COUNTER_FLUSH_S)
    commit_interval_s: float  # how often acknowledged offsets are committed (decision_loop.COMMIT_INTERVAL_S)
    clock: Callable[[], float] = time.monotonic
    _held: CellBatch = field(default_factory=CellBatch)
    _held_offsets: Offsets = field(default_factory=dict)
    _flush_at: float | None = None
    _tickets: dict[int, _Ticket] = field(default_factory=dict)  # handed over, not yet committable, in order
    _next_ticket: int = 0
    _acked: Offsets = field(default_factory=dict)  # acknowledged in order, not yet committed
    _last_commit: float | None = None

    def hold(self, cells: CellBatch, offsets: Offsets) -> Release:
        """A decided batch: its cells and offsets join the held ones; once `flush_s` has passed since the first
        of them, all are released (the cells to send with this batch, the offsets under its ticket)."""
        self._held.absorb(cells)
        self._held_offsets.update(offsets)
        now = self.clock()
        if self._flush_at is None:
            self._flush_at = now + self.flush_s
        if now < self._flush_at:
            return Release(CellBatch(), self._ticket({}))
        return self.flush()

    def flush(self) -> Release:
        """Releases every held cell now (a graceful stop, or an idle loop whose cells are due)."""
        cells, offsets = self._held, self._held_offsets
        self._held, self._held_offsets, self._flush_at = CellBatch(), {}, None
        return Release(cells, self._ticket(offsets))

    @property
    def holding(self) -> bool:
        return self._flush_at is not None

    def flush_due(self) -> bool:
        return self._flush_at is not None and self.clock() >= self._flush_at

    def wait_s(self, idle_s: float) -> float:
        """How long the loop may wait for records before held cells fall due."""
        return idle_s if self._flush_at is None else max(0.0, self._flush_at - self.clock())

    def acknowledged(self, ticket: int) -> None:
        """Every record of the ticket's batch (and the cells it carries) is acknowledged by the broker."""
        self._tickets[ticket].acknowledged = True
        self._advance()

    def failed(self, ticket: int) -> None:
        """The ticket's batch may be missing from the broker: nothing at or after it may be committed."""
        self._tickets[ticket].failed = True

    def committable(self, force: bool = False) -> Offsets:
        """The offsets to commit now, each once: what is acknowledged in order, at most every
        `commit_interval_s` unless `force` (a commit per small batch would cost a round trip each)."""
        now = self.clock()
        if not self._acked or not force and self._last_commit is not None and \
                now - self._last_commit < self.commit_interval_s:
            return {}
        offsets, self._acked, self._last_commit = self._acked, {}, now
        return offsets

    def revoked(self, partitions: Iterable[Hashable]) -> None:
        """A rebalance took `partitions` (aiokafka revokes the whole assignment, and every partition is read
        again from its committed offset afterwards): held cells and their offsets are dropped, their records
        are counted when decided again; no offset of a revoked partition is committed from here on."""
        gone = set(partitions)
        self._held, self._held_offsets, self._flush_at = CellBatch(), {}, None
        for ticket in self._tickets.values():
            ticket.offsets = {tp: o for tp, o in ticket.offsets.items() if tp not in gone}
        self._acked = {tp: o for tp, o in self._acked.items() if tp not in gone}

    def _ticket(self, offsets: Offsets) -> int:
        ticket, self._next_ticket = self._next_ticket, self._next_ticket + 1
        self._tickets[ticket] = _Ticket(offsets)
        return ticket

    def _advance(self) -> None:
        for number in sorted(self._tickets):
            ticket = self._tickets[number]
            if not ticket.acknowledged or ticket.failed:
                return
            self._acked.update(ticket.offsets)
            del self._tickets[number]
