"""The one loader refuses a broken lexicon and names the file and the entry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.core.lexicon import Lexicon, LexiconError, load_lexicon, summary

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


def test_crisis_lines_cover_25_countries_and_every_resource_is_sourced_and_dated(lexicon: Lexicon) -> None:
    assert len(lexicon.countries()) >= 25
    for resource in lexicon.resources.values():
        assert resource.source.startswith("http") and len(resource.checked) == 10, resource.id


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
