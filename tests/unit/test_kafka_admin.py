from __future__ import annotations

import pytest

from streams.kafka_admin import min_insync


@pytest.mark.parametrize(("replication", "in_sync"), [(1, 1), (2, 1), (3, 2), (5, 2)])
def test_three_copies_need_two_in_sync_before_a_record_is_acknowledged(replication: int, in_sync: int) -> None:
    assert min_insync(replication) == in_sync
