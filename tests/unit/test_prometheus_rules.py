"""Prometheus config and alert rules, checked by Debian's promtool (installed by .ci/run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.prometheus


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:
        pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package (apt-get install prometheus)")
    return subprocess.run([PROMTOOL, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_prometheus_config_is_valid() -> None:
    result = promtool("check", "config", "ops/prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", "ops/prometheus/alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case_and_they_pass() -> None:
    import yaml

    alerts = {r["alert"] for g in yaml.safe_load((ROOT / "ops/prometheus/alerts.yml").read_text())["groups"]
              for r in g["rules"] if "alert" in r}
    firing, quiet = set(), set()
    for path in (ROOT / "ops/prometheus/tests").glob("*.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert alerts and alerts <= firing and alerts <= quiet, (alerts - firing, alerts - quiet)
    result = promtool("test", "rules", *[str(p) for p in (ROOT / "ops/prometheus/tests").glob("*.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
