"""Follow-up the municipality can report: ``/api/v1/followup/...`` (docs/followup.md).

Every figure is computed from stored events and the care configuration when asked
(:mod:`gateway.followup`); nothing here is entered by hand except the yearly
denominators and the municipality's own targets (``POST /api/v1/followup/settings``, or
the ``followup`` section of the care configuration; both audited).

- **Who**: ``analyst`` (its municipality's figures), ``region`` (several side by side),
  ``admin`` and ``auditor`` read; only ``admin`` changes the settings. No route here
  returns personal data: counts of 1 to 4 people are suppressed.
- **Tenants**: ``?tenant=`` is checked like everywhere; ``compare`` checks every tenant in
  ``?tenants=`` against the token, and refuses the whole request for one it may not see.
- **Period**: ``from`` and ``to`` are local days in the tenant's timezone, both included;
  without ``from``, the twelve months up to ``to`` (default today, by Navet's clock).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gateway.core.care import CareConfig, FollowupSettings, apply_care_config
from gateway.core.model import Actor as ModelActor
from gateway.core.model import ActorKind
from gateway.core.security.tokens import TenantForbiddenError
from gateway.errors import ConfigError
from gateway.followup import PeriodError, read_report, read_survey
from gateway.followup.tables import to_csv

from ..deps import GatewayDep, StoreDep, TenantScope, get_care, get_store, tenant_names
from ..security import principal_of

router = APIRouter(prefix="/api/v1/followup", tags=["follow-up"])

From = Annotated[date | None, Query(alias="from", description="First day (local), included; "
                                    "default: the first day of the month 11 months before "
                                    "'to'.")]
To = Annotated[date | None, Query(alias="to", description="Last day (local), included; "
                                  "default: today.")]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv.")]
LangQ = Annotated[Literal["sv", "en"], Query(description="Language of labels: sv (default) "
                                             "or en.")]

MAX_COMPARE = 50
"""The most municipalities one comparison may hold."""

INDICATOR_COLUMNS = ("id", "area", "label", "value", "unit", "target", "status", "direction",
                     "target_source", "note")


class Indicator(BaseModel):
    id: str = Field(description="Stable id, e.g. 'skr.gps_share_80_ordinary'.")
    area: str = Field(description="The area it belongs to (one radar chart per area).")
    label: str
    value: float | None = Field(description="null: nothing to compute (no events, no "
                                "denominator), or fewer than 5 people.")
    unit: str
    target: float | None = Field(description="The municipality's own target, else Navet's "
                                 "default (SKR's where SKR has one); null: none.")
    status: Literal["green", "yellow", "red", "none"]
    direction: Literal["higher", "lower"] = Field(description="Which way is better.")
    target_source: str = Field(description="Where the target comes from.")
    note: str = Field(description="Why a value is missing, or its denominator.")


class Comparison(BaseModel):
    period: dict[str, str | None]
    tenants: list[dict[str, str]]
    indicators: list[dict[str, Any]] = Field(
        description="Per indicator: id, label, unit, and per tenant value, target, status.")


class SettingsApplied(BaseModel):
    tenant: str
    followup: FollowupSettings


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...] | None, name: str) -> Response:
    return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


async def _report(gateway: GatewayDep, tenant: str, first: date | None, last: date | None,
                  lang: Literal["sv", "en"]) -> dict[str, Any]:
    try:
        report = await read_report(get_store(gateway), tenant, now=gateway.clock.now(),
                                   first=first, last=last, lang=lang)
    except PeriodError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from err
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"tenant {tenant!r} has no care configuration to follow up")
    return report


@router.get("/indicators", response_model=list[Indicator],
            responses={200: {"content": {"text/csv": {}}}})
async def indicators(gateway: GatewayDep, tenant: TenantScope, first: From = None,
                     last: To = None, format: Format = "json",
                     lang: LangQ = "sv") -> Any:
    """The indicators of one municipality with value, target and traffic light."""
    report = await _report(gateway, tenant.id, first, last, lang)
    rows = report["indicators"]
    if format == "csv":
        return _csv(rows, INDICATOR_COLUMNS, f"navet-indikatorer-{tenant.id}")
    return rows


@router.get("/report")
async def report(gateway: GatewayDep, tenant: TenantScope, first: From = None,
                 last: To = None, lang: LangQ = "sv") -> dict[str, Any]:
    """Everything follow-up computes for one municipality and period: indicators, users
    per technology over time against the baseline, breakdowns, alarm handling per month,
    vendors, camera checks, doses, doors (docs/followup.md)."""
    return await _report(gateway, tenant.id, first, last, lang)


@router.get("/breakdown", responses={200: {"content": {"text/csv": {}}}})
async def breakdown(gateway: GatewayDep, tenant: TenantScope, first: From = None,
                    last: To = None, format: Format = "json",
                    ) -> Any:
    """Users per technology x sex x age band x housing, at the baseline and at the end of
    each month; cells of 1 to 4 people suppressed."""
    rows = (await _report(gateway, tenant.id, first, last, "sv"))["breakdown"]
    if format == "csv":
        return _csv(rows, None, f"navet-fordelning-{tenant.id}")
    return rows


@router.get("/survey", responses={200: {"content": {"text/csv": {}}}})
async def survey(gateway: GatewayDep, store: StoreDep, tenant: TenantScope,
                 day: Annotated[date | None, Query(alias="date", description="The survey's "
                                                   "reference day; default today.")] = None,
                 format: Format = "json",
                 ) -> Any:
    """Rows for Socialstyrelsen's annual survey of e-health and welfare technology in the
    municipalities: per technology and housing, offered or not, and people in total, by
    sex and aged 80+."""
    try:
        rows = await read_survey(store, tenant.id, now=gateway.clock.now(), day=day)
    except PeriodError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from err
    if rows is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"tenant {tenant.id!r} has no care configuration to follow up")
    if format == "csv":
        return _csv(rows, None, f"navet-enkat-{tenant.id}")
    return rows


@router.get("/compare", response_model=Comparison,
            responses={200: {"content": {"text/csv": {}}},
                       403: {"description": "A tenant the token is not valid for."}})
async def compare(gateway: GatewayDep, request: Request,
                  tenants: Annotated[str, Query(description="Comma-separated tenants, e.g. "
                                                "'vasteras,sala'.", examples=["vasteras,sala"],
                                                max_length=2000)],
                  first: From = None, last: To = None,
                  format: Format = "json",
                  lang: LangQ = "sv") -> Any:
    """Several municipalities' indicators side by side (no personal data)."""
    names = list(dict.fromkeys(t.strip() for t in tenants.split(",") if t.strip()))
    if not 0 < len(names) <= MAX_COMPARE:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"name 1 to {MAX_COMPARE} tenants, not {len(names)}")
    principal = principal_of(request)
    for name in names:
        if not principal.may_see(name):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"the token is not valid for tenant {name!r}")
    known = await tenant_names(gateway)
    for name in names:
        if name not in known:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown tenant {name!r}")
    reports = [await _report(gateway, name, first, last, lang) for name in names]
    rows: list[dict[str, Any]] = []
    for i, ind in enumerate(reports[0]["indicators"]):
        row: dict[str, Any] = {"id": ind["id"], "area": ind["area"], "label": ind["label"],
                               "unit": ind["unit"]}
        for name, rep in zip(names, reports, strict=True):
            other = rep["indicators"][i]
            row[name] = {"value": other["value"], "target": other["target"],
                         "status": other["status"]}
        rows.append(row)
    if format == "csv":
        flat = [{"id": r["id"], "label": r["label"], "unit": r["unit"],
                 **{f"{n}.{k}": r[n][k] for n in names for k in ("value", "target", "status")}}
                for r in rows]
        return _csv(flat, None, "navet-jamforelse")
    return Comparison(
        period={"from": str(first) if first else reports[0]["period"]["from"],
                "to": str(last) if last else reports[0]["period"]["to"]},
        tenants=[{"id": r["tenant"], "name": r["name"]} for r in reports], indicators=rows)


@router.post("/settings", response_model=SettingsApplied,
             responses={422: {"description": "Invalid; nothing was written."}})
async def post_settings(gateway: GatewayDep, store: StoreDep, tenant: TenantScope, request: Request,
                        body: FollowupSettings) -> SettingsApplied:
    """Enter the yearly denominators, the baseline or the municipality's own targets.

    Merged like the care configuration's ``followup`` section: fields left out keep their
    value, ``targets`` merge by indicator id, ``statistics`` by year. Audited."""
    doc = CareConfig.model_validate({"tenants": [{
        "id": tenant.id, "name": tenant.name,
        "followup": body.model_dump(mode="json", exclude_unset=True)}]})
    try:
        await apply_care_config(doc, store, gateway.directory, gateway.pii,
                                principal=principal_of(request))
    except TenantForbiddenError as err:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(err)) from err
    except ConfigError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from err
    request.state.audit_tenants = [tenant.id]
    entered = body.model_dump(mode="json", exclude_unset=True)
    audit = getattr(gateway, "audit", None)
    if audit is not None:  # what was entered; the audit trail has only the call itself
        principal = principal_of(request)
        await audit.append(
            tenant=tenant.id, actor=ModelActor(kind=ActorKind.OPERATOR, id=principal.subject),
            action="followup settings", decision="applied",
            reason="follow-up denominators, targets or baseline entered", detail=entered)
    care = await get_care(gateway)(tenant.id)
    assert care is not None  # just written
    return SettingsApplied(tenant=tenant.id, followup=care.followup)
