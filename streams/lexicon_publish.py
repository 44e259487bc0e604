"""`signpost lexicon publish`: validate and compile, hold the evaluation floors, show what changes against the
live version, publish one record on the lexicon topic (streams/lexicon_topic.py). `--version V` publishes an
earlier version's record again: a rollback, through the same checks.

The examples of the diff are searches of the evaluation files (tests/eval/), printed to the operator's terminal;
nothing here logs a search.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.core.decide import Decider
from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon, LexiconError, compile_lexicon, read_folder
from streams.evaluation import FLOORS, Labeled, evaluate, load_labeled
from streams.kafka_admin import ensure_lexicon_topic
from streams.kafka_security import aiokafka_options
from streams.lexicon_topic import Published, decode, encode, from_files, newest_valid, publish, read_topic, where
from streams.settings import Settings

EVAL_DIR = Path(__file__).resolve().parents[1] / "tests" / "eval"
EXAMPLES = 3  # of each kind of change
REFUSED, BELOW_FLOORS = 2, 3  # exit codes


@dataclass
class Change:
    """What a new version changes over the evaluation sets: searches whose tier changes, or that gain or lose a
    resource, each with (search, before, after)."""

    searches: int = 0
    tier: list[tuple[Labeled, str, str]] = field(default_factory=list)
    gained: list[tuple[Labeled, str, str]] = field(default_factory=list)
    lost: list[tuple[Labeled, str, str]] = field(default_factory=list)


def diff(old: Decider, new: Decider, rows: list[Labeled]) -> Change:
    change = Change(searches=len(rows))
    now = int(time.time() * 1000)
    for row in rows:
        event = SearchEvent("diff", row.query, row.locale, row.locale.split("-")[0].lower(), row.country, now,
                            "search")
        before, after = old.decide(event, now), new.decide(event, now)
        if before["tier"] != after["tier"]:
            change.tier.append((row, str(before["tier"] or "none"), str(after["tier"] or "none")))
        had = {r["id"] for r in before["resources"]}
        has = {r["id"] for r in after["resources"]}
        if has - had:
            change.gained.append((row, "", ", ".join(sorted(has - had))))
        if had - has:
            change.lost.append((row, ", ".join(sorted(had - has)), ""))
    return change


def render_diff(change: Change, old: str, new: str) -> str:
    lines = [f"against the live version {old} -> {new}, over {change.searches:,} evaluation searches:"]
    kinds: list[tuple[str, list[tuple[Labeled, str, str]], Callable[[str, str], str]]] = [
        ("change tier", change.tier, lambda b, a: f"{b} -> {a}"),
        ("gain a resource", change.gained, lambda b, a: f"+ {a}"),
        ("lose a resource", change.lost, lambda b, a: f"- {b}"),
    ]
    for title, found, show in kinds:
        lines.append(f"  {len(found):>6,} {title}")
        for row, before, after in found[:EXAMPLES]:
            lines.append(f"           {row.query!r} ({row.locale}, {row.country or '-'}): {show(before, after)}")
    return "\n".join(lines)


def check_floors(decider: Decider, eval_dir: Path, say: Callable[[str], None]) -> bool:
    reports: dict[str, Any] = {}
    held = True
    for floor in FLOORS:
        if floor.file not in reports:
            reports[floor.file] = evaluate(decider, load_labeled(eval_dir / floor.file))
        ok = floor.holds(reports[floor.file])
        held &= ok
        say(f"  {'ok  ' if ok else 'BELOW'} {floor}: {floor.value(reports[floor.file]):.1%}")
    return held


async def run(settings: Settings, folder: Path, overlay: Path | None, version: str | None, force: bool,
              reason: str | None, dry_run: bool, eval_dir: Path, say: Callable[[str], None]) -> int:
    """The whole publish; returns the exit code (0 published or nothing to do, 2 refused, 3 below the floors)."""
    if force and not reason:
        say("lexicon publish: REFUSED: --force needs --reason \"why it must go live below the floors\"")
        return REFUSED
    options = aiokafka_options(settings)
    records, _ = await read_topic(settings, options)
    topic = settings.lexicon_topic
    live = newest_valid(records, topic, lambda record, exc: say(
        f"lexicon publish: warning: {where(topic, record.offset)} is broken ({exc.file}: {exc.entry}): skipped"))
    try:
        candidate, lexicon = _candidate(settings, records, folder, overlay, version, force, reason)
    except LexiconError as exc:
        say(f"lexicon publish: REFUSED: the lexicon is broken: {exc}")
        return REFUSED
    say(f"version {lexicon.version} ({len(encode(candidate)):,} bytes compressed)")
    decider = Decider(lexicon)
    say("evaluation floors:")
    if not check_floors(decider, eval_dir, say) and not force:
        say("lexicon publish: REFUSED: below the evaluation floors (--force --reason \"...\" to publish anyway)")
        return BELOW_FLOORS
    if live is None:
        say(f"no version is live on {topic}: the workers decide with their files until this one")
    else:
        live_lexicon, _ = live
        if live_lexicon.version == lexicon.version:
            say(f"{lexicon.version} is already live on {topic}: nothing published")
            return 0
        rows = [row for name in dict.fromkeys(f.file for f in FLOORS) for row in load_labeled(eval_dir / name)]
        say(render_diff(diff(Decider(live_lexicon), decider, rows), live_lexicon.version, lexicon.version))
    if dry_run:
        say("dry run: not published")
        return 0
    await ensure_lexicon_topic(settings)
    offset = await publish(settings, candidate, options)
    say(f"published {lexicon.version} at {where(topic, offset)}: workers switch to it within seconds "
        "(signpost_lexicon_info, signpost_lexicon_switched_timestamp_seconds)")
    return 0


def _candidate(settings: Settings, records: list[Any], folder: Path, overlay: Path | None, version: str | None,
               force: bool, reason: str | None) -> tuple[Published, Lexicon]:
    if version is None:
        base = read_folder(folder)
        extra = None if overlay is None else read_folder(overlay)
        lexicon = compile_lexicon(base, extra)
        return from_files(lexicon, base, extra, reason, force), lexicon
    for record in reversed(records):
        if record.key == version.encode():
            at = where(settings.lexicon_topic, record.offset)
            earlier = decode(record.value, record.offset, at)
            return earlier.republished(reason or f"rollback to {version}", force), earlier.compile(at)
    raise LexiconError(settings.lexicon_topic, version, "no such version on the topic (published versions: "
                       + (", ".join(dict.fromkeys(r.key.decode(errors="replace") for r in records)) or "none") + ")")
