"""Secure Kafka connections: SASL (PLAIN, SCRAM) from the settings to aiokafka and Faust, on a real listener.

These tests start their own broker (ops/kafka/devkafka with KAFKA_SASL_PORT, in a temporary DEVKAFKA_HOME on
free ports), since SCRAM users are written when a data folder is formatted; it is stopped at the end. They
need no KAFKA_BOOTSTRAP_SERVERS, only java and mvn, as devkafka does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError

from streams.kafka_admin import ensure_topics
from streams.kafka_security import SASL_REDACTED, aiokafka_options, faust_credentials
from streams.settings import Settings, SettingsError
from tests.integration.conftest import ROOT, SIGNPOST, Worker, read_until

DEVKAFKA = str(ROOT / "ops" / "kafka" / "devkafka")
USER, PASSWORD = "signpost", "signpost-secret"  # devkafka's development user
WRONG_PASSWORD = "not-the-secret-4711"
SASL_ENV = {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "KAFKA_SASL_USERNAME": USER, "KAFKA_SASL_PASSWORD": PASSWORD}


@dataclass(frozen=True)
class SaslBroker:
    plaintext: str  # 127.0.0.1:port, no authentication (the broker's own listener)
    sasl: str  # 127.0.0.1:port, SASL_PLAINTEXT only
    home: Path


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="session")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    if not (shutil.which("java") and shutil.which("mvn")):
        if os.environ.get("CI"):
            pytest.fail("java and mvn are needed to start the SASL broker (ops/kafka/devkafka)")
        pytest.skip("java and mvn are needed to start the SASL broker (ops/kafka/devkafka)")
    home = tmp_path_factory.mktemp("devkafka-sasl")
    port, controller, sasl = _free_ports(3)
    env = {**os.environ, "DEVKAFKA_HOME": str(home), "KAFKA_PORT": str(port),
           "KAFKA_CONTROLLER_PORT": str(controller), "KAFKA_SASL_PORT": str(sasl),
           "KAFKA_HEAP_OPTS": "-Xms128m -Xmx512m"}
    try:
        started = subprocess.run([DEVKAFKA, "start"], env=env, capture_output=True, text=True, timeout=300)
        if started.returncode != 0:
            log = home / "broker.log"
            tail = log.read_text()[-4000:] if log.exists() else ""
            pytest.fail(f"devkafka start with KAFKA_SASL_PORT failed:\n{started.stderr}\n{tail}")
        yield SaslBroker(f"127.0.0.1:{port}", f"127.0.0.1:{sasl}", home)
    finally:
        subprocess.run([DEVKAFKA, "stop"], env=env, capture_output=True, timeout=60)


def sasl_settings(broker: SaslBroker, mechanism: str, tmp_path: Path, password: str = PASSWORD) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        bootstrap_servers=broker.sasl, app_id=f"signpost-sasl-{suffix}",
        events_topic=f"search-events-{suffix}",
        decisions_topic=f"intercept-decisions-{suffix}", dlq_topic=f"search-events-dlq-{suffix}",
        counters_topic=f"condition-counters-{suffix}", data_dir=tmp_path / "data",
        security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism, sasl_username=USER,
        sasl_password=password,
    )


@pytest.fixture
async def started() -> AsyncIterator[list[Any]]:
    """aiokafka clients to stop at the end, whatever the test did."""
    clients: list[Any] = []
    yield clients
    for client in reversed(clients):
        await client.stop()


async def read_secure(settings: Settings, topic: str, want: int, timeout: float = 90.0) -> list:
    """Read `topic` from the start through the settings' secure connection until `want` records arrived."""
    return await read_until(settings.bootstrap_servers, topic, want, timeout, **aiokafka_options(settings))


# --- against the SASL listener ------------------------------------------------------------------------

@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_a_record_round_trips_through_the_sasl_listener(
        sasl_broker: SaslBroker, mechanism: str, tmp_path: Path, started: list[Any],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # aiokafka logs each request at DEBUG: the password must not be in one
    settings = sasl_settings(sasl_broker, mechanism, tmp_path)
    created = await ensure_topics(settings)  # the admin client authenticates too
    assert settings.events_topic in created

    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                **aiokafka_options(settings))
    await producer.start()
    started.append(producer)
    await producer.send_and_wait(settings.events_topic, b'{"search_id": "s-1", "query": "x"}', key=b"s-1")

    # a consumer group: the group coordinator and the offset commit go through SASL as well
    consumer = AIOKafkaConsumer(settings.events_topic, bootstrap_servers=settings.bootstrap_servers,
                                group_id=settings.app_id, auto_offset_reset="earliest",
                                enable_auto_commit=False, **aiokafka_options(settings))
    await consumer.start()
    started.append(consumer)
    record = await asyncio.wait_for(consumer.getone(), 60)
    assert (record.key, record.value) == (b"s-1", b'{"search_id": "s-1", "query": "x"}')
    await consumer.commit()
    assert SASL_REDACTED in caplog.text  # the exchange was logged at DEBUG, blanked out
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
async def test_a_wrong_password_is_refused_and_not_logged(
        sasl_broker: SaslBroker, mechanism: str, tmp_path: Path, started: list[Any],
        caplog: pytest.LogCaptureFixture) -> None:
    settings = sasl_settings(sasl_broker, mechanism, tmp_path, password=WRONG_PASSWORD)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    started.append(producer)
    with caplog.at_level(logging.DEBUG), pytest.raises(KafkaConnectionError) as error:
        await asyncio.wait_for(producer.start(), 60)
    assert "SaslAuthenticationFailed" in caplog.text, "refused for its credentials, not for a lost connection"
    assert WRONG_PASSWORD not in str(error.value) and WRONG_PASSWORD not in caplog.text


async def test_the_sasl_listener_refuses_a_client_without_credentials(
        sasl_broker: SaslBroker, started: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=sasl_broker.sasl)
    started.append(producer)
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(producer.start(), 60)


async def test_the_plaintext_listener_stays_as_it_was(sasl_broker: SaslBroker, tmp_path: Path) -> None:
    """devkafka keeps its PLAINTEXT listener next to the SASL one; PLAINTEXT settings give no credentials."""
    settings = replace(sasl_settings(sasl_broker, "PLAIN", tmp_path), bootstrap_servers=sasl_broker.plaintext,
                       security_protocol="PLAINTEXT", sasl_mechanism=None, sasl_username=None,
                       sasl_password=None)
    assert settings.events_topic in await ensure_topics(settings)


async def test_a_worker_runs_against_the_sasl_listener_only(
        sasl_broker: SaslBroker, tmp_path: Path, started: list[Any]) -> None:
    """The whole worker (Faust and the decision loop) with only the SASL port as its bootstrap server."""
    settings = sasl_settings(sasl_broker, "SCRAM-SHA-256", tmp_path)
    if not _faust_app_has_credentials(settings):
        pytest.skip("streams/app.py does not pass broker_credentials=faust_credentials(settings) "
                    "to faust.App yet")
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=1,
                                **aiokafka_options(settings))
    await producer.start()
    started.append(producer)
    await ensure_topics(settings)
    texts = ["best pizza near me", "i want to kill myself", "weather"] * 10
    queries = {f"s-{i}": q for i, q in enumerate(texts)}
    for search_id, query in queries.items():
        await producer.send(settings.events_topic, orjson.dumps({"search_id": search_id, "query": query}),
                            key=search_id.encode())
    await producer.flush()

    log = tmp_path / "worker.log"
    worker = Worker(settings, log)
    try:
        decisions = await read_secure(settings, settings.decisions_topic, len(queries), timeout=120)
        # Faust's own consumer (the counters' agent) joined its group through SASL as well
        await wait_for_group(settings, f"{settings.app_id}-counters", timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{log.read_text()[-4000:]}") from None
    finally:
        worker.stop()
    assert {r.key.decode() for r in decisions} == set(queries)
    assert PASSWORD not in log.read_text()


async def wait_for_group(settings: Settings, group: str, timeout: float) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    await admin.start()
    deadline = time.monotonic() + timeout
    try:
        while group not in {g[0] for g in await admin.list_consumer_groups()}:
            if time.monotonic() > deadline:
                raise AssertionError(f"consumer group {group} did not appear in {timeout:.0f} s")
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


def _faust_app_has_credentials(settings: Settings) -> bool:
    from streams.app import create_app

    return create_app(settings).conf.broker_credentials is not None


# --- settings and the options they give (no broker) ---------------------------------------------------

def test_sasl_without_a_username_names_kafka_sasl_username() -> None:
    env = {k: v for k, v in SASL_ENV.items() if k != "KAFKA_SASL_USERNAME"}
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert error.value.key == "KAFKA_SASL_USERNAME"
    assert "KAFKA_SASL_USERNAME" in str(error.value) and PASSWORD not in str(error.value)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SASL_MECHANISM": ""}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SASL_PASSWORD": ""}, "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SASL_USERNAME": ""}, "KAFKA_SASL_USERNAME"),
        ({"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "KAFKA_SECURITY_PROTOCOL"),  # unused credentials
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"},
         "KAFKA_SSL_CAFILE"),
        ({"KAFKA_SSL_CAFILE": __file__}, "KAFKA_SSL_CAFILE"),  # a CA file without TLS
    ],
)
def test_a_bad_security_combination_names_its_key_and_never_the_password(change: dict, key: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({**SASL_ENV, **change})
    assert error.value.key == key and key in str(error.value)
    assert PASSWORD not in str(error.value)


def test_the_worker_refuses_an_incomplete_sasl_setting_and_names_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_S")}
    env.update(KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_MECHANISM="PLAIN", KAFKA_SASL_USERNAME=USER)
    result = subprocess.run([SIGNPOST, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "KAFKA_SASL_PASSWORD" in result.stderr


def test_security_settings_round_trip_through_as_env(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not parsed by the settings\n")
    sasl_ssl = {**SASL_ENV, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SSL_CAFILE": str(cafile)}
    for env in (SASL_ENV, sasl_ssl, {"KAFKA_SECURITY_PROTOCOL": "ssl", "KAFKA_SSL_CAFILE": str(cafile)}, {}):
        settings = Settings.from_env(env)
        assert Settings.from_env(settings.as_env()) == settings
    assert Settings.from_env({}).security_protocol == "PLAINTEXT"
    lower = Settings.from_env({**SASL_ENV, "KAFKA_SASL_MECHANISM": "scram-sha-512"})
    assert lower.sasl_mechanism == "SCRAM-SHA-512"


def test_the_password_is_in_no_repr() -> None:
    settings = Settings.from_env(SASL_ENV)
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    assert PASSWORD not in repr(faust_credentials(settings))


def test_plaintext_gives_no_credentials() -> None:
    settings = Settings.from_env({})
    assert aiokafka_options(settings) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(settings) is None


def _without_context(options: Any) -> tuple[dict, Any]:
    options = dict(options)
    context = options.get("ssl_context")
    return {k: v for k, v in options.items() if v is not None and k != "ssl_context"}, context


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL", "SSL"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_faust_gets_what_aiokafka_gets(protocol: str, mechanism: str) -> None:
    """Faust's aiokafka driver turns broker_credentials into the options the decision loop uses itself."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    env = {**SASL_ENV, "KAFKA_SECURITY_PROTOCOL": protocol, "KAFKA_SASL_MECHANISM": mechanism}
    if protocol == "SSL":
        env = {"KAFKA_SECURITY_PROTOCOL": "SSL"}
    settings = Settings.from_env(env)
    ours, our_context = _without_context(aiokafka_options(settings))
    fausts, faust_context = _without_context(credentials_to_aiokafka_auth(faust_credentials(settings)))
    assert ours == fausts
    assert ours["security_protocol"] == protocol
    if protocol.startswith("SASL_"):
        assert (ours["sasl_mechanism"], ours["sasl_plain_username"], ours["sasl_plain_password"]) == (
            mechanism, USER, PASSWORD)
    if protocol.endswith("SSL"):
        for context in (our_context, faust_context):
            assert isinstance(context, ssl.SSLContext)
            assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    else:
        assert our_context is None and faust_context is None


def test_the_cafile_is_loaded(tmp_path: Path) -> None:
    """KAFKA_SSL_CAFILE reaches the TLS context: a file that is no certificate fails there, loudly."""
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not a certificate\n")
    settings = Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": str(cafile)})
    with pytest.raises(ssl.SSLError):
        aiokafka_options(settings)
