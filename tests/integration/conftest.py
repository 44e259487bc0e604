"""Integration tests need the local Apache Kafka broker: every test here carries the `integration` marker.
The fixtures (broker, topics, workers, producer) come from tests/support/kafka.py."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
