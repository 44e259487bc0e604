"""Security settings and the options they give aiokafka and Faust (no broker)."""

from __future__ import annotations

import os
import ssl
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from streams.kafka_security import aiokafka_options, faust_credentials
from streams.settings import Settings, SettingsError
from tests.support.kafka import PASSWORD, SASL_ENV, USER
from tests.support.worker import SIGNPOST


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


@pytest.mark.parametrize("env", [
    SASL_ENV,
    {**SASL_ENV, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SSL_CAFILE": "{cafile}"},
    {"KAFKA_SECURITY_PROTOCOL": "ssl", "KAFKA_SSL_CAFILE": "{cafile}"},
    {},
], ids=["sasl-plaintext", "sasl-ssl", "ssl", "plaintext"])
def test_security_settings_round_trip_through_as_env(env: dict[str, str], tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not parsed by the settings\n")
    settings = Settings.from_env({k: v.format(cafile=cafile) for k, v in env.items()})
    assert Settings.from_env(settings.as_env()) == settings


def test_security_defaults_to_plaintext_and_mechanisms_are_case_blind() -> None:
    assert Settings.from_env({}).security_protocol == "PLAINTEXT"
    lower = Settings.from_env({**SASL_ENV, "KAFKA_SASL_MECHANISM": "scram-sha-512"})
    assert lower.sasl_mechanism == "SCRAM-SHA-512"


def test_the_faust_app_gets_the_sasl_credentials(tmp_path: Path) -> None:
    """Guards the SASL worker test: without broker_credentials Faust's own consumers could not join."""
    from streams.app import create_app

    settings = replace(Settings.from_env(SASL_ENV), data_dir=tmp_path / "data")
    assert create_app(settings).conf.broker_credentials is not None


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
