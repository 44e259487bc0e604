"""The counters' agent with Faust's test_context(): merges, closes due windows, withholds below k, ignores late
updates to a closed window. No broker: the published records go to a list."""

from __future__ import annotations

from pathlib import Path

import faust
import orjson

from streams.core.events import SearchEvent
from streams.counters import Counting
from streams.counters_agent import TICK, CounterCells
from streams.metrics import Metrics
from streams.settings import Settings

WINDOW_S, GRACE_S = 60, 10


class Agent:
    def __init__(self, tmp_path: Path, k: int = 3) -> None:
        self.settings = Settings(partitions=1, data_dir=tmp_path, app_id="agent-test")
        self.app = faust.App("agent-test", broker="kafka://127.0.0.1:1", store="memory://", value_serializer="raw",
                             key_serializer="raw", datadir=str(tmp_path), loghandlers=[])
        self.counting = Counting(WINDOW_S, GRACE_S, k, b"k" * 32, partitions=1)
        self.metrics = Metrics()
        self.published: list[dict] = []
        self.now_ms = 1_000
        self.cells = CounterCells(self.app, self.settings, self.counting, self.metrics, version=lambda: "v1",
                                  publish=self.publish, clock_ms=lambda: self.now_ms)

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        assert topic == self.settings.counters_topic
        self.published.append(orjson.loads(value))

    def updates(self, people: int, searches_each: int = 1) -> list[tuple[bytes, bytes, int]]:
        pairs = []
        for person in range(people):
            for n in range(searches_each):
                event = SearchEvent(f"s{person}-{n}", "q", "en-US", "en", "US", 5_000, "search", f"user-{person}")
                pairs.append((event, {"intercept": True, "conditions": [{"id": "anxiety", "tier": "support"}],
                                      "lexicon_version": "v1"}))
        return self.counting.updates(self.counting.fold(pairs, 6_000))


async def test_updates_are_merged_and_a_due_window_is_published_once(tmp_path: Path) -> None:
    a = Agent(tmp_path)
    async with a.cells.agent.test_context() as agent:
        for batch in (a.updates(2), a.updates(4, searches_each=2)):
            for key, value, _ in batch:
                await agent.put(value, key=key)
        await agent.put(b"", key=TICK)
        assert a.published == [], "the window is not due yet"
        a.now_ms = (WINDOW_S + GRACE_S) * 1000
        await agent.put(b"", key=TICK)
        await agent.put(b"", key=TICK)
    anxiety = [r for r in a.published if r["condition"] == "anxiety"]
    assert [(r["count"], r["users"]) for r in anxiety] == [(10, 4)]
    assert [r["count"] for r in a.published if r["condition"] is None] == [10]


async def test_a_cell_below_k_people_is_withheld_and_counted(tmp_path: Path) -> None:
    a = Agent(tmp_path, k=5)
    async with a.cells.agent.test_context() as agent:
        for key, value, _ in a.updates(2, searches_each=3):
            await agent.put(value, key=key)
        a.now_ms = (WINDOW_S + GRACE_S) * 1000
        await agent.put(b"", key=TICK)
    assert [r["condition"] for r in a.published] == [None]  # 6 searches: the denominator needs k searches
    assert a.metrics.cells_suppressed._value.get() == 1


async def test_an_update_after_the_window_closed_is_late_and_changes_nothing(tmp_path: Path) -> None:
    a = Agent(tmp_path)
    async with a.cells.agent.test_context() as agent:
        for key, value, _ in a.updates(3):
            await agent.put(value, key=key)
        a.now_ms = (WINDOW_S + GRACE_S) * 1000
        await agent.put(b"", key=TICK)
        for key, value, _ in a.updates(3):
            await agent.put(value, key=key)
        await agent.put(b"", key=TICK)
    assert len(a.published) == 2, "each cell once"
    assert a.metrics.late_events._value.get() == 2
