"""The fast decode (msgspec, one step) and the checked one (orjson, then each rule) agree on every input: the
fast path may only ever say "valid" where the checked path does, with the same event."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.events import decode_checked, decode_event
from tests.unit.test_fuzz_records import payloads


@settings(max_examples=2000, deadline=None)
@given(value=st.one_of(payloads, st.none()))
def test_both_paths_agree_on_any_bytes(value: bytes | None) -> None:
    assert decode_event(value, 7) == decode_checked(value, 7)


@pytest.mark.parametrize("value", [
    pytest.param(b'{"search_id":"a","query":"x","ts_ms":true}', id="a boolean is not a time"),
    pytest.param(b'{"search_id":"a","query":"x","ts_ms":1.0}', id="a float is not a time"),
    pytest.param(b'{"search_id":"a","query":"x","ts_ms":123456789012345678901234567890}', id="past 64 bits"),
    pytest.param(b'{"search_id":"a","search_id":"b","query":"x"}', id="a repeated key: the last one counts"),
    pytest.param(b'{"search_id":"a","query":"x","country":"mx","locale":"es_MX"}', id="case and underscore"),
    pytest.param(b'{"search_id":"a","query":"x","surface":""}', id="an empty surface is a search"),
    pytest.param(('{"search_id":"a","query":"' + "é" * 512 + '"}').encode(), id="512 characters, 1024 bytes"),
    pytest.param(('{"search_id":"a","query":"' + "😀" * 513 + '"}').encode(), id="513 characters"),
    pytest.param(b'{"search_id":"a","query":"\\ud800"}', id="a lone surrogate"),
    pytest.param(b'{"search_id":"a","query":"x","user_id":""}', id="an empty user id"),
    pytest.param(b' {"search_id":"a","query":"x"} ', id="white space around"),
    pytest.param(b'{"search_id":"a","query":"x","extra":{"a":{"b":1}}}', id="nested: the depth rule"),
])
def test_both_paths_agree_on_the_edges(value: bytes) -> None:
    assert decode_event(value, 7) == decode_checked(value, 7)
