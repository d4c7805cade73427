"""bench/decode_cpu.py runs with tiny counts and prints every figure it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "decode_cpu.py"


def test_json_output_has_every_figure() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--frames", "40", "--repeat", "1",
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["frames"] == 40 and figures["events"] == 100  # 2.5 events per frame
    for key in ("decode_bind_us_per_frame", "frame_hash_twice_us_per_frame",
                "serialise_us_per_frame"):
        assert figures[key] > 0, key


def test_bad_arguments_are_refused_with_a_message() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--frames", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--frames" in done.stderr
