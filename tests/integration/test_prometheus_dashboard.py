"""A real Prometheus server scrapes a worker deciding real traffic; every dashboard query returns data."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import orjson
import pytest

from streams.settings import Settings
from tests.support.kafka import read_until, until
from tests.support.worker import ROOT, free_port

pytestmark = pytest.mark.prometheus


def query(port: int, expr: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", (expr, body)
    return body["data"]["result"]


def dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads((ROOT / "ops/grafana/dashboards/signpost.json").read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


async def test_every_dashboard_panel_query_returns_data_from_a_live_worker(
        topics: Settings, worker_factory, producer, tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is missing: .ci/run installs Debian's prometheus package")
    settings = topics
    web_port, prom_port = free_port(), free_port()
    worker_factory(settings, SIGNPOST_WEB_PORT=str(web_port))

    config = tmp_path / "prometheus.yml"
    shutil.copy(ROOT / "ops/prometheus/alerts.yml", tmp_path / "alerts.yml")
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [alerts.yml]\n"
        "scrape_configs:\n"
        f"  - job_name: signpost-worker\n    static_configs: [{{targets: ['127.0.0.1:{web_port}']}}]\n"
    )
    server = subprocess.Popen(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=(tmp_path / "prometheus.log").open("wb"), stderr=subprocess.STDOUT)
    feeding = asyncio.create_task(feed(producer, settings))
    try:
        await until(lambda: query(prom_port, 'up{job="signpost-worker"} == 1'), "the worker to be scraped")
        await until(lambda: query(prom_port, "rate(signpost_events_total[1m]) > 0"), "events to be counted")
        await until(lambda: query(prom_port, 'increase(signpost_decisions_total{tier="crisis"}[1m]) > 0'),
                    "crisis decisions to be counted")
        await until(lambda: query(prom_port, "sum(rate(signpost_dead_letters_total[1m])) > 0"), "dead letters")
        empty = [(title, expr) for title, expr in dashboard_exprs() if not query(prom_port, expr)]
        assert not empty, f"panels without data: {empty}"
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/rules", timeout=10) as response:
            groups = json.load(response)["data"]["groups"]
        assert all(rule["health"] == "ok" for group in groups for rule in group["rules"])
    finally:
        feeding.cancel()
        server.terminate()
        server.wait(30)
    await read_until(settings.bootstrap_servers, settings.decisions_topic, 1)


async def feed(producer, settings: Settings) -> None:
    queries = ["best pizza near me", "i want to die", "how to deal with anxiety", "am i autistic", "weather"]
    i = 0
    while True:
        i += 1
        value = orjson.dumps({"search_id": f"p-{i}", "query": queries[i % len(queries)], "user_id": f"u{i % 50}"})
        await producer.send(settings.events_topic, value if i % 20 else b"{broken", key=f"p-{i}".encode())
        await asyncio.sleep(0.01)  # pacing: about 100 searches a second
