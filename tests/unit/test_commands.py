"""The command line: classify keeps going on bad lines; lexicon-check reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

SIGNPOST = str(Path(sys.executable).with_name("signpost"))


def test_classify_writes_one_line_per_input_line_and_never_stops(decision_schema: dict) -> None:
    lines = [
        json.dumps({"search_id": "a", "query": "best pizza near me"}),
        "{not json",
        json.dumps({"search_id": "b", "query": "quiero morir", "locale": "es-MX"}),
        json.dumps({"query": "no id"}),
        json.dumps({"search_id": "c", "query": "am i autistic"}),
    ]
    result = subprocess.run([SIGNPOST, "classify"], input="\n".join(lines) + "\n", capture_output=True,
                            text=True, timeout=120, check=True)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[1] == {"error": "not_json", "detail": out[1]["detail"], "line": 2}
    assert out[3]["error"] == "missing_search_id"
    for decision in (out[0], out[2], out[4]):
        jsonschema.validate(decision, decision_schema)
    assert [out[0]["tier"], out[2]["tier"], out[4]["tier"]] == [None, "crisis", "info"]
    assert out[2]["country"] == "MX"


def test_lexicon_check_prints_counts() -> None:
    result = subprocess.run([SIGNPOST, "lexicon-check"], capture_output=True, text=True, timeout=120, check=True)
    counts = json.loads(result.stdout)
    assert counts["conditions_total"] >= 40 and "OK" in result.stderr


def test_lexicon_check_names_the_broken_file(tmp_path: Path) -> None:
    import shutil

    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "lexicon", tmp_path / "lexicon")
    (tmp_path / "lexicon/conditions/ocd.json").write_text("{broken")
    result = subprocess.run([SIGNPOST, "lexicon-check", "--lexicon", str(tmp_path / "lexicon")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "ocd.json" in result.stderr
