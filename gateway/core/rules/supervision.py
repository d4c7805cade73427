"""Device health as alarms: technical alarms and supervision of silent units.

Technical alarms (:class:`TechnicalAlarmsRule`) turn what a device says about
itself into one alarm per *episode*:

- ``device.battery`` with ``low`` -> ``technical.low_battery`` (priority low);
  the next report that is not low closes it (``technical_fixed``, by Navet).
- ``device.fault`` active -> ``technical.mains_lost`` (normal), ``technical.link_lost``
  (high) or ``technical.other``; the same fault inactive closes it.
- ``device.offline`` -> ``technical.link_lost`` (high); ``device.online`` closes it, and
  so does anything else the device sends (a bridge may deliver a device's report before it
  says the device is available again): Navet then emits the ``device.online`` itself.

While an episode lasts, repeated reports add nothing, even if an operator
closed the alarm meanwhile: the next alarm comes with the next episode.

Silent units (:class:`SilentUnitRule`): a device with an expected heartbeat
interval (``heartbeat_s`` in the care configuration, or announced by the
device as ``device.heartbeat`` ``interval_s``) that is not heard from within
its tolerance gets ``technical.unit_silent`` (priority high). Any event from
the device counts as life except ``device.offline`` (a bridge saying the
device is gone). When it is heard again Navet emits ``device.online``
(``silent_s``) and closes the silent alarm. A device already reported offline
(open ``technical.link_lost``) is not reported silent as well, nor is one whose vendor
link (a cloud or bridge: a device of kind ``other`` of the same adapter) is reported down.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..care import AlarmSettings
from ..model import (
    AlarmKind,
    DeviceKind,
    DeviceRef,
    EventBase,
    Location,
    Priority,
    event_id,
    make_event,
)
from ..store.repos import events as event_rows
from .alarms import (
    NAVET,
    SYSTEM,
    AlarmBook,
    AlarmRecord,
    Wake,
    close_event,
    derive,
    sleep_or_wake,
    tenant_alarm_settings,
)
from .engine import RuleContext

log = logging.getLogger(__name__)

OFFLINE_TEXT = "offline: "

FAULTS: dict[str, tuple[AlarmKind, Priority]] = {
    "mains_lost": (AlarmKind.TECHNICAL_MAINS_LOST, Priority.NORMAL),
    "link_lost": (AlarmKind.TECHNICAL_LINK_LOST, Priority.HIGH),
    "hardware": (AlarmKind.TECHNICAL_OTHER, Priority.NORMAL),
    "other": (AlarmKind.TECHNICAL_OTHER, Priority.NORMAL),
}


def technical_record(
    ctx: RuleContext, tenant: str, device: DeviceRef, kind: AlarmKind, episode: str,
    priority: Priority, resident: str | None = None,
) -> AlarmRecord:
    """The alarm for one episode; its id comes from device + kind + what started it."""
    entry = ctx.directory.get(device.id)
    place = entry.extra.get("location") if entry else None
    return AlarmRecord(
        tenant, event_id(NAVET, tenant, device.id, str(kind), episode), kind=str(kind),
        priority=priority, resident=resident or (entry.resident if entry else None),
        device=device, location=Location(text=place) if place else None,
    )


def raise_event(rec: AlarmRecord, text: str, time: datetime) -> EventBase:
    return derive("alarm.raised", rec, transition="raised", time=time,
                  data={"kind": rec.kind, "text": text[:500]})


class TechnicalAlarmsRule:
    name = "technical-alarms"

    def __init__(self, book: AlarmBook | None = None) -> None:
        self.book = book or AlarmBook()
        self._episodes: dict[tuple[str, str, str], AlarmRecord] = {}
        self._offline: set[tuple[str, str, str]] = set()  # link_lost episodes from device.offline
        self._loaded = False

    def reset(self) -> None:
        self.book.reset()
        self._episodes.clear()
        self._offline.clear()
        self._loaded = False

    def load(self, ctx: RuleContext) -> None:
        self._load(ctx)

    def _load(self, ctx: RuleContext) -> None:
        if self._loaded:
            return
        self.book.ensure_loaded(ctx.store)
        for rec in self.book.open_records():
            if rec.device is not None and rec.kind in {str(k) for k, _ in FAULTS.values()} | {
                    str(AlarmKind.TECHNICAL_LOW_BATTERY)}:
                self._episodes[(rec.tenant, rec.device.id, rec.kind)] = rec
                if rec.kind == AlarmKind.TECHNICAL_LINK_LOST and (rec.text or "").startswith(
                        OFFLINE_TEXT):
                    self._offline.add((rec.tenant, rec.device.id, rec.kind))
        self._loaded = True

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        self._load(ctx)
        self.book.observe(event)
        if event.device is None or event.source.adapter == NAVET:
            return []
        data: Any = event.data
        back: list[EventBase] = []
        if event.type not in ("device.offline", "device.online"):
            back = self._heard_again(event)
        if back:
            return back + self.on_event(event, ctx)  # closed; now what the event itself says
        if event.type == "device.battery":
            level = f" ({data.level_pct} %)" if data.level_pct is not None else ""
            return self._episode(ctx, event, AlarmKind.TECHNICAL_LOW_BATTERY, Priority.LOW,
                                 active=data.low, text=f"battery low{level}",
                                 fixed=f"battery ok again{level}")
        if event.type == "device.fault":
            kind, priority = FAULTS[str(data.kind)]
            what = data.text or str(data.kind).replace("_", " ")
            return self._episode(ctx, event, kind, priority, active=data.active,
                                 text=f"fault: {what}", fixed=f"fault cleared: {what}")
        if event.type == "device.offline":
            out = self._episode(ctx, event, AlarmKind.TECHNICAL_LINK_LOST, Priority.HIGH,
                                active=True, text=f"{OFFLINE_TEXT}{data.reason}", fixed="")
            if out:
                self._offline.add((event.tenant, event.device.id,
                                   str(AlarmKind.TECHNICAL_LINK_LOST)))
            return out
        if event.type == "device.online":
            self._offline.discard((event.tenant, event.device.id,
                                   str(AlarmKind.TECHNICAL_LINK_LOST)))
            return self._episode(ctx, event, AlarmKind.TECHNICAL_LINK_LOST, Priority.HIGH,
                                 active=False, text="", fixed="device online again")
        return []

    def _heard_again(self, ev: EventBase) -> list[EventBase]:
        """A device reported offline that speaks again is online: say so, close its alarm."""
        assert ev.device is not None
        key = (ev.tenant, ev.device.id, str(AlarmKind.TECHNICAL_LINK_LOST))
        if key not in self._offline:
            return []
        self._offline.discard(key)
        rec = self.book.find_open(*key) or self._episodes.get(key)  # the book knows when
        self._episodes.pop(key, None)
        if rec is None:
            return []
        now = ev.received or ev.time
        online = make_event(
            "device.online", tenant=ev.tenant, time=now,
            source={"adapter": NAVET, "protocol": NAVET, "ref": rec.id}, device=ev.device,
            resident=rec.resident, alarm=rec.id,
            data={"silent_s": max(0, int((now - rec.raised).total_seconds()))
                  if rec.raised else None},
            id=event_id(NAVET, rec.tenant, rec.id, "online"))
        return [online, close_event(rec, by=SYSTEM, outcome="technical_fixed", time=now,
                                    note=f"device heard again ({ev.type})")]

    def _episode(self, ctx: RuleContext, ev: EventBase, kind: AlarmKind, priority: Priority,
                 *, active: bool, text: str, fixed: str) -> list[EventBase]:
        assert ev.device is not None
        key = (ev.tenant, ev.device.id, str(kind))
        current = self._episodes.get(key) or self.book.find_open(*key)
        if active:
            if current is not None:
                return []  # the same episode: reported once
            rec = technical_record(ctx, ev.tenant, ev.device, kind, ev.id, priority, ev.resident)
            self._episodes[key] = rec
            return [raise_event(rec, text, ev.time)]
        if current is None:
            return []
        self._episodes.pop(key, None)
        # one closed id per alarm: if an operator closed it already, the store keeps theirs
        return [close_event(current, by=SYSTEM, outcome="technical_fixed", note=fixed,
                            time=ev.time)]


@dataclass
class _Watch:
    tenant: str
    device: str
    last_seen: datetime
    announced_s: int | None = None
    alarm: AlarmRecord | None = None  # the open silent alarm of this episode


class SilentUnitRule:
    name = "silent-units"
    refresh_s = 300.0
    """How often devices added to the configuration while running are picked up."""

    def __init__(self, book: AlarmBook | None = None) -> None:
        self.book = book or AlarmBook()
        self._watches: dict[str, _Watch] = {}
        self._wake = Wake()
        self._loaded = False
        self._refreshed: datetime | None = None

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        self.book.reset()
        self._watches.clear()
        self._loaded = False
        self._refreshed = None

    def load(self, ctx: RuleContext) -> None:
        self._load(ctx)

    def _load(self, ctx: RuleContext) -> None:
        if self._loaded:
            return
        self.book.ensure_loaded(ctx.store)
        self._refresh(ctx, ctx.clock.now())
        for rec in self.book.open_records():
            if rec.kind == AlarmKind.TECHNICAL_UNIT_SILENT and rec.device is not None:
                watch = self._watches.get(rec.device.id)
                if watch is not None:
                    watch.alarm = rec
        self._loaded = True

    def _refresh(self, ctx: RuleContext, now: datetime) -> None:
        """Pick up configured devices; the store's last_seen survives restarts."""
        for row in ctx.store.rows("devices"):
            seen = _parse(row["last_seen"])
            watch = self._watches.get(row["id"])
            if watch is None:
                watch = self._watches[row["id"]] = _Watch(row["tenant"], row["id"], seen or now)
                if row["heartbeat_s"] is None:
                    watch.announced_s = _announced(ctx, row["tenant"], row["id"])
            elif seen is not None and seen > watch.last_seen:
                watch.last_seen = seen
        self._refreshed = now

    def _limits(
        self, ctx: RuleContext, watch: _Watch, s: AlarmSettings
    ) -> tuple[int, float] | None:
        entry = ctx.directory.get(watch.device)
        interval = (entry.heartbeat_s if entry else None) or watch.announced_s
        if not interval:
            return None  # nothing promised, nothing supervised
        tolerance = entry.extra.get("heartbeat_tolerance_s") if entry else None
        return interval, float(tolerance or s.heartbeat_tolerance * interval)

    # ------------------------------------------------------------------ events

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        self._load(ctx)
        self.book.observe(event)
        if event.device is None or event.source.adapter == NAVET or event.type == "device.offline":
            return []
        seen = event.received or event.time
        watch = self._watches.get(event.device.id)
        if watch is None:
            watch = self._watches[event.device.id] = _Watch(event.tenant, event.device.id, seen)
            self._wake.set()
        if event.type == "device.heartbeat":
            interval = event.data.interval_s  # type: ignore[attr-defined]  # heartbeat body
            if interval and interval != watch.announced_s:
                watch.announced_s = interval
                self._wake.set()
        out: list[EventBase] = []
        if watch.alarm is not None:
            silent_s = max(0, int((seen - watch.last_seen).total_seconds()))
            rec, watch.alarm = watch.alarm, None
            if event.type != "device.online":
                out.append(make_event(
                    "device.online", tenant=event.tenant, time=seen,
                    source={"adapter": NAVET, "protocol": NAVET, "ref": rec.id},
                    device=event.device, resident=rec.resident, alarm=rec.id,
                    data={"silent_s": silent_s}, id=event_id(NAVET, rec.tenant, rec.id, "online"),
                ))
            out.append(close_event(rec, by=SYSTEM, outcome="technical_fixed", time=seen,
                                   note=f"unit heard again after {silent_s} s of silence"))
            self._wake.set()
        if seen > watch.last_seen:
            watch.last_seen = seen
        return out

    # ------------------------------------------------------------------ timer

    def due(self, ctx: RuleContext, now: datetime) -> tuple[list[EventBase], datetime | None]:
        """Silent alarms due at ``now``, and when the next device falls silent."""
        events: list[EventBase] = []
        nxt: datetime | None = None
        settings: dict[str, AlarmSettings] = {}
        for watch in self._watches.values():
            if watch.alarm is not None:
                continue
            if watch.tenant not in settings:
                settings[watch.tenant] = tenant_alarm_settings(ctx.store, watch.tenant)
            limits = self._limits(ctx, watch, settings[watch.tenant])
            if limits is None:
                continue
            interval, tolerance = limits
            at = watch.last_seen + timedelta(seconds=tolerance)
            if now < at:
                nxt = at if nxt is None or at < nxt else nxt
                continue
            if self.book.find_open(watch.tenant, watch.device,
                                   AlarmKind.TECHNICAL_LINK_LOST) is not None:
                continue  # already reported offline; one alarm per cause
            if self._vendor_link_down(watch.tenant, watch.device):
                continue  # it reports through a vendor link that is down: that is the cause
            entry = ctx.directory.get(watch.device)
            device = DeviceRef(id=watch.device, kind=entry.kind if entry else "other",  # type: ignore[arg-type]
                               vendor=entry.extra.get("vendor") if entry else None,
                               model=entry.extra.get("model") if entry else None)
            rec = technical_record(ctx, watch.tenant, device, AlarmKind.TECHNICAL_UNIT_SILENT,
                                   watch.last_seen.isoformat(), Priority.HIGH)
            watch.alarm = rec
            events.append(raise_event(
                rec, f"no sign of life for {int(tolerance)} s (expected every {interval} s)", at))
        return events, nxt

    def _due(self, ctx: RuleContext, now: datetime) -> tuple[list[EventBase], datetime]:
        """The timer's step: what is due, and when to look next (a refresh at the latest)."""
        self._load(ctx)
        if self._refreshed is None or (now - self._refreshed).total_seconds() >= self.refresh_s:
            self._refresh(ctx, now)
        assert self._refreshed is not None
        events, nxt = self.due(ctx, now)
        if events:
            log.info("%d unit(s) silent", len(events))
        wake_at = self._refreshed + timedelta(seconds=self.refresh_s)
        return events, (nxt if nxt is not None and nxt < wake_at else wake_at)

    def _vendor_link_down(self, tenant: str, device: str) -> bool:
        """Whether a vendor link of the device's adapter in its tenant is reported down.

        Vendor clouds and bridges are devices of kind ``other`` of the same adapter
        (``dosvakt:link-…``, ``portvakt:cloud``, ``lasbro:bridge-…``); while one has an
        open ``technical.link_lost``, the devices behind it are silent for that one cause.
        """
        prefix = device.split(":", 1)[0] + ":"
        return any(
            rec.tenant == tenant and rec.kind == AlarmKind.TECHNICAL_LINK_LOST
            and rec.device is not None and rec.device.id != device
            and rec.device.id.startswith(prefix) and rec.device.kind == DeviceKind.OTHER
            for rec in self.book.open_records())

    async def run(self, ctx: RuleContext) -> None:
        while True:
            self._wake.clear()
            try:
                wake_at = await ctx.tick(lambda now: self._due(ctx, now))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("supervision timer failed; retrying in 5 s")
                await ctx.clock.sleep(5)
                continue
            await sleep_or_wake(ctx.clock, (wake_at - ctx.clock.now()).total_seconds(),
                                self._wake)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None



def _announced(ctx: RuleContext, tenant: str, device: str) -> int | None:
    """The interval the device last announced in a heartbeat, if it ever did."""
    return ctx.store.read_sync(lambda conn: event_rows.announced_interval(conn, tenant, device))
