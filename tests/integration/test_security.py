"""Secure Kafka connections: SASL (PLAIN, SCRAM) from the settings to aiokafka and Faust, on a real listener.

These tests start their own broker (tests/support/devbroker.py: devkafka with SASL_PLAINTEXT, SSL and SASL_SSL
listeners, the TLS ones certified for "localhost" by a throwaway CA), since SCRAM users are written when a data
folder is formatted; it is stopped at the end. They need no KAFKA_BOOTSTRAP_SERVERS, only java and mvn.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError

from streams.kafka_admin import ensure_topics
from streams.kafka_security import SASL_REDACTED, aiokafka_options
from streams.settings import Settings
from tests.support.devbroker import DevBroker, devbroker
from tests.support.kafka import PASSWORD, USER, read_until
from tests.support.worker import Worker

WRONG_PASSWORD = "not-the-secret-4711"


@pytest.fixture(scope="session")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevBroker]:
    """SASL_PLAINTEXT, SSL and SASL_SSL listeners beside the broker's PLAINTEXT one; no authorizer."""
    with devbroker(tmp_path_factory.mktemp("devkafka-secure"), ("SASL_PLAINTEXT", "SSL", "SASL_SSL")) as broker:
        yield broker


def sasl_settings(broker: DevBroker, mechanism: str, tmp_path: Path, password: str = PASSWORD) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        bootstrap_servers=broker.bootstrap("SASL_PLAINTEXT"), app_id=f"signpost-sasl-{suffix}",
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
        sasl_broker: DevBroker, mechanism: str, tmp_path: Path, started: list[Any],
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
        sasl_broker: DevBroker, mechanism: str, tmp_path: Path, started: list[Any],
        caplog: pytest.LogCaptureFixture) -> None:
    settings = sasl_settings(sasl_broker, mechanism, tmp_path, password=WRONG_PASSWORD)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    started.append(producer)
    with caplog.at_level(logging.DEBUG), pytest.raises(KafkaConnectionError) as error:
        await asyncio.wait_for(producer.start(), 60)
    assert "SaslAuthenticationFailed" in caplog.text, "refused for its credentials, not for a lost connection"
    assert WRONG_PASSWORD not in str(error.value) and WRONG_PASSWORD not in caplog.text


async def test_the_sasl_listener_refuses_a_client_without_credentials(
        sasl_broker: DevBroker, started: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=sasl_broker.bootstrap("SASL_PLAINTEXT"))
    started.append(producer)
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(producer.start(), 60)


async def test_the_plaintext_listener_stays_as_it_was(sasl_broker: DevBroker, tmp_path: Path) -> None:
    """devkafka keeps its PLAINTEXT listener next to the SASL one; PLAINTEXT settings give no credentials."""
    settings = replace(sasl_settings(sasl_broker, "PLAIN", tmp_path),
                       bootstrap_servers=sasl_broker.bootstrap("PLAINTEXT"),
                       security_protocol="PLAINTEXT", sasl_mechanism=None, sasl_username=None,
                       sasl_password=None)
    assert settings.events_topic in await ensure_topics(settings)


async def test_a_worker_runs_against_the_sasl_listener_only(
        sasl_broker: DevBroker, tmp_path: Path, started: list[Any]) -> None:
    """The whole worker (Faust and the decision loop) with only the SASL port as its bootstrap server."""
    settings = sasl_settings(sasl_broker, "SCRAM-SHA-256", tmp_path)
    queries = {f"s-{i}": q for i, q in enumerate(["best pizza near me", "i want to kill myself", "weather"] * 10)}
    # Faust's own consumer (the counters' agent) joins its group through SASL as well
    decisions, log = await decided_by_a_worker(settings, queries, tmp_path, started,
                                               then=lambda: wait_for_group(settings, f"{settings.app_id}-counters", 60))
    assert {r.key.decode() for r in decisions} == set(queries)
    assert PASSWORD not in log


async def decided_by_a_worker(settings: Settings, queries: dict[str, str], tmp_path: Path, started: list[Any],
                              then: Callable[[], Awaitable[None]] | None = None) -> tuple[list[Any], str]:
    """The searches sent through the settings' secure connection, a whole worker started on it alone, and its
    decisions read back the same way (awaiting `then` too, before the worker stops); and the worker's log."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=1,
                                **aiokafka_options(settings))
    await producer.start()
    started.append(producer)
    for search_id, query in queries.items():
        await producer.send(settings.events_topic, orjson.dumps({"search_id": search_id, "query": query}),
                            key=search_id.encode())
    await producer.flush()
    log = tmp_path / "worker.log"
    worker = Worker(settings, log)
    try:
        decisions = await read_secure(settings, settings.decisions_topic, len(queries), timeout=120)
        if then is not None:
            await then()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{log.read_text()[-4000:]}") from None
    finally:
        worker.stop()
    return decisions, log.read_text()


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


# --- TLS: the SSL and SASL_SSL listeners --------------------------------------------------------------------

def tls_settings(broker: DevBroker, listener: str, tmp_path: Path) -> Settings:
    base = sasl_settings(broker, "SCRAM-SHA-512", tmp_path)
    if listener == "SSL":
        base = replace(base, security_protocol="PLAINTEXT", sasl_mechanism=None, sasl_username=None,
                       sasl_password=None)
    return replace(base, bootstrap_servers=broker.bootstrap(listener), security_protocol=listener,
                   ssl_cafile=broker.cafile)


@pytest.mark.parametrize("listener", ["SSL", "SASL_SSL"])
async def test_a_worker_decides_over_tls(sasl_broker: DevBroker, listener: str, tmp_path: Path,
                                         started: list[Any]) -> None:
    """The whole worker with only a TLS listener as its bootstrap server, the broker checked against the CA."""
    settings = tls_settings(sasl_broker, listener, tmp_path)
    queries = {f"t-{i}": q for i, q in enumerate(["quiero morir", "weather tomorrow", "am i autistic"] * 5)}
    decisions, _ = await decided_by_a_worker(settings, queries, tmp_path, started)
    assert {r.key.decode() for r in decisions} == set(queries)
    tiers = {r.key.decode(): orjson.loads(r.value)["tier"] for r in decisions}
    assert tiers["t-0"] == "crisis" and tiers["t-1"] is None


def other_ca(tmp_path: Path) -> Path:
    """A CA the broker's certificate was not signed by (JDK keytool, as devkafka's own)."""
    store, pem = tmp_path / "other-ca.p12", tmp_path / "other-ca.pem"
    common = ["-keystore", str(store), "-storetype", "PKCS12", "-storepass", "other-ca-store"]
    subprocess.run(["keytool", "-genkeypair", "-alias", "ca", "-dname", "CN=not the broker's CA", "-keyalg", "RSA",
                    "-validity", "2", "-ext", "bc:c", *common], check=True, capture_output=True)
    subprocess.run(["keytool", "-exportcert", "-rfc", "-alias", "ca", "-file", str(pem), *common], check=True,
                   capture_output=True)
    return pem


async def test_a_client_trusting_another_ca_is_refused(sasl_broker: DevBroker, tmp_path: Path,
                                                       started: list[Any], caplog: pytest.LogCaptureFixture) -> None:
    settings = replace(tls_settings(sasl_broker, "SSL", tmp_path), ssl_cafile=other_ca(tmp_path))
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    started.append(producer)
    with caplog.at_level(logging.ERROR), pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(producer.start(), 60)
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text and "mismatch" not in caplog.text


async def test_the_broker_name_is_verified(sasl_broker: DevBroker, tmp_path: Path, started: list[Any],
                                           caplog: pytest.LogCaptureFixture) -> None:
    """The right CA, but the broker reached as 127.0.0.1, a name its certificate (for localhost) does not hold."""
    settings = tls_settings(sasl_broker, "SSL", tmp_path)
    by_address = f"127.0.0.1:{sasl_broker.ports['SSL']}"
    producer = AIOKafkaProducer(bootstrap_servers=by_address, **aiokafka_options(settings))
    started.append(producer)
    with caplog.at_level(logging.ERROR), pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(producer.start(), 60)
    assert "IP address mismatch" in caplog.text
