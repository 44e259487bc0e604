"""A cluster of a test module's own: `ops/kafka/devkafka start --brokers N` in a temporary DEVKAFKA_HOME on free
consecutive ports (N brokers, then the controller); its brokers are killed, stopped and started by number."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.devbroker import DEVKAFKA


@dataclass(frozen=True)
class DevCluster:
    home: Path
    env: dict[str, str]
    ports: tuple[int, ...]  # broker N listens on ports[N - 1]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def devkafka(self, *args: str) -> str:
        done = subprocess.run([DEVKAFKA, *args], env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"devkafka {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    async def run(self, *args: str) -> str:
        """`devkafka ARGS` without blocking the event loop (the stream and the worker's readers go on)."""
        return await asyncio.to_thread(self.devkafka, *args)

    def all_up(self) -> None:
        self.devkafka("start", "--brokers", str(len(self.ports)))  # starts the nodes stopped before, if any

    async def leader(self, topic: str, partition: int = 0) -> int:
        """The broker (node id = broker number) leading `topic`'s partition now."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            [described] = await admin.describe_topics([topic])
            return int(next(p["leader"] for p in described["partitions"] if p["partition"] == partition))
        finally:
            await admin.close()


def consecutive_free_ports(count: int, base: int | None = None) -> list[int]:
    """`count` consecutive ports free on 127.0.0.1 now (devkafka puts a cluster's brokers on consecutive ports),
    from `base` if given (KAFKA_CLUSTER_PORT: a machine shared with other clusters), else anywhere."""
    for _ in range(1 if base else 200):
        first = base or random.randrange(20000, 60000 - count)
        sockets = [socket.socket() for _ in range(count)]
        try:
            for port, s in zip(range(first, first + count), sockets, strict=True):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Kafka binds: TIME_WAIT is free
                s.bind(("127.0.0.1", port))
            return list(range(first, first + count))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError(f"no {count} consecutive free ports" + (f" from {base}" if base else ""))


@contextmanager
def devcluster(home: Path, brokers: int = 3) -> Iterator[DevCluster]:
    if not (shutil.which("java") and shutil.which("mvn")):
        if os.environ.get("CI"):
            pytest.fail("java and mvn are needed to start a cluster (ops/kafka/devkafka)")
        pytest.skip("java and mvn are needed to start a cluster (ops/kafka/devkafka)")
    fixed = os.environ.get("KAFKA_CLUSTER_PORT")
    *ports, controller = consecutive_free_ports(brokers + 1, int(fixed) if fixed else None)
    env = {key: value for key, value in os.environ.items()
           if key not in ("KAFKA_SASL_PORT", "KAFKA_SSL_PORT", "KAFKA_SASL_SSL_PORT", "KAFKA_ACLS")}
    env.update(DEVKAFKA_HOME=str(home), KAFKA_PORT=str(ports[0]), KAFKA_CLUSTER_CONTROLLER_PORT=str(controller))
    cluster = DevCluster(home, env, tuple(ports))
    try:
        cluster.all_up()
        yield cluster
    finally:
        subprocess.run([DEVKAFKA, "stop"], env=env, capture_output=True, timeout=120)
