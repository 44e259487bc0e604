"""`make profile`: where the worker's time goes at full speed, sampled with py-spy on the local broker.

A backlog of realistic searches goes on a fresh topic, a worker starts on it, and once it decides, py-spy
samples it for PROFILE_SECONDS (default 8). Prints the functions with the most samples (own time, and time
including callees) and writes the collapsed stacks to bench/results/profile.txt (flamegraph.pl or speedscope
read them). py-spy comes with the `bench` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.harness import BenchError, BenchWorker, create_topics, delete_topics, produce_mix, scratch_dir
from tests.support.kafka import isolated_settings

OUT = Path(__file__).resolve().parent / "results" / "profile.txt"


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each of the process's threads, by name (py-spy cannot tell a thread waiting inside
    uvloop's C loop from one working, so the samples alone overstate Faust's consumer thread)."""
    cpu: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[f"{name} ({task.name})"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu


def summary(collapsed: Path, top: int = 25) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame.split(" (")[0] for frame in stack.split(";")]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    rows = [f"{'own':>6} {'incl.':>6}  function ({total} samples)"]
    rows += [f"{n / total:6.1%} {inclusive[f] / total:6.1%}  {f}" for f, n in own.most_common(top)]
    return "\n".join(rows)


async def profile(bootstrap: str, events: int, seconds: int) -> dict[str, float]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise BenchError("py-spy is not installed: pip install -e '.[bench]'")
    with scratch_dir() as scratch:
        settings = isolated_settings(bootstrap, "prof", Path(scratch) / "data")
        topics = await create_topics(settings)
        try:
            await produce_mix(bootstrap, settings.events_topic, events, "prof")
            worker = BenchWorker(settings, Path(scratch) / "worker.log")
            try:
                await worker.ready()
                while worker.decided() == 0:
                    worker.check_alive()
                    await asyncio.sleep(0.1)  # polling the worker's /metrics
                OUT.parent.mkdir(exist_ok=True)
                command = [spy, "record", "-p", str(worker.proc.pid), "-d", str(seconds), "-r", "250", "-f", "raw",
                           "-o", str(OUT)]
                before = thread_cpu(worker.proc.pid)
                result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
                after = thread_cpu(worker.proc.pid)
                if result.returncode != 0:
                    raise BenchError(f"py-spy failed: {result.stderr.strip()}")
                return {name: (after[name] - before.get(name, 0.0)) / seconds for name in after}
            finally:
                worker.stop()
        finally:
            await delete_topics(bootstrap, topics)


def main() -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        print("profile: KAFKA_BOOTSTRAP_SERVERS is not set; run `make profile`", file=sys.stderr)
        return 2
    try:
        threads = asyncio.run(profile(bootstrap, int(os.environ.get("PROFILE_EVENTS", "400000")),
                                      int(os.environ.get("PROFILE_SECONDS", "8"))))
    except BenchError as exc:
        print(f"profile: {exc}", file=sys.stderr)
        return 1
    print(summary(OUT))
    print("\nthe worker's threads while sampled, share of a core (from /proc):")
    for name, share in sorted(threads.items(), key=lambda item: -item[1]):
        if share >= 0.005:
            print(f"{share:6.1%}  {name}")
    print(f"collapsed stacks: {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
