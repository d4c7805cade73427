"""Settings and payload shapes of the Zigbee2MQTT adapter."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .const import DEFAULT_BASE_TOPIC


class Zigbee2MqttSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_topic: str = Field(
        default=DEFAULT_BASE_TOPIC,
        pattern=r"^[^#+]+$",
        description="Zigbee2MQTT's mqtt.base_topic; one bridge per tenant.",
    )
    qos: int = Field(default=1, ge=0, le=1)
