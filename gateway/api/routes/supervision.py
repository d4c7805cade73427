"""Staff API for camera checks (digital tillsyn): start, end, observe, list tonight's.

Every call is made by one staff member (``ActorDep``) in one tenant. The
camera policy (:mod:`gateway.core.policy.cameras`) decides; a refusal is
answered 403 with its code and reason, and is stored as ``supervision.refused``.
A started check answers with the short-lived, single-use viewing URL: the
response is marked ``Cache-Control: no-store`` and the URL is never logged or
stored by Navet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from gateway.core.model import Finding
from gateway.core.model.common import Pseudonym
from gateway.core.policy.cameras import (
    CameraUnavailableError,
    CheckRefused,
    UnknownSessionError,
    derived_for,
)

from ..deps import ActorDep, SupervisionDep

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])

SessionId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class StartCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident: Pseudonym


class CheckStartedOut(BaseModel):
    session: str
    resident: str
    device: str
    view_url: str = Field(description="Single-use, short-lived. Open it at once; never share.")
    view_url_expires: datetime
    ends_at: datetime = Field(description="The check ends by itself at this time.")
    max_session_s: int


class Refusal(BaseModel):
    code: str
    reason: str
    event: str | None = None


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding: Finding
    note: str | None = Field(default=None, max_length=1000,
                             description="Only what the care needs; no names.")


class ObservationOut(BaseModel):
    event: str
    finding: Finding
    alarm: str | None = Field(default=None, description="The alarm raised (needs_alarm).")
    visit_request: str | None = Field(default=None,
                                      description="The visit requested (needs_visit).")


@router.post(
    "/checks", status_code=status.HTTP_201_CREATED, response_model=CheckStartedOut,
    responses={403: {"model": Refusal, "description": "Refused by the camera policy."},
               503: {"description": "Allowed, but the camera could not start the check."}},
)
async def start_check(body: StartCheck, actor: ActorDep, supervision: SupervisionDep,
                      response: Response) -> Any:
    """Start a camera check of a resident, if the policy allows it now."""
    try:
        result = await supervision.start_check(actor.tenant, actor.id, body.resident)
    except CameraUnavailableError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(err)) from err
    if isinstance(result, CheckRefused):
        raise HTTPException(status.HTTP_403_FORBIDDEN, {
            "code": result.code, "reason": result.reason, "event": result.event})
    response.headers["cache-control"] = "no-store"
    return CheckStartedOut(session=result.session, resident=result.resident,
                           device=result.device, view_url=result.url,
                           view_url_expires=result.url_expires, ends_at=result.ends_at,
                           max_session_s=result.max_session_s)


@router.post("/checks/{session}/end")
async def end_check(session: SessionId, actor: ActorDep,
                    supervision: SupervisionDep) -> dict[str, Any]:
    """End my open check now."""
    try:
        s = await supervision.end_check(actor.tenant, actor.id, session)
    except UnknownSessionError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from err
    return {"session": s.id, "ended": s.ended.isoformat() if s.ended else None,
            "duration_s": s.duration_s, "reason": s.end_reason}


@router.post("/checks/{session}/observations", status_code=status.HTTP_201_CREATED,
             response_model=ObservationOut)
async def record_observation(session: SessionId, body: ObservationIn, actor: ActorDep,
                             supervision: SupervisionDep) -> ObservationOut:
    """Record what I saw in my check: an alarm for needs_alarm, a visit request for
    needs_visit."""
    try:
        event = await supervision.observe(actor.tenant, actor.id, session,
                                          body.finding, body.note)
    except UnknownSessionError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from err
    derived = {e.type: e.id for e in derived_for(event)}
    return ObservationOut(event=event.id, finding=body.finding,
                          alarm=derived.get("alarm.raised"),
                          visit_request=derived.get("visit.requested"))


@router.get("/checks/mine")
async def my_checks(actor: ActorDep, supervision: SupervisionDep) -> dict[str, Any]:
    """My checks tonight (since noon local time), refused attempts included."""
    checks = await supervision.my_checks(actor.tenant, actor.id)
    return {"staff": actor.id, "tenant": actor.tenant, "checks": checks}
