"""The care configuration one item at a time: residents, devices, plans, staff, consents,
camera schedules, relatives, geofences and passive-alarm rules (the administrator's API).

For each list of a tenant's care configuration (``?tenant=``, checked against the token
like every tenant-scoped route):

- ``POST /api/v1/<list>`` adds one item (409 if its key is stored);
- ``PATCH /api/v1/<list>/{key}`` changes the fields it gives (``null`` clears one, e.g.
  ``{"resident": null}`` unassigns a device); 404 if there is no such item;
- ``DELETE /api/v1/<list>/{key}`` removes it; a resident still named by devices, plans,
  consents, ... is 409 naming them, unless ``?cascade=true``;
- ``GET /api/v1/<list>`` lists the stored items (residents, devices and staff have their
  own list routes elsewhere) and ``GET /api/v1/<list>/{key}`` gives one.

Every write goes through :mod:`gateway.core.care.items`, which turns it into the care
document that says the same and applies it like ``POST /api/v1/config`` and a care file:
the same validation, the same tenant checks, all or nothing. Personal numbers are
write-only and stored sealed. Every write is audited (the audit trail middleware).
"""

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from gateway.core.care import (
    Consent,
    Device,
    Geofence,
    PassiveRules,
    Plan,
    Relative,
    Resident,
    Staff,
    SupervisionSchedule,
)
from gateway.core.care.apply import Applied as AppliedCore
from gateway.core.care.items import (
    ItemExistsError,
    ItemInUseError,
    ItemInvalidError,
    ItemNotFoundError,
    add_care_item,
    care_items,
    change_care_item,
    remove_care_item,
    remove_team,
    set_team,
    teams,
)
from gateway.core.care.merge import KEYS
from gateway.core.security.tokens import TenantForbiddenError
from gateway.errors import ConfigError

from ..deps import GatewayDep, StoreDep, TenantScope, get_store
from ..security import principal_of

router = APIRouter(prefix="/api/v1", tags=["care configuration"])

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The token is not valid for the tenant (or for the tenant a "
          "device is stored under); nothing was written."},
    404: {"description": "The tenant has no care configuration, or no such item."},
    409: {"description": "POST: the key is stored already. DELETE of a resident: devices, "
          "plans, consents, ... still name them (the detail names them)."},
    422: {"description": "Invalid, alone or with what is stored; nothing was written. The "
          "detail names the field."},
}


class Changed(BaseModel):
    applied: dict[str, int] = Field(description="Items written, per list.")
    removed: dict[str, int] = Field(default_factory=dict,
                                    description="Items removed, per list.")


Cascade = Annotated[bool, Query(description="DELETE of a resident: also remove the plans, "
                                "consents, schedules, relatives, geofences and passive rules "
                                "that name them, and unassign their devices.")]
Change = Annotated[dict[str, Any], Body(
    description="The fields to change, as in the care configuration file; null clears one. "
    "The fields that identify the item cannot change.",
    examples=[{"resident": None}])]


async def _run(request: Request, tenant: str, job: Any) -> Changed:
    try:
        done: AppliedCore = await job
    except TenantForbiddenError as err:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(err)) from err
    except ItemNotFoundError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from err
    except (ItemExistsError, ItemInUseError) as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
    except ItemInvalidError as err:
        raise RequestValidationError(
            [{**e, "loc": ["body", *e["loc"]], "msg": f"{e['msg']} ({err})"}
             for e in err.errors]) from err
    except ConfigError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from err
    request.state.audit_tenants = done.tenants
    return Changed(applied={k: v for k, v in done.written.items() if v and k != "tenants"},
                   removed=done.removed)


def _routes(name: str, model: type[BaseModel], param: str, *, listed: bool) -> None:
    """POST, PATCH, DELETE (and GET unless ``listed`` elsewhere) for list ``name``."""
    what = name.rstrip("s") if name not in ("staff", "supervision", "passive") else name
    path = f"/{name}/{{{param}:path}}" if name == "devices" else f"/{name}/{{{param}}}"

    async def add(gateway: GatewayDep, request: Request, tenant: TenantScope,
                  item: model) -> Changed:  # type: ignore[valid-type]  # a class per list
        return await _run(request, tenant.id, add_care_item(
            get_store(gateway), gateway.directory, gateway.pii, tenant=tenant.id, name=name,
            item=item, principal=principal_of(request)))

    async def change(gateway: GatewayDep, request: Request, tenant: TenantScope,
                     change: Change, **key: str) -> Changed:
        return await _run(request, tenant.id, change_care_item(
            get_store(gateway), gateway.directory, gateway.pii, tenant=tenant.id, name=name,
            key=key[param], change=change, principal=principal_of(request)))

    async def remove(gateway: GatewayDep, request: Request, tenant: TenantScope,
                     cascade: Cascade = False, **key: str) -> Changed:
        return await _run(request, tenant.id, remove_care_item(
            get_store(gateway), gateway.directory, gateway.pii, tenant=tenant.id, name=name,
            key=key[param], cascade=cascade, principal=principal_of(request)))

    async def one(gateway: GatewayDep, tenant: TenantScope, **key: str) -> dict[str, Any]:
        items = await get_store(gateway).read(lambda conn: care_items(conn, tenant.id, name))
        found = [i for i in items or [] if _key(name, i) == key[param]]
        if not found:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"tenant {tenant.id} has no {what} {key[param]}")
        return found[0]

    async def every(gateway: GatewayDep, tenant: TenantScope) -> list[dict[str, Any]]:
        return await get_store(gateway).read(lambda conn: care_items(conn, tenant.id, name)) or []

    _with_key(change, param)
    _with_key(remove, param)
    _with_key(one, param)
    router.post(f"/{name}", status_code=status.HTTP_201_CREATED, response_model=Changed,
                responses=ERRORS, summary=f"Add a {what}", name=f"add_{name}")(add)
    router.patch(path, response_model=Changed, responses=ERRORS,
                 summary=f"Change a {what}", name=f"change_{name}")(change)
    router.delete(path, response_model=Changed, responses=ERRORS,
                  summary=f"Remove a {what}", name=f"remove_{name}")(remove)
    if name != "residents":  # GET /residents/{resident} is the directory's
        router.get(path, summary=f"One {what} as stored", name=f"get_{name}_item",
                   responses={404: ERRORS[404]})(one)
    if not listed:
        router.get(f"/{name}", summary=f"Every {what} as stored", name=f"list_{name}")(every)


def _with_key(func: Any, param: str) -> None:
    """Give ``func`` (which takes ``**key``) the path parameter ``param`` in its signature,
    so FastAPI reads it from the path."""
    sig = inspect.signature(func)
    params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params.append(inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, annotation=str))
    func.__signature__ = sig.replace(parameters=params)


def _key(name: str, item: dict[str, Any]) -> str:
    return KEYS[name](item)


class Team(BaseModel):
    id: str
    members: list[str] = Field(description="Staff ids of its members.")


class Members(BaseModel):
    members: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        description="Staff ids: exactly these are the team's members afterwards.")


@router.get("/teams", response_model=list[Team], summary="Teams and their members")
async def list_teams(gateway: GatewayDep, store: StoreDep, tenant: TenantScope) -> list[Team]:
    """A team is what its members' ``teams`` say (staff in the care configuration)."""
    found = await store.read(lambda conn: teams(conn, tenant.id)) or {}
    return [Team(id=k, members=v) for k, v in found.items()]


@router.put("/teams/{team}", response_model=Changed, responses=ERRORS,
            summary="Set a team's members")
async def put_team(gateway: GatewayDep, store: StoreDep, request: Request, tenant: TenantScope,
                   team: str, body: Members) -> Changed:
    """The given staff are the team's members; every other member of staff leaves it."""
    return await _run(request, tenant.id, set_team(
        store, gateway.directory, tenant=tenant.id, team=team, members=body.members,
        principal=principal_of(request)))


@router.delete("/teams/{team}", response_model=Changed, responses=ERRORS,
               summary="Remove a team")
async def delete_team(gateway: GatewayDep, store: StoreDep, request: Request, tenant: TenantScope,
                      team: str) -> Changed:
    """Take the team from every member of staff (409 while visits name it)."""
    return await _run(request, tenant.id, remove_team(
        store, gateway.directory, tenant=tenant.id, team=team,
        principal=principal_of(request)))


_routes("residents", Resident, "resident", listed=True)
_routes("devices", Device, "device", listed=True)
_routes("plans", Plan, "plan", listed=False)
_routes("staff", Staff, "member", listed=True)
_routes("consents", Consent, "consent", listed=False)
_routes("relatives", Relative, "relative", listed=False)
_routes("geofences", Geofence, "geofence", listed=False)
_routes("supervision", SupervisionSchedule, "resident", listed=False)
_routes("passive", PassiveRules, "resident", listed=False)
