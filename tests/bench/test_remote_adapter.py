"""The out-of-process adapter benchmark runs with a tiny count and prints every figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.remote import node
from tests.services import require_binary

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.mosquitto]


def test_the_remote_adapter_benchmark_prints_its_figures() -> None:
    require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    node.install()
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "remote_adapter.py"),
                           "--events", "20", "--json"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["events"] == figures["stored"] == 20
    assert figures["seconds"] > 0 and figures["acked_events_per_s"] > 0
