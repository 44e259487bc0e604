"""Every Prometheus metric of the worker, in one place, over one injectable registry.

Labels come from closed sets only: tiers, lexicon condition ids, match kinds, dead-letter reasons, the
worker's own topic names and partition numbers. Never a user id, a search id or a query. The hot path counts
per batch (`observe_batch`), not per event.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from streams.core.events import REASONS
from streams.core.vocabulary import MATCH_KINDS, TIERS
from streams.pipeline import BatchOutcome

TIER_LABELS = (*TIERS, "none")  # "none": a search that gets no help
# The engine's cost per search: microseconds for unrelated searches, tens of µs for typo probing.
MATCH_BUCKETS = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2)
# Event time to decision: the help box must arrive while results render (objective: p99 under 250 ms).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter("signpost_events", "Search event records consumed", registry=r)
        self.decisions = Counter("signpost_decisions", "Decisions published, by tier (none: no intercept)",
                                 ["tier"], registry=r)
        self.matches = Counter("signpost_condition_matches", "Conditions matched, by condition and match kind",
                               ["condition", "kind"], registry=r)
        self.dead_letters = Counter("signpost_dead_letters", "Records sent to the dead-letter topic, by reason",
                                    ["reason"], registry=r)
        self.match_seconds = BatchHistogram("signpost_match_seconds",
                                            "Time to decide a search: the matching engine and the ordering of "
                                            "help, or a decision remembered for a repeated search",
                                            MATCH_BUCKETS, r)
        self.remembered = Counter("signpost_decision_cache_hits",
                                  "Searches decided from a decision remembered for the same query, locale and "
                                  "country", registry=r)
        self.remember_lookups = Counter("signpost_decision_cache_lookups",
                                        "Searches looked up among the remembered decisions", registry=r)
        self.latency = BatchHistogram("signpost_decision_latency_seconds",
                                      "From the event's time to its decision handed to the producer",
                                      LATENCY_BUCKETS, r)
        self.lag = Gauge("signpost_consumer_lag", "Records behind the end of each assigned partition",
                         ["topic", "partition"], registry=r)
        self.lexicon_info = Gauge("signpost_lexicon_info", "The lexicon version loaded (value 1)", ["version"],
                                  registry=r)
        self.lexicon_failures = Counter("signpost_lexicon_load_failures", "Lexicon loads that failed", registry=r)
        self.lexicon_published = Gauge("signpost_lexicon_published_timestamp_seconds",
                                       "When the live lexicon version was published on the lexicon topic "
                                       "(0: the image's files)", registry=r)
        self.lexicon_switched = Gauge("signpost_lexicon_switched_timestamp_seconds",
                                      "When this worker began deciding with the live lexicon version", registry=r)
        self.lexicon_switch_pause = Gauge("signpost_lexicon_switch_longest_pause_seconds",
                                          "The longest the decision loop stood still at once for the last lexicon "
                                          "switch's work (taking the new version, freeing the old)", registry=r)
        self.lexicon_refused = Counter("signpost_lexicon_versions_refused",
                                       "Lexicon versions from the lexicon topic refused as broken (the live one "
                                       "kept serving)", registry=r)
        self.cells_published = Counter("signpost_counter_cells_published", "Anonymized counter cells published",
                                       registry=r)
        self.cells_suppressed = Counter("signpost_counter_cells_suppressed",
                                        "Counter cells withheld: fewer than k distinct users", registry=r)
        self.ready = Gauge("signpost_worker_ready",
                           "1 once the whole worker is started (Faust's start included)", registry=r)
        self.late_events = Counter("signpost_counter_late_events",
                                   "Events too late for their counter window (counted, not dropped silently)",
                                   registry=r)
        for tier in TIER_LABELS:
            self.decisions.labels(tier)
        for reason in REASONS:
            self.dead_letters.labels(reason)

    def known_conditions(self, condition_ids: Iterable[str]) -> None:
        """Create every condition's series up front, so dashboards show zeros instead of gaps."""
        for condition in condition_ids:
            for kind in MATCH_KINDS:
                self.matches.labels(condition, kind)

    def lexicon_live(self, version: str, published_s: float, switched_s: float) -> None:
        """The version now deciding: the only series of signpost_lexicon_info, with its publish and switch time."""
        self.lexicon_info.clear()
        self.lexicon_info.labels(version).set(1)
        self.lexicon_published.set(published_s)
        self.lexicon_switched.set(switched_s)

    def observe_batch(self, outcome: BatchOutcome) -> None:
        self.events.inc(outcome.events)
        self.remembered.inc(outcome.remembered)
        self.remember_lookups.inc(outcome.remember_lookups)
        for tier, n in outcome.tiers.items():
            self.decisions.labels(tier).inc(n)
        for (condition, kind), n in outcome.matches.items():
            self.matches.labels(condition, kind).inc(n)
        for reason, n in outcome.dead_letters.items():
            self.dead_letters.labels(reason).inc(n)
        self.match_seconds.observe_all(outcome.match_seconds)
        self.latency.observe_all(outcome.latency_seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class BatchHistogram(Collector):
    """A Prometheus histogram filled a batch at a time: a bisect and an add per value, where
    prometheus_client's Histogram.observe takes a lock and walks its buckets for each (measured at about 7% of
    the worker's time at full speed). Exposed as a standard histogram (`_bucket`, `_sum`, `_count`). Only
    the worker's event loop writes it and serves /metrics, so it needs no lock."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = [*buckets, math.inf]
        self.counts = [0] * len(self.bounds)
        self.sum = 0.0
        registry.register(self)

    def observe_all(self, values: Sequence[float]) -> None:
        counts, bounds = self.counts, self.bounds
        for value in values:
            counts[bisect_left(bounds, value)] += 1  # the first bucket whose upper bound is >= value
        self.sum += sum(values)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        cumulative = accumulate(self.counts)
        buckets = [(_go_float(b), n) for b, n in zip(self.bounds, cumulative, strict=True)]
        yield HistogramMetricFamily(self.name, self.documentation, sum_value=self.sum, buckets=buckets)


def _go_float(bound: float) -> str:
    """The `le` label exactly as prometheus_client's Histogram writes it."""
    return str(floatToGoString(bound))  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped
