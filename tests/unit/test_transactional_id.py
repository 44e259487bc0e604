"""The decision loop's transactional id in exactly-once mode (streams/decision_loop.py): one worker instance's,
kept across its restarts; an integration of it is the cluster fault suite's two exactly-once workers."""

from __future__ import annotations

from pathlib import Path

from streams.acls import minimal_acls
from streams.decision_loop import transactional_id
from streams.settings import Settings


def test_two_workers_on_one_host_never_fence_each_other(tmp_path: Path) -> None:
    one, two = (transactional_id(Settings(data_dir=tmp_path / name)) for name in ("one", "two"))
    assert one != two


def test_a_restarted_worker_fences_its_predecessor_with_the_same_id(tmp_path: Path, monkeypatch) -> None:
    before = transactional_id(Settings(data_dir=tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # the same folder named relatively
    assert transactional_id(Settings(data_dir=Path("data"))) == before


def test_the_workers_acl_covers_its_transactional_id(tmp_path: Path) -> None:
    s = Settings(app_id="sp", data_dir=tmp_path)
    ids = [a for a in minimal_acls(s) if a.resource == "transactional-id"]
    covering = [a for a in ids if transactional_id(s).startswith(a.name)]
    assert [a.pattern for a in covering] == ["prefixed"]  # the decision loop's (the counters' merge has its own)
