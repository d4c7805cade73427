"""Care configuration through the API: ``POST /api/v1/config``.

The body is the same document as a care configuration file (tenants,
residents, devices, plans, staff, ...) and goes through the same
:func:`gateway.core.care.apply_care_config`, so a file and an API call can
never disagree about what is valid or what a document means.

- **Tenants**: the document names its tenants in the body, not in ``?tenant=``,
  so the check that every other route gets from ``authenticate`` is made here,
  for every tenant the document touches: each tenant it names, and the tenant a
  device it names is stored under now. One tenant the token is not valid for
  and nothing is written (403).
- **Merge, not replace**: fields and list items the document leaves out keep
  their stored values; a list is replaced (items left out removed) only when
  its tenant names it in ``replace``. See docs/operators.md, "Changing the care
  configuration".
- **All or nothing**: the whole document is applied in one transaction, or
  nothing of it (422 naming what was wrong).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from gateway.core.care import CareConfig, apply_care_config
from gateway.core.security.tokens import TenantForbiddenError
from gateway.errors import ConfigError

from ..deps import GatewayDep, StoreDep
from ..security import principal_of

router = APIRouter(prefix="/api/v1", tags=["configuration"])


class Applied(BaseModel):
    applied: dict[str, int] = Field(description="Tenants, residents, devices and plans the "
                                    "document gave (each added or updated).")
    removed: dict[str, int] = Field(default_factory=dict, description="Per list named in "
                                    "'replace': how many stored items were removed.")


@router.post("/config", response_model=Applied,
             responses={403: {"description": "The document touches a tenant the token is "
                              "not valid for; nothing was written."},
                        422: {"description": "Invalid, alone or with what is stored; nothing "
                              "was written. The detail names the field."}})
async def post_config(gateway: GatewayDep, store: StoreDep, request: Request,
                      config: CareConfig) -> Applied:
    """Apply a care configuration document: merge into what is stored, replace only the
    lists a tenant names in ``replace``."""
    try:
        done = await apply_care_config(config, store, gateway.directory, gateway.pii,
                                       principal=principal_of(request))
    except TenantForbiddenError as err:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(err)) from err
    except ConfigError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from err
    request.state.audit_tenants = done.tenants  # the audit entry goes to the tenants changed
    return Applied(applied=done.written, removed=done.removed)
