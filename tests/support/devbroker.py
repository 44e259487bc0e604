"""A broker of a test module's own: ops/kafka/devkafka in a temporary DEVKAFKA_HOME on free ports, with the
listeners (SASL_PLAINTEXT, SSL, SASL_SSL) and the authorizer it asks for; stopped at the end.

The security tests need their own: SCRAM users are written when a data folder is formatted, and ACLs and TLS
listeners are broker settings. Only java and mvn are needed, as for devkafka itself."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.worker import ROOT, free_ports

DEVKAFKA = str(ROOT / "ops" / "kafka" / "devkafka")
PORT_KEYS = {"SASL_PLAINTEXT": "KAFKA_SASL_PORT", "SSL": "KAFKA_SSL_PORT", "SASL_SSL": "KAFKA_SASL_SSL_PORT"}
ACL_TOOL = "org.apache.kafka.tools.AclCommand"  # what kafka-acls.sh runs


@dataclass(frozen=True)
class DevBroker:
    home: Path
    env: dict[str, str]
    ports: dict[str, int]  # listener -> port; "PLAINTEXT" is the broker's own (its super user with ACLs on)

    def bootstrap(self, listener: str) -> str:
        # the TLS listeners are advertised as, and certified for, "localhost" only
        host = "localhost" if listener.endswith("SSL") else "127.0.0.1"
        return f"{host}:{self.ports[listener]}"

    @property
    def cafile(self) -> Path:
        return self.home / "tls" / "ca.pem"

    def kafka_acls(self, command_line: str) -> None:
        """Runs one `kafka-acls.sh ...` line (as `signpost acls` prints them) with Kafka's own AclCommand, against
        the PLAINTEXT listener whatever --bootstrap-server the line names."""
        args = shlex.split(command_line, comments=True)
        assert args[0] == "kafka-acls.sh", command_line
        args = args[1:]
        if "--bootstrap-server" in args:
            at = args.index("--bootstrap-server")
            del args[at:at + 2]
        classpath = subprocess.run([DEVKAFKA, "classpath"], env=self.env, capture_output=True, text=True,
                                   check=True).stdout.strip()
        done = subprocess.run(["java", "-cp", classpath, ACL_TOOL, "--bootstrap-server",
                               self.bootstrap("PLAINTEXT"), *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command_line}\n{done.stdout}\n{done.stderr}"


@contextmanager
def devbroker(home: Path, listeners: tuple[str, ...], acls: bool = False) -> Iterator[DevBroker]:
    if not (shutil.which("java") and shutil.which("mvn")):
        if os.environ.get("CI"):
            pytest.fail("java and mvn are needed to start a broker (ops/kafka/devkafka)")
        pytest.skip("java and mvn are needed to start a broker (ops/kafka/devkafka)")
    port, controller, *others = free_ports(2 + len(listeners))
    ports = {"PLAINTEXT": port, **dict(zip(listeners, others, strict=True))}
    env = {**os.environ, "DEVKAFKA_HOME": str(home), "KAFKA_PORT": str(port),
           "KAFKA_CONTROLLER_PORT": str(controller), "KAFKA_HEAP_OPTS": "-Xms128m -Xmx512m",
           **{PORT_KEYS[name]: str(ports[name]) for name in listeners}}
    if acls:
        env["KAFKA_ACLS"] = "1"
    try:
        started = subprocess.run([DEVKAFKA, "start"], env=env, capture_output=True, text=True, timeout=300)
        if started.returncode != 0:
            log = home / "broker.log"
            tail = log.read_text()[-4000:] if log.exists() else ""
            pytest.fail(f"devkafka start ({', '.join(listeners)}) failed:\n{started.stderr}\n{tail}")
        yield DevBroker(home, env, ports)
    finally:
        subprocess.run([DEVKAFKA, "stop"], env=env, capture_output=True, timeout=60)
