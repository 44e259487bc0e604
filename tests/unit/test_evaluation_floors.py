"""The labeled evaluation sets hold the floors the project promises.

queries.jsonl (1,800 searches) was used while the lexicon was written: it must hold the floors of the
lexicon issue. heldout.jsonl (500) was written by someone who had not seen the lexicon and has not been used to
tune it: it measures how the lexicon generalizes, and guards that figure against regressions.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from streams.core.decide import Decider
from streams.evaluation import FLOORS, Floor, Report, evaluate, load_labeled

EVAL = Path(__file__).resolve().parents[1] / "eval"


@pytest.fixture(scope="module")
def development(decider: Decider) -> Report:
    return evaluate(decider, load_labeled(EVAL / "queries.jsonl"))


@pytest.fixture(scope="module")
def heldout(decider: Decider) -> Report:
    return evaluate(decider, load_labeled(EVAL / "heldout.jsonl"))


def test_the_set_covers_every_condition_tier_and_language() -> None:
    rows = load_labeled(EVAL / "queries.jsonl")
    assert len(rows) >= 1500
    assert sum(r.tier is None for r in rows) >= 500
    crisis_languages = Counter(r.lang for r in rows if r.tier == "crisis")
    assert {"en", "es", "pt", "fr", "de", "it", "hi", "ar", "ru", "ja", "zh", "ko"} <= set(crisis_languages)
    kinds = {r.kind for r in rows}
    assert {"exact", "translation", "typo", "coded", "hashtag", "lookalike", "unrelated"} <= kinds


def test_crisis_recall_is_at_least_98_percent(development: Report) -> None:
    assert development.by_tier["crisis"].recall() >= 0.98


@pytest.mark.parametrize("tier", ["support", "info"])
def test_support_and_info_recall_is_at_least_92_percent(development: Report, tier: str) -> None:
    assert development.by_tier[tier].recall() >= 0.92


def test_false_positive_rate_is_at_most_3_percent(development: Report) -> None:
    assert development.negatives.fpr() <= 0.03


# Issue 11's done-when on this set: crisis 0.97 overall and 0.93 in every language with 20 or more crisis rows,
# support and info 0.92, look-alikes 0.02.
def test_heldout_crisis_recall_is_at_least_97_percent(heldout: Report) -> None:
    assert heldout.by_tier["crisis"].recall() >= 0.97


def test_heldout_crisis_recall_is_at_least_93_percent_in_every_language_with_20_crisis_rows(
        heldout: Report) -> None:
    crisis = Counter(r.lang for r in load_labeled(EVAL / "heldout.jsonl") if r.tier == "crisis")
    missed = Counter(row.lang for row, _, _ in heldout.misses if row.tier == "crisis")
    held = {lang: 1 - missed[lang] / n for lang, n in crisis.items() if n >= 20}
    assert held, "no language has 20 crisis rows: the floor would hold nothing"
    assert all(recall >= 0.93 for recall in held.values()), held


@pytest.mark.parametrize("tier", ["support", "info"])
def test_heldout_support_and_info_recall_stay_above_92_percent(heldout: Report, tier: str) -> None:
    assert heldout.by_tier[tier].recall() >= 0.92


def test_heldout_false_positive_rate_is_at_most_2_percent(heldout: Report) -> None:
    assert heldout.negatives.fpr() <= 0.02


@pytest.fixture(scope="module")
def world(decider: Decider) -> Report:
    return evaluate(decider, load_labeled(EVAL / "heldout-world.jsonl"))


def test_every_row_of_the_development_and_world_sets_says_where_it_came_from() -> None:
    for name in ("queries.jsonl", "heldout-world.jsonl"):
        assert all(r.source for r in load_labeled(EVAL / name)), name


def test_no_development_row_cites_a_page_of_the_world_heldout_set() -> None:
    """The sets are kept apart by their sources, not only by their rows (tests/eval/README.md)."""
    def page(source: str) -> str:
        return source.split("://", 1)[-1].removeprefix("www.").rstrip("/").lower()

    held = {page(r.source) for name in ("heldout-world.jsonl", "heldout-world-burned.jsonl")
            for r in load_labeled(EVAL / name)}
    assert not [r.query for r in load_labeled(EVAL / "queries.jsonl") if page(r.source) in held]


def test_the_development_set_has_4000_searches_in_30_languages() -> None:
    rows = load_labeled(EVAL / "queries.jsonl")
    assert len(rows) >= 4000
    assert len({r.lang for r in rows if r.tier == "crisis"}) >= 30


# The world held-out set's floors hold what 2026-12-01 reached, against regressions; issue 11's targets (crisis
# 0.97, support and info 0.92, look-alikes 0.02) are far above them, and tests/eval/README.md says how far.
def test_world_heldout_crisis_recall_does_not_regress_below_62_percent(world: Report) -> None:
    assert world.by_tier["crisis"].recall() >= 0.62


def test_world_heldout_support_and_info_recall_does_not_regress_below_65_percent(world: Report) -> None:
    support, info = world.by_tier["support"], world.by_tier["info"]
    assert (support.found + info.found) / (support.positives + info.positives) >= 0.65


def test_world_heldout_false_positive_rate_is_at_most_2_percent(world: Report) -> None:
    assert world.negatives.fpr() <= 0.02


@pytest.mark.parametrize("floor", FLOORS, ids=str)
def test_the_floors_that_lexicon_publish_checks_hold_on_the_lexicon_in_the_repository(
        floor: Floor, development: Report, heldout: Report, world: Report) -> None:
    report = {"queries.jsonl": development, "heldout.jsonl": heldout, "heldout-world.jsonl": world}[floor.file]
    assert floor.holds(report), f"{floor}: {floor.value(report):.3f}"


def _duckduckgo() -> list[dict[str, object]]:
    return [json.loads(line) for line in (EVAL / "duckduckgo-helpline.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("row", [r for r in _duckduckgo() if r["tier"]], ids=lambda r: str(r["query"]))
def test_every_trigger_of_duckduckgos_helpline_answer_is_decided_crisis(decider: Decider,
                                                                       row: dict[str, object]) -> None:
    matches = decider.matcher.match(str(row["query"]))
    assert matches and matches[0].tier == "crisis"


def test_duckduckgos_negative_case_is_not_intercepted(decider: Decider) -> None:
    [negative] = [r for r in _duckduckgo() if not r["tier"]]
    assert decider.matcher.match(str(negative["query"])) == []


@pytest.mark.parametrize("line", ['{"query": "i want to die"', '{"query": "i want to die", "locale": "en-US"}'])
def test_a_file_that_is_not_labelled_rows_is_refused_naming_its_line(line: str, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(next(EVAL.joinpath("queries.jsonl").open(encoding="utf-8")) + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"rows\.jsonl:2: not a labelled row"):
        load_labeled(rows)
