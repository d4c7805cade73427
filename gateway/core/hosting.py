"""What one running adapter instance gets from the gateway (:class:`gateway.AdapterHost`).

:class:`AdapterHostImpl` holds exactly the collaborators an adapter may reach
through it, not the :class:`~gateway.core.gateway.Gateway` that builds it: the
ingest entry, its MQTT client, the metrics, the dead letters, the alarm
projection's answer for one alarm, the outbound policy, the environment and
HTTP settings, and the webhook registry the ingress route reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.transports.base import MqttClient

from .adapters import AlarmStatus, IngestResult, RawFrame
from .alarmstate import AlarmState
from .clock import Clock
from .metrics import Metrics
from .security.outbound import OutboundPolicy
from .settings import AdapterInstance, HttpSettings
from .store.repos.frames import DeadLetterRepository

WebhookHandler = Callable[[Any], Awaitable[Any]]
Ingest = Callable[[RawFrame], Awaitable[IngestResult]]


class AlarmStatuses(Protocol):
    """The one alarm question an adapter asks (:class:`gateway.core.alarms.AlarmService`)."""

    async def status(self, tenant: str, alarm: str) -> tuple[str, AlarmState] | None:
        """(the alarm ``alarm`` belongs to, its state), None if unknown."""
        ...


@dataclass
class AdapterHostImpl:
    """The services one adapter instance gets. See :class:`gateway.AdapterHost`."""

    instance: AdapterInstance
    clock: Clock
    store_frame: Ingest
    """Decode, validate and store a frame (the gateway's pipeline)."""
    mqtt_client: Callable[[], MqttClient]
    """This instance's MQTT client, asked for when the adapter asks (it may have its own)."""
    metrics: Metrics
    dead_letters: DeadLetterRepository
    alarms: AlarmStatuses
    outbound: OutboundPolicy
    """Where the adapter may connect to (a vendor cloud's API, ...)."""
    environment: str
    http: HttpSettings
    webhooks: MutableMapping[str, WebhookHandler]
    """The gateway's webhook registry: ``/ingress/<instance>/<path>`` looks handlers up here."""

    @property
    def tenant(self) -> str:
        return self.instance.tenant

    @property
    def instance_id(self) -> str:
        return self.instance.instance_id

    async def ingest(self, frame: RawFrame) -> IngestResult:
        return await self.store_frame(frame)

    def mqtt(self) -> MqttClient:
        return self.mqtt_client()

    def listener_refused(self, listener: str, reason: str, count: int = 1) -> None:
        self.metrics.listener_refused.labels(listener, reason).inc(count)

    async def keep_refused(self, frame: RawFrame, reason: str) -> None:
        """A sample of refused input, kept as a dead letter (bounded by the listener)."""
        self.metrics.dead_letters.labels(frame.adapter).inc()
        await self.dead_letters.add(frame, reason)

    async def alarm_state(self, alarm: str) -> str | None:
        """The lifecycle state of ``alarm`` as ``alarm.<state>`` (None if unknown).

        Protocol adapters use it to tell a device whether a person has its alarm
        (SCAIP answers HOLD until ``alarm.acknowledged``). The state, not the latest
        event: a note or an escalation after acknowledgement must not put it on HOLD again.
        """
        found = await self.alarm_status(alarm)
        return found.state if found is not None else None

    async def alarm_status(self, alarm: str) -> AlarmStatus | None:
        """The alarm ``alarm`` belongs to (itself, or the one it was folded into), its state."""
        found = await self.alarms.status(self.tenant, alarm)  # the projection
        if found is None:
            return None
        root, state = found
        return AlarmStatus(root, f"alarm.{state}", folded=root != alarm)

    @property
    def public_url(self) -> str:
        """This gateway's HTTP base URL, from ``settings.http`` (``public_url`` there wins),
        for adapters that tell a vendor cloud where to post (``<url>/ingress/<instance>/..``)."""
        explicit = getattr(self.http, "public_url", None)
        if explicit:
            return str(explicit).rstrip("/")
        host = "127.0.0.1" if self.http.host in ("0.0.0.0", "::", "") else self.http.host
        return f"http://{host}:{self.http.port}"

    def add_webhook(self, path: str, handler: WebhookHandler) -> None:
        key = f"{self.instance_id}/{path.strip('/')}"
        self.webhooks[key] = handler
