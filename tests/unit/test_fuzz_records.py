"""Poisoned input, property-based: whatever bytes arrive, each record ends as exactly one decision or one dead
letter (keeping its bytes), through the same path the worker uses, and nothing raises."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.decide import Decider
from streams.pipeline import Pipeline, Record

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
events = st.fixed_dictionaries(
    {},
    optional={"search_id": st.one_of(st.text(max_size=20), st.integers(), st.none()),
              "query": st.one_of(st.text(max_size=80), json_values),
              "user_id": st.one_of(st.text(max_size=10), st.integers()),
              "locale": st.one_of(st.sampled_from(["en-US", "es-MX", "ja", "x"]), st.text(max_size=8)),
              "country": st.one_of(st.sampled_from(["US", "MX"]), st.text(max_size=3)),
              "ts_ms": st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=5)),
              "surface": st.one_of(st.sampled_from(["search", "hashtag"]), json_values)},
)
payloads = st.one_of(
    st.binary(max_size=200),
    events.map(lambda e: json.dumps(e).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=100).map(str.encode),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(payloads, st.none()), min_size=1, max_size=8))
def test_every_record_becomes_one_decision_or_one_dead_letter(decider: Decider, values: list[bytes | None]) -> None:
    out: list[tuple[str, bytes | None, int]] = []
    records = [Record("search-events", 0, i, 1, b"k", v) for i, v in enumerate(values)]
    pipeline = Pipeline(decider, "decisions", "dlq")
    outcome = pipeline.process(
        records, lambda topic, key, value, headers, partition: out.append((topic, value, partition)))
    assert len(out) == len(records)
    for record, (topic, value, _) in zip(records, out, strict=True):
        if topic == "dlq":
            assert value == record.value
        else:
            assert json.loads(value)["search_id"] == json.loads(record.value)["search_id"]
    assert sum(outcome.dead_letters.values()) + sum(outcome.tiers.values()) == len(records)
