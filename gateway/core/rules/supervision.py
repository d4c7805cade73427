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
import gc
import heapq
import logging
import math
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ..care import AlarmSettings
from ..directory import DeviceEntry
from ..liveness import Liveness
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
from ..store.repos.config import last_seen_of, last_seen_times
from .alarms import (
    NAVET,
    SYSTEM,
    AlarmBook,
    AlarmRecord,
    Wake,
    close_event,
    derive,
    tenant_alarm_settings,
)
from .engine import RuleContext

log = logging.getLogger(__name__)

OFFLINE_TEXT = "offline: "
ATTENTION_KINDS = frozenset({str(AlarmKind.TECHNICAL_UNIT_SILENT),
                             str(AlarmKind.TECHNICAL_LINK_LOST)})
"""Open alarms of these kinds end when the device is heard: its events are stored."""

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


class _Watch:
    """One supervised device, compact: a million of them fit in a few hundred MiB.

    Last-seen lives in :class:`~gateway.core.liveness.Liveness` (one float per device);
    ``armed`` is the deadline of this device's entry in the rule's heap (0: none)."""

    __slots__ = ("alarm", "announced", "armed", "tenant")

    def __init__(self, tenant: str, announced: int = 0) -> None:
        self.tenant = tenant
        self.announced = announced  # the interval the device announced (0: none)
        self.armed = 0.0
        self.alarm: AlarmRecord | None = None  # the open silent alarm of this episode


SLICE_S = 0.02
"""The timer yields the event loop after this much work (a mass outage comes in slices)."""
SLICE_ALARMS = 500
"""And after this many silent alarms, which it stores before it goes on."""
MASS_OUTAGE = 1000
LARGE_FLEET = 50_000
"""From this many supervised devices on, the fleet's state is frozen out of the cyclic
collector (:func:`settle_long_lived`); a small one (a test run) is left alone, so nothing
that is garbage by then is frozen with it."""


def settle_long_lived() -> None:
    """Take what exists now out of the cyclic collector's full passes (``gc.freeze``).

    A fleet's supervision state (a watch, a heap entry, a directory entry per
    device) and the open alarms of a mass outage live for hours; a full collection
    walks every object it tracks, and at 60,000 devices one took 94 ms on this
    machine, so at a million it would hold the event loop for over a second.
    Frozen objects are still freed by reference counting; only cyclic garbage
    among them would stay (Navet's long-lived state makes none).
    """
    gc.freeze()


class SilentUnitRule:
    """Supervision of silent units by deadline: a heap of per-device deadlines.

    Each supervised device has one entry in a heap, due when it would be silent
    (last seen + tolerance). A heartbeat only moves the device's last-seen time
    (O(1)); the timer pops what is due, and a device heard meanwhile is armed
    again at its new deadline. Nothing scans all devices, on a tick or on a
    device's first heartbeat. A mass outage raises its alarms in slices that
    yield the event loop (:data:`SLICE_S`, :data:`SLICE_ALARMS`).

    After a start (a restart, a takeover) no device is silent before one
    heartbeat interval from the start: its last-seen time in the store may be
    older than the truth by a flush interval, or by the time Navet was down.

    Scale-out (:attr:`shared_s` set): the other instances hear devices too (each
    heartbeat reaches one of them) and only flush what they heard to
    ``devices.last_seen`` every ``shared_s`` seconds. So a device is silent only
    when neither this instance's memory nor the stored time (read for each due slice,
    one query, inside the tick) is within its tolerance plus ``shared_s``; and a
    silent device is looked at again every ``shared_s``: a stored time newer than
    its silence (heard by another instance) ends the episode.
    """

    name = "silent-units"
    refresh_s = 300.0
    """How long tenants' alarm settings (the tolerance) are cached."""

    def __init__(self, book: AlarmBook | None = None, liveness: Liveness | None = None) -> None:
        self.book = book or AlarmBook()
        self.liveness = liveness if liveness is not None else Liveness()
        """Set by the gateway to the pipeline's (heartbeats on the fast path)."""
        self._watches: dict[str, _Watch] = {}
        self._heap: list[tuple[float, str]] = []
        self._silent_since: dict[str, float] = {}  # device in a silent episode -> last heard
        self._wake = Wake()  # set on the writer's thread (rules), waited for on the loop
        self._sleep_until: float | None = None
        self._loaded = False
        self._loading = False
        self._started = 0.0
        self._ctx: RuleContext | None = None
        self._settings: dict[str, AlarmSettings] = {}
        self._settings_at = 0.0
        self.raised = 0
        """Silent-unit alarms raised since start (benchmarks, metrics)."""
        self.shared_s = 0.0
        """Scale-out: how stale the stored last-seen of another instance's devices may be
        (its ``heartbeats.flush_interval_s``); 0: one process, memory is the truth."""
        self._warned: set[float] = set()

    @property
    def loaded(self) -> bool:
        return self._loaded

    def next_deadline(self) -> float | None:
        """When the timer next has something to look at (POSIX seconds), if ever."""
        return self._heap[0][0] if self._heap else None

    def watched(self) -> int:
        """How many devices are supervised."""
        return len(self._watches)

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget what was loaded (the store rolled back what the rules saw); last-seen
        times stay: they are what was heard, kept in :class:`Liveness`, not the store."""
        self.book.reset()
        self._watches.clear()
        self._heap.clear()
        self._silent_since.clear()
        self._loaded = self._loading = False

    def load(self, ctx: RuleContext) -> None:
        """Load on the store's writer thread, before a job writes (the rules runner)."""
        self._load(ctx)

    def _read(self, conn: Any) -> tuple[dict[str, int], list[tuple[str, float]]]:
        announced = event_rows.announced_intervals(conn)
        seen = [(device, datetime.fromisoformat(at).timestamp())
                for device, at in last_seen_times(conn)]
        return announced, seen

    def _load(self, ctx: RuleContext) -> None:
        """Load synchronously (an event came before the timer task loaded)."""
        if self._loaded or self._loading:
            return
        self._begin(ctx)
        announced, seen = ctx.store.read_sync(self._read)
        for _ in self._install(ctx, announced, seen):
            pass

    async def _load_async(self, ctx: RuleContext) -> None:
        """Load in a thread and in slices: a million devices never block the loop long."""
        if self._loaded or self._loading:
            return
        self._begin(ctx)
        collecting = gc.isenabled()
        gc.disable()  # a full collection halfway through a million new watches: seconds
        try:
            announced, seen = await ctx.store.read(self._read)
            for _ in self._install(ctx, announced, seen):
                await asyncio.sleep(0)
        except BaseException:
            self._loading = False
            raise
        finally:
            if len(self._watches) >= LARGE_FLEET:
                settle_long_lived()
            if collecting:
                gc.enable()

    def _begin(self, ctx: RuleContext) -> None:
        self._loading = True
        self._ctx = ctx
        self.book.ensure_loaded(ctx.store)
        self._started = ctx.clock.now().timestamp()
        if self._on_put not in ctx.directory.listeners:
            ctx.directory.listeners.append(self._on_put)
        if self._beat not in self.liveness.listeners:
            self.liveness.listeners.append(self._beat)

    def _install(self, ctx: RuleContext, announced: dict[str, int],
                 seen: list[tuple[str, float]], chunk: int = 2000) -> Iterator[None]:
        """Watch every device with an interval; yields between chunks."""
        for n, (device, at) in enumerate(seen):
            self.liveness.restore(device, at)
            if n % chunk == chunk - 1:
                yield
        for rec in self.book.open_records():  # episodes the next sign of life ends
            if rec.device is not None and rec.kind in ATTENTION_KINDS:
                self.liveness.attend(rec.device.id)
        ids = ctx.directory.ids()
        for start in range(0, len(ids), chunk):
            for device in ids[start:start + chunk]:
                entry = ctx.directory.get(device)
                if entry is not None and (entry.heartbeat_s or device in announced):
                    self._watch(ctx, device, entry.tenant, announced.get(device, 0))
            yield
        for rec in self.book.open_records():
            if rec.kind == AlarmKind.TECHNICAL_UNIT_SILENT and rec.device is not None:
                watch = self._watches.get(rec.device.id)
                if watch is not None:
                    watch.alarm = rec
                    last = self.liveness.last(rec.device.id)
                    self._silent_since[rec.device.id] = last if last is not None else (
                        rec.raised.timestamp() if rec.raised else self._started)
                    if self.shared_s:  # heard by another instance? look in the store
                        self._arm(rec.device.id, watch, self._started + self.shared_s)
        self._loaded, self._loading = True, False

    def _watch(self, ctx: RuleContext, device: str, tenant: str, announced: int = 0) -> _Watch:
        watch = self._watches.get(device)
        if watch is None:
            watch = self._watches[sys.intern(device)] = _Watch(sys.intern(tenant), announced)
            self._rearm(ctx, device, watch)
        return watch

    def _tenant_settings(self, ctx: RuleContext, tenant: str) -> AlarmSettings:
        now = ctx.clock.now().timestamp()
        if now - self._settings_at >= self.refresh_s:
            self._settings.clear()
            self._settings_at = now
        found = self._settings.get(tenant)
        if found is None:
            found = self._settings[tenant] = tenant_alarm_settings(ctx.store, tenant)
        return found

    def _limits(self, ctx: RuleContext, device: str, watch: _Watch) -> tuple[int, float] | None:
        entry = ctx.directory.get(device)
        interval = (entry.heartbeat_s if entry else None) or watch.announced
        if not interval:
            return None  # nothing promised, nothing supervised
        tolerance = entry.extra.get("heartbeat_tolerance_s") if entry else None
        tolerance = float(
            tolerance or self._tenant_settings(ctx, watch.tenant).heartbeat_tolerance * interval)
        if self.shared_s and self.shared_s > tolerance / 2 and tolerance not in self._warned:
            self._warned.add(tolerance)
            log.warning(
                "silent units: with several instances a device heard by another one is "
                "known here only after heartbeats.flush_interval_s (%g s), more than half "
                "a tolerance of %g s (device %s); its silent alarm comes up to %g s late. "
                "Lower heartbeats.flush_interval_s.", self.shared_s, tolerance, device,
                self.shared_s)
        return interval, tolerance

    def _deadline(self, device: str, interval: int, tolerance: float) -> float:
        """When the device is silent: its tolerance after it was last heard, and never
        before one interval after the start (the restart grace)."""
        last = self.liveness.last(device)
        return max((last if last is not None else self._started) + tolerance + self.shared_s,
                   self._started + interval)

    def _arm(self, device: str, watch: _Watch, at: float) -> None:
        if watch.armed and watch.armed <= at:
            return  # an earlier entry will look again then (and arm the later one)
        watch.armed = at
        heapq.heappush(self._heap, (at, device))
        if self._sleep_until is not None and at < self._sleep_until:
            self._wake.set()

    def _rearm(self, ctx: RuleContext, device: str, watch: _Watch) -> None:
        limits = self._limits(ctx, device, watch)
        if limits is not None and watch.alarm is None:
            self._arm(device, watch, self._deadline(device, *limits))

    def _on_put(self, entry: DeviceEntry) -> None:
        """A device added or changed in the configuration (from the directory)."""
        if self._ctx is None:
            return
        self._settings.clear()  # a care configuration was applied: tolerances may differ
        watch = self._watches.get(entry.id)
        if watch is None and entry.heartbeat_s:
            self._watch(self._ctx, entry.id, entry.tenant)
        elif watch is not None:
            watch.armed = 0.0  # the interval may be shorter now: arm afresh
            self._rearm(self._ctx, entry.id, watch)

    def _beat(self, tenant: str, device: str, at: float) -> None:
        """A heartbeat on the fast path (not stored): last-seen moved already."""
        watch = self._watches.get(device)
        if watch is not None and not watch.armed and watch.alarm is None \
                and self._ctx is not None:
            self._rearm(self._ctx, device, watch)

    # ------------------------------------------------------------------ events

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        self._load(ctx)
        self.book.observe(event)
        if event.device is None or event.source.adapter == NAVET or event.type == "device.offline":
            return []
        device = event.device.id
        seen = event.received or event.time
        self.liveness.seen(device, seen.timestamp())
        watch = self._watches.get(device)
        if event.type == "device.heartbeat":
            interval = event.data.interval_s  # type: ignore[attr-defined]  # heartbeat body
            self.liveness.stored_heartbeat(device, interval)
            if interval and (watch is None or interval != watch.announced):
                watch = self._watches.get(device) or self._watch(ctx, device, event.tenant)
                watch.announced = interval
                watch.armed = 0.0
        if watch is None:
            entry = ctx.directory.get(device)
            if entry is not None and entry.heartbeat_s:
                watch = self._watch(ctx, device, event.tenant)
        if watch is None:
            return []
        out: list[EventBase] = []
        if watch.alarm is not None:
            last = self._silent_since.pop(device, self._started)
            silent_s = max(0, int(seen.timestamp() - last))
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
            watch.armed = 0.0
        if not watch.armed:
            self._rearm(ctx, device, watch)
        return out

    # ------------------------------------------------------------------ timer

    def _check(self, ctx: RuleContext, device: str, watch: _Watch,
               now: float) -> EventBase | None:
        """A device whose deadline came: silent (its alarm), or heard since (armed again)."""
        limits = self._limits(ctx, device, watch)
        if limits is None or watch.alarm is not None:
            return None  # not supervised (any more), or silent already
        interval, tolerance = limits
        at = self._deadline(device, interval, tolerance)
        if at > now:
            self._arm(device, watch, at)
            return None
        if self.book.find_open(watch.tenant, device, AlarmKind.TECHNICAL_LINK_LOST) is not None \
                or self._vendor_link_down(watch.tenant, device):
            # one alarm per cause (reported offline, or its vendor link is down): look again
            self._arm(device, watch, now + interval)
            return None
        entry = ctx.directory.get(device)
        ref = DeviceRef(id=device, kind=entry.kind if entry else "other",  # type: ignore[arg-type]
                        vendor=entry.extra.get("vendor") if entry else None,
                        model=entry.extra.get("model") if entry else None)
        last = self.liveness.last(device)
        episode = datetime.fromtimestamp(last if last is not None else self._started, UTC)
        rec = technical_record(ctx, watch.tenant, ref, AlarmKind.TECHNICAL_UNIT_SILENT,
                               episode.isoformat(), Priority.HIGH)
        watch.alarm = rec
        self._silent_since[device] = last if last is not None else self._started
        self.liveness.attend(device)  # its next sign of life ends the episode: store it
        if self.shared_s:  # or another instance hears it: look in the store again then
            self._arm(device, watch, now + self.shared_s)
        return raise_event(
            rec, f"no sign of life for {int(tolerance)} s (expected every {interval} s)",
            datetime.fromtimestamp(at, UTC))

    async def fire(self, ctx: RuleContext, now: float) -> int:
        """Raise what is due at ``now`` (POSIX seconds), in slices; return how many.

        Under the rules runner each slice is decided and stored inside one write job
        (:meth:`RuleContext.tick`), on the writer's thread, where rule state lives; a
        slice that is rolled back is decided again from the reloaded state. A rule on
        its own (a benchmark, a test without a runner) decides on the event loop."""
        if ctx.timer is None:
            return await self._fire_here(ctx, now)
        count, paused = 0, False
        try:
            while True:
                raised, more = await ctx.tick(lambda _at: self._slice(ctx, now))
                count += raised
                self.raised += raised
                if not more:
                    break
                if count >= MASS_OUTAGE and not paused and gc.isenabled():
                    gc.disable()  # the outage's alarms live as long as it: no walk halfway
                    paused = True
                await asyncio.sleep(0)  # let the loop breathe between slices
        finally:
            if paused:
                settle_long_lived()
                gc.enable()
        if count:
            log.info("%d unit(s) silent", count)
        if count >= MASS_OUTAGE and not paused:
            settle_long_lived()
        return count

    def _slice(self, ctx: RuleContext, now: float) -> tuple[list[EventBase],
                                                            tuple[int, bool]]:
        """One slice of what is due: its alarms, how many, and whether more is due."""
        if self.shared_s:
            return self._slice_shared(ctx, now)
        heap, out = self._heap, []
        began = time.perf_counter()
        while heap and heap[0][0] <= now:
            at, device = heapq.heappop(heap)
            watch = self._watches.get(device)
            if watch is None or watch.armed != at:
                continue  # armed again since (a changed interval): a stale entry
            watch.armed = 0.0
            event = self._check(ctx, device, watch, now)
            if event is not None:
                out.append(event)
            if len(out) >= SLICE_ALARMS or time.perf_counter() - began >= SLICE_S:
                break
        return out, (len(out), bool(heap and heap[0][0] <= now))

    def _slice_shared(self, ctx: RuleContext, now: float) -> tuple[list[EventBase],
                                                                   tuple[int, bool]]:
        """:meth:`_slice` with several instances: the due devices' stored last-seen
        (flushed by every instance) is read first, in one query, on the writer's
        connection, and taken where it is newer than this instance's memory."""
        heap, due = self._heap, []
        began = time.perf_counter()
        while heap and heap[0][0] <= now:
            at, device = heapq.heappop(heap)
            watch = self._watches.get(device)
            if watch is None or watch.armed != at:
                continue  # armed again since (a changed interval): a stale entry
            watch.armed = 0.0
            due.append((device, watch))
            if len(due) >= SLICE_ALARMS or time.perf_counter() - began >= SLICE_S:
                break
        if due:
            ids = [device for device, _ in due]
            for device, at_iso in ctx.store.read_sync(lambda conn: last_seen_of(conn, ids)):
                self.liveness.restore(device, datetime.fromisoformat(at_iso).timestamp())
        out: list[EventBase] = []
        raised = 0
        for device, watch in due:
            if watch.alarm is not None:
                out.extend(self._heard_elsewhere(ctx, device, watch, now))
                continue
            event = self._check(ctx, device, watch, now)
            if event is not None:
                out.append(event)
                raised += 1
        return out, (raised, bool(heap and heap[0][0] <= now))

    def _heard_elsewhere(self, ctx: RuleContext, device: str, watch: _Watch,
                         now: float) -> list[EventBase]:
        """A silent device: heard since by another instance (its stored last-seen is newer
        than the silence) ends the episode; else look again in :attr:`shared_s`."""
        rec = watch.alarm
        last = self.liveness.last(device)
        since = self._silent_since.get(device, self._started)
        if rec is None or rec.device is None or last is None or last <= since:
            self._arm(device, watch, now + self.shared_s)
            return []
        watch.alarm = None
        self._silent_since.pop(device, None)
        self.liveness.attend(device, False)
        seen = datetime.fromtimestamp(last, UTC)
        silent_s = max(0, int(last - since))
        self._rearm(ctx, device, watch)
        return [
            make_event("device.online", tenant=rec.tenant, time=seen,
                       source={"adapter": NAVET, "protocol": NAVET, "ref": rec.id},
                       device=rec.device, resident=rec.resident, alarm=rec.id,
                       data={"silent_s": silent_s},
                       id=event_id(NAVET, rec.tenant, rec.id, "online")),
            close_event(rec, by=SYSTEM, outcome="technical_fixed", time=seen,
                        note=f"unit heard again (by another instance) after {silent_s} s "
                             "of silence"),
        ]

    async def _fire_here(self, ctx: RuleContext, now: float) -> int:
        """:meth:`fire` without a rules runner: decide here, store through ``emit``.

        Once a pass has raised :data:`MASS_OUTAGE` alarms the cyclic collector waits
        until the pass ends (its alarms live as long as the outage; a collection
        halfway through would walk them all and hold the loop), then they are frozen."""
        heap, out, count = self._heap, [], 0
        paused = False
        began = time.perf_counter()
        try:
            while heap and heap[0][0] <= now:
                at, device = heapq.heappop(heap)
                watch = self._watches.get(device)
                if watch is None or watch.armed != at:
                    continue  # armed again since (a changed interval): a stale entry
                watch.armed = 0.0
                event = self._check(ctx, device, watch, now)
                if event is not None:
                    out.append((device, watch, event))
                if len(out) >= SLICE_ALARMS or time.perf_counter() - began >= SLICE_S:
                    count += await self._raise(ctx, out, now)
                    out = []
                    if count >= MASS_OUTAGE and not paused and gc.isenabled():
                        gc.disable()
                        paused = True
                    await asyncio.sleep(0)  # let the loop breathe between slices
                    began = time.perf_counter()
            count += await self._raise(ctx, out, now)
        finally:
            if paused:
                if len(self._watches) >= LARGE_FLEET:
                    settle_long_lived()  # the open alarms of an outage live until it ends
                gc.enable()
        return count

    async def _raise(self, ctx: RuleContext, out: list[tuple[str, _Watch, EventBase]],
                     now: float) -> int:
        if not out:
            return 0
        try:
            await ctx.emit([event for _, _, event in out])
        except BaseException:
            for device, watch, _ in out:  # not stored: raise them on the next attempt
                watch.alarm = None
                self._silent_since.pop(device, None)
                self.liveness.attend(device, False)
                self._arm(device, watch, now)
            raise
        self.raised += len(out)
        log.info("%d unit(s) silent", len(out))
        return len(out)

    def _vendor_link_down(self, tenant: str, device: str) -> bool:
        """Whether a vendor link of the device's adapter in its tenant is reported down.

        Vendor clouds and bridges are devices of kind ``other`` of the same adapter
        (``dosvakt:link-…``, ``portvakt:cloud``, ``lasbro:bridge-…``); while one has an
        open ``technical.link_lost``, the devices behind it are silent for that one cause.
        """
        prefix = device.split(":", 1)[0] + ":"
        return any(
            rec.device is not None and rec.device.id != device
            and rec.device.id.startswith(prefix) and rec.device.kind == DeviceKind.OTHER
            for rec in self.book.open_of_kind(tenant, AlarmKind.TECHNICAL_LINK_LOST))

    async def run(self, ctx: RuleContext) -> None:
        while True:
            self._wake.clear()
            try:
                if not self._loaded:
                    if ctx.timer is None:
                        await self._load_async(ctx)  # in slices, off the loop
                    else:  # where the rules' state lives: the writer's thread
                        await ctx.tick(lambda _at: ([], self._load(ctx)))
                await self.fire(ctx, ctx.clock.now().timestamp())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("supervision timer failed; retrying in 5 s")
                await ctx.clock.sleep(5)
                continue
            self._sleep_until = self._heap[0][0] if self._heap else math.inf
            try:
                await self._sleep(ctx)
            finally:
                self._sleep_until = None

    async def _sleep(self, ctx: RuleContext) -> None:
        """Until the next deadline, or until woken (an earlier deadline was armed).

        The time left is reckoned when the sleep starts, not before: a fake clock
        moved meanwhile must not make the timer oversleep its deadline."""
        if self._wake.is_set():
            return
        until = self._sleep_until

        async def sleep() -> None:
            if until is None or until == math.inf:
                await asyncio.Event().wait()  # nothing to supervise until something is armed
            await ctx.clock.sleep(max(0.0, until - ctx.clock.now().timestamp()))  # type: ignore[operator]

        tasks = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(sleep())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
