"""docker-compose.yml checked statically (no Docker engine here): it parses and agrees with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from streams.kafka_admin import DLQ_RETENTION_MS
from streams.settings import _ENV, Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_are_kafka_topic_init_two_workers_and_demo_traffic() -> None:
    services = compose()["services"]
    assert {"kafka", "topic-init", "worker", "demo-traffic"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] == 2
    assert (ROOT / services["worker"]["build"] / "Dockerfile").is_file()
    assert services["demo-traffic"]["image"] == services["worker"]["image"]


def test_every_signpost_variable_in_compose_is_a_real_setting_with_a_valid_value() -> None:
    known = set(_ENV.values())
    for name in ("worker", "demo-traffic"):
        env = compose()["services"][name]["environment"]
        assert set(env) <= known, set(env) - known
        settings = Settings.from_env({k: str(v) for k, v in env.items()})
        assert settings.bootstrap_servers.split(":")[0] == "kafka"


def test_topic_init_creates_the_topics_the_workers_use() -> None:
    services = compose()["services"]
    script = " ".join(services["topic-init"]["command"])
    env = services["worker"]["environment"]
    for key in ("SIGNPOST_EVENTS_TOPIC", "SIGNPOST_DECISIONS_TOPIC", "SIGNPOST_DLQ_TOPIC", "SIGNPOST_COUNTERS_TOPIC"):
        assert env[key] in script
    # the dead letters hold raw searches: the same retention as the worker gives the topic it creates
    assert f"--topic {env['SIGNPOST_DLQ_TOPIC']} " in script
    assert f"--config retention.ms={DLQ_RETENTION_MS}" in script


def test_the_kafka_listener_is_what_the_workers_dial() -> None:
    kafka = compose()["services"]["kafka"]["environment"]
    assert "kafka:9092" in kafka["KAFKA_ADVERTISED_LISTENERS"]


def test_prometheus_and_grafana_are_wired_to_the_repo_files() -> None:
    services = compose()["services"]
    mounts = {m.split(":")[0]: m.split(":")[1] for s in ("prometheus", "grafana") for m in services[s]["volumes"]}
    assert mounts["./ops/prometheus"] == "/etc/prometheus"
    assert mounts["./ops/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert mounts["./ops/grafana/dashboards"] == "/var/lib/grafana/dashboards"
    provider = yaml.safe_load((ROOT / "ops/grafana/provisioning/dashboards/signpost.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    scrape = yaml.safe_load((ROOT / "ops/prometheus/prometheus.yml").read_text())["scrape_configs"][0]
    port = int(services["worker"]["environment"]["SIGNPOST_WEB_PORT"])
    # Prometheus scrapes the workers from its own container: they must listen beyond loopback
    assert services["worker"]["environment"]["SIGNPOST_WEB_HOST"] == "0.0.0.0"
    assert scrape["dns_sd_configs"][0]["names"] == ["worker"] and scrape["dns_sd_configs"][0]["port"] == port
