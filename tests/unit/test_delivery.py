"""At-least-once delivery without a broker: what may be committed, when, with which counter cells."""

from __future__ import annotations

from collections import Counter

from streams.counters import CellBatch
from streams.delivery import Delivery

FLUSH_S, COMMIT_S = 0.25, 0.2
P0, P1 = ("search-events", 0), ("search-events", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def delivery(clock: Clock, flush_s: float = FLUSH_S) -> Delivery:
    return Delivery(flush_s, COMMIT_S, clock=clock)


def cells(n: int) -> CellBatch:
    return CellBatch(searches=Counter({b"0|*|*|US": n}))


def test_cells_are_held_until_due_then_released_once_with_all_held_offsets() -> None:
    clock = Clock()
    d = delivery(clock)
    first = d.hold(cells(2), {P0: 10})
    clock.now += 0.1
    second = d.hold(cells(3), {P1: 5})
    assert not first.cells.searches and not second.cells.searches and not d.flush_due()
    clock.now += 0.2
    assert d.flush_due() and d.wait_s(idle_s=1.0) == 0.0
    third = d.hold(cells(1), {P0: 12})
    assert third.cells.searches == Counter({b"0|*|*|US": 6})
    for release in (first, second, third):
        d.acknowledged(release.ticket)
    assert d.committable() == {P0: 12, P1: 5}
    assert not d.holding and d.wait_s(idle_s=1.0) == 1.0


def test_a_batch_not_acknowledged_keeps_offsets_from_moving_past_it() -> None:
    clock = Clock()
    d = delivery(clock, flush_s=0)  # every batch releases its own cells
    ok = d.hold(cells(1), {P0: 10})
    bad = d.hold(cells(1), {P0: 20})
    later = d.hold(cells(1), {P0: 30})
    d.acknowledged(ok.ticket)
    d.failed(bad.ticket)
    d.acknowledged(later.ticket)
    assert d.committable(force=True) == {P0: 10}
    clock.now += 10
    assert d.committable(force=True) == {}, "nothing after the failed batch, ever"


def test_a_later_batch_acknowledged_first_waits_for_the_earlier_one() -> None:
    clock = Clock()
    d = delivery(clock, flush_s=0)  # every batch releases its own cells
    earlier = d.hold(cells(1), {P0: 10})
    later = d.hold(cells(1), {P0: 20, P1: 7})
    d.acknowledged(later.ticket)
    assert d.committable(force=True) == {}
    d.acknowledged(earlier.ticket)
    assert d.committable(force=True) == {P0: 20, P1: 7}


def test_commits_wait_for_the_commit_interval_unless_forced() -> None:
    clock = Clock()
    d = delivery(clock, flush_s=0)  # every batch releases its own cells
    d.acknowledged(d.hold(cells(1), {P0: 10}).ticket)
    assert d.committable() == {P0: 10}  # the first commit goes at once
    d.acknowledged(d.hold(cells(1), {P0: 11}).ticket)
    assert d.committable() == {}
    clock.now += COMMIT_S
    assert d.committable() == {P0: 11}
    assert d.committable(force=True) == {}, "each offset is committed once"


def test_a_rebalance_during_a_hold_drops_the_held_cells_and_their_offsets() -> None:
    clock = Clock()
    d = delivery(clock)
    before = d.hold(cells(4), {P0: 10, P1: 3})
    d.revoked({P0, P1})  # their records are read again from the committed offsets and counted then
    assert not d.holding
    after = d.hold(cells(1), {P1: 9})
    clock.now += FLUSH_S
    due = d.hold(CellBatch(), {})
    assert due.cells.searches == Counter({b"0|*|*|US": 1}), "the dropped cells are not sent too"
    for release in (before, after, due):
        d.acknowledged(release.ticket)
    assert d.committable(force=True) == {P1: 9}


def test_a_revoked_partition_is_never_committed_by_its_old_owner() -> None:
    clock = Clock()
    d = delivery(clock, flush_s=0)  # every batch releases its own cells
    acked = d.hold(cells(1), {P0: 10})
    in_flight = d.hold(cells(1), {P0: 20, P1: 4})
    d.acknowledged(acked.ticket)
    d.revoked({P0})
    d.acknowledged(in_flight.ticket)
    assert d.committable(force=True) == {P1: 4}


def test_a_graceful_stop_flushes_the_held_cells_then_commits_them() -> None:
    clock = Clock()
    d = delivery(clock)
    first = d.hold(cells(2), {P0: 10})
    second = d.hold(cells(5), {P1: 8})
    assert d.holding and not d.flush_due()
    stop = d.flush()
    assert stop.cells.searches == Counter({b"0|*|*|US": 7})
    for release in (first, second, stop):
        d.acknowledged(release.ticket)
    assert d.committable(force=True) == {P0: 10, P1: 8}
    assert not d.holding
