"""The decision path for a batch of Kafka records: decode, decide, encode, hand to the producer.

Knows records as (key, value, headers, topic, partition, offset, timestamp) and an `emit` callable that
takes each output record; nothing of Kafka clients or Faust. Pure CPU: no await, no task, no log record per
event. Every record becomes exactly one decision or one dead letter; nothing here raises on input, and nothing
logs a payload.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from streams.core.decide import Decider, Decision
from streams.core.events import Rejection, SearchEvent, decode_event
from streams.core.remembered import DEFAULT_SIZE, Remembered

log = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]
# emit(topic, key, value, headers, source partition): one output record.
Emit = Callable[[str, bytes | None, bytes | None, Headers | None, int], None]


@dataclass(frozen=True, slots=True)
class Record:
    """A consumed record. aiokafka's ConsumerRecord has the same fields, so the decision loop hands those over
    as they come (no copy per search)."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # ms
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


@dataclass(slots=True)
class BatchOutcome:
    """What one batch did, for metrics and counters; holds no identifiers."""

    events: int = 0
    tiers: Counter[str] = field(default_factory=Counter)
    matches: Counter[tuple[str, str]] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    match_seconds: list[float] = field(default_factory=list)
    latency_seconds: list[float] = field(default_factory=list)
    decided: list[tuple[SearchEvent, Decision]] = field(default_factory=list)
    remembered: int = 0  # decisions answered from memory (streams/core/remembered.py) ...
    remember_lookups: int = 0  # ... of this many looked up


def dead_letter_headers(record: Record, rejection: Rejection) -> list[tuple[str, bytes]]:
    """Kafka Connect-style error headers, appended to the record's own."""
    return [
        *record.headers,
        ("signpost.error.code", rejection.code.encode()),
        ("signpost.error.detail", rejection.detail.encode()),
        ("signpost.source.topic", record.topic.encode()),
        ("signpost.source.partition", str(record.partition).encode()),
        ("signpost.source.offset", str(record.offset).encode()),
        ("signpost.source.timestamp_ms", str(record.timestamp).encode()),
    ]


class Pipeline:
    def __init__(self, decider: Decider, decisions_topic: str, dlq_topic: str, *,
                 keep_decided: bool = False, remember: int = DEFAULT_SIZE) -> None:
        self.remember = remember  # how many decisions to remember for repeated searches (0: none)
        self._remembered = Remembered(decider, remember)
        self.decisions_topic = decisions_topic
        self.dlq_topic = dlq_topic
        self.keep_decided = keep_decided  # the counters need (event, decision) pairs

    @property
    def decider(self) -> Decider:
        return self._remembered.decider

    @decider.setter
    def decider(self, decider: Decider) -> None:
        """A new lexicon version forgets the decisions of the old one."""
        if decider is not self._remembered.decider:
            self._remembered = Remembered(decider, self.remember)

    def process(self, records: Sequence[Record], emit: Emit) -> BatchOutcome:
        outcome = BatchOutcome(events=len(records))
        remembered = self._remembered
        hits, lookups = remembered.hits, remembered.lookups
        clock = time.perf_counter
        for record in records:
            try:
                event = decode_event(record.value, record.timestamp)
                if not isinstance(event, Rejection):
                    now_ms = int(time.time() * 1000)
                    started = clock()
                    decision, value = remembered.decide(event, now_ms)
                    outcome.match_seconds.append(clock() - started)
            except Exception as exc:  # a bug must not stop the worker or lose the record
                log.error("deciding %s[%d]@%d failed: %s", record.topic, record.partition, record.offset,
                          type(exc).__name__)
                event = Rejection("internal_error", f"{type(exc).__name__} while deciding")
            if isinstance(event, Rejection):
                outcome.dead_letters[event.code] += 1
                emit(self.dlq_topic, record.key, record.value, dead_letter_headers(record, event), record.partition)
                continue
            emit(self.decisions_topic, event.search_id.encode(), value, None, record.partition)
            outcome.tiers[decision["tier"] or "none"] += 1
            for condition in decision["conditions"]:
                outcome.matches[(condition["id"], condition["kind"])] += 1
            outcome.latency_seconds.append(max(0.0, now_ms - event.ts_ms) / 1000)
            if self.keep_decided:
                outcome.decided.append((event, decision))
        outcome.remembered, outcome.remember_lookups = remembered.hits - hits, remembered.lookups - lookups
        return outcome
