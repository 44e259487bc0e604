"""A deployment overlay merged over the base lexicon: its partners first, its support page, its added terms, its
never-intercept phrases; a broken overlay refused with the file and the entry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.core.decide import Decider
from streams.core.events import SearchEvent
from streams.core.lexicon import Lexicon, LexiconError, load_lexicon

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "examples" / "overlay"
NOW = 1_764_072_000_000


@pytest.fixture(scope="module")
def overlaid() -> Decider:
    return Decider(load_lexicon(overlay_dir=OVERLAY))


def decide(decider: Decider, query: str, country: str = "US") -> dict[str, Any]:
    event = SearchEvent("s", query, f"en-{country}", "en", country, NOW, "search")
    return dict(decider.decide(event, NOW))


def broken_overlay(tmp_path: Path, file: str, change: Callable[[Any], None]) -> Path:
    target = tmp_path / "overlay"
    shutil.copytree(OVERLAY, target)
    data = json.loads((target / file).read_text())
    change(data)
    (target / file).write_text(json.dumps(data))
    return target


def test_the_version_names_the_base_and_the_overlay(overlaid: Decider, lexicon: Lexicon) -> None:
    assert overlaid.version == f"{lexicon.version}/{overlaid.lexicon.overlay_version}"
    assert overlaid.lexicon.overlay_version.startswith("example-platform@1.0.0+")
    assert decide(overlaid, "i want to kill myself")["lexicon_version"] == overlaid.version


def test_the_partner_line_is_shown_first_in_its_country_and_the_national_line_kept(overlaid: Decider) -> None:
    ids = [r["id"] for r in decide(overlaid, "i want to kill myself", "GB")["resources"]]
    assert ids[0] == "example-platform-gb-chat" and "gb-samaritans" in ids


def test_the_partner_line_is_not_shown_in_other_countries(overlaid: Decider) -> None:
    ids = [r["id"] for r in decide(overlaid, "i want to kill myself", "US")["resources"]]
    assert "example-platform-gb-chat" not in ids and ids[0] == "us-988-call"


def test_the_support_page_comes_with_every_intercept_and_only_then(overlaid: Decider) -> None:
    assert decide(overlaid, "how to deal with anxiety")["resources"][-1]["id"] == "example-platform-safety-centre"
    assert decide(overlaid, "best pizza near me")["resources"] == []


def test_a_never_intercept_phrase_is_not_intercepted(overlaid: Decider, decider: Decider) -> None:
    assert decide(decider, "depression quest download")["intercept"], "the base intercepts it: the overlay matters"
    assert not decide(overlaid, "depression quest download")["intercept"]
    assert decide(overlaid, "am i depressed")["tier"] == "support"


def test_an_added_term_matches_its_condition(overlaid: Decider) -> None:
    assert [c["id"] for c in decide(overlaid, "exampleapp calm corner")["conditions"]] == ["anxiety"]


@pytest.mark.parametrize(
    ("file", "change", "words"),
    [
        ("overlay.json", lambda d: d.update(colour="red"), ["overlay.json", "colour"]),
        ("overlay.json", lambda d: d["terms"].update(no_such={"en": ["x y"]}), ["overlay.json", "terms.no_such"]),
        ("overlay.json", lambda d: d["terms"]["anxiety"]["en"].append("depression"),
         ["overlay.json", "terms.anxiety.en", "depression"]),
        ("overlay.json", lambda d: d["never_intercept"]["en"].append("i want to kill myself"),
         ["overlay.json", "never_intercept.en", "crisis"]),
        ("overlay.json", lambda d: d.update(support_page="gb-samaritans"), ["overlay.json", "support_page"]),
        ("resources/partners.json", lambda d: d[0].update(id="gb-samaritans"), ["partners.json", "gb-samaritans"]),
        ("resources/partners.json", lambda d: d[0].update(conditions=["nope"]), ["partners.json", "nope"]),
    ],
)
def test_a_broken_overlay_is_refused_naming_the_file_and_entry(tmp_path: Path, file: str,
                                                              change: Callable[[Any], None],
                                                              words: list[str]) -> None:
    with pytest.raises(LexiconError) as error:
        load_lexicon(overlay_dir=broken_overlay(tmp_path, file, change))
    for word in words:
        assert word in str(error.value)
