"""How long a year's follow-up report takes, and what memory it needs, for a municipality.

Builds a store holding ``--days`` of invented care for ``--residents`` people (every one
with a digital lock opened and locked at two visits a day, 40 % with a dispenser at four
doses a day, 20 % with two night camera checks, 0.3 alarms a person a day, each
acknowledged, attended and closed), then times :func:`gateway.followup.read_report` over
the whole period. It prints the figures and asserts nothing about speed.

    python bench/followup_report.py                    # 100 residents, 365 days
    python bench/followup_report.py --residents 500 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.core.care import CareConfig, apply_care_config
from gateway.core.directory import DeviceDirectory
from gateway.core.model import EventBase, make_event
from gateway.core.store import make_store
from gateway.followup import read_report

START = date(2025, 1, 1)
STAFF = {"kind": "staff", "id": "st-1"}


def _care(n: int) -> dict[str, Any]:
    rnd = random.Random(7)
    residents, devices = [], []
    for i in range(n):
        grants = [{"technology": "digital_lock", "granted": "2024-01-01"}]
        if i % 5 < 2:
            grants.append({"technology": "medication_dispenser", "granted": "2024-01-01"})
        if i % 5 == 2:
            grants.append({"technology": "night_supervision", "granted": "2024-01-01"})
        residents.append({"id": f"r-{i}", "sex": rnd.choice(["female", "male"]),
                          "birth_year": rnd.randint(1925, 1960),
                          "housing": rnd.choice(["ordinary", "ordinary", "special"]),
                          "grants": grants})
        devices.append({"adapter": "bench", "address": f"lock-{i}", "kind": "door_lock",
                        "resident": f"r-{i}", "vendor": "Bench"})
    plans = [{"id": f"p-{i}", "resident": f"r-{i}", "visits": [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "08:00",
         "end": "08:30"},
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "19:00",
         "end": "19:20"}]} for i in range(n)]
    return {"tenants": [{"id": "bench", "name": "Bench kommun", "timezone": "UTC",
                         "residents": residents, "devices": devices, "plans": plans}]}


def _day(n: int, day: date, rnd: random.Random) -> list[EventBase]:
    out: list[EventBase] = []
    base = datetime(day.year, day.month, day.day, tzinfo=UTC)

    def ev(kind: str, at: datetime, ref: str, data: dict[str, Any], **kw: Any) -> None:
        out.append(make_event(kind, tenant="bench", time=at, data=data, id_parts=(ref, kind),
                              source={"adapter": "bench", "protocol": "bench", "ref": ref},
                              **kw))

    for i in range(n):
        lock = {"id": f"bench:lock-{i}", "kind": "door_lock", "vendor": "Bench"}
        for h in (8, 19):
            at = base + timedelta(hours=h, minutes=rnd.randint(0, 10))
            ev("lock.unlocked", at, f"u{day}{i}{h}", {"by": STAFF}, device=lock,
               resident=f"r-{i}")
            ev("lock.locked", at + timedelta(minutes=rnd.randint(10, 40)), f"l{day}{i}{h}", {},
               device=lock, resident=f"r-{i}")
        if i % 5 < 2:
            for h in (8, 12, 17, 21):
                at = base + timedelta(hours=h)
                dose = {"dose": f"d{day}{i}{h}", "scheduled": at.isoformat()}
                ev("medication.dose_dispensed", at, f"d{day}{i}{h}", dose, resident=f"r-{i}")
                kind = "medication.dose_missed" if rnd.random() < 0.05 else \
                    "medication.dose_taken"
                ev(kind, at + timedelta(minutes=5), f"d{day}{i}{h}", dose, resident=f"r-{i}")
        if i % 5 == 2:
            for h in (23, 27):
                at = base + timedelta(hours=h)
                s = f"s{day}{i}{h}"
                ev("supervision.started", at, s, {"session": s, "by": STAFF}, resident=f"r-{i}")
                ev("supervision.observation", at + timedelta(minutes=1), s,
                   {"by": STAFF, "finding": "asleep", "session": s}, resident=f"r-{i}")
        if rnd.random() < 0.3:
            at = base + timedelta(seconds=rnd.randint(0, 86_000))
            a = f"a{day}{i}"
            ev("alarm.raised", at, a, {"kind": "personal_button"}, alarm=a, resident=f"r-{i}")
            ev("alarm.acknowledged", at + timedelta(seconds=rnd.randint(10, 200)), a,
               {"by": STAFF}, alarm=a)
            ev("alarm.attended", at + timedelta(seconds=rnd.randint(300, 2400)), a,
               {"by": STAFF}, alarm=a)
            ev("alarm.closed", at + timedelta(seconds=rnd.randint(2400, 4000)), a,
               {"by": STAFF, "outcome": "assistance_given"}, alarm=a)
    return out


async def run(residents: int, days: int, database: str) -> dict[str, Any]:
    store = make_store(database)
    store.open()
    try:
        await apply_care_config(CareConfig.model_validate(_care(residents)), store,
                                DeviceDirectory())
        rnd = random.Random(11)
        stored = 0
        started = time.perf_counter()
        for d in range(days):
            events = _day(residents, START + timedelta(days=d), rnd)
            for i in range(0, len(events), 2000):
                await store.append(events[i:i + 2000])
            stored += len(events)
        load_s = time.perf_counter() - started
        last = START + timedelta(days=days - 1)
        started = time.perf_counter()
        report = await read_report(store, "bench", now=datetime.now(UTC), first=START,
                                   last=last)
        report_s = time.perf_counter() - started
        tracemalloc.start()  # a second run for the memory: tracing slows the first down
        await read_report(store, "bench", now=datetime.now(UTC), first=START, last=last)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert report is not None
        ind = {i["id"]: i["value"] for i in report["indicators"]}
        return {"residents": residents, "days": days, "events": stored,
                "store_s": round(load_s, 1), "report_s": round(report_s, 2),
                "events_per_s": round(stored / report_s), "peak_mib": round(peak / 2**20, 1),
                "alarms": ind["alarms.raised"], "openings_per_visit":
                    ind["locks.openings_per_visit"], "taken_share": ind["medication.taken_share"]}
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--database", help="a SQLite path or postgresql:// URL (default: a "
                        "temporary SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="navet-followup-bench-") as tmp:
        result = asyncio.run(run(args.residents, args.days,
                                 args.database or str(Path(tmp) / "bench.db")))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['residents']} residents, {result['days']} days: {result['events']} "
              f"events stored in {result['store_s']} s")
        print(f"follow-up report over the whole period: {result['report_s']} s "
              f"({result['events_per_s']} events/s), peak Python memory "
              f"{result['peak_mib']} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
