"""Publishes events as CloudEvents on ``<prefix>/<tenant>/events/<type>``, QoS 1.

The topic layout is published in ``contracts/asyncapi.yaml``. Publishing
returns only after the broker's PUBACK, so the outbox deletes an event only
once the broker has it.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from gateway import Event, TransportError, to_cloudevent


class MqttSink:
    kind: ClassVar[str] = "mqtt"

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        self.mqtt = services.mqtt
        self.prefix = str(settings.get("prefix", services.prefix))
        self.qos = int(settings.get("qos", 1))

    def topic(self, event: Event) -> str:
        return f"{self.prefix}/{event.tenant}/events/{event.type}"

    async def deliver(self, event: Event) -> None:
        payload = json.dumps(to_cloudevent(event), separators=(",", ":"))
        try:
            await self.mqtt.publish(self.topic(event), payload, qos=self.qos)
        except TransportError:
            raise
        except Exception as err:
            raise TransportError(f"MQTT sink could not publish {event.id}: {err}") from err
