"""A new lexicon version takes over at a batch boundary only: a batch is decided wholly by one version."""

from __future__ import annotations

import gc
import weakref

from streams.core.decide import Decider
from streams.core.lexicon import Lexicon, read_folder
from streams.lexicon_topic import LiveLexicon, decode, dispose, encode, from_files
from streams.metrics import Metrics
from streams.pipeline import Pipeline, Record
from tests.support.worker import ROOT


def test_an_offered_version_decides_only_from_the_next_batch_and_the_metrics_say_so(lexicon: Lexicon) -> None:
    metrics = Metrics()
    old, new = Decider(lexicon), Decider(lexicon)
    new.version = "9.9.9+new"
    live = LiveLexicon(old, metrics)
    pipeline = Pipeline(live.at_batch_boundary(), "decisions", "dlq")
    live.offer(new, published_at_ms=1_700_000_000_000)
    emitted: list[bytes] = []
    records = [Record("events", 0, i, 0, None, b'{"search_id": "s%d", "query": "anxiety"}' % i) for i in range(5)]
    pipeline.process(records, lambda topic, key, value, headers, partition: emitted.append(value or b""))
    assert all(lexicon.version.encode() in v for v in emitted), "the batch under way keeps its version"
    pipeline.decider = live.at_batch_boundary()
    emitted.clear()
    pipeline.process(records, lambda topic, key, value, headers, partition: emitted.append(value or b""))
    assert all(b"9.9.9+new" in v for v in emitted)
    exposed = metrics.exposition().decode()
    assert 'signpost_lexicon_info{version="9.9.9+new"} 1.0' in exposed and lexicon.version not in exposed
    assert "signpost_lexicon_published_timestamp_seconds 1.7e+09" in exposed


def test_a_published_record_carries_the_files_whole_and_compiles_to_the_same_version(lexicon: Lexicon) -> None:
    files = read_folder(ROOT / "lexicon")
    value = encode(from_files(lexicon, files, None, "why"))
    assert len(value) < 2 * 1024 * 1024, "compressed: far below the topic's limit"
    published = decode(value, 7, "topic@7")
    assert published.reason == "why" and published.base == dict(files.files)
    assert published.compile("topic@7").version == lexicon.version


def test_a_swapped_out_version_is_freed_and_nothing_it_shares_is_touched(lexicon: Lexicon) -> None:
    """`dispose` frees the old version by reference counting (its memo wrappers make cycles, and the worker
    freezes its heap out of the collector), and changes nothing another version still uses."""
    old = Decider(lexicon)
    old.decide_query = old.matcher.match  # type: ignore[attr-defined]  # a cycle, as the memo wrappers make
    for query in ("i want to die", "weather", "quiero morir"):
        old.matcher.match(query)
    gone = [weakref.ref(old), weakref.ref(old.matcher)]
    live = LiveLexicon(old, Metrics())
    live.offer(Decider(lexicon), published_at_ms=0)
    live.at_batch_boundary()
    [retired] = live.retired()
    del old
    gc.disable()
    try:
        dispose(retired)
        del retired
        assert [ref() for ref in gone] == [None, None]
    finally:
        gc.enable()
    assert lexicon.conditions and live.decider.matcher.match("i want to die"), "the shared lexicon is intact"
