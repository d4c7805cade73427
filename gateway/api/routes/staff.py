"""Home-care staff: my visits, and the doors I may open.

- ``GET  /api/v1/staff`` the tenant's staff (local ids, roles, teams; no names)
- ``GET  /api/v1/staff/me/visits`` the caller's planned visits today (local time), which
  are on now (door open window included), the doors of those residents, and the
  open alarms dispatched to the caller
- ``POST /api/v1/staff/doors/{device_id}/unlock`` and ``.../lock``: the command path
  (policy -> audit -> vendor). 202 when the vendor took the command (the door's
  own report follows as ``lock.unlocked``), 403 with the policy's reason when
  refused, 409 when the vendor or lock refused, 503 when the vendor could not be
  reached.

The caller is :data:`~gateway.api.deps.ActorDep`; the policy decides on that
id only, never on anything in the request body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway.core.care import Tenant
from gateway.core.commands import CommandService, CommandStatus
from gateway.core.model import DeviceKind
from gateway.core.policy.locks import dispatched_to
from gateway.core.policy.visits import assigned, local_day, slots
from gateway.core.rules.alarms import AlarmState

from ..deps import (
    Actor,
    ActorDep,
    AlarmsDep,
    CareDep,
    CareReader,
    ClockDep,
    CommandsDep,
    DirectoryDep,
    TenantScope,
)

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])


class StaffOut(BaseModel):
    id: str
    label: str
    roles: list[str]
    teams: list[str]


class VisitOut(BaseModel):
    plan: str
    resident: str
    resident_label: str
    start: datetime
    end: datetime
    team: str | None
    staff: str | None
    note: str | None
    door_from: datetime
    door_until: datetime
    now: bool
    doors: list[str]


class AlarmOut(BaseModel):
    alarm: str
    resident: str | None
    kind: str | None
    state: str
    doors: list[str]


class MyVisits(BaseModel):
    staff: str
    timezone: str
    now: datetime
    visits: list[VisitOut]
    alarms: list[AlarmOut]


class CommandOut(BaseModel):
    command: str
    name: str
    status: str
    reason: str
    decision: dict[str, Any]
    audit: list[int]
    vendor_ref: str | None
    event: str | None


async def _care(care_of: CareReader, tenant: str) -> Tenant:
    care = await care_of(tenant)
    if care is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"tenant {tenant!r} has no care configuration")
    return care


@router.get("", response_model=list[StaffOut])
async def staff_list(care_of: CareDep, tenant: TenantScope) -> list[StaffOut]:
    care = await _care(care_of, tenant.id)
    return [StaffOut(id=s.id, label=s.label, roles=list(s.roles), teams=list(s.teams))
            for s in care.staff]


@router.get("/me/visits", response_model=MyVisits)
async def my_visits(care_of: CareDep, clock: ClockDep, directory: DirectoryDep,
                    alarm_service: AlarmsDep, actor: ActorDep) -> MyVisits:
    care = await _care(care_of, actor.tenant)
    me = next((s for s in care.staff if s.id == actor.id), None)
    if me is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"{actor.id!r} is not staff of {actor.tenant}")
    now = clock.now()
    day_start, day_end = local_day(care, now)
    doors: dict[str, list[str]] = {}
    for dev in directory.for_tenant(actor.tenant):
        if dev.kind == DeviceKind.DOOR_LOCK and dev.resident:
            doors.setdefault(dev.resident, []).append(dev.id)
    labels = {r.id: r.label for r in care.residents}
    before, after = care.locks.grace_before_s, care.locks.grace_after_s
    visits = []
    for slot in slots(care, now):
        if not assigned(slot.visit, me) or slot.end <= day_start or slot.start >= day_end:
            continue
        lo, hi = slot.window(before, after)
        visits.append(VisitOut(
            plan=slot.plan, resident=slot.resident, resident_label=labels.get(slot.resident, ""),
            start=slot.start, end=slot.end, team=slot.visit.team, staff=slot.visit.staff,
            note=slot.visit.note, door_from=lo, door_until=hi, now=lo <= now <= hi,
            doors=sorted(doors.get(slot.resident, []))))
    alarms = [
        AlarmOut(alarm=r.id, resident=r.resident, kind=r.kind, state=str(r.state),
                 doors=sorted(doors.get(r.resident or "", [])))
        for r in await alarm_service.open_alarms(actor.tenant, history=False)
        if r.state in (AlarmState.DISPATCHED, AlarmState.ATTENDED) and dispatched_to(r, me)
    ]
    return MyVisits(staff=me.id, timezone=care.timezone, now=now.astimezone(day_start.tzinfo),
                    visits=visits, alarms=alarms)


_STATUS = {
    CommandStatus.SENT: status.HTTP_202_ACCEPTED,
    CommandStatus.DENIED: status.HTTP_403_FORBIDDEN,
    CommandStatus.REFUSED: status.HTTP_409_CONFLICT,
    CommandStatus.FAILED: status.HTTP_503_SERVICE_UNAVAILABLE,
}


async def _door(commands: CommandService, actor: Actor, device_id: str, name: str) -> Any:
    outcome = await commands.execute(actor.tenant, actor.id, device_id, name)
    body = CommandOut(**outcome.as_dict())
    code = _STATUS[outcome.status]
    if outcome.status == CommandStatus.DENIED:
        raise HTTPException(code, detail=body.model_dump())
    return JSONResponse(body.model_dump(mode="json"), status_code=code)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": CommandOut, "description": "The vendor took the command; the door reports."},
    403: {"description": "Refused by policy; `detail.reason` says why."},
    409: {"model": CommandOut, "description": "The vendor or the lock refused it."},
    503: {"model": CommandOut, "description": "The vendor could not be reached."},
}


@router.post("/doors/{device_id}/unlock", status_code=202, response_model=CommandOut,
             responses=_RESPONSES)
async def unlock(commands: CommandsDep, actor: ActorDep, device_id: str) -> Any:
    """Open a resident's door: allowed during the caller's planned visit (with grace) or
    for an alarm dispatched to them; everything is audited."""
    return await _door(commands, actor, device_id, "lock.unlock")


@router.post("/doors/{device_id}/lock", status_code=202, response_model=CommandOut,
             responses=_RESPONSES)
async def lock(commands: CommandsDep, actor: ActorDep, device_id: str) -> Any:
    """Lock a resident's door (same rule as opening it)."""
    return await _door(commands, actor, device_id, "lock.lock")
