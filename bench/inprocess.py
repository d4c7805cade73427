"""The pipeline without MQTT: ``Gateway.ingest(RawFrame)`` called directly.

Two figures come from here:

* **burst** — many tasks ingest at once, as many devices and listeners would.
  The store's writer commits everything waiting in one transaction, so the
  mean frames per transaction shows how much one fsync is shared.
* **lone frame** — one frame at a time on an idle gateway. Batching must not
  make a single alarm wait for company: its latency is one transaction.
* **alarms behind a burst** — water-leak frames ingested in the middle of a
  flat-out burst, with the store's priority lane and without it.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.frames import (
    ADAPTER_EVENTS_SQL,
    BASE_TOPIC,
    TENANT,
    SendClock,
    device_count,
    events_for,
    frames,
    iso_us,
    payload,
    phase_database,
    topic,
)
from bench.stats import latency_ms
from gateway import RawFrame
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker


@asynccontextmanager
async def _gateway(sync: str):  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory(prefix="navet-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), database=phase_database("inprocess"), db_synchronous=sync,
            mqtt={"mode": "memory"},
            adapters=[{"adapter": "zigbee2mqtt", "tenant": TENANT}],
        )
        gw = Gateway(settings, mqtt=MemoryBroker().client("navet"))
        await gw.start()
        try:
            yield gw
        finally:
            await gw.stop()


def _adapter_events(gw: Gateway) -> int:
    """Events the adapter made (not what rules derived from them)."""
    return gw.store.read_sync(lambda c: int(c.execute(ADAPTER_EVENTS_SQL).fetchone()[0] or 0))


def _raw(items: Iterator[tuple[str, bytes]]) -> list[RawFrame]:
    now = datetime.now(UTC)
    meta = {"base_topic": BASE_TOPIC}
    return [RawFrame("zigbee2mqtt", TENANT, "mqtt", address, body, now, meta)
            for address, body in items]


async def burst(count: int, concurrency: int, sync: str) -> dict[str, Any]:
    """Ingest ``count`` frames from ``concurrency`` tasks; frames/s and frames per commit."""
    clock = SendClock()
    async with _gateway(sync) as gw:
        # one frame per device first, so device registration is not part of the figure
        for frame in _raw(frames(device_count(), clock)):
            await gw.ingest(frame)
        work = _raw(frames(count, clock))
        batches0, jobs0 = gw.store.batches, gw.store.batched_jobs
        events0 = _adapter_events(gw)
        queue: asyncio.Queue[RawFrame] = asyncio.Queue()
        for frame in work:
            queue.put_nowait(frame)

        async def worker() -> None:
            while not queue.empty():
                await gw.ingest(queue.get_nowait())

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        assert gw.rules is not None
        await gw.rules.drain()  # the rules' work on these frames is part of their cost
        cpu = time.process_time() - cpu_started
        batches = gw.store.batches - batches0
        jobs = gw.store.batched_jobs - jobs0
        events = _adapter_events(gw) - events0
    return {
        "frames": count,
        "events_stored": events,
        "events_expected": events_for(count),
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "frames_per_s": round(count / elapsed, 1),
        "events_per_s": round(events / elapsed, 1),
        "cpu_ms_per_frame": round(cpu * 1000 / count, 3),
        "transactions": batches,
        "frames_per_transaction": round(jobs / batches, 2) if batches else 0.0,
    }


async def lone_frames(count: int, sync: str, gap: float = 0.005) -> dict[str, Any]:
    """Ingest ``count`` frames one by one on an otherwise idle gateway."""
    clock = SendClock()
    latencies: list[float] = []
    async with _gateway(sync) as gw:
        for frame in _raw(frames(device_count(), clock)):
            await gw.ingest(frame)
        for i in range(count):
            (frame,) = _raw(iter([(topic(i), payload(i, clock.next()))]))
            assert gw.rules is not None
            await gw.rules.drain()  # idle: nothing else is waiting for the writer
            await asyncio.sleep(gap)
            started = time.perf_counter()
            result = await gw.ingest(frame)
            latencies.append(time.perf_counter() - started)
            if not result.accepted:
                raise RuntimeError(f"lone frame {i} was not stored: {result}")
    return {"frames": count, "latency": latency_ms(latencies)}


async def alarms_behind_burst(count: int, concurrency: int, sync: str, *, lane: bool,
                              alarms: int = 20) -> dict[str, Any]:
    """Alarm frames (water leaks) ingested while ``count`` bulk frames are being ingested
    flat out from ``concurrency`` tasks: each alarm frame's time to durable, and its
    ``alarm.raised``'s time to committed. ``lane=False`` turns the priority lane off (the
    pipeline calls no frame urgent, and the alarms the rules derive are not urgent
    either), to show what it is worth on the same machine."""
    clock = SendClock()
    async with _gateway(sync) as gw:
        leaks = [(f"{BASE_TOPIC}/leak{n:06d}_water", n) for n in range(alarms)]
        dry = {"water_leak": False, "battery": 64, "linkquality": 75}
        warm = [*frames(device_count(), clock),
                *((t, json.dumps({**dry, "last_seen": iso_us(clock.next())}).encode())
                  for t, _ in leaks)]
        for frame in _raw(iter(warm)):
            await gw.ingest(frame)
        assert gw.rules is not None
        await gw.rules.drain()
        if not lane:  # one lane, as before: every job in arrival order
            lanes = gw.store._jobs
            put = lanes.put
            lanes.put = lambda job, urgent=False: put(job, False)  # type: ignore[method-assign]
        queue: asyncio.Queue[RawFrame] = asyncio.Queue()
        for frame in _raw(frames(count, clock)):
            queue.put_nowait(frame)

        async def worker() -> None:
            while not queue.empty():
                await gw.ingest(queue.get_nowait())

        durable: list[float] = []
        raised: list[float] = []

        async def alarm(topic: str) -> None:
            sent = time.perf_counter()
            body = json.dumps({"water_leak": True, "battery": 64,
                               "last_seen": iso_us(clock.next())}).encode()
            (frame,) = _raw(iter([(topic, body)]))
            await gw.ingest(frame)
            durable.append(time.perf_counter() - sent)
            while not gw.store.query_events(TENANT, types=("alarm.raised",),
                                            device=f"zigbee2mqtt:{topic.split('/')[-1]}"):
                await gw.notifier.wait_past(gw.notifier.seq, timeout=1.0)
            raised.append(time.perf_counter() - sent)

        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        spacing = max(1, count // (alarms + 1))
        pending: list[asyncio.Task[None]] = []
        for topic, _ in leaks:  # spread over the burst: each when `spacing` more are taken
            target = queue.qsize() - spacing
            while queue.qsize() > max(target, 0):
                await asyncio.sleep(0.001)
            pending.append(asyncio.create_task(alarm(topic)))
        await asyncio.gather(*workers, *pending)
    return {"lane": lane, "bulk_frames": count, "alarms": len(durable),
            "durable": latency_ms(durable), "raised": latency_ms(raised)}

