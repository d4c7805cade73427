"""Supervision of silent units at a region's scale: memory, event-loop blocks, a mass outage.

Builds a fresh SQLite store in a temporary directory with N configured devices
(one tenant, ``heartbeat_s`` = ``--interval``, the tenant's default tolerance
of 2.5 intervals), loads the device directory as a gateway does, and runs the
real :class:`~gateway.core.rules.supervision.SilentUnitRule` (its timer task
and its deadline heap) on a :class:`~gateway.FakeClock`, with heartbeats fed
through the fast path a routine heartbeat takes in the pipeline
(:meth:`gateway.core.liveness.Liveness.beat`): every device beats once per
interval at its own phase, for ``--warm`` intervals. Then ``--silent`` of the
devices (every k-th) stop at once, the rest go on beating, and time runs on
until every silent device is past its deadline plus one interval.

Time is injected: the fake clock advances in ``--step`` seconds and only
after the supervision timer has handled everything due (so a fake second is
never shorter than the work it takes). What the rule emits is counted, not
stored (the store's cost of alarms is ``pipeline_throughput.py``'s business).

Figures (``--json`` prints one object):

- ``rss_mib``: resident memory at the end (psutil), the whole process: store
  connection, directory, liveness, watches, heap, open silent alarms.
- ``rss_per_device_kib``: (end RSS - RSS before the devices existed) / N.
- ``supervision_bytes_per_device``: RSS growth from the rule's start to the
  end of the warm-up (liveness, watches, heap), / N.
- ``max_loop_block_ms``: the longest the event loop's thread ran (CPU time)
  without running a 2 ms ticker task, from the rule's start to the end (load,
  steady beats, the outage); ``blocks_over_50ms`` counts those over 50 ms.
  ``max_loop_gap_wall_ms`` is the same in wall time, which on a shared machine
  also counts the time the OS ran other processes.
- ``silent_devices``, ``silent_alarms_raised``, ``false_alarms`` (raised for a
  device that kept beating), ``missed`` (silent, never raised).
- ``silent_alarms_s``: wall-clock seconds from the first silent-unit alarm of
  the outage to the last.
- ``max_alarm_after_last_beat_s``: fake seconds from a silent device's last
  heartbeat to the moment its alarm was handed on, worst case; the limit is
  ``limit_s`` = the tolerance (one interval plus a grace of 1.5 intervals).

    python bench/supervision_scale.py --devices 200000 --silent 0.2 --json
    python bench/supervision_scale.py --devices 1000000 --silent 0.2 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from gateway import FakeClock
from gateway.core.directory import DeviceDirectory
from gateway.core.liveness import Liveness
from gateway.core.rules.alarms import AlarmBook
from gateway.core.rules.engine import RuleContext
from gateway.core.rules.supervision import SilentUnitRule
from gateway.core.store import make_store

TENANT = "region"
TOLERANCE = 2.5  # the tenant default (AlarmSettings.heartbeat_tolerance)


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def device_name(i: int) -> str:
    return f"scaip:unit-{i:07d}"


async def insert_devices(store: Any, n: int, interval: int) -> None:
    chunk = 50_000
    for start in range(0, n, chunk):
        rows = [(device_name(i), TENANT, "scaip", f"unit-{i:07d}", "social_alarm", interval)
                for i in range(start, min(n, start + chunk))]
        await store.write(lambda conn, rows=rows: conn.executemany(
            "INSERT INTO devices (id, tenant, adapter, address, kind, heartbeat_s, body)"
            " VALUES (?, ?, ?, ?, ?, ?, '{}')", rows))


class GcPauses:
    """The longest pause of Python's cyclic garbage collector (it blocks the loop too)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.collections = 0
        self._began = 0.0
        self.phase = "load"
        self.worst_phase = ""

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.thread_time()
        else:
            took = time.thread_time() - self._began
            if took > self.worst:
                self.worst, self.worst_phase = took, self.phase
            self.collections += info.get("generation") == 2

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


class Ticker:
    """How long the event loop went without running this task: ``worst`` counts the CPU
    time the loop's thread spent between two ticks (the code that held the loop; a
    machine shared with other work does not inflate it), ``worst_wall`` the wall time
    (which also counts the time the OS gave the CPU to others)."""

    def __init__(self, period: float = 0.002) -> None:
        self.period = period
        self.worst = 0.0
        self.worst_wall = 0.0
        self.over_50ms = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last, last_cpu = time.perf_counter(), time.thread_time()
        while True:
            await asyncio.sleep(self.period)
            now, cpu = time.perf_counter(), time.thread_time()
            busy = cpu - last_cpu
            self.worst = max(self.worst, busy)
            self.worst_wall = max(self.worst_wall, now - last - self.period)
            if busy > 0.05:
                self.over_50ms += 1
            last, last_cpu = now, cpu

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def run(devices: int, silent: float, interval: int, step: int, warm: int,
              directory_path: Path) -> dict[str, Any]:
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    rss_start = rss()
    store = make_store(directory_path / "navet.db", synchronous="NORMAL")
    store.open()
    try:
        await insert_devices(store, devices, interval)
        directory = DeviceDirectory()
        directory.load(store.rows("devices"))
        clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
        liveness = Liveness()
        raised: dict[str, tuple[float, float]] = {}  # device -> (fake time handed on, wall)

        async def emit(events: Any) -> None:
            now, wall = clock.now().timestamp(), time.perf_counter()
            for ev in events:
                raised[ev.device.id] = (now, wall)

        ctx = RuleContext(clock, store, directory, emit)
        rule = SilentUnitRule(AlarmBook(), liveness)
        ticker = Ticker()
        ticker.start()
        pauses = GcPauses().__enter__()
        rss_rule = rss()
        task = asyncio.create_task(rule.run(ctx))

        async def settle() -> None:
            """Wait until the timer has handled everything due now."""
            while True:
                await asyncio.sleep(0)
                nxt = rule.next_deadline()
                if rule.loaded and (nxt is None or nxt > clock.now().timestamp()):
                    return
                await asyncio.sleep(0.001)

        await settle()
        ids = directory.ids()
        phase = [i % interval for i in range(devices)]  # second of the interval each beats
        by_second: list[list[int]] = [[] for _ in range(interval)]
        for i, p in enumerate(phase):
            by_second[p].append(i)
        last_beat: dict[int, float] = {}
        silent_set: set[int] = set()

        async def beat(seconds: int) -> None:
            """``seconds`` of fleet life, in steps: every device beats at its phase."""
            for _ in range(seconds // step):
                base = clock.now().timestamp()
                for off in range(step):
                    second = int(base + off) % interval
                    group = by_second[second]
                    at = base + off
                    for n, i in enumerate(group):
                        if i in silent_set:
                            continue
                        liveness.beat(TENANT, ids[i], at)
                        last_beat[i] = at
                        if n % 5000 == 4999:
                            await asyncio.sleep(0)
                    await asyncio.sleep(0)
                await clock.advance(step)
                await settle()

        pauses.phase = "beats"
        await beat(warm * interval)
        pauses.phase = "outage"
        rss_warm = rss()
        stride = round(1 / silent) if silent > 0 else 0
        silent_set = {i for i in range(0, devices, stride)} if stride else set()
        outage_at = clock.now().timestamp()
        limit = TOLERANCE * interval
        await beat(int(limit + interval) + step)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await ticker.stop()
        pauses.__exit__()
        silent_ids = {ids[i] for i in silent_set}
        outage = {d: t for d, t in raised.items() if t[0] >= outage_at}
        walls = sorted(w for _, w in outage.values())
        delays = [raised[ids[i]][0] - last_beat[i] for i in silent_set if ids[i] in raised]
        rss_end = rss()
        return {
            "devices": devices,
            "interval_s": interval,
            "step_s": step,
            "rss_mib": round(rss_end / 2**20, 1),
            "rss_per_device_kib": round((rss_end - rss_start) / devices / 1024, 3),
            "supervision_bytes_per_device": round((rss_warm - rss_rule) / devices),
            "max_loop_block_ms": round(ticker.worst * 1000, 1),
            "blocks_over_50ms": ticker.over_50ms,
            "max_loop_gap_wall_ms": round(ticker.worst_wall * 1000, 1),
            "max_gc_pause_ms": round(pauses.worst * 1000, 1),
            "full_gc_runs": pauses.collections,
            "max_gc_pause_in": pauses.worst_phase,
            "silent_devices": len(silent_ids),
            "silent_alarms_raised": len(silent_ids & set(raised)),
            "false_alarms": len(set(raised) - silent_ids),
            "missed": len(silent_ids - set(raised)),
            "silent_alarms_s": round(walls[-1] - walls[0], 3) if walls else 0.0,
            "max_alarm_after_last_beat_s": round(max(delays), 1) if delays else None,
            "limit_s": limit,
            "within_limit": (bool(delays) and max(delays) <= limit + step) or not silent_ids,
            "wall_s": round(time.perf_counter() - started_wall, 1),
            "cpu_s": round(time.process_time() - started_cpu, 1),
            "load_average": round(psutil.getloadavg()[0], 1),
            "gc": gc.isenabled(),
            "date": datetime.now(UTC).date().isoformat(),
        }
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=200_000)
    parser.add_argument("--silent", type=float, default=0.2,
                        help="fraction of devices that fall silent at once (default 0.2)")
    parser.add_argument("--interval", type=int, default=300, help="heartbeat interval, s")
    parser.add_argument("--step", type=int, default=10, help="fake clock step, s")
    parser.add_argument("--warm", type=int, default=2, help="intervals of beats before")
    parser.add_argument("--no-gc", action="store_true",
                        help="run with the cyclic garbage collector off (reference counting "
                        "still frees): the loop blocks of the supervision code alone")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 0 <= args.silent < 1:
        parser.error("--silent is a fraction: 0 <= FRACTION < 1")
    if args.no_gc:
        gc.disable()
        gc.enable = lambda: None  # the rule turns it back on after its load: keep it off
    with tempfile.TemporaryDirectory(prefix="navet-supervision-") as tmp:
        out = asyncio.run(run(args.devices, args.silent, args.interval, args.step, args.warm,
                              Path(tmp)))
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:32} {value}")
    ok = out["missed"] == 0 and out["false_alarms"] == 0
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
