"""A bad setting stops start-up with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SIGNPOST = str(Path(sys.executable).with_name("signpost"))


def test_worker_refuses_a_bad_setting_and_names_it() -> None:
    env = {**os.environ, "SIGNPOST_PROCESSING_GUARANTEE": "maybe"}
    result = subprocess.run([SIGNPOST, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "SIGNPOST_PROCESSING_GUARANTEE" in result.stderr
