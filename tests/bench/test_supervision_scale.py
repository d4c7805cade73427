"""The supervision benchmark runs with a small fleet and its figures agree with each other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_silent_device_is_alarmed_and_no_other() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "supervision_scale.py"), "--devices", "3000",
         "--silent", "0.1", "--interval", "60", "--step", "5", "--warm", "1", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["devices"] == 3000
    assert out["silent_devices"] == 300  # every 10th device
    assert out["silent_alarms_raised"] == out["silent_devices"]
    assert out["false_alarms"] == 0 and out["missed"] == 0
    # each alarm comes at its deadline (2.5 intervals after the last beat), within a step
    assert out["limit_s"] == 150
    assert out["limit_s"] <= out["max_alarm_after_last_beat_s"] <= out["limit_s"] + 5
    assert out["within_limit"] is True
    assert out["rss_mib"] > 0 and out["rss_per_device_kib"] > 0
    assert out["max_loop_block_ms"] >= 0 and out["silent_alarms_s"] >= 0
