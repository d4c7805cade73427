"""Storage per device-day: what a social alarm costs on disk, before and after retention.

A fleet of SCAIP units (``--devices``) each sends a heartbeat (``PI``) every
``--heartbeat`` seconds and ``--alarms`` personal-button alarms a day, each
cancelled a minute later, for ``--days`` days of fake time, through the real
gateway (the SCAIP adapter's decode, the pipeline, the rules, the store), with
the default retention settings unless overridden. Then:

- ``before``: bytes the store holds (SQLite: file size after a checkpoint and
  VACUUM, per table from ``dbstat``; PostgreSQL: ``pg_total_relation_size`` of
  every table, partitions included, after VACUUM FULL) and rows per kind, per
  device-day;
- ``after``: the same after ``navet store prune``'s prune at the end of the run
  (what a store in steady state keeps: heartbeats for ``heartbeats_days``, raw
  frames for ``frames_days``, other events for ``events_days`` or for ever).

Prints JSON; asserts nothing about size or speed.

    python bench/storage_per_device.py                       # 20 devices, 10 days, SQLite
    python bench/storage_per_device.py --devices 50 --days 14 --frames-days 3
    python bench/storage_per_device.py --postgres            # a throwaway local PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway import FakeClock, RawFrame
from gateway.core.gateway import Gateway
from gateway.core.retention import KINDS, Pruner
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker

TENANT = "vasteras"
START = datetime(2026, 3, 1, tzinfo=UTC)


def mrq(unit: str, ref: int, *, dty: int, stc: int | None = None, mty: str | None = None) -> bytes:
    items = [("ref", str(ref))] + ([("mty", mty)] if mty else []) + [
        ("cid", unit), ("dty", f"{dty:04d}")] + ([("stc", f"{stc:04d}")] if stc else [])
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in items)
    return f'<mrq xmlns="http://www.hi.se/2012/XScaipXML">{inner}</mrq>'.encode()


def frame(unit: str, payload: bytes, at: datetime) -> RawFrame:
    return RawFrame("scaip", TENANT, "sip-udp", f"sip:{unit}@127.0.0.1", payload, at)


def sizes(gw: Gateway) -> dict[str, Any]:
    """Bytes of the store, in all and per table (indexes and partitions included)."""
    store = gw.store
    conn = store.connect()
    try:
        if store.kind == "postgresql":
            conn.execute("VACUUM FULL")  # what deleted rows freed (autovacuum makes it reusable)
            rows = conn.execute(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
                " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
            ).fetchall()
            per = {str(n): int(b) for n, b in rows}
            parents = {str(r[0]): str(r[1]) for r in conn.execute(
                "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON"
                " c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE"
                " c.relnamespace = current_schema()::regnamespace").fetchall()}
            tables: dict[str, int] = {}
            for name, size in per.items():
                tables[parents.get(name, name)] = tables.get(parents.get(name, name), 0) + size
            return {"total": sum(tables.values()), "tables": tables}
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        owner = {str(r[0]): str(r[1]) for r in conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")}
        tables = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(str(name), str(name))
            tables[table] = tables.get(table, 0) + int(size)
        return {"total": gw.settings.database_path.stat().st_size, "tables": tables}
    finally:
        conn.close()


def kind_rows(gw: Gateway) -> dict[str, int]:
    counts = gw.store.count_events(TENANT)
    beats = sum(n for t, n in counts.items() if t.startswith("device."))
    return {"frames": gw.store.read_sync(
        lambda c: int(c.execute("SELECT count(*) FROM frames").fetchone()[0])),
            "heartbeat_events": beats, "other_events": sum(counts.values()) - beats}


async def run(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    clock = FakeClock(START)
    retention = {k: v for k, v in (("frames_days", args.frames_days),
                                   ("heartbeats_days", args.heartbeats_days),
                                   ("events_days", args.events_days)) if v is not None}
    settings = Settings(
        data_dir=directory, mqtt={"mode": "memory"},
        adapters=[{"adapter": "scaip", "tenant": TENANT, "settings": {
            "host": "127.0.0.1", "port": 0, "transports": ["udp"]}}],
        audit={"checkpoint_interval_s": "30d"},
        retention={**retention, "prune_interval_s": 0})  # pruned once, at the end
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"))
    await gw.start()
    try:
        pruner = Pruner(gw.store, clock, gw.settings.retention, gw.audit)
        await pruner.run()  # as navet serve does at start: PostgreSQL's months made ahead
        empty = sizes(gw)["total"]
        units = [f"4600{n:06d}" for n in range(args.devices)]  # SCAIP cids are digits
        refs = dict.fromkeys(units, 0)
        ticks = int(args.days * 86400 // args.heartbeat)
        alarm_every = max(1, ticks // max(1, int(args.alarms * args.days)))
        started = time.perf_counter()
        frames = 0
        for tick in range(ticks):
            at = START + timedelta(seconds=tick * args.heartbeat)
            clock._now = at  # received times follow the fake day
            batch = []
            for i, unit in enumerate(units):
                refs[unit] += 1
                if args.alarms and (tick + i) % alarm_every == 0:
                    batch.append(frame(unit, mrq(unit, refs[unit], dty=3, stc=10), at))
                    refs[unit] += 1
                    batch.append(frame(unit, mrq(unit, refs[unit], dty=3, stc=19),
                                       at + timedelta(minutes=1)))
                else:
                    batch.append(frame(unit, mrq(unit, refs[unit], mty="PI", dty=2), at))
            results = await asyncio.gather(*(gw.ingest(f) for f in batch))
            frames += len(results)
            await clock.advance(0)
        if gw.rules is not None:
            await gw.rules.drain()
        ingest_s = time.perf_counter() - started
        device_days = args.devices * args.days
        before, rows_before = sizes(gw), kind_rows(gw)
        clock._now = START + timedelta(days=args.days)
        started = time.perf_counter()
        went = await pruner.run()
        prune_s = time.perf_counter() - started
        after, rows_after = sizes(gw), kind_rows(gw)
        return {
            "backend": gw.store.kind, "devices": args.devices, "days": args.days,
            "heartbeat_s": args.heartbeat, "alarms_per_day": args.alarms,
            "frames_ingested": frames, "ingest_s": round(ingest_s, 1),
            "retention": {k: getattr(gw.settings.retention, f"{k}_days") for k in KINDS},
            "empty_store_bytes": empty,
            "before": {"bytes": before["total"], "rows": rows_before,
                       "bytes_per_device_day": round((before["total"] - empty) / device_days),
                       "tables": before["tables"]},
            "pruned": {k: r.rows for k, r in went.items()}, "prune_s": round(prune_s, 2),
            "longest_chunk_ms": round(1000 * max(r.longest_chunk_s for r in went.values()), 1),
            "chunk_rows": gw.settings.retention.chunk_rows,
            "after": {"bytes": after["total"], "rows": rows_after,
                      "bytes_per_device": round((after["total"] - empty) / args.devices),
                      "tables": after["tables"]},
        }
    finally:
        await gw.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=20)
    p.add_argument("--days", type=float, default=10)
    p.add_argument("--heartbeat", type=float, default=300, help="seconds between heartbeats")
    p.add_argument("--alarms", type=float, default=3, help="alarms per device and day")
    p.add_argument("--frames-days", type=int, default=None)
    p.add_argument("--heartbeats-days", type=int, default=None)
    p.add_argument("--events-days", type=int, default=None)
    p.add_argument("--postgres", action="store_true",
                   help="a throwaway local PostgreSQL server (started like the tests' one)")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server it started
    server = None
    try:
        if args.postgres:
            from tests.postgres import start_server
            from tests.services import free_port

            server = start_server(free_port())
            os.environ["NAVET_DATABASE"] = server.url("bench")
        with tempfile.TemporaryDirectory() as tmp:
            figures = asyncio.run(run(args, Path(tmp)))
    finally:
        if server is not None:
            server.destroy()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
