"""The pass-through loops `make bench` sets beside the worker: what each Kafka client costs on its own.

Each reads the same N searches from the earliest offset with its own consumer group, decodes each one, writes
a small record per search (the shape of a decision that intercepts nothing) on the search's partition of its
own topic, and commits a batch's offsets only once the broker has acknowledged its records (at least once,
like the worker). Timed from the first record fetched to the last batch committed; CPU is the process's, all
its threads (librdkafka's and the JVM's included).
- aiokafka, batched: `getmany`, whole aiokafka batches per partition (`create_batch`/`send_batch`), the
  worker's consumer and producer settings.
- confluent-kafka (librdkafka): `consume(1000)`, `produce` per record, `flush()` before a synchronous commit.
- Kafka's Java client with Jackson (bench/jvm/PassThrough.java), on the jars ops/kafka/devkafka already has
  from Maven; JIT warm-up included.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.harness import BenchError

ROOT = Path(__file__).resolve().parents[1]
JVM_SOURCE = ROOT / "bench" / "jvm" / "PassThrough.java"
JVM_BUILD = ROOT / "bench" / "jvm" / "build"


def record(search: dict[str, Any]) -> bytes:
    return orjson.dumps({"search_id": search["search_id"], "intercept": False, "tier": None,
                         "locale": search.get("locale"), "decided_at_ms": int(time.time() * 1000)})


def figures(events: int, seconds: float, cpu_seconds: float) -> dict[str, float]:
    return {"events": events, "seconds": seconds, "events_per_second": events / seconds,
            "cpu_us_per_event": cpu_seconds / events * 1e6, "cpu_share": cpu_seconds / seconds}


async def aiokafka_batched(bootstrap: str, source: str, sink: str, group: str, count: int) -> dict[str, float]:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=1000, fetch_max_wait_ms=5)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=0,
                                max_batch_size=256 * 1024)  # the decision loop's producer
    await consumer.start()
    await producer.start()
    try:
        partitions = len(await producer.partitions_for(sink))
        forwarded, first, cpu = 0, 0.0, 0.0
        while forwarded < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            if not batches:
                continue
            if not first:
                first, cpu = time.perf_counter(), time.process_time()
            builders: dict[int, Any] = {}
            full: list[tuple[int, Any]] = []
            for records in batches.values():
                for message in records:
                    value = record(orjson.loads(message.value))
                    partition = message.partition % partitions
                    builder = builders.get(partition)
                    if builder is None:
                        builder = builders[partition] = producer.create_batch()
                    if builder.append(timestamp=None, key=message.key, value=value) is None:
                        full.append((partition, builder))
                        builder = builders[partition] = producer.create_batch()
                        builder.append(timestamp=None, key=message.key, value=value)
                    forwarded += 1
            sent = [await producer.send_batch(b, sink, partition=p) for p, b in [*full, *builders.items()]]
            await asyncio.gather(*sent)
            await consumer.commit()
        elapsed, cpu = time.perf_counter() - first, time.process_time() - cpu
    finally:
        await producer.stop()
        await consumer.stop()
    return figures(forwarded, elapsed, cpu)


def confluent(bootstrap: str, source: str, sink: str, group: str, count: int) -> dict[str, float]:
    try:
        from confluent_kafka import Consumer, KafkaException, Producer
    except ImportError:
        raise BenchError("confluent-kafka is not installed: pip install -e '.[bench]'") from None
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5})
    try:
        consumer.subscribe([source])
        partitions = len(producer.list_topics(sink, timeout=10).topics[sink].partitions)
        forwarded, first, cpu = 0, 0.0, 0.0
        while forwarded < count:
            messages = consumer.consume(1000, timeout=1.0)
            if not messages:
                continue
            if not first:
                first, cpu = time.perf_counter(), time.process_time()
            for message in messages:
                if message.error():
                    raise KafkaException(message.error())
                producer.produce(sink, record(orjson.loads(message.value())), message.key(),
                                 partition=message.partition() % partitions)
            forwarded += len(messages)
            if producer.flush(30) > 0:
                raise BenchError("confluent-kafka: records still undelivered after 30 s")
            consumer.commit(asynchronous=False)
        elapsed, cpu = time.perf_counter() - first, time.process_time() - cpu
    finally:
        consumer.close()
    return figures(forwarded, elapsed, cpu)


def jvm_command(bootstrap: str, source: str, sink: str, group: str, count: int) -> list[str]:
    """Compiles PassThrough.java once (again only when it changed) against devkafka's classpath."""
    java, javac = shutil.which("java"), shutil.which("javac")
    if not java or not javac:
        raise BenchError("the JVM pass-through needs a JDK (java and javac on PATH)")
    classpath = subprocess.run([str(ROOT / "ops/kafka/devkafka"), "classpath"], capture_output=True, text=True,
                               check=True).stdout.strip()
    built = JVM_BUILD / "PassThrough.class"
    if not built.exists() or built.stat().st_mtime < JVM_SOURCE.stat().st_mtime:
        JVM_BUILD.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([javac, "-cp", classpath, "-d", str(JVM_BUILD), str(JVM_SOURCE)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise BenchError(f"javac failed:\n{result.stderr}")
    return [java, "-cp", f"{JVM_BUILD}:{classpath}", "PassThrough", bootstrap, source, sink, group, str(count)]


async def jvm(bootstrap: str, source: str, sink: str, group: str, count: int, timeout: float) -> dict[str, float]:
    command = await asyncio.to_thread(jvm_command, bootstrap, source, sink, group, count)
    proc = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        raise BenchError(f"the JVM pass-through did not forward {count:,} searches in {timeout:.0f} s") from None
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"the JVM pass-through failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    result = json.loads(lines[-1])
    late = figures(result["late_events"], result["late_seconds"], result["late_cpu_seconds"])
    return {**figures(result["events"], result["seconds"], result["cpu_seconds"]),
            "second_half_events_per_second": late["events_per_second"],
            "second_half_cpu_us_per_event": late["cpu_us_per_event"]}
