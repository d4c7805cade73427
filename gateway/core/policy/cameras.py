"""Camera supervision (digital tillsyn): who may look, when, for how long; and what it leaves.

**The policy.** A supervision session on a resident's camera is allowed only
when all of these hold, checked in this order so the refusal names the first
thing that is wrong (``code`` in brackets):

1. the caller is a member of the tenant's staff [``unknown_staff``] with the
   role ``night_supervision`` [``wrong_role``];
2. the resident is known [``unknown_resident``] and has a supervision schedule
   [``no_schedule``], and now, in the tenant's local time, is inside one of its
   windows [``outside_window``];
3. the resident's own ``camera_supervision`` consent is valid now: none at all
   [``consent_missing``], withdrawn [``consent_withdrawn``], run out
   [``consent_expired``], not yet in force [``consent_not_yet_valid``];
4. every cohabitant named in the resident's consents (``given_by:
   cohabitant:<label>``) has a valid consent too [``cohabitant_consent_missing``]
   (SoLPuL as amended by prop. 2022/23:131);
5. the resident has a camera served by a running adapter [``no_camera``] and no
   other session is open on it [``camera_busy``].

A refusal is stored as ``supervision.refused`` (with ``code``) and audited.

**The session.** An allowed start is audited (who, whom, which camera, on what
basis) *before* the adapter is asked; then ``adapter.execute(Command)`` opens
the session at the vendor and returns a short-lived, single-use viewing URL,
which goes back to the caller and nowhere else (no event, log line or store
holds it). Nothing is recorded. The session ends when the staff member ends
it, or by itself after the schedule's ``max_session_s`` on the injected clock,
or as soon as a recheck (every :data:`RECHECK_S`) finds the policy no longer
holds (a consent withdrawn, the window closed, the role removed), or when the
vendor reports the session ended. Every end is audited with its duration, so
the audit log answers "who looked, when, for how long" (Växjö: "vem som har
gjort tillsynen, när den gjordes och hur länge den varade").

``supervision.started`` / ``supervision.ended`` come from the vendor (the
camera really streamed); Navet passes its session id with the command and
both vendors echo it.

**Observations.** What staff saw is ``supervision.observation``;
:class:`SupervisionFindingsRule` turns ``needs_alarm`` into an ``alarm.raised``
(kind ``supervision.needs_help``, priority critical, escalating like any alarm)
and ``needs_visit`` into ``visit.requested`` for the home-care team. The same rule
raises a technical alarm when a camera reports a session Navet never allowed.

Open sessions and their timers live in the instance that started them. If that
instance stops, it ends its sessions first (bounded wait); if it crashes, the vendor's
own limit (Navet always passes ``max_s``) closes the stream, and the audit log shows a
start without an end.

The command path follows :mod:`gateway.core.commands` (same :class:`Command`,
same audit log, the decision audited before anything is sent) but runs here:
``CommandService`` answers with a lock-shaped outcome that has no room for the
viewing URL a camera start must hand back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.errors import NavetError
from gateway.sdk.commands import Command

from ..audit import AuditLog
from ..care import Consent, SupervisionSchedule, Tenant, TimeWindow, tenant_care
from ..care.models import in_window
from ..clock import Clock
from ..directory import DeviceDirectory, DeviceEntry
from ..instances import AdapterInstances
from ..model import (
    Actor,
    ActorKind,
    DeviceKind,
    DeviceRef,
    EventBase,
    Finding,
    event_id,
    make_event,
)
from ..rules.findings import (  # the rule lives with the rules; the names stay here too
    FINDING_ALARM_TEXT as FINDING_ALARM_TEXT,
)
from ..rules.findings import START
from ..rules.findings import UNALLOWED_TEXT as UNALLOWED_TEXT
from ..rules.findings import SupervisionFindingsRule as SupervisionFindingsRule
from ..rules.findings import allowed_session as allowed_session
from ..rules.findings import derived_for as derived_for
from ..rules.findings import unallowed_stream as unallowed_stream
from ..store import Store
from ..store.repos import events as event_rows
from .base import Decision

log = logging.getLogger(__name__)

STOP = "supervision.stop"
ROLE = "night_supervision"
PURPOSE = "camera_supervision"
RECHECK_S = 5.0
"""How often an open session re-checks the policy (a withdrawn consent ends it within this)."""
OBSERVE_WITHIN_S = 3600
"""How long after a check its observation may still be recorded."""
NAVET = "navet"
SYSTEM = Actor(kind=ActorKind.SYSTEM, id="navet", name="Navet")


# --------------------------------------------------------------------------- the policy


def _describe(window: TimeWindow) -> str:
    return f"{','.join(window.days)} {window.start:%H:%M}-{window.end:%H:%M}"


def _local(consent: Consent, zone: ZoneInfo) -> Consent:
    """``consent`` with times written without an offset read as the tenant's local time
    (a file saying ``valid_to: 2026-06-30T00:00:00`` means midnight in the municipality)."""
    fix = {name: value.replace(tzinfo=zone)
           for name in ("valid_from", "valid_to", "withdrawn")
           if (value := getattr(consent, name)) is not None and value.tzinfo is None}
    return consent.model_copy(update=fix) if fix else consent


def _consent_problem(consents: list[Consent], now: datetime) -> tuple[str, str] | None:
    """Why no consent of this list is valid now as (code suffix, words); None when one is."""
    if any(c.valid_at(now) for c in consents):
        return None
    if not consents:
        return "missing", "there is none"
    if any(c.withdrawn is not None and c.withdrawn <= now for c in consents):
        latest = max(c.withdrawn for c in consents if c.withdrawn is not None)
        return "withdrawn", f"it was withdrawn {latest.isoformat()}"
    if any(c.valid_to is not None and c.valid_to <= now for c in consents):
        latest = max(c.valid_to for c in consents if c.valid_to is not None)
        return "expired", f"it ran out {latest.isoformat()}"
    first = min(c.valid_from for c in consents)
    return "not_yet_valid", f"it is valid only from {first.isoformat()}"


class CameraPolicy:
    """Decides whether ``staff_id`` may look at ``resident`` now. Pure: no I/O, no clock."""

    commands = (START, STOP)

    def decide(self, care: Tenant | None, staff_id: str, resident: str,
               now: datetime) -> Decision:
        if care is None:
            return Decision.deny("unknown_tenant", "the tenant has no care configuration")
        staff = next((s for s in care.staff if s.id == staff_id), None)
        if staff is None:
            return Decision.deny("unknown_staff", f"{staff_id} is not staff of {care.id}")
        if ROLE not in staff.roles:
            return Decision.deny("wrong_role", f"{staff_id} does not have the role {ROLE}",
                                 roles=list(staff.roles))
        if resident not in {r.id for r in care.residents}:
            return Decision.deny("unknown_resident", f"no resident {resident} in {care.id}")
        schedule: SupervisionSchedule | None = next(
            (s for s in care.supervision if s.resident == resident), None)
        if schedule is None:
            return Decision.deny("no_schedule",
                                 f"{resident} has no camera supervision schedule")
        local = now.astimezone(ZoneInfo(care.timezone))  # windows are wall-clock times
        window = next((w for w in schedule.windows if in_window(w, local)), None)
        if window is None:
            windows = "; ".join(_describe(w) for w in schedule.windows) or "none"
            return Decision.deny(
                "outside_window", f"{local:%a %H:%M} ({care.timezone}) is outside the "
                f"supervision windows of {resident} ({windows})")
        zone = ZoneInfo(care.timezone)
        mine = [_local(c, zone) for c in care.consents
                if c.resident == resident and c.purpose == PURPOSE]
        problem = _consent_problem([c for c in mine if c.given_by == "resident"], now)
        if problem is not None:
            code, why = problem
            return Decision.deny(f"consent_{code}",
                                 f"the resident's camera supervision consent: {why}")
        cohabitants = sorted({c.given_by for c in mine if c.given_by != "resident"})
        for who in cohabitants:
            problem = _consent_problem([c for c in mine if c.given_by == who], now)
            if problem is not None:
                return Decision.deny("cohabitant_consent_missing",
                                     f"{who} shares the home and has no valid consent "
                                     f"({problem[1]})", cohabitant=who)
        valid = [c.id for c in mine if c.valid_at(now)]
        return Decision.allow("scheduled", f"inside window {_describe(window)} with valid "
                              f"consent", window=_describe(window), consents=valid,
                              max_session_s=schedule.max_session_s)


# --------------------------------------------------------------------------- sessions


@dataclass
class Session:
    id: str
    tenant: str
    staff: str
    resident: str
    camera: DeviceEntry
    instance: str
    started: datetime
    max_s: int
    ends_at: datetime
    ended: datetime | None = None
    end_reason: str | None = None
    duration_s: int | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CheckStarted:
    """An allowed check. ``url`` is for the caller only; never log or store it."""

    session: str
    resident: str
    device: str
    url: str = field(repr=False)
    url_expires: datetime
    ends_at: datetime
    max_session_s: int


@dataclass(frozen=True)
class CheckRefused:
    code: str
    reason: str
    event: str | None = None


class CameraUnavailableError(NavetError):
    """The policy allowed the check but the camera or its vendor could not start it."""


class UnknownSessionError(NavetError):
    """No such session of this caller (or it is too old to note an observation)."""


def camera_ref(entry: DeviceEntry) -> DeviceRef:
    return DeviceRef(id=entry.id, kind=DeviceKind.CAMERA, vendor=entry.extra.get("vendor"),
                     model=entry.extra.get("model"), serial=entry.extra.get("serial"))


class SupervisionService:
    """Starts, watches and ends camera checks for one gateway (``Gateway.supervision``)."""

    def __init__(self, store: Store, clock: Clock, directory: DeviceDirectory,
                 instances: AdapterInstances,
                 emit: Callable[[list[EventBase]], Awaitable[None]],
                 audit: AuditLog | None = None) -> None:
        self.store = store
        self.clock = clock
        self.directory = directory
        self.instances = instances
        self.emit = emit
        self._given_audit = audit
        self.policy = CameraPolicy()
        self._audit: AuditLog | None = None
        self.sessions: dict[str, Session] = {}  # open ones
        self._lock = asyncio.Lock()

    async def audit(self) -> AuditLog:
        """The gateway's audit log (created here when the gateway has none yet)."""
        if self._audit is None:
            audit = self._given_audit or AuditLog(self.store, self.clock)
            await audit.open()
            self._audit = audit
        return self._audit

    # ------------------------------------------------------------------ start

    def cameras(self, tenant: str, resident: str) -> list[DeviceEntry]:
        return sorted((d for d in self.directory.for_tenant(tenant)
                       if d.kind == DeviceKind.CAMERA and d.resident == resident),
                      key=lambda d: d.id)

    def _instance_for(self, tenant: str, adapter: str) -> tuple[str, Any] | None:
        return self.instances.find(tenant, adapter)

    async def start_check(self, tenant: str, staff_id: str,
                          resident: str) -> CheckStarted | CheckRefused:
        """Decide, audit, and when allowed open a session on the resident's camera.

        :raises CameraUnavailableError: allowed, but the vendor could not start it.
        """
        async with self._lock:  # one decision at a time: two staff cannot both get the camera
            now = self.clock.now()
            care = await self.store.read(lambda conn: tenant_care(self.store, tenant))
            decision = self.policy.decide(care, staff_id, resident, now)
            cameras = self.cameras(tenant, resident)
            found = next(((c, inst) for c in cameras
                          if (inst := self._instance_for(tenant, c.adapter)) is not None), None)
            if decision.allowed and found is None:
                decision = Decision.deny("no_camera", f"{resident} has no camera served by a "
                                         "running adapter" if cameras else
                                         f"{resident} has no camera")
            if decision.allowed and found is not None and any(
                    s.camera.id == found[0].id for s in self.sessions.values()):
                decision = Decision.deny("camera_busy", "another check is open on this camera")
            camera = found[0] if found else (cameras[0] if cameras else None)
            if not decision.allowed:
                return await self._refuse(tenant, staff_id, resident, camera, decision, now)
            assert found is not None and camera is not None
            (instance_id, adapter) = found[1]
            max_s = int(decision.basis.get("max_session_s", 120))
            session = Session(
                id=f"sv-{uuid.uuid4().hex[:16]}", tenant=tenant, staff=staff_id,
                resident=resident, camera=camera, instance=instance_id, started=now, max_s=max_s,
                ends_at=now + timedelta(seconds=max_s))
            actor = Actor(kind=ActorKind.STAFF, id=staff_id)
            audit = await self.audit()
            await audit.append(
                tenant=tenant, actor=actor, action=START, decision="allowed",
                reason=decision.reason, resident=resident, device=camera.id,
                detail={"code": decision.code, "session": session.id,
                        "basis": dict(decision.basis)}, time=now)
            command = Command(
                id=session.id, name=START, tenant=tenant, device=camera.id,
                address=camera.address, requested_by=actor, issued=now, resident=resident,
                args={"session": session.id, "max_s": max_s, "reason": ""})
            try:
                result = await adapter.execute(command)
                url, expires = str(result.url), result.expires
            except Exception as err:
                why = str(err) if isinstance(err, NavetError) else \
                    f"adapter error: {type(err).__name__}"
                if not isinstance(err, NavetError):
                    log.exception("adapter %s failed to start a session", instance_id)
                await audit.append(
                    tenant=tenant, actor=actor, action=START, decision="failed", reason=why,
                    resident=resident, device=camera.id,
                    detail={"session": session.id, "instance": instance_id})
                raise CameraUnavailableError(f"the camera could not start the check: {why}") \
                    from err
            await audit.append(
                tenant=tenant, actor=actor, action=START, decision="started",
                reason="the vendor opened the session", resident=resident, device=camera.id,
                detail={"session": session.id, "instance": instance_id,
                        "vendor_ref": getattr(result, "vendor_session", None),
                        "ends_at": session.ends_at.isoformat()})
            self.sessions[session.id] = session
            session.task = asyncio.create_task(self._watch(session), name=f"check-{session.id}")
            log.info("check %s started by %s on %s (max %ss)", session.id, staff_id, camera.id,
                     max_s)
            return CheckStarted(session.id, resident, camera.id, url, expires, session.ends_at,
                                max_s)

    async def _refuse(self, tenant: str, staff_id: str, resident: str,
                      camera: DeviceEntry | None, decision: Decision,
                      now: datetime) -> CheckRefused:
        actor = Actor(kind=ActorKind.STAFF, id=staff_id[:128])
        audit = await self.audit()
        entry = await audit.append(
            tenant=tenant, actor=actor, action=START, decision="denied", reason=decision.reason,
            resident=resident, device=camera.id if camera else None,
            detail={"code": decision.code, "basis": dict(decision.basis)}, time=now)
        event = make_event(
            "supervision.refused", tenant=tenant, time=now, resident=resident,
            device=camera_ref(camera) if camera else None,
            source={"adapter": NAVET, "protocol": NAVET, "ref": f"audit-{entry.seq}"},
            data={"by": actor, "reason": decision.reason[:500], "code": decision.code},
            id=event_id(NAVET, tenant, "supervision.refused", str(entry.seq)))
        await self.emit([event])
        log.info("check by %s refused: %s", staff_id, decision.code)
        return CheckRefused(decision.code, decision.reason, event.id)

    # ------------------------------------------------------------------ end

    async def end_check(self, tenant: str, staff_id: str, session_id: str) -> Session:
        """The staff member ends their own check.

        :raises UnknownSessionError: no open session of this caller with that id.
        """
        s = self.sessions.get(session_id)
        if s is None or s.tenant != tenant or s.staff != staff_id:
            raise UnknownSessionError(f"no open check {session_id} of {staff_id}")
        await self._finish(s, "stopped", by=Actor(kind=ActorKind.STAFF, id=staff_id))
        return s

    async def _finish(self, s: Session, reason: str, *, by: Actor = SYSTEM,
                      vendor_duration: int | None = None) -> None:
        """Audit the end, then tell the vendor (unless the vendor told us)."""
        if s.ended is not None:
            return
        now = self.clock.now()
        s.ended, s.end_reason = now, reason
        s.duration_s = vendor_duration if vendor_duration is not None else \
            max(0, round((now - s.started).total_seconds()))
        self.sessions.pop(s.id, None)
        audit = await self.audit()
        await audit.append(
            tenant=s.tenant, actor=by, action=STOP, decision="ended", reason=reason,
            resident=s.resident, device=s.camera.id,
            detail={"session": s.id, "staff": s.staff, "started": s.started.isoformat(),
                    "duration_s": s.duration_s}, time=now)
        if vendor_duration is None:
            found = self._instance_for(s.tenant, s.camera.adapter)
            command = Command(
                id=f"{s.id}-stop", name=STOP, tenant=s.tenant, device=s.camera.id,
                address=s.camera.address, requested_by=by, issued=now, resident=s.resident,
                args={"session": s.id, "max_s": s.max_s, "reason": reason})
            try:
                if found is None:
                    raise NavetError(f"adapter {s.camera.adapter} is not running")
                await found[1].execute(command)
            except Exception as err:  # the vendor's own max length still closes it
                log.warning("check %s: the camera could not be told to stop: %s", s.id, err)
                await audit.append(
                    tenant=s.tenant, actor=by, action=STOP, decision="failed",
                    reason=f"stop not delivered: {err}"[:500], resident=s.resident,
                    device=s.camera.id, detail={"session": s.id})
        task = s.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        log.info("check %s ended (%s) after %ss", s.id, reason, s.duration_s)

    async def _watch(self, s: Session) -> None:
        """End ``s`` at its max length, when the policy stops holding, or when the vendor did."""
        clock = self.clock
        try:
            while s.ended is None:
                remaining = (s.ends_at - clock.now()).total_seconds()
                if remaining <= 0:
                    await self._finish(s, "max_length")
                    return
                await clock.sleep(min(remaining, RECHECK_S))
                if s.ended is not None:
                    return
                vendor = await self._vendor_ended(s)
                if vendor is not None:
                    await self._finish(s, vendor[0], vendor_duration=vendor[1])
                    return
                if clock.now() >= s.ends_at:
                    continue
                care = await self.store.read(
                    lambda conn: tenant_care(self.store, s.tenant))
                decision = self.policy.decide(care, s.staff, s.resident, clock.now())
                if not decision.allowed:
                    await self._finish(s, decision.code)
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watching check %s failed; ending it", s.id)
            with contextlib.suppress(Exception):
                await self._finish(s, "policy")

    async def _vendor_ended(self, s: Session) -> tuple[str, int] | None:
        body = await self.store.read(lambda conn: event_rows.latest_body(
            conn, s.tenant, "supervision.ended", device=s.camera.id,
            data_equals=("$.data.session", s.id)))
        if body is None:
            return None
        data = json.loads(body)["data"]
        return str(data.get("reason") or "ended"), int(data.get("duration_s") or 0)

    async def stop(self, timeout_s: float = 3.0) -> None:
        """End every open check (the gateway is stopping); wait at most ``timeout_s`` of real
        time for each vendor (the vendor's own max length closes what Navet cannot)."""
        for s in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._finish(s, "shutdown"), timeout_s)
            self.sessions.pop(s.id, None)
            if s.task is not None:
                s.task.cancel()

    # ------------------------------------------------------------------ observations

    async def observe(self, tenant: str, staff_id: str, session_id: str, finding: Finding | str,
                      note: str | None = None) -> EventBase:
        """Record what the staff member saw in their check ``session_id``.

        :raises UnknownSessionError: not a check of this caller, or too long ago.
        """
        now = self.clock.now()
        found = await self._my_session(tenant, staff_id, session_id, now)
        if found is None:
            raise UnknownSessionError(
                f"{staff_id} has no check {session_id} in the last {OBSERVE_WITHIN_S // 60} min")
        resident, camera = found
        entry = self.directory.get(camera) if camera else None
        actor = Actor(kind=ActorKind.STAFF, id=staff_id)
        event = make_event(
            "supervision.observation", tenant=tenant, time=now, resident=resident,
            device=camera_ref(entry) if entry is not None else None,
            source={"adapter": NAVET, "protocol": NAVET, "ref": session_id},
            data={"by": actor, "finding": Finding(finding), "session": session_id,
                  "note": note},
            id_parts=(staff_id, str(finding), now.isoformat()))  # a double tap is one
        await self.emit([event])
        return event

    async def _my_session(self, tenant: str, staff_id: str, session_id: str,
                          now: datetime) -> tuple[str, str | None] | None:
        open_ = self.sessions.get(session_id)
        if open_ is not None and open_.tenant == tenant and open_.staff == staff_id:
            return open_.resident, open_.camera.id
        audit = await self.audit()
        since = now - timedelta(seconds=OBSERVE_WITHIN_S)
        for e in await audit.entries(tenant, actor=staff_id, since=since, limit=500):
            if e.action == START and e.decision == "started" \
                    and e.detail.get("session") == session_id:
                return e.resident or "", e.device
        return None

    # ------------------------------------------------------------------ my checks

    @staticmethod
    def night_start(now: datetime, timezone: str) -> datetime:
        """Noon before the night ``now`` belongs to, in local time: 'tonight' starts there."""
        local = now.astimezone(ZoneInfo(timezone))
        day = local.date() if local.time() >= time(12) else local.date() - timedelta(days=1)
        return datetime.combine(day, time(12), ZoneInfo(timezone))

    async def my_checks(self, tenant: str, staff_id: str) -> list[dict[str, Any]]:
        """The caller's checks and refused attempts tonight, oldest first, with findings."""
        care = await self.store.read(lambda conn: tenant_care(self.store, tenant))
        since = self.night_start(self.clock.now(), care.timezone if care else "Europe/Stockholm")
        audit = await self.audit()
        entries = list(reversed(await audit.entries(tenant, actor=staff_id, since=since,
                                                    limit=1000)))
        ends = {e.detail.get("session"): e for e in await audit.entries(
            tenant, since=since, limit=5000) if e.action == STOP and e.decision == "ended"}
        findings = await self.store.read(lambda conn: _findings(conn, tenant, staff_id, since))
        checks: list[dict[str, Any]] = []
        for e in entries:
            if e.action != START or e.decision not in ("started", "denied", "failed"):
                continue
            session = e.detail.get("session")
            item: dict[str, Any] = {"session": session, "resident": e.resident,
                                    "device": e.device, "time": e.time.isoformat()}
            if e.decision == "denied":
                item.update(status="refused", code=e.detail.get("code"), reason=e.reason)
            elif e.decision == "failed":
                item.update(status="failed", reason=e.reason)
            else:
                end = ends.get(session)
                open_ = self.sessions.get(str(session))
                item.update(
                    status="open" if open_ is not None else "ended",
                    ends_at=e.detail.get("ends_at"),
                    ended=end.time.isoformat() if end else None,
                    duration_s=end.detail.get("duration_s") if end else None,
                    end_reason=end.reason if end else None,
                    findings=findings.get(str(session), []))
            checks.append(item)
        return checks


def _findings(conn: Any, tenant: str, staff_id: str, since: datetime) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for body in event_rows.bodies_of_type(conn, tenant, "supervision.observation",
                                          since=since.isoformat()):
        data = json.loads(body)["data"]
        if data.get("by", {}).get("id") == staff_id and data.get("session"):
            out.setdefault(data["session"], []).append(data["finding"])
    return out


# --------------------------------------------------------------------------- findings rule
