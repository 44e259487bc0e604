"""The batch decision path with a list sink: one decision or one dead letter per record, in order."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import orjson

from streams.core.decide import Decider
from streams.pipeline import Pipeline, Record


class ListSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, Any]] = []

    def __call__(self, topic: str, key: bytes | None, value: bytes | None, headers: Any, source_partition: int) -> None:
        self.sent.append((topic, key, value, headers))


def record(offset: int, value: bytes | None, key: bytes | None = b"k") -> Record:
    return Record("search-events", 2, offset, 1_700_000_000_000, key, value, (("trace", b"t1"),))


def test_bad_record_becomes_a_dead_letter_with_its_bytes_and_reason_and_the_next_is_decided(
        decider: Decider, decision_schema: dict) -> None:
    sink = ListSink()
    pipeline = Pipeline(decider, "decisions", "dlq")
    records = [
        record(10, b"{not json", key=b"raw-key"),
        record(11, orjson.dumps({"search_id": "s-11", "query": "best pizza near me", "user_id": "u-secret"})),
    ]
    outcome = pipeline.process(records, sink)
    assert [s[0] for s in sink.sent] == ["dlq", "decisions"]
    _, key, value, headers = sink.sent[0]
    assert (key, value) == (b"raw-key", b"{not json")
    named = dict(headers)
    assert named["signpost.error.code"] == b"not_json"
    assert (named["signpost.source.topic"], named["signpost.source.partition"], named["signpost.source.offset"]) == (
        b"search-events", b"2", b"10")
    assert named["trace"] == b"t1"
    decision = json.loads(sink.sent[1][2])
    jsonschema.validate(decision, decision_schema)
    assert decision["search_id"] == "s-11" and decision["intercept"] is False
    assert b"u-secret" not in sink.sent[1][2] and b"pizza" not in sink.sent[1][2]
    assert outcome.dead_letters == {"not_json": 1} and outcome.tiers == {"none": 1}


def test_an_engine_failure_is_a_dead_letter_not_a_stopped_worker(decider: Decider) -> None:
    class Broken(Decider):
        def decision(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("bug")

    broken = Broken(decider.lexicon)
    sink = ListSink()
    value = orjson.dumps({"search_id": "s1", "query": "anxiety"})
    outcome = Pipeline(broken, "decisions", "dlq").process([record(1, value)], sink)
    assert outcome.dead_letters == {"internal_error": 1}
    assert sink.sent[0][0] == "dlq" and sink.sent[0][2] == value
