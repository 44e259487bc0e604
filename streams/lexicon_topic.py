"""The lexicon topic (SIGNPOST_LEXICON_TOPIC): every published lexicon version as one record; workers follow it.

A record's key is its version (UTF-8); its value is zlib-compressed JSON, `{"format": 1, "version",
"published_at_ms", "reason", "forced", "base": {file: text}, "overlay": {file: text} | null}`: the files the loader
reads (streams/core/lexicon.py), so a worker compiles a published version exactly as it would its own folder.
The topic has one partition and is compacted: compaction keeps the newest record of each version, so every version
ever published stays on the topic, and their order is total. The live version is the newest record that compiles.
A rollback (`signpost lexicon publish --version V`) publishes V's record again, which makes it the newest.

A worker never compiles on the per-search path. A new record is decoded, compiled whole and built in a process of
its own (`python -m streams.lexicon_topic`, on the other core, started and imported before the record comes: the
record's decoding and the matcher's build hold the interpreter lock for a second or more), which sends back the
built lexicon and matcher, pickled, or why it is refused. That process runs at a low priority (niceness 10): on a
busy machine it takes mostly the CPU that the worker, its broker and its clients leave. The worker then unpickles
the build in a thread that runs only in the short slices the decision loop gives it (`Pacer`; the unpickler's steps
are small, streams/core/build.py `taken`): a sixth to a tenth of the CPU that building it would take. A version that
changes no term, pattern or word list keeps the live matcher; one that changes terms only keeps the live patterns,
and one that changes a pattern file keeps the other languages' (`_handover`).
The worker then hands it to `LiveLexicon`.
The decision loop swaps it in between two batches (`LiveLexicon.at_batch_boundary`), so each batch, and so each
decision, is made wholly by one version. A record that does not decode or compile is refused, logged with its
offset, file and entry, and counted (signpost_lexicon_versions_refused_total); the live version keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple, cast

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.core.build import Kept, Patched, handed, pace, taken, taking_turns
from streams.core.decide import Decider
from streams.core.lexicon import Lexicon, LexiconError, LexiconFiles, compile_lexicon
from streams.core.matcher import Matcher, TypoIndex
from streams.core.patterns import PatternMatcher
from streams.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger(__name__)
FORMAT = 1
# The topic's max.message.bytes (set when it is created) and the clients' limits. The lexicon is about 3.4 MB of
# text and 0.9 MB compressed: Kafka's default of 1 MB would be a cliff a few terms away.
MAX_RECORD_BYTES = 16 * 1024 * 1024
# The checking process's niceness: on a saturated machine it gets about a tenth of a core's share (CFS weights
# 110 to 1,024), so a fix goes live within tens of seconds; at 19 (weight 15) it could wait minutes.
VET_NICENESS = 10
WARM_QUERIES = 5000  # the live matcher's most recent searches, matched by the new one before it takes over


@dataclass(frozen=True, slots=True)
class Published:
    """One published version: its files, when and why it was published."""

    version: str
    base: dict[str, bytes]
    overlay: dict[str, bytes] | None
    published_at_ms: int
    reason: str | None = None
    forced: bool = False  # published below the evaluation floors (`--force --reason`)
    offset: int = -1  # on the topic; -1 before it is published

    def compile(self, where: str) -> Lexicon:
        """The lexicon of these files; errors name `where` (topic and offset) with the file and entry."""
        base = LexiconFiles(f"{where} {self.version}", self.base)
        overlay = None if self.overlay is None else LexiconFiles(f"{where} {self.version} overlay", self.overlay)
        return compile_lexicon(base, overlay)

    def republished(self, reason: str | None, forced: bool) -> Published:
        """The same files, published again now (a rollback)."""
        return Published(self.version, self.base, self.overlay, int(time.time() * 1000), reason, forced)


def from_files(lexicon: Lexicon, base: LexiconFiles, overlay: LexiconFiles | None, reason: str | None = None,
               forced: bool = False) -> Published:
    return Published(lexicon.version, dict(base.files), None if overlay is None else dict(overlay.files),
                     int(time.time() * 1000), reason, forced)


def encode(published: Published) -> bytes:
    def texts(files: dict[str, bytes]) -> dict[str, str]:
        return {name: data.decode("utf-8") for name, data in files.items()}

    return zlib.compress(orjson.dumps({
        "format": FORMAT, "version": published.version, "published_at_ms": published.published_at_ms,
        "reason": published.reason, "forced": published.forced, "base": texts(published.base),
        "overlay": None if published.overlay is None else texts(published.overlay),
    }), 9)


def decode(value: bytes | None, offset: int, where: str) -> Published:
    """A record's value; a value that is not one raises LexiconError naming the record."""
    try:
        raw = orjson.loads(zlib.decompress(value or b""))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, not {FORMAT}")

        def files(texts: dict[str, str]) -> dict[str, bytes]:
            return {str(name): text.encode("utf-8") for name, text in texts.items()}

        return Published(str(raw["version"]), files(raw["base"]), None if raw["overlay"] is None else
                         files(raw["overlay"]), int(raw["published_at_ms"]), raw.get("reason"),
                         bool(raw.get("forced")), offset)
    except (zlib.error, orjson.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LexiconError(where, "(record)", f"not a lexicon version: {type(exc).__name__}: {exc}") from None


def where(topic: str, offset: int) -> str:
    return f"{topic}@{offset}"


async def read_topic(settings: Settings, kafka_options: dict[str, Any]) -> tuple[list[Any], int]:
    """Every record on the lexicon topic now, oldest first, and the offset after the last (0: no topic yet)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None,
                                enable_auto_commit=False, max_partition_fetch_bytes=MAX_RECORD_BYTES,
                                fetch_max_bytes=MAX_RECORD_BYTES, **kafka_options)
    await consumer.start()
    try:
        if settings.lexicon_topic not in await consumer.topics():
            return [], 0
        tp = TopicPartition(settings.lexicon_topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        records: list[Any] = []
        while await consumer.position(tp) < end:
            for batch in (await consumer.getmany(tp, timeout_ms=1000)).values():
                records.extend(batch)
        return records, end
    finally:
        await consumer.stop()


async def publish(settings: Settings, published: Published, kafka_options: dict[str, Any]) -> int:
    """Sends one version; returns its offset once the broker has it."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", enable_idempotence=True,
                                max_request_size=MAX_RECORD_BYTES, **kafka_options)
    await producer.start()
    try:
        sent = await producer.send_and_wait(settings.lexicon_topic, encode(published),
                                            key=published.version.encode(), partition=0)
        return int(sent.offset)
    finally:
        await producer.stop()


Refused = Callable[[Any, LexiconError], None]


def newest_valid(records: list[Any], topic: str, refused: Refused) -> tuple[Lexicon, Published] | None:
    """The newest record that decodes and compiles, with its lexicon; each newer one that does not is refused."""
    for record in reversed(records):
        try:
            published = decode(record.value, record.offset, where(topic, record.offset))
            return published.compile(where(topic, record.offset)), published
        except LexiconError as exc:
            refused(record, exc)
    return None


def log_refused(record: Any, exc: LexiconError) -> None:
    log.error("lexicon version at %s[%d]@%d refused, the live version keeps serving: file %s, entry %s: %s",
              record.topic, record.partition, record.offset, exc.file, exc.entry, exc.problem)


class Pacer:
    """Runs work in a thread only in turns the decision loop gives it, while the loop itself stands still.

    The loop's thread and the work's share one interpreter lock: two runnable threads take it from each other
    every switch interval, and a batch decided beside a build took about twice as long (measured). So the work
    never runs beside the loop. It calls `turn()` often (streams/core/build.py), which returns at once within its
    slice and otherwise hands back and waits for the next one. The loop gives a slice of SLICE_S (`give`) when
    its wait for searches found none for IDLE_S and GAP_S have passed since the last slice (`rested`: at most a
    tenth of its time), or when it has decided for STARVED_S without giving one (more searches than it can take:
    a fifteenth of the time). A search that arrives during a slice waits for its end, less than a batch window,
    and where no core is idle for the loop's thread to wake on, 2-4 ms more (docs/decisions.md).
    The loop waits for the work to hand back at most a slice and a millisecond; a work that overruns runs beside
    it until its next turn. The longest it stood still is `longest_pause`. With no loop attached (`attach`,
    `detach`), the work runs straight through.

    Why the gap: on two saturated cores a take of 0.4 s of CPU given every idle millisecond ran within about a
    second, and that second's searches waited two to three times their usual p50 for a CPU (the broker's and the
    clients' share went to the take); spread over about five times as long, one to three milliseconds more
    (docs/decisions.md, "The switch's work at a tenth of the loop's time")."""

    IDLE_S = 0.001
    SLICE_S = 0.002
    STARVED_S = 0.03
    GAP_S = 0.02
    SWITCH_INTERVAL_S = 0.0002  # while the work runs: how soon a thread waiting for the lock gets it

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._attached = False  # a decision loop gives the turns
        self._working = 0  # works running
        self._works_turn = False
        self._slice_ends = 0.0
        self._last_slice = time.perf_counter()
        self.longest_pause = 0.0  # seconds, since the follower last set it to 0

    def attach(self) -> None:
        with self._cond:
            self._attached = True

    def detach(self) -> None:
        with self._cond:
            self._attached = False
            self._cond.notify_all()

    @property
    def working(self) -> bool:
        return self._working > 0

    def rested(self) -> bool:
        return time.perf_counter() - self._last_slice >= self.GAP_S

    def starved(self) -> bool:
        return time.perf_counter() - self._last_slice > self.STARVED_S

    def give(self, seconds: float) -> None:
        """Called by the loop: lets the work run for `seconds` while this thread waits."""
        with self._cond:
            if not self._working:
                return
            started = time.perf_counter()
            self._slice_ends = started + seconds
            self._works_turn = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._works_turn, timeout=seconds + 0.001)
        self._last_slice = time.perf_counter()
        self.longest_pause = max(self.longest_pause, self._last_slice - started)

    def turn(self) -> None:
        """Called by the work: goes on within its slice, or hands back and waits for the next."""
        if not self._attached or time.perf_counter() < self._slice_ends:
            return
        with self._cond:
            self._works_turn = False
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._works_turn or not self._attached)

    async def run(self, work: Callable[..., Any], *args: Any) -> Any:
        """`work(*args)` in a thread, in the turns the loop gives it."""
        return await asyncio.to_thread(self._paced, work, *args)

    def _paced(self, work: Callable[..., Any], *args: Any) -> Any:
        """Also off while the work runs: the collector, whose full passes over the millions of objects a build
        makes hold the lock throughout (its result is frozen, out of their reach, afterwards)."""
        interval, collecting = sys.getswitchinterval(), gc.isenabled()
        sys.setswitchinterval(self.SWITCH_INTERVAL_S)
        gc.disable()
        with self._cond:
            self._working += 1
        taking_turns(self.turn)
        try:
            self.turn()  # the first slice
            return work(*args)
        finally:
            taking_turns(None)
            with self._cond:
                self._working -= 1
                self._works_turn = False
                self._cond.notify_all()
            if collecting:
                gc.enable()
            sys.setswitchinterval(interval)


class LiveLexicon:
    """The version deciding now, and the one compiled to take over at the next batch boundary."""

    def __init__(self, decider: Decider, metrics: Metrics, published_at_ms: int = 0) -> None:
        self.decider = decider
        self.metrics = metrics
        self._pending: tuple[Decider, int] | None = None
        self._retired: list[Decider] = []
        self.swapped = asyncio.Event()  # set at each swap: the follower then frees the old version
        self.pacer = Pacer()  # the follower builds and frees versions while the decision loop waits
        metrics.lexicon_live(decider.version, published_at_ms / 1000, time.time())
        metrics.known_conditions(decider.lexicon.conditions)

    def offer(self, decider: Decider, published_at_ms: int) -> None:
        """A compiled version, swapped in by the next `at_batch_boundary` (a newer offer replaces it)."""
        self._pending = (decider, published_at_ms)

    def at_batch_boundary(self) -> Decider:
        """Called by the decision loop before each batch: the decider for the whole batch."""
        if self._pending is not None:
            (decider, published_at_ms), self._pending = self._pending, None
            self._retired.append(self.decider)
            self.decider = decider
            self.metrics.lexicon_live(decider.version, published_at_ms / 1000, time.time())
            self.metrics.known_conditions(decider.lexicon.conditions)
            self.swapped.set()
        return self.decider

    def retired(self) -> list[Decider]:
        """The versions swapped out since the last call, to free (`dispose`) off the per-search path."""
        retired, self._retired = self._retired, []
        self.swapped.clear()
        return retired


class LexiconFollower:
    """Reads the lexicon topic from `start_offset` on; compiles each new version in a thread and offers it."""

    def __init__(self, settings: Settings, live: LiveLexicon, metrics: Metrics, start_offset: int,
                 kafka_options: dict[str, Any]) -> None:
        self.settings = settings
        self.live = live
        self.metrics = metrics
        self.offset = start_offset
        self.kafka_options = kafka_options
        self._standby: asyncio.Future[Checker] | None = None  # the next record's checking process

    async def run(self) -> None:
        topic = self.settings.lexicon_topic
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, group_id=None,
                                    enable_auto_commit=False, max_partition_fetch_bytes=MAX_RECORD_BYTES,
                                    fetch_max_bytes=MAX_RECORD_BYTES, **self.kafka_options)
        await consumer.start()
        self._standby = asyncio.ensure_future(standby())
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            consumer.seek(tp, self.offset)
            while True:
                for records in (await consumer.getmany(tp, timeout_ms=1000)).values():
                    for record in records:
                        await self.consider(record)
                        self.offset = record.offset + 1  # a restarted follower goes on from here
                        if self._standby is None:
                            self._standby = asyncio.ensure_future(standby())
        finally:
            await consumer.stop()
            standing, self._standby = self._standby, None
            if standing is not None:
                with contextlib.suppress(OSError):  # it never started
                    await retire(await asyncio.shield(standing))

    async def _checker(self) -> Checker:
        """The checking process started ahead (`standby`), unless it has ended. The next one starts once this
        record is settled (`consider`), so that its imports never run beside this one's check and build."""
        standing, self._standby = self._standby, None
        if standing is not None:
            checker = await standing
            if checker.child.returncode is None:
                return checker
            checker.built.close()
        return await standby()

    async def consider(self, record: Any) -> None:
        at = where(record.topic, record.offset)
        started = time.perf_counter()
        self.live.pacer.longest_pause = 0.0
        log.info("lexicon record %s: checking and building it", at)
        try:
            live = self.live.decider.matcher
            vetted = await vet(record.value, record.offset, at, live, await self._checker())
            if vetted.version == self.live.decider.version:  # republished as it is: only its time is new
                self.metrics.lexicon_published.set(vetted.published_at_ms / 1000)
                return
            checked = time.perf_counter()
            decider = await self.live.pacer.run(_build, vetted.built, live, live.recent_queries(WARM_QUERIES))
        except LexiconError as exc:
            self.metrics.lexicon_refused.inc()
            log_refused(record, exc)
            return
        kept = decider.matcher is live
        del live  # else this frame would hold the old matcher past `dispose`, to be freed in one cascade
        log.info("lexicon version %s (%s) checked and built in %.1f s and taken in %.1f s (%s; the decision loop "
                 "stood still at most %.1f ms at a time); it decides from the next batch", decider.version, at,
                 checked - started, time.perf_counter() - checked,
                 "the live matcher kept: it matches alike" if kept else "a new matcher",
                 self.live.pacer.longest_pause * 1000)
        self.live.offer(decider, vetted.published_at_ms)
        await self.live.swapped.wait()
        for old in self.live.retired():
            await self.live.pacer.run(dispose, old)
        self.metrics.lexicon_switch_pause.set(self.live.pacer.longest_pause)


class Vetted(NamedTuple):
    """A record the checking process accepted: its version, and a file of its lexicon and matcher built
    (`handed`)."""

    version: str
    published_at_ms: int
    built: BinaryIO


# What of the live version a new one may keep, by the names the checking process hands it over with.
_LIVE_PATTERNS, _LIVE_TYPOS = "the live patterns", "the live typo index"
_LIVE_COMMON_WORDS, _LIVE_TYPO_GUARD = "the live common words", "the live typo guard"


def live_digests(live: Matcher) -> dict[str, Any]:
    """What the checking process compares a new version with, to keep what of the live one it reads alike."""
    lexicon = live.lexicon
    return {"matching": lexicon.matching_digest, "patterns": lexicon.patterns_digest, "words": lexicon.words_digest,
            "typos": live.typo_digest, "typo_words": live.typo_words, "languages": live.patterns.digests}


def _handover(published: Published, at: str, live: dict[str, Any], out: BinaryIO) -> None:
    """The checking process's build of a record it accepted (`live`: `live_digests`): its lexicon, and its matcher
    unless the live one matches alike (a version that changes no term, pattern or word list: a number, a URL,
    opening hours, the most urgent edits). What the new version reads alike is handed over by name, not as bytes,
    for the worker to keep, and is not built here either: the patterns (a version that changes terms only), each
    language's patterns (one that changes other languages' files: a pattern edit builds one language of 32), the
    typo index (one that adds no word to the terms; otherwise the entries of the words it adds or drops, over the
    live index) and the word lists (about 3 of the 19 MB of a new matcher)."""
    lexicon = published.compile(at)
    matcher = None
    words = lexicon.words_digest == live["words"]
    if lexicon.matching_digest != live["matching"]:
        patterns = cast(PatternMatcher, Kept(_LIVE_PATTERNS)) if lexicon.patterns_digest == live["patterns"] else \
            PatternMatcher(lexicon.patterns, lexicon.common_words, {
                language: (digest, cast(Any, Kept(f"{_LIVE_PATTERNS}: {language}")))
                for language, digest in live["languages"].items()} if words else None)
        matcher = Matcher(lexicon, patterns=patterns,
                          typos=(live["typos"], cast(TypoIndex, Kept(_LIVE_TYPOS))))
        if matcher.typo_digest != live["typos"]:  # other typo words: the live index and what differs from it
            changes = matcher.typo_changes(live["typo_words"])
            matcher.hand_typos_as(cast(TypoIndex, Patched(Kept(_LIVE_TYPOS), changes)))
    alike = {_LIVE_COMMON_WORDS: lexicon.common_words, _LIVE_TYPO_GUARD: lexicon.typo_guard} if words else {}
    handed((lexicon, matcher), out, alike)


def _build(built: BinaryIO, live: Matcher, recent: list[tuple[str, str | None]]) -> Decider:
    """A version built by the checking process, taken from its file before any search sees it (`taken`, in turns:
    the file is read a frame at a time, never whole, in this thread), and its matcher warmed with the recent
    searches (held in memory only), so the first batches after the swap do not all miss its memo."""
    with built:
        lexicon, matcher = taken(built, {
            _LIVE_PATTERNS: live.patterns, _LIVE_TYPOS: live.typo_index,
            _LIVE_COMMON_WORDS: live.lexicon.common_words, _LIVE_TYPO_GUARD: live.lexicon.typo_guard,
            **{f"{_LIVE_PATTERNS}: {lang}": live.patterns.language(lang) for lang in live.patterns.digests}})
    if lexicon.common_words is live.lexicon.common_words and lexicon.words_digest != live.lexicon.words_digest:
        raise ValueError("word lists are kept only between versions that read the same ones")
    if matcher is None:
        return Decider(lexicon, live)  # it refuses a live matcher that does not match alike
    if matcher.patterns is live.patterns and lexicon.patterns_digest != live.lexicon.patterns_digest:
        raise ValueError("patterns are kept only between versions whose patterns read the same files")
    if matcher.typo_index is live.typo_index and matcher.typo_digest != live.typo_digest:
        raise ValueError("a typo index is kept only between matchers whose typo words are the same")
    decider = Decider(lexicon, matcher)
    for query, language in recent:
        pace()
        matcher.match(query, language)
    gc.freeze()  # what it built joins what start-up built, out of the collector's full passes (streams/app.py)
    return decider


# The checking process lowers its own priority before its imports: it uses mostly the CPU that searches leave.
_VET_CHILD = f"import os, runpy; os.nice({VET_NICENESS}); runpy.run_module({__name__!r}, run_name='__main__')"


class Checker(NamedTuple):
    """A checking process (`python -m streams.lexicon_topic`) waiting for its record on stdin, and the file it will
    hand its build over in."""

    child: asyncio.subprocess.Process
    built: BinaryIO


async def standby() -> Checker:
    """A checking process started before its record comes: its start and imports (0.3-0.4 s of CPU, measured) are
    spent while nothing is being switched, not between a publish and the switch."""
    built = tempfile.TemporaryFile()  # noqa: SIM115  # closed by `_build`, or by `vet` on a refusal
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _VET_CHILD, str(built.fileno()), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, pass_fds=(built.fileno(),))
    return Checker(child, built)


async def retire(checker: Checker) -> None:
    """A checking process that will not be given a record: its stdin closed, it ends."""
    checker.built.close()
    if checker.child.returncode is None:
        await checker.child.communicate(b"")


async def vet(value: bytes | None, offset: int, at: str, live: Matcher, checker: Checker | None = None) -> Vetted:
    """A record decoded, compiled whole and built by a checking process (`checker`, or one started now), against
    the `live` lexicon (what of its matcher the new version may keep), or LexiconError naming the file and entry.
    The build comes back in an unnamed temporary file: 5-20 MB that this thread never holds whole (a copy of 19 MB
    took 35 ms, measured)."""
    checker = checker or await standby()
    built = checker.built
    try:
        order = orjson.dumps([at, offset, live_digests(live)]) + b"\n"
        out, _ = await checker.child.communicate(order + (value or b""))
        if checker.child.returncode != 0 or not out.endswith(b"\n"):
            raise LexiconError(at, "(record)", f"its check ended with exit code {checker.child.returncode}")
        header = orjson.loads(out)
        if "refused" in header:
            raise LexiconError(*header["refused"])
    except BaseException:
        built.close()
        raise
    built.seek(0)
    return Vetted(header["version"], header["published_at_ms"], built)


def _vet_main(built_fd: int) -> None:
    """The checking process: on stdin, a JSON line `[at, offset, live_digests(live matcher)]`, then
    a record's value (nothing: the worker stopped first); its build (`_handover`) into the file `built_fd`; on
    stdout, a JSON line: `{"refused": [file, entry, problem]}`, or the version and when it was published. Its
    collector is off: it ends once it has built."""
    gc.disable()
    order = sys.stdin.buffer.readline()
    if not order:
        return
    at, offset, live = orjson.loads(order)
    try:
        published = decode(sys.stdin.buffer.read(), offset, at)
        with open(built_fd, "wb") as built:
            _handover(published, at, live, built)
    except LexiconError as exc:
        sys.stdout.buffer.write(orjson.dumps({"refused": [str(exc.file), exc.entry, exc.problem]}) + b"\n")
        return
    header = {"version": published.version, "published_at_ms": published.published_at_ms}
    sys.stdout.buffer.write(orjson.dumps(header) + b"\n")


_OURS = "streams."
# A dict of the old version larger than this (the term and typo indexes, memos: tens of thousands of entries of
# strings and tuples, no reference cycles) is emptied this many entries a turn instead of walked entry by entry.
DISPOSE_CHUNK = 512


def dispose(root: Any) -> None:
    """Frees a swapped-out version a little at a time, so no single deallocation holds the GIL for long (freeing a
    whole matcher at once is one cascade of about 100 ms): a walk that takes each object's references before
    dropping it, so each object freed is freed shallowly; a large dict is emptied a chunk at a time instead
    (`DISPOSE_CHUNK`). Only objects nothing else holds are walked, and none is changed, except that those dicts are
    emptied and the walked instances of this package lose their attributes, which breaks the reference cycles of
    their memo wrappers (frozen objects are never collected, so reference counting must free them)."""
    stack = [root]
    del root
    first = True  # the version itself is walked whoever holds it: the caller means to free it
    while stack:
        pace()  # between any two objects: freeing one automaton holds the lock for up to a millisecond
        item = stack.pop()
        if not first and sys.getrefcount(item) > 2:  # held elsewhere too (shared, or a parent still to come)
            continue
        first = False
        kind = type(item)
        if isinstance(item, dict) and len(item) > DISPOSE_CHUNK:  # a memo's OrderedDict too: emptied by chunks
            while item:
                pace()
                for _ in range(min(DISPOSE_CHUNK, len(item))):
                    item.popitem()
        elif kind is dict:
            stack.extend(item.values())
        elif kind in (list, tuple, set, frozenset) or (isinstance(item, tuple) and kind.__module__.startswith(_OURS)):
            stack.extend(item)
        elif hasattr(item, "cache_clear"):  # a memo (functools.lru_cache) of the old version
            item.cache_clear()
        elif kind.__module__.startswith(_OURS):
            if hasattr(item, "__dict__"):
                stack.extend(vars(item).values())
                vars(item).clear()
            for klass in kind.__mro__:
                for name in getattr(klass, "__slots__", ()):
                    value = getattr(item, name, None)
                    if value is not None:
                        stack.append(value)
        del item


if __name__ == "__main__":
    _vet_main(int(sys.argv[1]))
