"""Counter cells, without Kafka: windows, k-anonymity, distinct people from keyed hashes, optional noise."""

from __future__ import annotations

import orjson
import pytest

from streams.core.events import SearchEvent
from streams.counters import Counting, parse_key

WINDOW_MS = 60_000


def counting(**kw: object) -> Counting:
    return Counting(window_s=60, grace_s=10, k=kw.pop("k", 10), hash_key=b"k" * 32, partitions=4, **kw)  # type: ignore[arg-type]


def pair(user: str | None, ts: int, intercept: bool = True, version: str = "v1") -> tuple[SearchEvent, dict]:
    event = SearchEvent("s", "q", "en-US", "en", "US", ts, "search", user)
    conditions = [{"id": "anxiety", "tier": "support"}] if intercept else []
    return event, {"intercept": intercept, "conditions": conditions, "lexicon_version": version}


def merged(c: Counting, pairs: list, now: int, cells: dict[bytes, bytes] | None = None) -> dict[bytes, bytes]:
    cells = {} if cells is None else cells
    for key, value, _ in c.updates(c.fold(pairs, now)):
        cells[key] = c.merge(cells.get(key), value)
    return cells


def test_a_window_decided_by_one_version_names_it_alone() -> None:
    c = counting()
    cells = merged(c, [pair(f"user-{i}", 5_000 + i, version="1.0.0+a") for i in range(12)], now=6_000)
    published = [c.publishable(k, v, "(window)") for k, v in cells.items()]
    assert {p["lexicon_version"] for p in published if p} == {"1.0.0+a"}
    assert not any("lexicon_versions" in p for p in published if p)


def test_a_window_in_which_a_new_version_went_live_names_both() -> None:
    c = counting()
    cells = merged(c, [pair(f"user-{i}", 5_000 + i, version="1.0.0+a") for i in range(4)], now=6_000)
    cells = merged(c, [pair(f"user-{i}", 7_000 + i, version="1.0.1+b") for i in range(12)], now=8_000, cells=cells)
    anxiety = next(p for k, v in cells.items() if (p := c.publishable(k, v, "(window)")) and p["condition"])
    assert anxiety["lexicon_version"] == "1.0.1+b"  # it decided most of the window
    assert anxiety["lexicon_versions"] == ["1.0.0+a", "1.0.1+b"]


def test_a_cell_with_k_people_is_published_with_exact_numbers() -> None:
    c = counting()
    cells = merged(c, [pair(f"user-{i % 12}", 5_000 + i) for i in range(30)], now=6_000)
    published = [c.publishable(k, v, "v1") for k, v in cells.items()]
    anxiety = next(p for p in published if p and p["condition"] == "anxiety")
    assert (anxiety["count"], anxiety["users"], anxiety["window_start_ms"]) == (30, 12, 0)


def test_one_person_searching_many_times_is_not_publishable() -> None:
    c = counting()
    cells = merged(c, [pair("only-me", 5_000 + i) for i in range(50)], now=6_000)
    anxiety = next(k for k in cells if parse_key(k)[1] == "anxiety")
    assert c.publishable(anxiety, cells[anxiety], "v1") is None


def test_searches_without_a_user_count_as_searches_only() -> None:
    c = counting(k=1)
    cells = merged(c, [pair(None, 5_000), pair(None, 5_001, intercept=False)], now=6_000)
    totals = {parse_key(k)[1]: orjson.loads(v)["n"] for k, v in cells.items()}
    assert totals == {"anxiety": 1, "*": 2}
    anxiety = next(k for k in cells if parse_key(k)[1] == "anxiety")
    assert c.publishable(anxiety, cells[anxiety], "v1") is None  # no people: below any k


def test_events_older_than_window_and_grace_are_late_not_counted() -> None:
    c = counting()
    batch = c.fold([pair("a", 0), pair("b", 200_000)], 200_500)
    assert batch.late == 1 and sum(batch.searches.values()) == 2  # the recent one: denominator and anxiety


def test_a_closed_cell_ignores_updates() -> None:
    from streams.counters import CLOSED

    c = counting()
    (key, value, _), *_ = c.updates(c.fold([pair("a", 1_000)], 2_000))
    assert c.merge(CLOSED, value) == CLOSED


def test_noise_changes_published_numbers_but_keeps_them_near() -> None:
    c = counting(k=1, epsilon=1.0)
    cells = merged(c, [pair(f"user-{i}", 5_000 + i) for i in range(200)], now=6_000)
    anxiety = next(k for k in cells if parse_key(k)[1] == "anxiety")
    draws = [c.publishable(anxiety, cells[anxiety], "v1")["users"] for _ in range(50)]  # type: ignore[index]
    assert len(set(draws)) > 1 and all(150 < d < 250 for d in draws)


def test_batches_held_together_update_each_cell_once_with_the_same_numbers() -> None:
    c = counting()
    pairs = [pair(f"user-{i % 12}", 5_000 + i) for i in range(30)]
    held = c.fold(pairs[:10], 6_000)
    for start in (10, 20):
        held.absorb(c.fold(pairs[start:start + 10], 6_000))
    updates = c.updates(held)
    assert len(updates) == len({key for key, _, _ in updates}) == 2  # anxiety and all searches, once each
    assert merged(c, pairs, 6_000) == {key: value for key, value, _ in updates}


@pytest.mark.parametrize("people", [0, 1, 5, 300, 3000])
def test_sketches_travel_sparse_while_small_and_dense_past_that(people: int) -> None:
    from streams.counters import SPARSE, new_sketch, sketch_from_text, sketch_to_text

    sketch = new_sketch()
    for i in range(people):
        sketch.update(f"user-{i}".encode())
    text = sketch_to_text(sketch)
    assert text.startswith(SPARSE) == (people <= 300)
    assert (sketch_from_text(text).reg == sketch.reg).all()


def test_an_empty_sketch_travels_in_a_few_bytes() -> None:
    from streams.counters import new_sketch, sketch_to_text

    assert len(sketch_to_text(new_sketch())) < 10
