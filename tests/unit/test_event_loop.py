"""The worker runs on uvloop: Faust's own --loop flag is read at import time, before main() can add it."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import asyncio, sys
from streams.app import use_uvloop
argv = use_uvloop(sys.argv[1:])
loop = asyncio.get_event_loop_policy().new_event_loop()
print(type(loop).__module__, argv)
"""


def probe(*argv: str) -> str:
    return subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def test_the_worker_gets_uvloop() -> None:
    out = probe("signpost", "worker")
    assert out.startswith("uvloop")
    assert "['signpost', '--loop', 'uvloop', 'worker']" in out


def test_a_loop_named_on_the_command_line_wins() -> None:
    assert probe("signpost", "--loop", "aio", "worker").startswith("asyncio")
