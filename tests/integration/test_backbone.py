"""End to end on the real broker: events in, exactly one decision or one dead letter out."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import jsonschema
import orjson

from streams.settings import Settings
from tests.support.kafka import read_all, read_until, until
from tests.support.worker import ROOT, SIGNPOST, metric, worker_env

BAD_RECORDS = {
    "not_json": b"{not json",
    "invalid_utf8": b'{"search_id": "x", "query": "\xff"}',
    "not_object": b"[1, 2, 3]",
    "missing_search_id": b'{"query": "anxiety"}',
    "bad_search_id": b'{"search_id": 12, "query": "anxiety"}',
    "missing_query": b'{"search_id": "no-query"}',
    "bad_query": b'{"search_id": "q", "query": {"text": "anxiety"}}',
    "empty": b"",
    "null": b"null",
    "query_too_long": orjson.dumps({"search_id": "long", "query": "a" * 600}),
    "too_deep": b'{"search_id": "deep", "query": "x", "meta": ' + b"[" * 40 + b"]" * 40 + b"}",
}
QUERIES = [
    ("best pizza near me", "en-US", None),
    ("how to deal with anxiety", "en-US", "support"),
    ("i want to kill myself", "en-US", "crisis"),
    ("am i autistic", "en-US", "info"),
    ("quiero morir", "es-MX", "crisis"),
]


async def test_every_event_gets_one_decision_and_every_bad_record_one_dead_letter(
        topics: Settings, worker_factory, producer, decision_schema: dict) -> None:
    settings = topics
    expected: dict[str, str | None] = {}
    sent_bad: dict[str, bytes] = {}
    for i in range(300):
        if i % 25 == 5 and sent_bad.keys() != BAD_RECORDS.keys():
            code = next(c for c in BAD_RECORDS if c not in sent_bad)
            sent_bad[code] = BAD_RECORDS[code]
            await producer.send(settings.events_topic, BAD_RECORDS[code], key=f"bad-{code}".encode())
        query, locale, tier = QUERIES[i % len(QUERIES)]
        search_id = f"s-{i}"
        expected[search_id] = tier
        await producer.send(settings.events_topic, orjson.dumps(
            {"search_id": search_id, "query": query, "locale": locale, "user_id": f"user-{i}"}), key=search_id.encode())
    await producer.flush()
    assert sent_bad.keys() == BAD_RECORDS.keys()

    worker = worker_factory(settings)
    decisions = await read_until(settings.bootstrap_servers, settings.decisions_topic, len(expected))
    letters = await read_until(settings.bootstrap_servers, settings.dlq_topic, len(BAD_RECORDS))
    worker.stop()  # graceful: commits, then nothing more can be written
    decisions = await read_all(settings.bootstrap_servers, settings.decisions_topic)
    letters = await read_all(settings.bootstrap_servers, settings.dlq_topic)

    per_search = Counter(r.key.decode() for r in decisions)
    assert set(per_search) == set(expected)
    assert max(per_search.values()) == 1, "a clean run decides each search exactly once"
    for record in decisions:
        decision = json.loads(record.value)
        jsonschema.validate(decision, decision_schema)
        assert decision["search_id"] == record.key.decode()
        assert decision["tier"] == expected[decision["search_id"]]
        assert b"user-" not in record.value, "user ids never leave the worker"
    assert len(letters) == len(BAD_RECORDS)
    for letter in letters:
        headers = dict(letter.headers)
        code = headers["signpost.error.code"].decode()
        assert letter.value == BAD_RECORDS[code] or (code == "empty" and not letter.value)
        assert letter.key == f"bad-{code}".encode()
        assert headers["signpost.source.topic"].decode() == settings.events_topic
        assert int(headers["signpost.source.offset"]) >= 0 and headers["signpost.error.detail"]


async def test_crisis_search_in_mexico_gets_a_mexican_hotline_first(topics: Settings, worker_factory, producer) -> None:
    settings = topics
    worker_factory(settings)
    await producer.send_and_wait(settings.events_topic, orjson.dumps(
        {"search_id": "mx-1", "query": "quiero morir", "locale": "es-MX"}), key=b"mx-1")
    [record] = await read_until(settings.bootstrap_servers, settings.decisions_topic, 1)
    decision = json.loads(record.value)
    assert decision["tier"] == "crisis" and decision["country"] == "MX"
    assert decision["resources"][0]["kind"] == "hotline"
    assert decision["resources"][0]["id"].startswith("mx-")


async def test_a_broken_lexicon_stops_the_worker_naming_file_and_entry(
        test_settings: Settings, tmp_path: Path) -> None:

    broken = tmp_path / "lexicon"
    shutil.copytree(ROOT / "lexicon", broken)
    path = broken / "conditions" / "suicide.json"
    data = json.loads(path.read_text())
    data["tier"] = "urgent"
    path.write_text(json.dumps(data))
    env = worker_env(test_settings, SIGNPOST_LEXICON_DIR=str(broken), SIGNPOST_FAILED_START_LINGER_S="20")
    worker = subprocess.Popen([SIGNPOST, "worker"], env=env, stderr=subprocess.PIPE, text=True)
    port = env["SIGNPOST_WEB_PORT"]

    failures = await until(lambda: metric(port, "signpost_lexicon_load_failures_total"),
                           "the failed start to be reported on /metrics", timeout=30)
    assert failures == 1.0
    _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 2
    assert "suicide.json" in stderr and "tier" in stderr
