"""Who may open (and lock) a resident's door: the rule for nyckelfri hemtjänst.

A door lock command is allowed only when all of these hold, checked in this
order so the reason names the first thing that is wrong:

1. the device is known in the caller's tenant, is a door lock, and belongs to
   a resident;
2. the caller is a member of staff of that tenant (``Tenant.staff``);
3. either **a planned visit** for that resident names the caller (``staff``) or
   one of the caller's teams (``team``), and now is inside the visit, widened
   by the tenant's grace (``Tenant.locks.grace_before_s`` / ``grace_after_s``),
   in the tenant's local time; or **an alarm** for that resident is open and
   was dispatched to the caller (by id) or to one of the caller's teams (as
   ``<team>``, ``team:<team>`` or ``team-<team>``), and nobody has closed it.

Everything else is denied with a reason. SKR and municipal practice: staff
"kan bara använda koden under besökstiden och vid larm" (Sundsvall); every
opening and refusal is logged with who, when and which door.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..alarms import AlarmService
from ..care import Staff, Tenant
from ..model import DeviceKind
from ..rules.alarms import AlarmRecord, AlarmState
from .base import Decision, PolicyContext
from .visits import assigned, slots

LOCK_COMMANDS = ("lock.unlock", "lock.lock")


def _team_ids(staff: Staff) -> set[str]:
    ids: set[str] = set()
    for team in staff.teams:
        ids |= {team, f"team:{team}", f"team-{team}"}
    return ids


def dispatched_to(record: AlarmRecord, staff: Staff) -> bool:
    teams = _team_ids(staff)
    return any(to.id == staff.id or to.id in teams for to in record.dispatched_to)


class LockPolicy:
    """Decides ``lock.unlock`` and ``lock.lock`` for one caller and one door."""

    commands = LOCK_COMMANDS

    async def decide(self, command: str, staff_id: str, ctx: PolicyContext) -> Decision:
        if command not in LOCK_COMMANDS:
            return Decision.deny("unknown_command", f"{command!r} is not a lock command")
        verb = "open" if command == "lock.unlock" else "lock"
        tenant, device = ctx.tenant, ctx.device
        if tenant is None:
            return Decision.deny("unknown_tenant", "the tenant has no care configuration")
        if device is None or device.tenant != tenant.id:
            return Decision.deny("unknown_device", "no such device in this tenant")
        if device.kind != DeviceKind.DOOR_LOCK:
            return Decision.deny("not_a_lock", f"device {device.id} is a {device.kind}, "
                                               "not a door lock")
        if not device.resident:
            return Decision.deny("lock_unassigned", f"lock {device.id} is not assigned to a "
                                                    "resident's door")
        staff = next((s for s in tenant.staff if s.id == staff_id), None)
        if staff is None:
            return Decision.deny("unknown_staff", f"{staff_id!r} is not staff of "
                                                  f"{tenant.id}")
        resident = device.resident

        visit = self._visit_now(tenant, staff, resident, ctx)
        if visit is not None:
            return visit
        alarm = await self._dispatched_alarm(ctx.alarms, tenant, staff, resident)
        if alarm is not None:
            return alarm
        return self._no_basis(tenant, staff, resident, verb, ctx)

    # ------------------------------------------------------------------ bases

    @staticmethod
    def _visit_now(tenant: Tenant, staff: Staff, resident: str,
                   ctx: PolicyContext) -> Decision | None:
        before, after = tenant.locks.grace_before_s, tenant.locks.grace_after_s
        for slot in slots(tenant, ctx.now, resident=resident):
            lo, hi = slot.window(before, after)
            if assigned(slot.visit, staff) and lo <= ctx.now <= hi:
                return Decision.allow(
                    "visit", f"planned visit: {slot.describe()}, grace {before // 60} min "
                             f"before and {after // 60} min after",
                    plan=slot.plan, visit=slot.index, start=slot.start.isoformat(),
                    end=slot.end.isoformat(), team=slot.visit.team, staff=slot.visit.staff,
                    grace_before_s=before, grace_after_s=after)
        return None

    @staticmethod
    async def _dispatched_alarm(alarms: AlarmService, tenant: Tenant, staff: Staff,
                                resident: str) -> Decision | None:
        for record in await alarms.open_alarms(tenant.id, history=False):
            if record.resident != resident or record.state not in (
                    AlarmState.DISPATCHED, AlarmState.ATTENDED):
                continue
            if dispatched_to(record, staff):
                return Decision.allow(
                    "alarm", f"alarm {record.id} ({record.kind}) for this resident was "
                             f"dispatched to {staff.id} or their team",
                    alarm=record.id, alarm_kind=record.kind, alarm_state=str(record.state))
        return None

    @staticmethod
    def _no_basis(tenant: Tenant, staff: Staff, resident: str, verb: str,
                  ctx: PolicyContext) -> Decision:
        """Denied: say as precisely as possible why, without revealing other staff's plans."""
        mine = [s for s in slots(tenant, ctx.now, resident=resident)
                if assigned(s.visit, staff)]
        if not any(p.resident == resident for p in tenant.plans):
            return Decision.deny("no_plan", f"{staff.id} may not {verb} this door: the "
                                            "resident has no visit plan and no alarm was "
                                            "dispatched to them")
        if not mine:
            return Decision.deny("not_assigned", f"{staff.id} may not {verb} this door: no "
                                                 "visit to this resident is planned for them "
                                                 "or their teams, and no alarm was dispatched "
                                                 "to them")
        before, after = tenant.locks.grace_before_s, tenant.locks.grace_after_s
        upcoming = [s for s in mine if s.window(before, after)[0] > ctx.now]
        past = [s for s in mine if s.window(before, after)[1] < ctx.now]
        hint = ""
        if upcoming:
            hint = f"; next visit {upcoming[0].start:%a %H:%M}, door opens from " \
                   f"{upcoming[0].window(before, after)[0]:%H:%M}"
        elif past:
            hint = f"; last visit ended {past[-1].end:%a %H:%M}"
        return Decision.deny("no_visit_now", f"{staff.id} may not {verb} this door now: "
                                             f"outside their planned visits (grace "
                                             f"{before // 60}/{after // 60} min){hint}",
                             local_time=ctx.now.astimezone(ZoneInfo(tenant.timezone)).isoformat())

