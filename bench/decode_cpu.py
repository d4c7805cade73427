"""CPU per frame of the ingest path's Python before the store, on one thread.

What each frame costs the event loop before it is handed to the store's writer:
the adapter's ``decode`` (JSON, readings, ``make_event`` with its validation and
event ids) and the pipeline's ``_bind`` (received time, frame reference); then,
apart, the frame hash asked for twice, and the JSON the store writes for each
event. Process CPU time (``time.process_time``), best of ``--repeat`` rounds of
``--frames`` Zigbee2MQTT frames of the throughput benchmark's traffic: no broker,
no store, no other thread, so a busy machine disturbs it far less than the
end-to-end figures of ``pipeline_throughput.py``.

    python bench/decode_cpu.py                  # 4,000 frames, best of 5
    python bench/decode_cpu.py --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `gateway` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.frames import BASE_TOPIC, TENANT, SendClock, frames
from gateway import RawFrame
from gateway.core.clock import SystemClock
from gateway.core.directory import DeviceDirectory
from gateway.core.metrics import Metrics
from gateway.core.pipeline import Pipeline
from plugins.alarms.zigbee2mqtt.adapter import Zigbee2MqttAdapter


def measure(count: int, repeat: int) -> dict[str, Any]:
    adapter = Zigbee2MqttAdapter({})
    pipeline = Pipeline(None, {"zigbee2mqtt": adapter}, DeviceDirectory(),  # type: ignore[arg-type]
                        SystemClock(), Metrics())
    now = datetime.now(UTC)
    rounds: list[tuple[float, float, float]] = []
    events = 0
    for _ in range(repeat):
        raw = [RawFrame("zigbee2mqtt", TENANT, "mqtt", address, body, now,
                        {"base_topic": BASE_TOPIC}) for address, body in frames(count, SendClock())]
        t0 = time.process_time()
        bound = [[pipeline._bind(f, e) for e in pipeline._decode(f)] for f in raw]
        t1 = time.process_time()
        for f in raw:
            _ = f.ref, f.ref
        t2 = time.process_time()
        for evs in bound:
            for e in evs:
                e.model_dump_json()
        t3 = time.process_time()
        rounds.append((t1 - t0, t2 - t1, t3 - t2))
        events = sum(len(evs) for evs in bound)
    best = [min(r[i] for r in rounds) for i in range(3)]
    return {"frames": count, "events": events, "repeat": repeat,
            "decode_bind_us_per_frame": round(best[0] / count * 1e6, 1),
            "frame_hash_twice_us_per_frame": round(best[1] / count * 1e6, 2),
            "serialise_us_per_frame": round(best[2] / count * 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=4000, help="frames per round (4000)")
    p.add_argument("--repeat", type=int, default=5, help="rounds; the best is kept (5)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    args = p.parse_args(argv)
    if args.frames < 1 or args.repeat < 1:
        p.error("--frames and --repeat must be at least 1")
    f = measure(args.frames, args.repeat)
    if args.json:
        print(json.dumps(f, indent=2))
    else:
        print(f"{f['frames']:,} Zigbee2MQTT frames ({f['events']:,} events), best of "
              f"{f['repeat']}, process CPU per frame:")
        print(f"  decode + bind          {f['decode_bind_us_per_frame']:8.1f} us")
        print(f"  frame hash, asked 2x   {f['frame_hash_twice_us_per_frame']:8.2f} us")
        print(f"  serialise for the store{f['serialise_us_per_frame']:8.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
