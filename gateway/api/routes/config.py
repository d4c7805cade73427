"""Care configuration through the API: ``POST /api/v1/config``.

The body is the same document as a care configuration file (tenants,
residents, devices, plans) and goes through the same
:func:`gateway.core.care.apply_care_config`, so a file and an API call can
never disagree about what is valid. Everything in it is upserted.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from gateway.core.care import CareConfig, apply_care_config
from gateway.errors import ConfigError

from ..deps import GatewayDep

router = APIRouter(prefix="/api/v1", tags=["configuration"])


class Applied(BaseModel):
    applied: dict[str, int]


@router.post("/config", response_model=Applied)
async def post_config(gateway: GatewayDep, config: CareConfig) -> Applied:
    """Apply a care configuration. Field errors come back as 422 naming the field."""
    try:
        counts = await apply_care_config(config, gateway.store, gateway.directory,
                                         gateway.pii)
    except ConfigError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from err
    return Applied(applied=counts)
