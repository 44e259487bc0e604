"""A `signpost worker` subprocess with a free web port, and reading its /metrics: used by tests and bench."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SIGNPOST = str(Path(sys.executable).with_name("signpost"))


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 now (all held open together, so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def metric(port: int | str, name: str) -> float:
    """One unlabelled sample of the /metrics served on `port` (0 until it answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(f"{name} "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The worker's environment: these settings, a free web port of its own unless `extra` names one."""
    return {**os.environ, **settings.as_env(), "SIGNPOST_WEB_PORT": str(free_port()), **extra}


class Worker:
    """`signpost worker -l warn` in its own session, logging to `log`."""

    def __init__(self, settings: Settings, log: Path, **extra: str) -> None:
        self.env = worker_env(settings, **extra)
        self.web_port = int(self.env["SIGNPOST_WEB_PORT"])
        self.log = log
        self.proc = subprocess.Popen([SIGNPOST, "worker", "-l", "warn"], env=self.env, cwd=ROOT,
                                     stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def metric(self, name: str) -> float:
        return metric(self.web_port, name)

    def decided(self) -> float:
        return self.metric("signpost_events_total")

    def ready(self) -> bool:
        """Its /readyz answers 200: the decision loop has its consumer and producer and is deciding."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
