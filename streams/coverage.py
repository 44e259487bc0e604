"""What help each country and language gets: `signpost coverage` and `signpost lexicon-audit`, and the floors
tests/unit/test_coverage.py holds. Reads the lexicon through the one loader; never decides a search."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from streams.core.lexicon import Lexicon
from streams.core.resources import Resource, country_languages

STALE_AFTER_DAYS = 548  # 18 months: a phone fact whose source is older is re-verified first


@dataclass(frozen=True)
class Market:
    rank: int
    country: str
    languages: tuple[str, ...]


def load_markets(lexicon_dir: Path) -> list[Market]:
    raw: dict[str, Any] = json.loads((lexicon_dir / "markets.json").read_text(encoding="utf-8"))
    return [Market(i, m["country"], tuple(m["languages"])) for i, m in enumerate(raw["markets"], start=1)]


@dataclass(frozen=True)
class CountryCover:
    country: str
    lines: tuple[Resource, ...]
    emergency: tuple[Resource, ...]
    support_gaps: tuple[str, ...]  # support-tier conditions with nothing in a language of the country
    info_gaps: tuple[str, ...]


def country_cover(lexicon: Lexicon, country: str, languages: tuple[str, ...] = ()) -> CountryCover:
    local = set(languages or country_languages(country))

    def gaps(tier: str) -> tuple[str, ...]:
        return tuple(c.id for c in lexicon.conditions.values() if c.tier == tier and not any(
            local & set(r.languages) for r in lexicon.serving(c, country)))

    return CountryCover(country, lexicon.crisis_lines(country), lexicon.of_role("emergency", country),
                        gaps("support"), gaps("info"))


def source_age_days(resource: Resource, today: date) -> int | None:
    """Days since the date the source states (its first day, for a year or a month), or None."""
    if resource.source_date is None:
        return None
    parts = [int(p) for p in resource.source_date.split("-")] + [1, 1]
    return (today - date(parts[0], parts[1], parts[2])).days


def stale_phone_facts(lexicon: Lexicon, today: date) -> list[tuple[Resource, int | None]]:
    """Phone facts whose source is older than 18 months, or states no date: for `lexicon-check`'s warnings."""
    found = []
    for r in lexicon.resources.values():
        if r.phone is not None:
            age = source_age_days(r, today)
            if age is None or age > STALE_AFTER_DAYS:
                found.append((r, age))
    return found


def audit_table(lexicon: Lexicon, today: date) -> str:
    """Every phone fact, oldest source first (undated first of all): for the quarterly re-verification."""
    rows = [r for r in lexicon.resources.values() if r.phone is not None]
    rows.sort(key=lambda r: (-(source_age_days(r, today) or 10**6), r.id))
    lines = ["| id | country | number | source | source date | checked |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.id} | {','.join(r.countries) or '-'} | {r.phone} | {r.source} | "
                     f"{r.source_date or 'not stated'} | {r.checked} |")
    return "\n".join(lines)


def coverage_report(lexicon: Lexicon, markets: list[Market]) -> str:
    supports = sum(c.tier == "support" for c in lexicon.conditions.values())
    infos = sum(c.tier == "info" for c in lexicon.conditions.values())
    listed = {m.country for m in markets}
    others = sorted((set(lexicon.countries()) | set(lexicon.countries("emergency"))) - listed)
    out = ["## Countries", "", f"Support and info: conditions with a resource in a language of the country "
           f"(of {supports} support-tier and {infos} info-tier conditions). GAP marks what is missing.", "",
           "| rank | country | crisis line (languages) | emergency | support, local language "
           "| info, local language |",
           "|---:|---|---|---|---:|---:|"]
    rows = [(str(m.rank), m.country, m.languages) for m in markets] + [("-", c, ()) for c in others]
    for rank, country, languages in rows:
        cover = country_cover(lexicon, country, languages)
        line = ", ".join(f"{r.phone or r.url} ({'/'.join(r.languages) or '?'})" for r in cover.lines[:3])
        emergency = ", ".join(r.phone or "" for r in cover.emergency)
        shown_line = line or ("none verified" if emergency else "GAP: directories only")
        out.append(f"| {rank} | {country} | {shown_line} | {emergency or 'GAP'} "
                   f"| {supports - len(cover.support_gaps)}/{supports} | {infos - len(cover.info_gaps)}/{infos} |")
    out += ["", "## Languages", "", "Terms per tier (crisis, support, info); GAP where a market language has none.",
            "",
            "| language | crisis | support | info |", "|---|---:|---:|---:|"]
    terms: dict[str, dict[str, int]] = {}
    for cond in lexicon.conditions.values():
        for lang, phrases in cond.terms.items():
            terms.setdefault(lang, {}).setdefault(cond.tier, 0)
            terms[lang][cond.tier] += len(phrases)
    for lang in sorted(set(terms) | {lang for m in markets for lang in m.languages}):
        counts = terms.get(lang, {})
        cells = [str(counts.get(tier, 0) or "GAP") for tier in ("crisis", "support", "info")]
        out.append(f"| {lang} | {' | '.join(cells)} |")
    return "\n".join(out)


def coverage_summary(lexicon: Lexicon, markets: list[Market]) -> str:
    top = markets[:30]
    with_line = [m.country for m in top if lexicon.crisis_lines(m.country)]
    emergency_only = [m.country for m in top if not lexicon.crisis_lines(m.country)
                      and lexicon.of_role("emergency", m.country)]
    neither = [m.country for m in top if m.country not in with_line + emergency_only]
    support_full = [m.country for m in top if not country_cover(lexicon, m.country, m.languages).support_gaps]
    return "\n".join([
        f"- crisis lines verified in {len(lexicon.countries())} countries; emergency numbers in "
        f"{len(lexicon.countries('emergency'))}; every other country gets the international directories",
        f"- of the {len(top)} largest markets: {len(with_line)} with a verified line ({', '.join(with_line)}), "
        f"{len(emergency_only)} on their emergency number and the directories ({', '.join(emergency_only)}), "
        f"{len(neither)} on the directories alone ({', '.join(neither) or 'none'})",
        f"- support in the local language for every support-tier condition: {len(support_full)} of {len(top)} "
        f"markets ({', '.join(support_full) or 'none'})",
    ])
