"""The search frontend's side of the contract: read decisions, show what would be rendered.

    .venv/bin/python examples/frontend_subscriber.py        # while `make run` is running

Idempotent by search_id: a decision delivered twice (at-least-once) is rendered once.
"""

from __future__ import annotations

import asyncio
import os

import orjson
from aiokafka import AIOKafkaConsumer


def render(decision: dict) -> str:
    if not decision["intercept"]:
        return ""
    lines = [f"[{decision['tier']}] help box for search {decision['search_id'][:8]}…"]
    for resource in decision["resources"][:3]:
        how = resource.get("phone") or resource.get("url", "")
        if resource.get("text_keyword"):
            how = f"text {resource['text_keyword']} to {how}"
        lines.append(f"    {resource['kind']:<9} {resource['title']}: {how}")
    return "\n".join(lines)


async def main() -> None:
    consumer = AIOKafkaConsumer(
        os.environ.get("SIGNPOST_DECISIONS_TOPIC", "intercept-decisions"),
        bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
        group_id="search-frontend-example", auto_offset_reset="latest",
    )
    await consumer.start()
    seen: set[str] = set()
    try:
        async for message in consumer:
            decision = orjson.loads(message.value)
            if decision["search_id"] in seen:
                continue
            seen.add(decision["search_id"])
            shown = render(decision)
            if shown:
                print(shown)
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
