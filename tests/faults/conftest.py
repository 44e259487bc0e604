"""The fault suite (`make test-faults`): a crash, a broker restart or a poisoned record loses no search.

Runs against the local Apache Kafka started by ops/with-kafka (it stops and starts that broker), and prints a
table of what each scenario saw: records in, decisions, dead letters, duplicates, time to recover.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

RESULTS: list[Outcome] = []
REPORT = Path(__file__).resolve().parents[2] / "bench" / "results" / "faults.json"


@dataclass
class Outcome:
    scenario: str
    records_in: int
    decisions: int
    dead_letters: int
    duplicates: int
    recover_s: float | None


@pytest.fixture
def report() -> list[Outcome]:
    return RESULTS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "faults" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write("time to recover: from the fault (or the broker answering again) until every search has its decision")
    write("| scenario | records in | decisions | dead letters | duplicates | time to recover |")
    write("|---|---:|---:|---:|---:|---:|")
    for r in RESULTS:
        recover = "-" if r.recover_s is None else f"{r.recover_s:.1f} s"
        write(f"| {r.scenario} | {r.records_in:,} | {r.decisions:,} | {r.dead_letters:,} | {r.duplicates:,} "
              f"| {recover} |")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps([asdict(r) for r in RESULTS], indent=2) + "\n")
