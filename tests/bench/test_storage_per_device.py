"""The storage benchmark runs and prints every figure (tiny fleet; no size asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_storage_benchmark_prints_before_and_after_a_prune() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "storage_per_device.py"), "--devices", "2",
         "--days", "1.5", "--heartbeats-days", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["frames_ingested"] >= 2 * 432  # a heartbeat each 5 min for 1.5 days, + alarms
    before, after = out["before"], out["after"]
    assert before["rows"]["heartbeat_events"] > 0 and before["bytes_per_device_day"] > 0
    # a day and a half of heartbeats, one day kept: the first half day's went
    assert out["pruned"]["heartbeats"] == before["rows"]["heartbeat_events"] - \
        after["rows"]["heartbeat_events"] > 0
    assert after["rows"]["frames"] == before["rows"]["frames"]  # frames_days 30: all kept
    assert set(out["retention"]) == {"dead_letters", "frames", "heartbeats", "events",
                                     "outbox", "sessions", "audit"}
