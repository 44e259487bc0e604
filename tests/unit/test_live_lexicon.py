"""A new lexicon version takes over at a batch boundary only: a batch is decided wholly by one version."""

from __future__ import annotations

import gc
import io
import json
import pickletools
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout

import pytest

from streams.core.build import AUTOMATON_CHARS, FRAME_BYTES, _patched, automata, handed, pace, scan, taken
from streams.core.decide import Decider
from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon, LexiconError, read_folder
from streams.core.matcher import Matcher
from streams.lexicon_topic import (
    LiveLexicon,
    Pacer,
    Published,
    _build,
    _handover,
    decode,
    dispose,
    encode,
    from_files,
    live_digests,
    retire,
    standby,
    vet,
)
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


async def test_a_record_is_checked_and_built_in_a_process_of_its_own_which_hands_the_build_over(
        lexicon: Lexicon) -> None:
    files = dict(read_folder(ROOT / "lexicon").files)
    files["conditions/insomnia.json"] = files["conditions/insomnia.json"].replace(
        b'      "insomnia",', b'      "insomnia", "sleepless nightly",', 1)
    live = Decider(lexicon).matcher
    vetted = await vet(encode(Published("next", files, None, 1_700_000_000_000, "why")), 7, "topic@7", live)
    assert vetted.version == "next" and vetted.published_at_ms == 1_700_000_000_000
    decider = _build(vetted.built, live, [("weather", "en")])
    assert decider.version not in (lexicon.version, "next") and decider.matcher is not live, "its own files' version"
    assert decider.matcher.recent_queries(5) == [("weather", "en")], "warmed with the recent searches"
    assert decider.matcher.match("sleepless nightly", "en")[0].condition == "insomnia"
    assert decider.matcher.patterns is live.patterns, "terms only: the live patterns are kept, not handed over"


async def test_a_checking_process_started_ahead_checks_the_record_it_is_given_later_and_one_never_given_ends(
        lexicon: Lexicon) -> None:
    ahead = await standby()
    files = dict(read_folder(ROOT / "lexicon").files)
    assert ahead.child.returncode is None, "it waits for its record"
    vetted = await vet(encode(Published("ahead", files, None, 1_700_000_000_001)), 8, "topic@8",
                       Decider(lexicon).matcher, ahead)
    assert vetted.version == "ahead" and vetted.built is ahead.built and ahead.child.returncode == 0
    vetted.built.close()
    idle = await standby()
    await retire(idle)
    assert idle.child.returncode == 0 and idle.built.closed, "its stdin closed, it ended without a record"


async def test_a_broken_record_is_refused_by_the_checking_process_naming_file_and_entry(lexicon: Lexicon) -> None:
    files = dict(read_folder(ROOT / "lexicon").files)
    files["conditions/suicide.json"] = files["conditions/suicide.json"].replace(b'"tier": "crisis"', b'"tier": 7')
    broken = Published(lexicon.version, files, None, 0)
    with pytest.raises(LexiconError) as refused:
        await vet(encode(broken), 3, "topic@3", Decider(lexicon).matcher)
    assert refused.value.file.endswith("conditions/suicide.json") and "topic@3" in refused.value.file
    assert refused.value.entry == "tier" and "7" in refused.value.problem
    with pytest.raises(LexiconError, match="not a lexicon version"):
        await vet(b"not zlib", 4, "topic@4", Decider(lexicon).matcher)


def test_work_runs_only_in_the_slices_the_loop_gives() -> None:
    pacer, stop, count = Pacer(), threading.Event(), [0]
    pacer.attach()

    def work() -> int:
        while not stop.is_set():
            count[0] += 1
            pace()
        return count[0]

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(pacer._paced, work)
        assert not stop.wait(0.05) and count[0] == 0, "attached: the work waits for its first slice"
        while not count[0]:
            pacer.give(Pacer.SLICE_S)  # returns at once until the work has started
        handed_back(pacer)
        for _ in range(3):
            before = count[0]
            assert not stop.wait(0.02) and count[0] == before, "between two slices the work stands still"
            pacer.give(Pacer.SLICE_S)
            handed_back(pacer)  # a loaded machine may not run the work within the slice's wait
            assert count[0] > before, "it went on in the slice"
        stop.set()
        while not done.done():
            pacer.give(Pacer.SLICE_S)
        assert done.result() == count[0]


def test_idle_slices_come_at_most_one_a_gap_and_the_longest_pause_is_kept() -> None:
    pacer, stop, count = Pacer(), threading.Event(), [0]
    pacer.attach()

    def work() -> None:
        while not stop.is_set():
            count[0] += 1
            pace()

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(pacer._paced, work)
        while not count[0]:
            pacer.give(Pacer.SLICE_S)  # returns at once until the work has started
        handed_back(pacer)
        pacer.GAP_S = 3600.0  # a gap no test outlasts
        assert not pacer.rested(), "a slice given: the next idle one waits for the gap"
        assert pacer.longest_pause > 0
        pacer._last_slice -= pacer.GAP_S  # as if the gap had passed
        assert pacer.rested()
        stop.set()
        while not done.done():
            pacer.give(Pacer.SLICE_S)


def handed_back(pacer: Pacer) -> None:
    with pacer._cond:
        assert pacer._cond.wait_for(lambda: not pacer._works_turn, timeout=10)


def test_work_runs_straight_through_with_no_loop_attached() -> None:
    pacer = Pacer()

    def work() -> int:
        for _ in range(1000):
            pace()
        return 1

    assert pacer._paced(work) == 1  # in this thread: it would never return if a turn waited for a slice
    pacer.attach()
    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(pacer._paced, work)
        with pytest.raises(FuturesTimeout):
            done.result(timeout=0.05)
        pacer.detach()  # the loop stops: the work it held goes on alone
        assert done.result(timeout=10) == 1


def test_automata_are_made_small_and_scanned_as_one(lexicon: Lexicon) -> None:
    keys = [f"key{i:05d}" for i in range(5000)]
    made = automata((k, (len(k), k)) for k in keys)
    assert len(made) > 1 and all(sum(map(len, a.keys())) <= AUTOMATON_CHARS for a in made)
    text = "xkey00017key04999"
    assert [value for _, (_, value) in scan(made, text)] == ["key00017", "key04999"]


def test_a_build_is_handed_over_in_small_frames_remembering_only_what_recurs() -> None:
    shared = ("recurs", "twice")
    built = {"words": [f"word{i}" for i in range(20_000)], "a": shared, "b": shared}
    out = io.BytesIO()
    handed(built, out)
    frames = [arg for op, arg, _ in pickletools.genops(out.getvalue()) if op.name == "FRAME"]
    assert len(frames) > 4 and max(frames) <= FRAME_BYTES + 64, "frames of FRAME_BYTES, not pickle's 64 KB"
    remembered = [op for op, _, _ in pickletools.genops(out.getvalue()) if "PUT" in op.name or op.name == "MEMOIZE"]
    assert len(remembered) == 1, "only the tuple met twice is remembered, not every string"
    out.seek(0)
    back = taken(out, {})
    assert back == built and back["a"] is back["b"]


def test_a_version_keeps_what_of_the_live_matcher_it_leaves_unchanged(
        lexicon: Lexicon) -> None:
    files = read_folder(ROOT / "lexicon")
    live = Decider(lexicon).matcher
    live.match("i want to die", "en")

    def built(**changed: bytes) -> Decider:
        """What the checking process builds (`_handover`), taken as the worker takes it."""
        published, out = Published("next", {**files.files, **changed}, None, 0), io.BytesIO()
        _handover(published, "topic@1", live_digests(live), out)
        out.seek(0)
        return _build(out, live, [])

    hours = files.files["resources/crisis_lines.json"].replace(b'"hours": "24/7"', b'"hours": "24 hours"', 1)
    assert hours != files.files["resources/crisis_lines.json"]
    kept = built(**{"resources/crisis_lines.json": hours})
    assert kept.matcher is live and kept.version != lexicon.version
    assert kept.lexicon.common_words is live.lexicon.common_words, "the same word lists: kept, not handed over"
    assert kept.lexicon.typo_guard is live.lexicon.typo_guard
    assert kept.decide(SearchEvent("s", "i want to die", "en-US", "en", "US", 0, "search"), 0)["tier"] == "crisis"

    insomnia = files.files["conditions/insomnia.json"]
    term = insomnia.replace(b'      "insomnia",', b'      "insomnia", "sleepless nightly",', 1)
    assert term != insomnia
    rebuilt = built(**{"conditions/insomnia.json": term})
    assert rebuilt.matcher is not live and rebuilt.matcher.patterns is live.patterns, "terms only: patterns kept"
    assert rebuilt.matcher.match("sleepless nightly", "en")[0].condition == "insomnia"
    assert rebuilt.matcher.typo_index is not live.typo_index, "a new word (nightly): a new typo index ..."
    whole = Matcher(rebuilt.lexicon)
    assert dict(rebuilt.matcher.typo_index) == dict(whole.typo_index), "... the live one with the new word's entries"
    shared = {n for n, by_deletion in live.typo_index.items() if rebuilt.matcher.typo_index[n] is by_deletion}
    # the words added: "nightly" (deletions of 6 letters) and the phrase's squashed form ("sleeplessnightly": 15)
    assert 6 not in shared and len(shared) >= len(live.typo_index) - 2, "... sharing the lengths left alone"
    dropped = _patched(whole.typo_index, live.typo_changes(whole.typo_words))  # the other way: a word dropped
    assert dropped == dict(live.typo_index)
    assert rebuilt.matcher.match("sleepless nightlly", "en")[0].condition == "insomnia", "the new word's typo"

    english = json.loads(files.files["patterns/en.json"])
    english["classes"]["want"].append("zorblax to")  # a wanting form no lexicon has
    edited = built(**{"patterns/en.json": json.dumps(english).encode()})
    assert edited.matcher.patterns is not live.patterns, "a pattern edit: patterns built anew"
    assert edited.matcher.typo_index is live.typo_index, "... and the same terms: the typo index kept"
    assert edited.matcher.patterns.language("en") is not live.patterns.language("en"), "English built anew ..."
    assert edited.matcher.patterns.language("fr") is live.patterns.language("fr"), "... the other languages kept"
    assert not live.match("i zorblax to die", "en")
    assert edited.matcher.match("i zorblax to die", "en")[0].condition == "suicide"
    with pytest.raises(ValueError, match="match alike"):
        Decider(rebuilt.lexicon, live)
    # what the worker took (English built in the checking process, the other languages kept) matches every
    # development search as the same version built whole in one process does
    whole = Matcher(edited.lexicon)
    rows = [json.loads(line) for line in (ROOT / "tests" / "eval" / "queries.jsonl").open(encoding="utf-8")]
    differ = [row["query"] for row in rows
              if edited.matcher.match(row["query"], row["lang"]) != whole.match(row["query"], row["lang"])]
    assert not differ and len(rows) > 4000, differ[:5]

    guard = files.files["typo-guard.txt"] + b"zorblaxing en\n"
    words = built(**{"typo-guard.txt": guard})
    assert words.lexicon.typo_guard is not live.lexicon.typo_guard and "zorblaxing" in words.lexicon.typo_guard
    assert words.lexicon.common_words is not live.lexicon.common_words, "a word list edited: both lists anew"

    # a build that names the live patterns for a version whose patterns differ is refused, not decided with
    published = Published("next", {**files.files, "patterns/en.json": json.dumps(english).encode()}, None, 0)
    out = io.BytesIO()
    _handover(published, "topic@4", {**live_digests(live), "patterns": edited.lexicon.patterns_digest}, out)
    out.seek(0)
    with pytest.raises(ValueError, match="patterns are kept only"):
        _build(out, live, [])
