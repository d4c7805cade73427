"""A simulated month of a municipality whose true figures are known by construction.

March 2026 in Västerås (Europe/Stockholm, summer time from the 29th): residents with
known sex, birth year, housing and grants; alarms with known handling times; silent
units with known outages; night camera checks, doses and door openings in known numbers.
:data:`TRUTH` holds what a correct follow-up must find, written down from how the month
was made, not computed by Navet's code.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.core.model import EventBase, make_event

TZ = ZoneInfo("Europe/Stockholm")
TENANT = "vasteras"
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 31)
BASELINE = date(2026, 2, 1)
NIGHTS = 31
WEEKDAYS_IN_MARCH = 22  # 2026-03-01 is a Sunday: 2-6, 9-13, 16-20, 23-27, 30-31


def local(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=TZ)


def _residents() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(n: int, prefix: str, **fields: Any) -> None:
        for i in range(n):
            out.append({"id": f"{prefix}-{i}", **fields})

    gps_old = [{"technology": "gps_alarm", "granted": "2026-01-10"}]
    gps_new = [{"technology": "gps_alarm", "granted": "2026-03-10"}]
    # GPS: 12 women 80+ ordinary (since January), 6 men 80+ ordinary (since 10 March),
    # 3 women 65-79 in special housing: a cell of 3, suppressed
    add(12, "gw", sex="female", birth_year=1940, housing="ordinary", grants=gps_old)
    add(6, "gm", sex="male", birth_year=1938, housing="ordinary", grants=gps_new)
    add(3, "gs", sex="female", birth_year=1955, housing="special", grants=gps_old)
    # night supervision in ordinary housing: 5 at the baseline, 15 at the end (+200 %)
    add(5, "no", sex="male", birth_year=1944, housing="ordinary",
        grants=[{"technology": "night_supervision", "granted": "2025-11-01"}])
    add(10, "nn", sex="female", birth_year=1936, housing="ordinary",
        grants=[{"technology": "night_supervision", "granted": "2026-03-02"}])
    # a dispenser grant that ended in February: counted at the baseline, not at the end
    add(7, "de", sex="female", birth_year=1930, housing="ordinary",
        grants=[{"technology": "medication_dispenser", "granted": "2025-06-01",
                 "ended": "2026-02-20"}])
    # digital locks: 8 residents with a lock and a plan (weekdays 08:00-08:30)
    add(8, "lk", sex="male", birth_year=1950, housing="ordinary",
        grants=[{"technology": "digital_lock", "granted": "2025-01-01"}])
    return out


RESIDENTS = _residents()

DEVICES: list[dict[str, Any]] = [
    *({"adapter": "lockcloud", "address": f"lock-{i}", "kind": "door_lock",
       "resident": f"lk-{i}", "vendor": "Lockly"} for i in range(8)),
    *({"adapter": "scaip", "address": f"unit-{i}", "kind": "social_alarm",
       "resident": f"gw-{i}", "vendor": "Acme"} for i in range(4)),
    *({"adapter": "gpscloud", "address": f"gps-{i}", "kind": "gps_alarm",
       "resident": f"gm-{i}", "vendor": "Geo"} for i in range(2)),
]
"""8 Lockly locks, 4 Acme alarm units, 2 Geo GPS units."""

PLANS = [{"id": f"plan-lk-{i}", "resident": f"lk-{i}",
          "visits": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00",
                      "end": "08:30"}]} for i in range(8)]

CARE: dict[str, Any] = {"tenants": [{
    "id": TENANT, "name": "Västerås stad", "timezone": "Europe/Stockholm",
    "residents": RESIDENTS, "devices": DEVICES, "plans": PLANS,
    "followup": {
        "baseline": BASELINE.isoformat(),
        "targets": {"alarms.acknowledged_median_s": {"target": 90, "note": "Nämnden §3"}},
        "statistics": [{"year": 2026, "residents_80_ordinary": 1000, "residents_80": 1400,
                        "source": "SCB folkmängd 31 dec 2025 (test)"}],
    },
}, {"id": "sala", "name": "Sala kommun"}]}

# Care alarms: (day, hour, ack after s, attended after s or None, closed after s or None).
ALARMS: list[tuple[int, int, int, int | None, int | None]] = [
    (d, 10, ack, att, clo) for d, ack, att, clo in [
        (2, 30, 600, 900), (3, 45, 700, 1000), (4, 20, 500, 800), (5, 60, 1200, 1500),
        (6, 90, 1500, 2000), (9, 15, 400, 700), (10, 50, 800, 1100), (11, 120, 2000, 2400),
        (12, 35, 650, 950), (13, 40, None, 300),  # closed without a visit
        (16, 25, 550, 850), (17, 200, 2500, 3000), (18, 55, 900, 1200),
        (19, 30, 600, None),  # still open at the end of the month
        (20, 75, 1100, 1400), (23, 10, 300, 600), (24, 65, 1000, 1300),
        (25, 80, 1300, 1700), (26, 100, 1600, 2100), (27, 5, 200, 500)]
]

# Silent-unit episodes of Acme units: (unit, day raised, hour, minutes until online)
SILENT = [(0, 5, 3, 90), (1, 20, 14, 30)]


def _ev(kind: str, when: datetime, ref: str, data: dict[str, Any], **extra: Any) -> EventBase:
    return make_event(kind, tenant=TENANT, time=when.astimezone(TZ),
                      source={"adapter": "sim", "protocol": "sim", "ref": ref}, data=data,
                      id_parts=(ref, kind), **extra)


STAFF = {"kind": "staff", "id": "st-1"}
OPERATOR = {"kind": "operator", "id": "op-1"}


def events() -> list[EventBase]:
    out: list[EventBase] = []
    unit = {"id": "scaip:unit-0", "kind": "social_alarm", "vendor": "Acme"}
    for n, (day, hour, ack, att, clo) in enumerate(ALARMS):
        raised = local(day, hour, n)  # minute n: every alarm at its own time
        aid = f"a-{n}"
        out.append(_ev("alarm.raised", raised, aid, {"kind": "personal_button"}, alarm=aid,
                       resident="gw-0", device=unit))
        out.append(_ev("alarm.acknowledged", raised + timedelta(seconds=ack), aid,
                       {"by": OPERATOR}, alarm=aid))
        out.append(_ev("alarm.acknowledged", raised + timedelta(seconds=ack + 40), aid + "x",
                       {"by": OPERATOR}, alarm=aid))  # a second one does not count
        if att is not None:
            out.append(_ev("alarm.attended", raised + timedelta(seconds=att), aid,
                           {"by": STAFF}, alarm=aid))
        if clo is not None:
            out.append(_ev("alarm.closed", raised + timedelta(seconds=clo), aid,
                           {"by": STAFF, "outcome": "assistance_given"}, alarm=aid))
    # outside the month: not counted
    out.append(_ev("alarm.raised", local(28, 23, month=2), "feb", {"kind": "fall"},
                   alarm="feb"))
    out.append(_ev("alarm.acknowledged", local(28, 23, 30, month=2), "feb", {"by": OPERATOR},
                   alarm="feb"))
    # silent units, with their technical alarms and the unit coming back
    for u, day, hour, minutes in SILENT:
        dev = {"id": f"scaip:unit-{u}", "kind": "social_alarm", "vendor": "Acme"}
        aid = f"silent-{u}"
        at = local(day, hour)
        out.append(_ev("alarm.raised", at, aid, {"kind": "technical.unit_silent"}, alarm=aid,
                       device=dev))
        back = at + timedelta(minutes=minutes)
        out.append(_ev("device.online", back, aid, {"silent_s": minutes * 60}, alarm=aid,
                       device=dev))
        out.append(_ev("alarm.closed", back, aid, {"by": {"kind": "system", "id": "navet"},
                                                   "outcome": "technical_fixed"}, alarm=aid))
    # night camera checks: two a night (23:00 and 03:00); some led to a visit
    needs_visit = {(4, 0), (9, 1), (15, 0), (22, 1), (30, 0)}  # observation needs_visit
    requested = {(12, 0), (27, 1)}  # a visit asked for directly
    for night in range(1, NIGHTS + 1):
        for k, when in enumerate((local(night, 23), local(night, 3) + timedelta(days=1))):
            session = f"s-{night}-{k}"
            who = f"nn-{night % 10}"
            out.append(_ev("supervision.started", when, session,
                           {"session": session, "by": STAFF}, resident=who))
            finding = "needs_visit" if (night, k) in needs_visit else "asleep"
            out.append(_ev("supervision.observation", when + timedelta(minutes=1), session,
                           {"by": STAFF, "finding": finding, "session": session},
                           resident=who))
            if (night, k) in requested:
                out.append(_ev("visit.requested", when + timedelta(minutes=2), session,
                               {"by": STAFF, "reason": "orolig", "session": session},
                               resident=who))
    # the night of 31 March ends in April: its 03:00 check is on 1 April, still that night
    # a daytime check, which is not a night check
    for d in (3, 14, 21):
        out.append(_ev("supervision.started", local(d, 14), f"day-{d}",
                       {"session": f"day-{d}", "by": STAFF}, resident="no-0"))
    # doses: 100 dispensed, 90 taken, 10 missed
    for i in range(100):
        when = local(1 + i % 31, 8) + timedelta(minutes=i)
        dose = {"dose": f"d-{i}", "scheduled": when.isoformat()}
        out.append(_ev("medication.dose_dispensed", when, f"d-{i}", dose, resident="de-0"))
        kind = "medication.dose_missed" if i % 10 == 0 else "medication.dose_taken"
        out.append(_ev(kind, when + timedelta(minutes=5), f"d-{i}", dose, resident="de-0"))
    # doors: on each weekday each of the 8 residents' doors is opened by staff at 08:02
    # and locked at 08:20, 08:25 or 08:30 (stay 18, 23 or 28 minutes by resident i % 3);
    # plus 10 extra staff openings (locked 10 minutes later) and 5 openings by residents
    weekdays = [d for d in range(1, 32) if date(2026, 3, d).weekday() < 5]
    assert len(weekdays) == WEEKDAYS_IN_MARCH
    for d in weekdays:
        for i in range(8):
            lock = {"id": f"lockcloud:lock-{i}", "kind": "door_lock", "vendor": "Lockly"}
            opened = local(d, 8, 2)
            out.append(_ev("lock.unlocked", opened, f"u-{d}-{i}", {"by": STAFF, "method": "app"},
                           device=lock, resident=f"lk-{i}"))
            out.append(_ev("lock.locked", opened + timedelta(minutes=18 + 5 * (i % 3)),
                           f"l-{d}-{i}", {"method": "auto"}, device=lock, resident=f"lk-{i}"))
    for j in range(10):
        lock = {"id": "lockcloud:lock-0", "kind": "door_lock", "vendor": "Lockly"}
        opened = local(7 + j, 15)
        out.append(_ev("lock.unlocked", opened, f"xu-{j}", {"method": "app"}, device=lock,
                       resident="lk-0"))
        out.append(_ev("lock.locked", opened + timedelta(minutes=10), f"xl-{j}", {},
                       device=lock, resident="lk-0"))
    for j in range(5):
        lock = {"id": "lockcloud:lock-1", "kind": "door_lock", "vendor": "Lockly"}
        out.append(_ev("lock.unlocked", local(7 + j, 17), f"ru-{j}",
                       {"by": {"kind": "resident", "id": "lk-1"}, "method": "key"},
                       device=lock, resident="lk-1"))
    return out
