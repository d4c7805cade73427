"""Publishes events as CloudEvents on ``<prefix>/<tenant>/events/<type>``, QoS 1,
and each device's health as a retained message on ``<prefix>/<tenant>/devices/<device>/state``.

The topic layout is published in ``contracts/asyncapi.yaml``. Publishing
returns only after the broker's PUBACK, so the outbox deletes an event only
once the broker has it (and, for device events, its new retained state).

Device state (settings ``device_state``, default true) is what a dashboard or
an alarm centre wants at a glance and on connect, without replaying events:
online/offline, battery, active faults, tamper, last seen. It is updated on
``device.*`` events (and on technical alarms that mean a unit went silent)
that reach this subscription, so the subscription's ``types`` must include
``device.`` for it to be kept. Retained messages stay on the broker, so they
carry no resident. After a restart the sink seeds its state from the broker's
retained messages (it subscribes to its own state topics once), so a battery
level reported before the restart is still in the next state it publishes.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from gateway import Event, MqttMessage, TransportError, to_cloudevent

from .device_state import DeviceState, DeviceStateBook, state_topic

log = logging.getLogger(__name__)


class MqttSink:
    kind: ClassVar[str] = "mqtt"

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        self.mqtt = services.mqtt
        self.prefix = str(settings.get("prefix", services.prefix))
        self.qos = int(settings.get("qos", 1))
        self.device_state = bool(settings.get("device_state", True))
        subscription = getattr(services, "subscription", None)
        self.tenant: str | None = getattr(subscription, "tenant", None)
        self.book = DeviceStateBook()
        self._seeding = False

    def topic(self, event: Event) -> str:
        return f"{self.prefix}/{event.tenant}/events/{event.type}"

    def state_topic(self, tenant: str, device: str) -> str:
        return state_topic(self.prefix, tenant, device)

    async def deliver(self, event: Event) -> None:
        payload = json.dumps(to_cloudevent(event), separators=(",", ":"))
        await self._publish(self.topic(event), payload, event.id, retain=False)
        if not self.device_state:
            return
        await self._seed()
        state = self.book.apply(event)
        if state is not None:
            await self._publish_state(state, event.id)

    async def _publish_state(self, state: DeviceState, ref: str) -> None:
        body = json.dumps(state.as_payload(), separators=(",", ":"))
        await self._publish(self.state_topic(state.tenant, state.device), body, ref, retain=True)

    async def _publish(self, topic: str, payload: str, ref: str, *, retain: bool) -> None:
        try:
            await self.mqtt.publish(topic, payload, qos=self.qos, retain=retain)
        except TransportError:
            raise
        except Exception as err:
            raise TransportError(f"MQTT sink could not publish {ref} to {topic}: {err}") from err

    async def _seed(self) -> None:
        """Subscribe once to this tenant's retained state topics to learn what was published."""
        if self._seeding or self.tenant is None:
            return
        self._seeding = True
        try:
            await self.mqtt.subscribe(f"{self.prefix}/{self.tenant}/devices/+/state",
                                      self._on_state, qos=1)
        except Exception as err:  # state then starts empty; events still flow
            log.warning("MQTT sink cannot read retained device state for %s: %s", self.tenant, err)

    async def _on_state(self, msg: MqttMessage) -> None:
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            return  # not ours; a retained state topic holds only what this sink wrote
        if not isinstance(payload, dict) or payload.get("tenant") != self.tenant:
            return
        changed = self.book.seed(payload)
        if changed is not None:
            try:
                await self._publish_state(changed, "retained state")
            except TransportError as err:
                log.warning("MQTT sink could not republish seeded device state: %s", err)
