"""The batch histogram exposes exactly what prometheus_client's own Histogram would for the same values."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from streams.metrics import LATENCY_BUCKETS, BatchHistogram


def samples(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines()
            if not line.startswith("#") and "_created" not in line]


def test_batch_histogram_matches_prometheus_client() -> None:
    rng = random.Random(3)
    values = [*LATENCY_BUCKETS, 0.0, 1e9] + [rng.expovariate(50) for _ in range(2000)]  # bounds land in their le
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    batch = BatchHistogram("h_seconds", "h", LATENCY_BUCKETS, ours)
    reference = Histogram("h_seconds", "h", buckets=LATENCY_BUCKETS, registry=theirs)
    for start in range(0, len(values), 300):
        batch.observe_all(values[start:start + 300])
    for value in values:
        reference.observe(value)
    ours_sum, theirs_sum = (float(next(s for s in samples(r) if s.startswith("h_seconds_sum")).split()[1])
                            for r in (ours, theirs))
    assert ours_sum == pytest.approx(theirs_sum)  # added a batch at a time: the same up to rounding
    without_sum = lambda r: [s for s in samples(r) if not s.startswith("h_seconds_sum")]  # noqa: E731
    assert without_sum(ours) == without_sum(theirs)
