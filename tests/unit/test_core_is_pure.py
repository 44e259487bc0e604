"""The engine knows nothing of transport: streams.core imports no Kafka, Faust or Prometheus."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_no_transport_or_metrics_library() -> None:
    code = (
        "import importlib, pkgutil, sys, streams.core\n"
        "for m in pkgutil.walk_packages(streams.core.__path__, 'streams.core.'): importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('faust', 'aiokafka', 'prometheus_client', 'mode')]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
