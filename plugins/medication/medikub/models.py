"""Settings of one Medikub adapter instance."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MedikubSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_topic: str = Field(
        default="medikub", pattern=r"^[^#+]+$",
        description="Topic prefix the tenant's dispensers publish under (<base>/<serial>/...).")
    qos: int = Field(default=1, ge=0, le=1)
