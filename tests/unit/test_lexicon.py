"""The one loader refuses a broken lexicon and names the file and the entry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.core.lexicon import Lexicon, LexiconError, load_lexicon, summary
from streams.core.resources import Resource

ROOT = Path(__file__).resolve().parents[2]


def broken_copy(tmp_path: Path, file: str, change: Callable[[Any], None]) -> Path:
    target = tmp_path / "lexicon"
    shutil.copytree(ROOT / "lexicon", target)
    path = target / file
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False))
    return target


def test_the_lexicon_covers_40_conditions_in_three_tiers(lexicon: Lexicon) -> None:
    tiers = [c.tier for c in lexicon.conditions.values()]
    assert len(tiers) >= 40 and set(tiers) == {"crisis", "support", "info"}


def test_crisis_terms_cover_twelve_languages(lexicon: Lexicon) -> None:
    needed = {"en", "es", "pt", "fr", "de", "it", "hi", "ar", "ru", "ja", "zh", "ko"}
    for cond in lexicon.conditions.values():
        if cond.tier == "crisis":
            assert needed <= set(cond.terms), (cond.id, needed - set(cond.terms))


def test_crisis_lines_cover_30_countries_and_emergency_numbers_60(lexicon: Lexicon) -> None:
    assert len(lexicon.countries()) >= 30
    assert len(lexicon.countries("emergency")) >= 60


@pytest.mark.parametrize("resource", load_lexicon().resources.values(), ids=lambda r: r.id)
def test_every_resource_is_sourced_and_every_phone_number_checked(resource: Resource) -> None:
    assert resource.source.startswith(("http://", "https://"))
    if resource.phone is not None:
        assert resource.checked is not None and len(resource.checked) == 10


def test_the_version_names_the_content(lexicon: Lexicon, tmp_path: Path) -> None:
    changed = broken_copy(tmp_path, "conditions/grief.json", lambda d: d["terms"]["en"].append("mourning a friend"))
    assert load_lexicon(changed).version != lexicon.version
    assert lexicon.version.startswith(json.loads((ROOT / "lexicon/manifest.json").read_text())["version"] + "+")


def test_summary_counts_conditions_languages_and_countries(lexicon: Lexicon) -> None:
    counts = summary(lexicon)
    assert counts["conditions_total"] == len(lexicon.conditions)
    assert counts["terms_per_language"]["en"] > 0 and "US" in counts["crisis_line_countries"]


@pytest.mark.parametrize(
    ("file", "change", "entry_words"),
    [
        ("conditions/suicide.json", lambda d: d.update(tier="urgent"), ["suicide.json", "tier"]),
        ("conditions/suicide.json", lambda d: d.update(colour="red"), ["suicide.json", "colour"]),
        ("conditions/anxiety.json", lambda d: d["terms"]["en"].append(d["terms"]["en"][0].upper()),
         ["anxiety.json", "terms.en", "twice"]),
        ("conditions/depression.json", lambda d: d["terms"].setdefault("en", []).append("autism"),
         ["depression.json", "autism"]),
        ("conditions/grief.json", lambda d: d.update(id="sorrow"), ["grief.json", "id"]),
        ("resources/crisis_lines.json", lambda d: d[0].pop("source"), ["crisis_lines.json", "source"]),
        ("resources/crisis_lines.json", lambda d: d[0].update(checked="last week"), ["crisis_lines.json", "checked"]),
        ("resources/info_pages.json", lambda d: d[0].update(conditions=["no_such_condition"]),
         ["info_pages.json", "no_such_condition"]),
        ("resources/crisis_lines.json", lambda d: d.append(dict(d[0])), ["crisis_lines.json", "also used"]),
    ],
)
def test_a_broken_lexicon_is_refused_naming_file_and_entry(tmp_path: Path, file: str, change: Callable,
                                                            entry_words: list[str]) -> None:
    with pytest.raises(LexiconError) as error:
        load_lexicon(broken_copy(tmp_path, file, change))
    for word in entry_words:
        assert word in str(error.value)


def test_a_condition_without_a_trusted_page_is_refused(tmp_path: Path) -> None:
    def drop_grief(pages: list) -> None:
        for page in pages:
            page["conditions"] = [c for c in page.get("conditions", []) if c != "grief"]

    with pytest.raises(LexiconError) as error:
        load_lexicon(broken_copy(tmp_path, "resources/info_pages.json", drop_grief))
    assert "grief" in str(error.value)


def test_a_lexicon_folder_cannot_bring_a_lenient_schema_of_its_own(tmp_path: Path) -> None:
    broken = broken_copy(tmp_path, "conditions/suicide.json", lambda d: d.update(tier="urgent"))
    (broken / "schema").mkdir()
    for name in ("condition", "manifest", "resources"):
        (broken / "schema" / f"{name}.schema.json").write_text("{}")  # accepts anything
    with pytest.raises(LexiconError) as error:
        load_lexicon(broken)
    assert error.value.file.endswith("suicide.json") and "urgent" in error.value.problem


@pytest.mark.parametrize(("hours", "problem"), [
    ({"tz": "Mars/Olympus", "weekly": [{"days": "mon", "from": "09:00", "to": "17:00"}]}, "time zone"),
    ({"tz": "Europe/Rome", "weekly": [{"days": "mon", "from": "22:00", "to": "02:00"}]}, "two spans"),
    ({"tz": "Europe/Rome", "weekly": [{"days": "mon", "from": "09:00", "to": "25:00"}]}, "time of day"),
])
def test_hours_that_cannot_be_read_are_refused_naming_the_entry(tmp_path: Path, hours: dict, problem: str) -> None:
    def change(lines: list[dict]) -> None:
        lines[0]["open"] = hours

    broken = broken_copy(tmp_path, "resources/crisis_lines.json", change)
    with pytest.raises(LexiconError) as error:
        load_lexicon(broken)
    assert error.value.file.endswith("crisis_lines.json") and error.value.entry.endswith("(open)")
    assert problem in error.value.problem


def test_a_phone_number_without_a_check_date_is_refused(tmp_path: Path) -> None:
    broken = broken_copy(tmp_path, "resources/crisis_lines.json", lambda lines: lines[0].update(checked=None))
    with pytest.raises(LexiconError, match="checked"):
        load_lexicon(broken)


def test_a_weekly_timetable_is_read_in_the_operators_time_zone() -> None:
    from datetime import datetime

    from streams.core.hours import parse_hours

    hours = parse_hours({"tz": "Asia/Kuala_Lumpur", "weekly": [{"days": "mon-sun", "from": "08:00", "to": "24:00"}]})
    assert hours is not None

    def at(iso: str) -> bool:
        return hours.is_open(int(datetime.fromisoformat(iso).timestamp() * 1000))

    assert at("2026-12-01T08:00+08:00") and at("2026-12-01T23:59+08:00") and not at("2026-12-01T07:59+08:00")
    assert not at("2026-12-01T17:00+00:00")  # 01:00 the next day in Kuala Lumpur
    assert parse_hours("24/7") is not None and parse_hours(None) is None


def test_a_typo_guard_line_with_a_bad_language_is_refused_naming_its_line(tmp_path: Path) -> None:
    target = tmp_path / "lexicon"
    shutil.copytree(ROOT / "lexicon", target)
    guard = target / "typo-guard.txt"
    lines = guard.read_text(encoding="utf-8").splitlines()
    first = next(n for n, line in enumerate(lines) if not line.startswith("#"))
    lines[first] = lines[first].split(" ")[0] + " de,German"
    guard.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LexiconError) as error:
        load_lexicon(target)
    assert "typo-guard.txt" in str(error.value) and f"line {first + 1}" in str(error.value)
