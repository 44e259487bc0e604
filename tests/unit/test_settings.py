from __future__ import annotations

import pytest

from streams.settings import Settings, SettingsError


def test_defaults_match_the_documented_contract() -> None:
    s = Settings.from_env({})
    assert (s.bootstrap_servers, s.app_id, s.events_topic, s.decisions_topic, s.dlq_topic, s.counters_topic,
            s.web_port, s.processing_guarantee) == (
        "localhost:9092", "signpost", "search-events", "intercept-decisions", "search-events-dlq",
        "condition-counters", 6066, "at_least_once")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SIGNPOST_WEB_PORT", "http"),
        ("SIGNPOST_WEB_PORT", "70000"),
        ("SIGNPOST_PROCESSING_GUARANTEE", "at_most_once"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost"),
        ("SIGNPOST_EVENTS_TOPIC", "search events"),
        ("SIGNPOST_LOG_LEVEL", "chatty"),
        ("SIGNPOST_WEB_HOST", "everywhere"),
        ("SIGNPOST_REPLICATION_FACTOR", "three"),
        ("SIGNPOST_REPLICATION_FACTOR", "0"),
    ],
)
def test_a_bad_setting_names_its_key(key: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({key: value})
    assert key in str(error.value)


def test_exactly_once_is_accepted() -> None:
    assert Settings.from_env({"SIGNPOST_PROCESSING_GUARANTEE": "exactly_once"}).processing_guarantee == "exactly_once"


def test_the_web_server_binds_to_loopback_unless_told() -> None:
    assert Settings().web_host == "127.0.0.1"
    assert Settings.from_env({"SIGNPOST_WEB_HOST": "0.0.0.0"}).web_host == "0.0.0.0"


def test_the_replication_factor_is_the_clusters_unless_told() -> None:
    assert Settings.from_env({}).replication_factor is None  # min(3, brokers): streams/kafka_admin.py
    assert Settings.from_env({"SIGNPOST_REPLICATION_FACTOR": "3"}).replication_factor == 3


def test_a_few_choices_are_read_whatever_their_case() -> None:
    settings = Settings.from_env({"SIGNPOST_LOG_LEVEL": "info", "KAFKA_SECURITY_PROTOCOL": "ssl"})
    assert (settings.log_level, settings.security_protocol) == ("INFO", "SSL")
