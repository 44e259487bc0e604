"""Topic creation with aiokafka's admin client, replicated as the cluster allows (SIGNPOST_REPLICATION_FACTOR)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka_security import aiokafka_options
from streams.settings import Settings

# The dead letters hold raw searches (queries, user ids): kept a week, for a look and a replay, then gone
# (docs/security.md). Topics that exist already keep their own retention: change it with kafka-configs.
DLQ_RETENTION_MS = 7 * 24 * 3600 * 1000
MAX_REPLICAS = 3  # the default on a cluster: three copies, two of which must have a record before it is acknowledged


def min_insync(replication: int) -> int:
    """Copies that must have a record before the broker acknowledges it (acks=all): 2 of 3, so one broker may be
    down and a record acknowledged still survives the loss of another."""
    return 2 if replication >= MAX_REPLICAS else 1  # with 2 copies, 2 in sync would stop writes at any loss


async def replication_factor(settings: Settings, admin: AIOKafkaAdminClient | None = None) -> int:
    """SIGNPOST_REPLICATION_FACTOR, else what the cluster allows: min(3, its number of brokers)."""
    if settings.replication_factor is not None:
        return settings.replication_factor
    if admin is not None:
        return min(MAX_REPLICAS, len((await admin.describe_cluster())["brokers"]))
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    await admin.start()
    try:
        return await replication_factor(settings, admin)
    finally:
        await admin.close()


def _configs(replication: int, **configs: str) -> dict[str, str]:
    return {"min.insync.replicas": str(min_insync(replication)), **configs}


def lexicon_topic(settings: Settings, replication: int) -> NewTopic:
    """One partition (the versions in one order), compacted (the newest record of each version stays), and room
    for a whole lexicon in one record (streams/lexicon_topic.py)."""
    from streams.lexicon_topic import MAX_RECORD_BYTES

    return NewTopic(settings.lexicon_topic, 1, replication,
                    topic_configs=_configs(replication, **{"cleanup.policy": "compact",
                                                           "max.message.bytes": str(MAX_RECORD_BYTES)}))


async def ensure_topics(settings: Settings) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        replication = await replication_factor(settings, admin)
        wanted = [
            NewTopic(settings.events_topic, settings.partitions, replication, topic_configs=_configs(replication)),
            NewTopic(settings.decisions_topic, settings.partitions, replication,
                     topic_configs=_configs(replication)),
            NewTopic(settings.dlq_topic, settings.partitions, replication,
                     topic_configs=_configs(replication, **{"retention.ms": str(DLQ_RETENTION_MS)})),
            NewTopic(settings.counters_topic, settings.partitions, replication,
                     topic_configs=_configs(replication, **{"cleanup.policy": "compact"})),
            NewTopic(settings.counter_updates_topic, settings.partitions, replication,
                     topic_configs=_configs(replication)),
            NewTopic(settings.counter_cells_topic, settings.partitions, replication,
                     topic_configs=_configs(replication, **{"cleanup.policy": "compact"})),
            lexicon_topic(settings, replication),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


async def ensure_lexicon_topic(settings: Settings) -> None:
    """The lexicon topic alone (for `signpost lexicon publish`)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    await admin.start()
    try:
        if settings.lexicon_topic not in set(await admin.list_topics()):
            await admin.create_topics([lexicon_topic(settings, await replication_factor(settings, admin))])
    finally:
        await admin.close()
