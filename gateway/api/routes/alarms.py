"""The operator API for alarms: list, read, acknowledge, dispatch, attend, close, note.

``GET /api/v1/alarms`` lists the tenant's open alarms, most urgent first;
``GET /api/v1/alarms/{id}`` reads one, open or not, with its history of
lifecycle events. The commands are ``POST /api/v1/alarms/{id}/<command>``;
every one names its caller by :data:`~gateway.api.deps.ActorDep` and goes
through :class:`gateway.core.alarms.AlarmService`, which checks the command
against the alarm's current state in the store.

Answers, the same for every command:

- ``200`` with ``{"alarm", "state", "repeated", "event"}``: ``event`` is the
  lifecycle event the command stored. Repeating a command (same actor, same
  transition, same target/outcome) stores nothing new and answers with the
  event stored the first time, ``"repeated": true`` and the header
  ``Idempotent-Replayed: true``. So a client may safely retry after a timeout.
- ``409`` when the command does not fit the alarm's current state (it is
  stale: someone else acknowledged first; or illegal: close before
  acknowledge). The body names the current ``state`` and holds the alarm as
  it is now, so the console can show what happened instead.
- ``404`` for an unknown alarm, and for an alarm of another tenant (a tenant
  cannot learn that another tenant's alarm id exists).

``Idempotency-Key`` (optional header): transitions are idempotent without it.
For notes it decides what a repeat is: two notes with the same text and no
key are one note (a retried request); with keys, two different keys are two
notes and the same key is one note.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.core.alarms import AlarmService
from gateway.core.model import Actor as ModelActor
from gateway.core.model import ActorKind, AlarmOutcome, EventBase, Priority
from gateway.core.rules.alarms import AlarmRecord
from gateway.errors import TransitionError, UnknownAlarmError

from ..deps import Actor, ActorDep, AlarmsDep, CareDep, CareReader, TenantScope

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

AlarmId = Annotated[str, Path(max_length=128, description="Alarm id (``alarm`` of its events).")]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=128, description="Optional; makes a retried note count once (see above)."),
]


# --------------------------------------------------------------------------- bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DispatchBody(_Body):
    """Whom to send: exactly one of ``team`` and ``staff``."""

    team: str | None = Field(default=None, min_length=1, max_length=128,
                             description="A home-care team, e.g. 'team-norr'.")
    staff: str | None = Field(default=None, min_length=1, max_length=128,
                              description="A staff member's id, e.g. 's-17'.")
    name: str | None = Field(default=None, max_length=200,
                             description="Display name of the team or person (optional).")

    @model_validator(mode="after")
    def _one_target(self) -> DispatchBody:
        if (self.team is None) == (self.staff is None):
            raise ValueError("give exactly one of 'team' or 'staff'")
        return self


class CloseBody(_Body):
    outcome: AlarmOutcome
    note: str | None = Field(default=None, max_length=1000)


class NoteBody(_Body):
    text: str = Field(min_length=1, max_length=450)


class AlarmView(BaseModel):
    """An alarm as operators see it; ``history`` is its lifecycle events, oldest first."""

    id: str
    tenant: str
    state: str | None
    kind: str | None
    priority: str
    resident: str | None
    device: str | None
    location: dict[str, Any] | None
    text: str | None
    raised: str | None
    acknowledged_by: dict[str, Any] | None
    dispatched_to: list[dict[str, Any] | None]
    attended_by: dict[str, Any] | None
    closed_by: dict[str, Any] | None
    outcome: str | None
    escalation_level: int
    escalated_to: str | None
    ack_due: str | None
    overdue: bool
    cancel_requested: bool
    repeats: int
    folded: list[str] = Field(
        default_factory=list, description="Ids of the device's later alarms folded into this "
        "one (contract 1.2, alarm.updated data.folded): repeats of it, which resolve to it.")
    history: list[dict[str, Any]]


class AlarmList(BaseModel):
    items: list[AlarmView]


class CommandResult(BaseModel):
    alarm: str = Field(description="The alarm the command acted on (for an id folded into "
                       "another alarm: that alarm).")
    state: str | None = Field(description="The alarm's state after the command.")
    repeated: bool = Field(description="True when the command had been done before: "
                           "nothing new was stored and 'event' is the earlier one.")
    event: dict[str, Any] = Field(description="The lifecycle event (Navet envelope).")


CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The command does not fit the alarm's current state; the body names "
          "the state and holds the alarm as it is now."},
    404: {"description": "No such alarm in this tenant."},
}


# --------------------------------------------------------------------------- queries


@router.get("", response_model=AlarmList)
async def list_alarms(
    alarms: AlarmsDep,
    tenant: TenantScope,
    priority: Annotated[list[Priority], Query(description="Only these priorities.")] = [],  # noqa: B006  # repeatable query param
    resident: Annotated[str | None, Query(max_length=64)] = None,
) -> AlarmList:
    """Open alarms of the tenant, most urgent first, then oldest first."""
    records = await alarms.open_alarms(tenant.id)
    chosen = [r for r in records
              if (not priority or (r.priority or Priority.NORMAL) in priority)
              and (resident is None or r.resident == resident)]
    return AlarmList(items=[AlarmView.model_validate(r.as_dict()) for r in chosen])


@router.get("/{alarm}", response_model=AlarmView, responses={404: CONFLICT[404]})
async def get_alarm(alarms: AlarmsDep, tenant: TenantScope, alarm: AlarmId) -> AlarmView:
    return AlarmView.model_validate((await _record(alarms, tenant.id, alarm)).as_dict())


# --------------------------------------------------------------------------- commands


@router.post("/{alarm}/acknowledge", response_model=CommandResult, responses=CONFLICT)
async def acknowledge(alarms: AlarmsDep, care: CareDep, actor: ActorDep, alarm: AlarmId,
                      response: Response, idempotency_key: IdempotencyKey = None) -> Any:
    """Take responsibility for a raised alarm; stops its escalation."""
    who = await _who(care, actor)
    return await _run(alarms, actor.tenant, alarm, response, idempotency_key,
                      lambda: alarms.acknowledge(actor.tenant, alarm, who))


@router.post("/{alarm}/dispatch", response_model=CommandResult, responses=CONFLICT)
async def dispatch(alarms: AlarmsDep, care: CareDep, actor: ActorDep, alarm: AlarmId,
                   body: DispatchBody, response: Response,
                   idempotency_key: IdempotencyKey = None) -> Any:
    """Send a team or a staff member to the resident (again, to send someone else too)."""
    who = await _who(care, actor)
    to = await _target(care, actor.tenant, body)
    return await _run(alarms, actor.tenant, alarm, response, idempotency_key,
                      lambda: alarms.dispatch(actor.tenant, alarm, who, to))


@router.post("/{alarm}/attend", response_model=CommandResult, responses=CONFLICT)
async def attend(alarms: AlarmsDep, care: CareDep, actor: ActorDep, alarm: AlarmId,
                 response: Response, idempotency_key: IdempotencyKey = None) -> Any:
    """The caller is with the resident."""
    who = await _who(care, actor)
    return await _run(alarms, actor.tenant, alarm, response, idempotency_key,
                      lambda: alarms.attend(actor.tenant, alarm, who))


@router.post("/{alarm}/close", response_model=CommandResult, responses=CONFLICT)
async def close(alarms: AlarmsDep, care: CareDep, actor: ActorDep, alarm: AlarmId, body: CloseBody,
                response: Response, idempotency_key: IdempotencyKey = None) -> Any:
    """Close a handled alarm with its outcome. An alarm closes once."""
    who = await _who(care, actor)
    return await _run(alarms, actor.tenant, alarm, response, idempotency_key,
                      lambda: alarms.close(actor.tenant, alarm, who, body.outcome,
                                           note=body.note))


@router.post("/{alarm}/notes", response_model=CommandResult, responses=CONFLICT)
async def add_note(alarms: AlarmsDep, care: CareDep, actor: ActorDep, alarm: AlarmId,
                   body: NoteBody, response: Response,
                   idempotency_key: IdempotencyKey = None) -> Any:
    """Add a note to an open alarm (stored as ``alarm.updated`` naming its author)."""
    who = await _who(care, actor)
    return await _run(alarms, actor.tenant, alarm, response, idempotency_key,
                      lambda: alarms.add_note(actor.tenant, alarm, who, body.text,
                                              key=idempotency_key))


# --------------------------------------------------------------------------- helpers


async def _record(alarms: AlarmService, tenant: str, alarm: str) -> AlarmRecord:
    rec = await alarms.alarm(tenant, alarm)
    if rec is None or rec.state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alarm {alarm!r} in tenant {tenant!r}")
    return rec


async def _run(alarms: AlarmService, tenant: str, alarm: str, response: Response,
               key: str | None, command: Any) -> Any:
    before = await _record(alarms, tenant, alarm)
    known = {h.id for h in before.history}
    try:
        event: EventBase = await command()
    except UnknownAlarmError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from err
    except TransitionError as err:
        now = await alarms.alarm(tenant, alarm)
        return JSONResponse(status_code=status.HTTP_409_CONFLICT, content={
            "detail": str(err), "alarm": err.alarm, "state": err.current,
            "current": now.as_dict() if now else None,
        })
    after = await alarms.alarm(tenant, alarm)
    repeated = event.id in known
    if repeated:
        response.headers["Idempotent-Replayed"] = "true"
    if key:
        response.headers["Idempotency-Key"] = key
    return CommandResult(alarm=event.alarm or alarm,
                         state=str(after.state) if after and after.state else None,
                         repeated=repeated, event=event.model_dump(mode="json", exclude_none=True))


async def _who(care_of: CareReader, actor: Actor) -> ModelActor:
    """The caller as a contract Actor: ``staff`` if configured as staff, else ``operator``.

    Alarm centre operators are often not in the municipality's staff list, so an
    unknown id is an operator; a configured staff member with the
    ``alarm_operator`` role is an operator too.
    """
    care = await care_of(actor.tenant)
    member = next((s for s in care.staff if s.id == actor.id), None) if care else None
    if member is None or "alarm_operator" in member.roles:
        kind = ActorKind.OPERATOR
    else:
        kind = ActorKind.STAFF
    return ModelActor(kind=kind, id=actor.id, name=(member.label or None) if member else None)


async def _target(care_of: CareReader, tenant: str, body: DispatchBody) -> ModelActor:
    """The dispatch target; checked against the tenant's staff and teams when it has any."""
    care = await care_of(tenant)
    staff = care.staff if care else []
    if body.staff is not None:
        member = next((s for s in staff if s.id == body.staff), None)
        if staff and member is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"no staff member {body.staff!r} in tenant {tenant!r}")
        name = body.name or (member.label if member and member.label else None)
        return ModelActor(kind=ActorKind.STAFF, id=body.staff, name=name)
    assert body.team is not None
    teams = {t for s in staff for t in s.teams} | {
        v.team for p in (care.plans if care else []) for v in p.visits if v.team}
    if teams and body.team not in teams:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"no team {body.team!r} in tenant {tenant!r} "
                            f"(known: {', '.join(sorted(teams))})")
    return ModelActor(kind=ActorKind.STAFF, id=body.team, name=body.name)

