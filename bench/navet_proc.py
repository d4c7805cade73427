"""The Navet side of the MQTT stage: one gateway process, as ``navet serve`` would run it.

A :class:`gateway.core.gateway.Gateway` with ``mqtt.mode: external`` on the
benchmark's Mosquitto, one Zigbee2MQTT adapter instance for one tenant, and a
SQLite store in a temporary directory. It prints ``READY`` once subscribed,
then waits until ``--frames`` frames are durably stored (``ingest`` returned,
which is when the broker gets its PUBACK) and prints its figures as JSON.

Latency is taken per frame from the send time the publisher wrote into
``last_seen`` to the moment ``ingest`` returned, so it is publish-to-durable
as a device would see it, queueing in the broker included.

With ``--alarms N`` (N alarm frames among them, water leaks the passive rule
turns into ``alarm.raised``) it also follows the operator stream as a live
client does: wait on the notifier that wakes the SSE/WebSocket streams, read
what was committed after its cursor, and take each ``alarm.raised``'s latency
from the frame's send time (the alarm's ``time``) to the moment the stream sees
it: alarm frame -> operator stream.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.children import emit
from bench.frames import ADAPTER_EVENTS_SQL, TENANT, phase_database, sent_seconds
from bench.stats import latency_ms
from gateway import IngestResult, RawFrame
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings


class TimedGateway(Gateway):
    """A gateway that notes when each frame became durable; nothing else differs."""

    def __init__(self, *args: Any, expected: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.latencies: list[float] = []
        self.first_in = 0.0
        self.last_done = 0.0
        self.all_done = asyncio.Event()
        self.alarm_latencies: list[float] = []

    async def follow_alarms(self, expected: int) -> None:
        """Read the operator stream (what the notifier says is committed) like a client."""
        cursor = self.store.last_seq()
        while len(self.alarm_latencies) < expected:
            await self.notifier.wait_past(cursor, timeout=1.0)
            if self.notifier.seq <= cursor:
                continue
            found = self.store.query_events(TENANT, types=("alarm.raised",), after_seq=cursor,
                                            limit=10_000)
            now = time.time()
            cursor = self.notifier.seq
            self.alarm_latencies += [now - s.event.time.timestamp() for s in found]

    async def ingest(self, frame: RawFrame) -> IngestResult:
        if not self.first_in:
            self.first_in = time.time()
        result = await super().ingest(frame)
        self.last_done = time.time()
        self.latencies.append(self.last_done - sent_seconds(frame.payload))
        if len(self.latencies) >= self.expected:
            self.all_done.set()
        return result


async def run(port: int, frames: int, qos: int, sync: str, timeout: float,
              alarms: int = 0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="navet-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database=phase_database("mqtt"),
            db_synchronous=sync,
            mqtt={"mode": "external", "host": "127.0.0.1", "port": port,
                  "client_id": "navet-bench"},
            adapters=[{"adapter": "zigbee2mqtt", "tenant": TENANT, "settings": {"qos": qos}}],
        )
        gw = TimedGateway(settings, expected=frames)  # builds gateway.transports.mqtt's client
        await gw.start()
        try:
            rss_idle = psutil.Process().memory_info().rss
            cpu_start = time.process_time()  # every thread of this process: loop, writer, paho
            follower = asyncio.create_task(gw.follow_alarms(alarms)) if alarms else None
            print("READY", flush=True)
            try:
                async with asyncio.timeout(timeout):
                    await gw.all_done.wait()
                    if follower is not None:
                        await follower
            except TimeoutError:
                return {"error": f"only {len(gw.latencies)} of {frames} frames stored and "
                                 f"{len(gw.alarm_latencies)} of {alarms} alarms streamed "
                                 f"within {timeout:.0f} s"}
            frames_stored = gw.store.read_sync(
                lambda c: int(c.execute("SELECT count(*) FROM frames").fetchone()[0])
            )
            events_stored, events_all = gw.store.read_sync(
                lambda c: tuple(int(x or 0) for x in c.execute(ADAPTER_EVENTS_SQL).fetchone())
            )
            batches, jobs = gw.store.batches, gw.store.batched_jobs
            cpu = time.process_time() - cpu_start
        finally:
            await gw.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {
        "client": type(gw._mqtt).__name__,
        "frames_ingested": len(gw.latencies),
        "frames_stored": frames_stored,
        "events_stored": events_stored,
        "events_derived": events_all - events_stored,
        "first_in": gw.first_in,
        "last_done": gw.last_done,
        "latency": latency_ms(gw.latencies),
        **({"alarm_stream": {**latency_ms(gw.alarm_latencies),
                             "alarms": len(gw.alarm_latencies)}} if alarms else {}),
        "cpu_ms_per_frame": round(cpu * 1000 / max(1, len(gw.latencies)), 3),
        "store_transactions": batches,
        "store_jobs": jobs,
        "rss_idle_mb": round(rss_idle / 2**20, 1),
        "rss_peak_mb": round(peak / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.navet_proc")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--frames", type=int, required=True)
    parser.add_argument("--qos", type=int, choices=[0, 1], default=1)
    parser.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--alarms", type=int, default=0,
                        help="alarm frames among --frames: time them to the operator stream")
    args = parser.parse_args(argv)
    try:
        figures = asyncio.run(run(args.port, args.frames, args.qos, args.sync, args.timeout,
                                  args.alarms))
    except Exception as err:
        figures = {"error": f"gateway: {type(err).__name__}: {err}"}
    emit(figures)
    if "error" in figures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
