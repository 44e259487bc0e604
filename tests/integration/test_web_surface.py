"""The worker's HTTP port serves /metrics, /healthz and /readyz, and nothing else (streams/web.py).

Faust's built-in views (its index, /router/, /table/ that can read a table's keys, /graph/, /stats/) would tell
anyone who can reach the port the counters' topics and partitions; a real worker must answer them 404.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from streams.settings import Settings
from tests.support.kafka import until
from tests.support.worker import Worker

pytestmark = pytest.mark.integration

FAUST_VIEWS = ["/", "/router/", "/router", "/table/", "/table/counter-cells/", "/table/counter-cells/x/",
               "/graph/", "/stats/", "/performance/", "/signpost/", "/metrics/../router/", "/healthz/x"]


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def test_only_metrics_and_health_are_served(topics: Settings,
                                                  worker_factory: Callable[..., Worker]) -> None:
    worker = worker_factory(topics)
    await until(lambda: get(worker.web_port, "/readyz")[0] == 200, "the worker to report ready", timeout=90)

    assert get(worker.web_port, "/healthz") == (200, "ok\n")
    assert get(worker.web_port, "/readyz") == (200, "deciding\n")
    status, body = get(worker.web_port, "/metrics")
    assert status == 200 and "signpost_events_total" in body
    for path in FAUST_VIEWS:
        status, body = get(worker.web_port, path)
        assert status == 404, f"{path} answered {status}: {body[:200]}"
        assert "counter" not in body and "changelog" not in body, path

