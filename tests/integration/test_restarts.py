"""A worker killed mid-stream and a new one started: every search still gets its decision."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import orjson

from streams.settings import Settings
from tests.integration.conftest import read_all, read_until


async def test_sigkill_mid_stream_then_restart_loses_no_search(topics: Settings, worker_factory, producer) -> None:
    settings = topics
    total = 3000

    async def stream() -> None:
        for i in range(total):
            value = orjson.dumps({"search_id": f"k-{i}", "query": "i want to die" if i % 7 == 0 else "weather"})
            await producer.send(settings.events_topic, value, key=f"k-{i}".encode())
            if i % 100 == 99:
                await asyncio.sleep(0.02)  # pacing: the stream spans the kill and the restart
        await producer.flush()

    first = worker_factory(settings)
    sending = asyncio.create_task(stream())
    await read_until(settings.bootstrap_servers, settings.decisions_topic, 500)
    first.stop(signal.SIGKILL)
    worker_factory(settings)
    await sending
    decisions = await read_until(settings.bootstrap_servers, settings.decisions_topic, total, timeout=120)
    per_search = Counter(r.key for r in decisions)
    missing = {f"k-{i}".encode() for i in range(total)} - set(per_search)
    while missing:  # duplicates may have filled the count: read on until every search is there
        decisions = await read_until(settings.bootstrap_servers, settings.decisions_topic, len(decisions) + 1,
                                     timeout=60)
        per_search = Counter(r.key for r in decisions)
        missing = {f"k-{i}".encode() for i in range(total)} - set(per_search)
    everything = await read_all(settings.bootstrap_servers, settings.decisions_topic)
    assert len({r.key for r in everything}) == total
