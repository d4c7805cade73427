"""The listener flood benchmark runs end to end and prints every figure it promises.

Tiny counts and nothing asserted about speed: exit status 0 (every genuine alarm ACKed),
and each stage, ratio and refusal counter present in the JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "listener_flood.py"

pytestmark = pytest.mark.slow


def test_every_stage_is_measured_and_every_genuine_alarm_acked() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--alarms", "3", "--idle", "20", "--flood", "3000",
         "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    for stage in ("tcp_quiet", "tcp_attack", "udp_quiet", "udp_flood"):
        assert figures[stage]["acked"] == figures[stage]["alarms"] == 3
        lat = figures[stage]["latency"]
        assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert set(figures["tcp_ratio"]) == set(figures["udp_ratio"]) == {"p50_ms", "p95_ms",
                                                                      "p99_ms"}
    assert figures["tcp_attack"]["idle_opened"] >= 20
    assert figures["udp_flood"]["flood_sent"] > 0
    assert sum(figures["refused"]["dc09-vasteras/udp"].values()) > 0
