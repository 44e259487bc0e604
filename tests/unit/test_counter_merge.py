"""The counters' merge without a broker (streams/counter_merge.py): a partition's records in, the changelog and
the published windows out, with the ticks' timestamps as the only clock."""

from __future__ import annotations

from typing import NamedTuple

import orjson

from streams.core.events import SearchEvent
from streams.counter_merge import IN_FLIGHT_MS, TICK, PartitionCells, Step
from streams.counters import CLOSED, Counting

WINDOW_S, GRACE_S = 60, 10
DUE_MS = (WINDOW_S + GRACE_S) * 1000 + IN_FLIGHT_MS  # the first tick that closes the window [0, 60 s)


class Record(NamedTuple):
    key: bytes | None
    value: bytes | None
    timestamp: int
    offset: int


class Partition:
    """One partition's records, numbered as Kafka would, and the merge that reads them."""

    def __init__(self, k: int = 3) -> None:
        self.counting = Counting(WINDOW_S, GRACE_S, k, b"k" * 32, partitions=1)
        self.cells = PartitionCells(0, self.counting, version=lambda: "v1")
        self.offset = 0

    def updates(self, people: int, searches_each: int = 1, first: int = 0) -> list[Record]:
        pairs = []
        for person in range(first, first + people):
            for n in range(searches_each):
                event = SearchEvent(f"s{person}-{n}", "q", "en-US", "en", "US", 5_000, "search", f"user-{person}")
                pairs.append((event, {"intercept": True, "conditions": [{"id": "anxiety", "tier": "support"}],
                                      "lexicon_version": "v1"}))
        cells = self.counting.fold(pairs, 6_000)
        return [self.record(key, value, 6_000) for key, value, _ in self.counting.updates(cells)]

    def tick(self, at_ms: int) -> Record:
        return self.record(TICK, b"", at_ms)

    def record(self, key: bytes | None, value: bytes | None, timestamp: int) -> Record:
        self.offset += 1
        return Record(key, value, timestamp, self.offset - 1)


def published(step: Step) -> dict[str | None, tuple[int, int | None]]:
    return {r["condition"]: (r["count"], r["users"]) for r in (orjson.loads(v) for _, v in step.published)}


def test_updates_are_merged_and_a_due_window_is_published_once_on_a_tick() -> None:
    p = Partition()
    step = p.cells.step([*p.updates(2), *p.updates(4, searches_each=2), p.tick(DUE_MS - 1)])
    assert step.published == [], "not due yet"
    assert len(step.changelog) == 2, "each changed cell once, in its merged state"
    step = p.cells.step([p.tick(DUE_MS), p.tick(DUE_MS + 1000)])
    assert published(step) == {"anxiety": (10, 4), None: (10, None)}
    assert set(step.changelog.values()) == {CLOSED}, "the closed cells' markers go to the changelog"


def test_a_window_closes_only_well_after_the_fold_stopped_counting_it() -> None:
    """An update folded at the last moment of the grace period and still in flight for a few seconds counts."""
    p = Partition()
    p.cells.step(p.updates(3))
    assert not p.cells.step([p.tick((WINDOW_S + GRACE_S) * 1000)]).published
    assert p.cells.step(p.updates(1, first=3)).changelog, "a late-arriving update within IN_FLIGHT_MS merges"
    assert published(p.cells.step([p.tick(DUE_MS)]))["anxiety"] == (4, 4)


def test_a_cell_below_k_people_is_withheld_and_counted() -> None:
    p = Partition(k=5)
    step = p.cells.step([*p.updates(2, searches_each=3), p.tick(DUE_MS)])
    assert published(step) == {None: (6, None)}, "6 searches: the denominator needs k searches, not people"
    assert step.suppressed == 1
    assert all(value == CLOSED for value in step.changelog.values()), "withheld cells close too"


def test_an_update_after_the_window_closed_is_late_and_changes_nothing() -> None:
    p = Partition()
    p.cells.step([*p.updates(3), p.tick(DUE_MS)])
    step = p.cells.step([*p.updates(3, searches_each=2), p.tick(DUE_MS + 1000)])
    assert (step.published, step.changelog) == ([], {})
    assert step.late == 6, "late is counted in searches, once each (the denominator cell)"


def test_a_partition_restored_from_its_changelog_makes_the_same_step_again() -> None:
    """A crash after batch 1's transaction and before batch 2's: the next owner restores batch 1's changelog and
    reads batch 2 again; what it publishes is what the first owner would have, once."""
    p = Partition()
    first = p.cells.step(p.updates(3))
    batch2 = [*p.updates(2, first=3), p.tick(DUE_MS)]
    uncommitted = p.cells.step(batch2)

    restored = PartitionCells(0, p.counting, version=lambda: "v1")
    for key, value in first.changelog.items():
        restored.restore(key, value)
    again = restored.step(batch2)
    assert again.published == uncommitted.published
    assert published(again)["anxiety"] == (5, 5)


def test_a_closed_windows_markers_are_dropped_ten_windows_later_from_the_changelog_too() -> None:
    p = Partition()
    p.cells.step([*p.updates(3), p.tick(DUE_MS)])
    step = p.cells.step([p.tick(DUE_MS + 10 * WINDOW_S * 1000)])
    assert set(step.changelog.values()) == {None}, "tombstones: the compacted changelog forgets them"
    restored = PartitionCells(0, p.counting, version=lambda: "v1")
    for key, value in [(k, CLOSED) for k in step.changelog] + list(step.changelog.items()):
        restored.restore(key, value)
    assert restored.cells == p.cells.cells == {}


def test_a_malformed_update_is_skipped_and_counted_and_the_rest_merge() -> None:
    p = Partition()
    bad = [p.record(b"not a cell key", b"{}", 6_000), p.record(b"0|*|*|US", b"not json", 6_000),
           p.record(None, None, 6_000)]
    step = p.cells.step([*bad, *p.updates(3), p.tick(DUE_MS)])
    assert step.malformed == 3
    assert published(step) == {"anxiety": (3, 3), None: (3, None)}


def test_a_published_window_carries_numbers_and_names_only() -> None:
    p = Partition()
    step = p.cells.step([*p.updates(3), p.tick(DUE_MS)])
    for key, value in step.published:
        record = orjson.loads(value)
        assert set(record) == {"window_start_ms", "window_end_ms", "condition", "tier", "country", "count", "users",
                               "lexicon_version"}
        assert b"user-" not in key + value
