"""Signpost's own commands, registered on the Faust app beside Faust's (`signpost --help` lists both)."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import click
import faust
import orjson
from faust.cli import argument, option

from streams.core.events import Rejection, decode_event
from streams.core.lexicon import LexiconError, load_lexicon, summary
from streams.coverage import audit_table, coverage_report, coverage_summary, load_markets, stale_phone_facts


def register(app: faust.App, signpost: Any) -> None:
    settings = signpost.settings

    @app.command(option("--lexicon", type=str, default=None, help="lexicon folder (default: SIGNPOST_LEXICON_DIR)"))
    async def lexicon_check(self: Any, lexicon: str | None) -> None:
        """Validate the lexicon (schema, cross references, duplicates, sources) and print its counts."""
        try:
            loaded = load_lexicon(Path(lexicon) if lexicon else settings.lexicon_dir)
        except LexiconError as exc:
            print(f"lexicon-check: FAILED: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        print(json.dumps(summary(loaded), indent=2, ensure_ascii=False))
        stale = stale_phone_facts(loaded, date.today())
        for resource, age in stale:
            if age is not None:
                print(f"lexicon-check: warning: {resource.id} ({resource.phone}): its source is {age // 30} months "
                      f"old ({resource.source_date}); re-verify it", file=sys.stderr)
        if undated := sum(age is None for _, age in stale):
            print(f"lexicon-check: warning: {undated} phone facts have a source that states no date "
                  "(`signpost lexicon-audit` lists them first)", file=sys.stderr)
        print("lexicon-check: OK", file=sys.stderr)

    @app.command(
        argument("action", type=click.Choice(["publish"])),
        argument("folder", required=False),
        option("--overlay", type=str, default=None,
               help="a deployment overlay to merge over it (default: SIGNPOST_LEXICON_OVERLAY)"),
        option("--version", "version", type=str, default=None,
               help="publish this earlier version from the topic again (a rollback) instead of FOLDER"),
        option("--force", is_flag=True, default=False, help="publish below the evaluation floors (needs --reason)"),
        option("--reason", type=str, default=None, help="why: kept in the record"),
        option("--dry-run", is_flag=True, default=False, help="check and show the diff; publish nothing"),
        option("--eval-dir", type=str, default=None, help="the labeled evaluation sets (default: tests/eval)"),
    )
    async def lexicon(self: Any, action: str, folder: str | None, overlay: str | None, version: str | None,
                      force: bool, reason: str | None, dry_run: bool, eval_dir: str | None) -> None:
        """`lexicon publish [FOLDER]`: validate, hold the evaluation floors, show the diff against the live
        version, publish it on the lexicon topic (SIGNPOST_LEXICON_TOPIC). Exits non-zero when it refuses."""
        from streams.lexicon_publish import EVAL_DIR, run

        code = await run(settings, Path(folder) if folder else settings.lexicon_dir,
                         Path(overlay) if overlay else settings.lexicon_overlay, version, force, reason, dry_run,
                         Path(eval_dir) if eval_dir else EVAL_DIR, lambda line: print(line, flush=True))
        if code:
            raise SystemExit(code)

    @app.command()
    async def lexicon_audit(self: Any) -> None:
        """Every phone fact with its source, the date the source states and when it was checked, oldest first."""
        print(audit_table(signpost.lexicon, date.today()))

    @app.command(option("--summary", is_flag=True, default=False, help="only the few lines the README shows"))
    async def coverage(self: Any, summary: bool) -> None:
        """Countries x (crisis line, emergency number, support and info in a local language); languages x tiers."""
        markets = load_markets(settings.lexicon_dir)
        lexicon = signpost.lexicon
        print(coverage_summary(lexicon, markets) if summary else coverage_report(lexicon, markets))

    @app.command(
        option("--format", "fmt", type=click.Choice(["commands", "json"]), default="commands",
               help="kafka-acls commands (a shell script), or JSON"),
        option("--worker", type=str, default="User:signpost", help="the worker's principal"),
        option("--frontend", type=str, default="User:frontend", help="the search frontend's principal"),
        option("--analyst", type=str, default="User:analyst", help="the analyst's principal"),
        option("--frontend-group", type=str, default="signpost-frontend", help="the frontend's consumer group"),
        option("--analyst-group", type=str, default="signpost-analyst", help="the analyst's consumer group"),
        option("--command-config", type=str, default=None, help="the admin's client properties for kafka-acls"),
    )
    async def acls(self: Any, fmt: str, worker: str, frontend: str, analyst: str, frontend_group: str,
                   analyst_group: str, command_config: str | None) -> None:
        """The least-privilege ACLs of the worker, the frontend and the analyst (docs/security.md)."""
        from streams.acls import as_commands, as_records, minimal_acls

        found = minimal_acls(settings, worker, frontend, analyst, frontend_group, analyst_group)
        if fmt == "json":
            print(json.dumps(as_records(found), indent=2))
            return
        print("# Least-privilege ACLs for Signpost (docs/security.md); run by an admin principal.")
        print("\n".join(as_commands(found, settings.bootstrap_servers, command_config)))

    @app.command()
    async def classify(self: Any) -> None:
        """Read search events as JSON lines on stdin; write one decision (or error) per line on stdout."""
        decider = signpost.decider
        out = sys.stdout
        for number, line in enumerate(sys.stdin.buffer, start=1):
            now_ms = int(time.time() * 1000)
            event = decode_event(line.rstrip(b"\r\n"), now_ms)
            if isinstance(event, Rejection):
                out.write(orjson.dumps({"error": event.code, "detail": event.detail, "line": number}).decode())
            else:
                out.write(orjson.dumps(decider.decide(event, now_ms)).decode())
            out.write("\n")
            out.flush()

    @app.command(
        option("--file", type=str, default="tests/eval/queries.jsonl", help="labeled queries (JSON lines)"),
        option("--misses", type=int, default=0, help="print up to N misclassified queries"),
    )
    async def evaluate(self: Any, file: str, misses: int) -> None:
        """Score a labeled file: precision and recall by tier, language and kind."""
        from streams.evaluation import evaluate as run
        from streams.evaluation import load_labeled, render

        try:
            rows = load_labeled(Path(file))
        except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
            print(f"evaluate: FAILED: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        print(render(run(signpost.decider, rows), misses))

    @app.command(
        option("--count", type=int, default=3000, help="searches to send"),
        option("--rate", type=float, default=300.0, help="searches a second"),
        option("--seed", type=int, default=7),
    )
    async def demo(self: Any, count: int, rate: float, seed: int) -> None:
        """Feed the worker a realistic stream of searches and show the decisions arriving."""
        from streams.demo import run_demo

        await run_demo(settings, count=count, rate=rate, seed=seed)

    @app.command()
    async def create_topics(self: Any) -> None:
        """Create Signpost's topics (idempotent)."""
        from streams.kafka_admin import ensure_topics

        created = await ensure_topics(settings)
        print(f"topics ready ({', '.join(created) or 'all existed'} created)")
