"""The Faust app, built by a factory: the decision loop, the counters' merge, metrics, commands.

Nothing heavy happens at import time. `main()` reads the settings, loads the lexicon when the worker is asked
for (the newest valid version on the lexicon topic, else the image's files; broken files stop start-up with the
file and entry), builds the app, and hands the command line to Faust, so Faust's commands (`worker`, `agents`,
...) and Signpost's (`classify`, `lexicon publish`, ...) live together.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
import mode.loop

from streams.acls import AUTHORIZATION_ERRORS, NotAuthorized
from streams.core.decide import Decider
from streams.core.lexicon import Lexicon, LexiconError, load_lexicon
from streams.counter_merge_loop import CounterMergeLoop, run_merge
from streams.counters import Counting, user_hash_key
from streams.decision_loop import DecisionLoop, supervise
from streams.kafka_admin import ensure_topics, replication_factor
from streams.kafka_security import aiokafka_options, faust_credentials
from streams.lexicon_topic import LexiconFollower, LiveLexicon, log_refused, newest_valid, read_topic
from streams.metrics import Metrics
from streams.pipeline import Pipeline
from streams.settings import Settings, SettingsError

log = logging.getLogger(__name__)
CRASH_EXIT_S = 20.0  # a worker whose decision loop failed ends by then, whatever Faust's shutdown is doing
CRASH_EXIT_CODE = 70  # EX_SOFTWARE


class Signpost:
    """What the app's agents and commands share; the lexicon is loaded on first use, once, then follows the
    lexicon topic (`live`)."""

    def __init__(self, settings: Settings, start: StartLexicon | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.start = start or StartLexicon()
        self._live: LiveLexicon | None = None
        self.loop: DecisionLoop | None = None  # the decision loop, once the worker has started it

    @property
    def lexicon(self) -> Lexicon:
        if self.start.lexicon is None:
            self.start.lexicon = load_lexicon(self.settings.lexicon_dir, self.settings.lexicon_overlay)
        return self.start.lexicon

    @property
    def live(self) -> LiveLexicon:
        if self._live is None:
            self._live = LiveLexicon(Decider(self.lexicon), self.metrics, self.start.published_at_ms)
            self.metrics.lexicon_refused.inc(self.start.refused)
        return self._live

    @property
    def decider(self) -> Decider:
        return self.live.decider


class StartLexicon:
    """The lexicon a worker starts with: from the topic (with its publish time and the offset to follow from),
    or from the files (offset: where the topic ended when they were chosen)."""

    def __init__(self, lexicon: Lexicon | None = None, published_at_ms: int = 0, next_offset: int = 0,
                 refused: int = 0) -> None:
        self.lexicon, self.published_at_ms, self.next_offset, self.refused = (lexicon, published_at_ms,
                                                                              next_offset, refused)


def start_lexicon(settings: Settings) -> StartLexicon:
    """The newest valid version on the lexicon topic, else the image's files (raises LexiconError if broken).
    Runs before Faust makes its event loop, so the topic is read on a loop of its own, in a thread."""
    if settings.lexicon_source == "topic":
        refused: list[object] = []

        def count(record: object, exc: LexiconError) -> None:
            refused.append(record)
            log_refused(record, exc)

        try:
            with ThreadPoolExecutor(1) as pool:
                records, end = pool.submit(asyncio.run, read_topic(settings, aiokafka_options(settings))).result()
        except Exception as exc:  # the broker is not there yet: the files now, the topic's versions once it is
            log.warning("lexicon topic %s unreadable at start (%s): the files decide until it is read",
                        settings.lexicon_topic, type(exc).__name__)
            records, end = [], 0
        found = newest_valid(records, settings.lexicon_topic, count)
        if found is not None:
            lexicon, published = found
            return StartLexicon(lexicon, published.published_at_ms, end, len(refused))
        return StartLexicon(load_lexicon(settings.lexicon_dir, settings.lexicon_overlay), 0, end, len(refused))
    return StartLexicon(load_lexicon(settings.lexicon_dir, settings.lexicon_overlay))


class SignpostApp(faust.App):
    """A Faust app that starts the decision loop with the worker itself: Faust starts `@app.task`s only once
    it has fully started (its tables recovered, had it any), and nothing of Faust's may hold up a search."""

    decision_loop: Callable[[], Awaitable[None]] | None = None

    async def on_first_start(self) -> None:
        await super().on_first_start()
        # Faust's own topics (its assignor's) as replicated as the worker's (kafka_admin.py): read here, before
        # Faust declares them, since "what the cluster allows" needs the cluster.
        self.conf.topic_replication_factor = await replication_factor(self.signpost.settings)  # type: ignore[attr-defined]
        if self.decision_loop is not None:
            self.add_future(self.decision_loop())

    async def on_started(self) -> None:
        await super().on_started()
        self.signpost.metrics.ready.set(1)  # type: ignore[attr-defined]


def create_app(settings: Settings, start: StartLexicon | None = None) -> faust.App:
    signpost = Signpost(settings, start)
    metrics = signpost.metrics
    # The decision path and the counters' merge have their own consumer groups (SIGNPOST_APP_ID, see
    # decision_loop.py and counter_merge_loop.py); Faust's own group and internal topics are named after it.
    app = SignpostApp(
        f"{settings.app_id}-counters",
        broker=[f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),
        # The decision loop applies SIGNPOST_PROCESSING_GUARANTEE itself (its records, counter updates and
        # offsets in one transaction), and the counters' merge is transactional in both modes; Faust reads
        # nothing (see docs/decisions.md).
        processing_guarantee="at_least_once",
        web="signpost://",  # streams/web.py: only the pages below, none of Faust's built-in views
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        datadir=str(settings.data_dir),
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor or 1,  # until on_first_start asks the cluster
        value_serializer="raw",
        key_serializer="raw",
        producer_linger_ms=5,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10.0,  # a killed worker's partitions move after 10 s, not Faust's default 60
        broker_heartbeat_interval=3.0,
        loghandlers=[],
    )
    app.signpost = signpost  # type: ignore[attr-defined]

    counting = Counting(settings.counter_window_s, settings.counter_grace_s, settings.k_anonymity,
                        user_hash_key(settings.user_hash_key, settings.data_dir), settings.partitions,
                        settings.dp_epsilon)
    merge = CounterMergeLoop(settings, counting, metrics, version=lambda: signpost.decider.version,
                             kafka_options=aiokafka_options(settings))

    async def decide_searches() -> None:
        """The decision path (streams/decision_loop.py), started with the worker."""
        await ensure_topics(settings)
        pipeline = Pipeline(signpost.decider, settings.decisions_topic, settings.dlq_topic, keep_decided=True,
                            remember=settings.decision_cache)
        loop = signpost.loop = DecisionLoop(settings, pipeline, counting, metrics, settings.counter_updates_topic,
                                            kafka_options=aiokafka_options(settings), live=signpost.live)
        if settings.lexicon_source == "topic":
            app.add_future(follow_lexicon())
        app.add_future(run_merge(merge))  # the counters' merge (streams/counter_merge_loop.py), once its topics exist

        async def fatal(exc: BaseException) -> None:
            log.critical("decision loop failed: %s: %s", type(exc).__name__, exc)
            # Faust's crash stops the worker; a crash while Faust is still starting was seen to hang in its
            # shutdown (its consumers fetching for ever): the process must end, so it does in any case.
            watchdog = threading.Timer(CRASH_EXIT_S, os._exit, args=(CRASH_EXIT_CODE,))
            watchdog.daemon = True
            watchdog.start()
            await app.crash(exc)

        # What is built by now (the lexicon's indexes and automata, Faust's app) lives as long as the process:
        # frozen, the collector's full passes skip it. They took about 60 ms each with it, a stall for every
        # search in flight (measured in the worker with gc.callbacks), and about 4 ms without.
        gc.freeze()
        await supervise(loop, fatal)

    app.decision_loop = decide_searches

    async def follow_lexicon() -> None:
        """New lexicon versions from the topic (streams/lexicon_topic.py); a failure here never stops a decision:
        the live version keeps serving while it retries."""
        follower = LexiconFollower(settings, signpost.live, metrics, signpost.start.next_offset,
                                   aiokafka_options(settings))
        while True:
            try:
                await follower.run()
            except asyncio.CancelledError:
                raise
            except AUTHORIZATION_ERRORS as exc:  # searches go on being decided, on the live version
                log.error("lexicon follower: %s; retrying in 60 s", NotAuthorized.of(exc, settings))
                await asyncio.sleep(60.0)
            except Exception as exc:
                log.warning("lexicon follower: %s; retrying in 5 s", type(exc).__name__)
                await asyncio.sleep(5.0)  # backoff before reconnecting, not a wait for an event

    @app.page("/metrics")
    async def metrics_view(web: Any, request: Any) -> Any:
        return web.bytes(metrics.exposition(), content_type="text/plain")

    @app.page("/healthz")
    async def live(web: Any, request: Any) -> Any:
        """Liveness: the process and its event loop answer."""
        return web.text("ok\n")

    @app.page("/readyz")
    async def ready(web: Any, request: Any) -> Any:
        """Readiness: the decision loop has its consumer and producer and is deciding."""
        deciding = signpost.loop is not None and signpost.loop.deciding
        return web.text("deciding\n" if deciding else "not deciding yet\n", status=200 if deciding else 503)

    from streams import commands

    commands.register(app, signpost)
    return app


def report_failed_start(settings: Settings) -> None:
    """Serves /metrics with signpost_lexicon_load_failures_total = 1 for SIGNPOST_FAILED_START_LINGER_S
    seconds before the worker exits, so Prometheus sees why it is down (alert SignpostLexiconLoadFailed)."""
    if settings.failed_start_linger_s <= 0:
        return
    from prometheus_client import start_http_server

    metrics = Metrics()
    metrics.lexicon_failures.inc()
    try:
        start_http_server(settings.web_port, addr=settings.web_host, registry=metrics.registry)
    except OSError:
        return
    time.sleep(settings.failed_start_linger_s)  # a deliberate linger for the scrape, then exit


def use_uvloop(argv: list[str]) -> list[str]:
    """uvloop, unless the command line names a loop: a cheaper event loop (measured: latency p99 at 2,000
    searches a second from 17 to 10 ms). Faust reads --loop only when `faust` is first imported, which is
    before main() runs, so the policy is set here, before anything makes a loop."""
    if {"--loop", "-L"} & set(argv):
        return argv
    mode.loop.use("uvloop")
    return [*argv[:1], "--loop", "uvloop", *argv[1:]]


def main(argv: Sequence[str] | None = None) -> None:
    argv = use_uvloop(list(sys.argv if argv is None else argv))
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"signpost: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    start = None
    if "worker" in argv[1:]:
        logging.getLogger("streams").setLevel(settings.log_level)
        try:
            start = start_lexicon(settings)
        except LexiconError as exc:
            print(f"signpost: the lexicon is broken, refusing to start: {exc}", file=sys.stderr)
            report_failed_start(settings)
            raise SystemExit(2) from None
    app = create_app(settings, start)
    sys.argv = argv
    app.main()
