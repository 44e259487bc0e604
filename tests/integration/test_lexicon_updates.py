"""Lexicon versions published on the lexicon topic, followed by workers on the real broker: a switch between
batches that loses nothing, a broken version refused, a restart on the published version, two workers
converging, a rollback, a deployment overlay."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import orjson

from streams.core.lexicon import compile_lexicon, load_lexicon, read_folder
from streams.kafka_admin import ensure_lexicon_topic
from streams.lexicon_topic import Published, from_files, publish, read_topic
from streams.settings import Settings
from tests.support.kafka import read_all, read_until, until
from tests.support.worker import ROOT, SIGNPOST, Worker, worker_env

FILES_VERSION = load_lexicon().version
CRISIS = ("i want to kill myself", "en-GB", "GB")


def changed_copy(tmp_path: Path, version: str = "1.0.1") -> Path:
    """The repository's lexicon with a new manifest version (so a new content version)."""
    target = tmp_path / f"lexicon-{version}"
    shutil.copytree(ROOT / "lexicon", target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["version"] = version
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    return target


async def publish_folder(settings: Settings, folder: Path) -> str:
    files = read_folder(folder)
    lexicon = compile_lexicon(files)
    await ensure_lexicon_topic(settings)
    await publish(settings, from_files(lexicon, files, None, "test"), {})
    return lexicon.version


async def publish_broken(settings: Settings) -> None:
    files = dict(read_folder(ROOT / "lexicon").files)
    suicide = json.loads(files["conditions/suicide.json"])
    suicide["tier"] = "urgent"
    files["conditions/suicide.json"] = json.dumps(suicide).encode()
    await ensure_lexicon_topic(settings)
    await publish(settings, Published("1.0.2+broken", files, None, int(time.time() * 1000), "test"), {})


def live_version(worker: Worker) -> str | None:
    """The version in the worker's signpost_lexicon_info series (None until it answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=2) as response:
            found = re.search(r'^signpost_lexicon_info\{version="([^"]+)"\} 1\.0$', response.read().decode(), re.M)
    except OSError:
        return None
    return found.group(1) if found else None


def search(search_id: str, query: str = "how to deal with anxiety", locale: str = "en-US",
           country: str | None = None) -> bytes:
    return orjson.dumps({"search_id": search_id, "query": query, "locale": locale, "country": country,
                         "user_id": f"user-{search_id}"})


async def decided_version(settings: Settings, producer, search_id: str, want: int) -> str:
    """Sends one search and returns the lexicon version of its decision (the `want`-th on the topic)."""
    await producer.send_and_wait(settings.events_topic, search(search_id), key=search_id.encode())
    records = await read_until(settings.bootstrap_servers, settings.decisions_topic, want)
    decision = next(json.loads(r.value) for r in records if r.key == search_id.encode())
    return str(decision["lexicon_version"])


async def test_a_steady_stream_switches_version_once_between_batches_and_every_search_gets_one_decision(
        topics: Settings, worker_factory, producer, tmp_path: Path) -> None:
    settings = topics
    worker = worker_factory(settings)
    new_dir = changed_copy(tmp_path)
    sent: list[str] = []
    stop = asyncio.Event()

    async def stream() -> None:
        while not stop.is_set():
            search_id = f"s-{len(sent)}"
            await producer.send(settings.events_topic, search(search_id), key=search_id.encode())
            sent.append(search_id)
            await asyncio.sleep(0.004)  # pacing: a steady stream of about 250 searches a second

    streaming = asyncio.create_task(stream())
    try:
        await until(lambda: worker.decided() >= 200, "the worker deciding the stream", timeout=120)
        new_version = await publish_folder(settings, new_dir)
        await until(lambda: live_version(worker) == new_version, "the worker switching to the new version")
        switched_at = len(sent)
        await until(lambda: worker.decided() >= switched_at + 200, "decisions after the switch")
        await until(lambda: worker.metric("signpost_lexicon_switch_longest_pause_seconds") > 0,
                    "the old version freed in the turns the decision loop gave, the longest pause shown")
    finally:
        stop.set()
        await streaming
    await producer.flush()
    await read_until(settings.bootstrap_servers, settings.decisions_topic, len(sent))
    worker.stop()
    decisions = await read_all(settings.bootstrap_servers, settings.decisions_topic)

    per_search = Counter(r.key.decode() for r in decisions)
    assert set(per_search) == set(sent) and max(per_search.values()) == 1, "one decision a search, none lost"
    by_partition: dict[int, list[str]] = {}
    for record in sorted(decisions, key=lambda r: (r.partition, r.offset)):
        by_partition.setdefault(record.partition, []).append(json.loads(record.value)["lexicon_version"])
    for versions in by_partition.values():
        runs = [v for i, v in enumerate(versions) if i == 0 or versions[i - 1] != v]
        assert runs in ([FILES_VERSION, new_version], [new_version], [FILES_VERSION]), runs
    old = [json.loads(r.value)["decided_at_ms"] for r in decisions if b'"lexicon_version":"1.0.0+' in r.value]
    new = [json.loads(r.value)["decided_at_ms"] for r in decisions if new_version.encode() in r.value]
    assert old and new and max(old) <= min(new), "one switch for the whole worker: every old batch came first"


async def test_a_broken_version_is_refused_with_the_metric_and_the_file_and_entry_and_the_old_one_decides(
        topics: Settings, worker_factory, producer) -> None:
    settings = topics
    worker = worker_factory(settings)
    assert await decided_version(settings, producer, "before", 1) == FILES_VERSION
    await publish_broken(settings)
    await until(lambda: worker.metric("signpost_lexicon_versions_refused_total") >= 1, "the refusal counted")
    line = next(line for line in worker.log.read_text(errors="replace").splitlines() if "refused" in line)
    assert "conditions/suicide.json" in line and "entry tier" in line and "urgent" in line
    assert await decided_version(settings, producer, "after", 2) == FILES_VERSION
    assert live_version(worker) == FILES_VERSION


async def test_a_restarted_worker_comes_up_on_the_published_version_not_its_files(
        topics: Settings, worker_factory, producer, tmp_path: Path) -> None:
    settings = topics
    first = worker_factory(settings)
    await until(lambda: live_version(first) == FILES_VERSION, "the first worker up on its files")
    new_version = await publish_folder(settings, changed_copy(tmp_path))
    await until(lambda: live_version(first) == new_version, "the first worker switching")
    first.stop()
    second = worker_factory(settings)
    assert await decided_version(settings, producer, "after-restart", 1) == new_version
    assert live_version(second) == new_version
    assert second.metric("signpost_lexicon_published_timestamp_seconds") > 0


async def test_two_workers_converge_on_a_published_version(topics: Settings, worker_factory, tmp_path: Path) -> None:
    settings = topics
    workers = [worker_factory(settings), worker_factory(settings)]
    await until(lambda: all(live_version(w) == FILES_VERSION for w in workers), "both workers up")
    new_version = await publish_folder(settings, changed_copy(tmp_path))
    published = time.monotonic()
    await until(lambda: all(live_version(w) == new_version for w in workers), "both workers on the new version")
    print(f"both workers switched {time.monotonic() - published:.1f} s after the publish")  # a figure, not a check
    switched = [w.metric("signpost_lexicon_switched_timestamp_seconds") for w in workers]
    assert all(s > 0 for s in switched)


async def test_a_rollback_makes_the_earlier_version_live_again(topics: Settings, worker_factory, producer,
                                                               tmp_path: Path) -> None:
    settings = topics
    await publish_folder(settings, ROOT / "lexicon")
    new_version = await publish_folder(settings, changed_copy(tmp_path))
    worker = worker_factory(settings)
    assert await decided_version(settings, producer, "before-rollback", 1) == new_version
    result = subprocess.run([SIGNPOST, "lexicon", "publish", "--version", FILES_VERSION, "--reason", "test"],
                            env=worker_env(settings), cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{new_version} -> {FILES_VERSION}" in result.stdout, "the diff against the live version is shown"
    await until(lambda: live_version(worker) == FILES_VERSION, "the worker back on the earlier version")
    assert await decided_version(settings, producer, "after-rollback", 2) == FILES_VERSION
    records, _ = await read_topic(settings, {})
    assert [r.key.decode() for r in records] == [FILES_VERSION, new_version, FILES_VERSION]


async def test_publish_refuses_a_lexicon_below_the_floors_and_publishes_nothing(topics: Settings,
                                                                                tmp_path: Path) -> None:
    settings = topics
    weak = changed_copy(tmp_path)
    suicide = json.loads((weak / "conditions/suicide.json").read_text())
    suicide["tier"] = "info"  # suicide searches would get no crisis line
    (weak / "conditions/suicide.json").write_text(json.dumps(suicide, ensure_ascii=False))
    result = subprocess.run([SIGNPOST, "lexicon", "publish", str(weak)], env=worker_env(settings), cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "BELOW queries.jsonl recall crisis" in result.stdout and "REFUSED" in result.stdout
    assert await read_topic(settings, {}) == ([], 0)


async def test_an_overlay_partner_line_comes_first_in_its_country_and_its_never_intercept_term_is_not_intercepted(
        topics: Settings, worker_factory, producer) -> None:
    settings = topics
    worker_factory(settings, SIGNPOST_LEXICON_OVERLAY=str(ROOT / "examples" / "overlay"))
    query, locale, country = CRISIS
    await producer.send(settings.events_topic, search("crisis", query, locale, country), key=b"crisis")
    await producer.send(settings.events_topic, search("game", "depression quest download"), key=b"game")
    await producer.flush()
    records = await read_until(settings.bootstrap_servers, settings.decisions_topic, 2)
    decisions = {r.key.decode(): json.loads(r.value) for r in records}
    assert decisions["crisis"]["resources"][0]["id"] == "example-platform-gb-chat"
    assert "gb-samaritans" in [r["id"] for r in decisions["crisis"]["resources"]]
    assert decisions["game"]["intercept"] is False
    assert decisions["crisis"]["lexicon_version"].startswith(f"{FILES_VERSION}/example-platform@1.0.0+")
