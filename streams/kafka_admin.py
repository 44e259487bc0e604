"""Topic creation with aiokafka's admin client."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka_security import aiokafka_options
from streams.settings import Settings

# The dead letters hold raw searches (queries, user ids): kept a week, for a look and a replay, then gone
# (docs/security.md). Topics that exist already keep their own retention: change it with kafka-configs.
DLQ_RETENTION_MS = 7 * 24 * 3600 * 1000


def lexicon_topic(settings: Settings, replication: int = 1) -> NewTopic:
    """One partition (the versions in one order), compacted (the newest record of each version stays), and room
    for a whole lexicon in one record (streams/lexicon_topic.py)."""
    from streams.lexicon_topic import MAX_RECORD_BYTES

    return NewTopic(settings.lexicon_topic, 1, replication,
                    topic_configs={"cleanup.policy": "compact", "max.message.bytes": str(MAX_RECORD_BYTES)})


async def ensure_topics(settings: Settings, replication: int = 1) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(settings.events_topic, settings.partitions, replication),
            NewTopic(settings.decisions_topic, settings.partitions, replication),
            NewTopic(settings.dlq_topic, settings.partitions, replication,
                     topic_configs={"retention.ms": str(DLQ_RETENTION_MS)}),
            NewTopic(settings.counters_topic, settings.partitions, replication,
                     topic_configs={"cleanup.policy": "compact"}),
            NewTopic(settings.counter_updates_topic, settings.partitions, replication),
            lexicon_topic(settings, replication),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


async def ensure_lexicon_topic(settings: Settings, replication: int = 1) -> None:
    """The lexicon topic alone (for `signpost lexicon publish`)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **aiokafka_options(settings))
    await admin.start()
    try:
        if settings.lexicon_topic not in set(await admin.list_topics()):
            await admin.create_topics([lexicon_topic(settings, replication)])
    finally:
        await admin.close()
