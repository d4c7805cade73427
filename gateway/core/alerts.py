"""Alarms about Navet itself: when the gateway cannot do its job, operators must hear of it.

The watcher checks the store every ``check_s`` (on the injected clock). When
writes fail (disk full, database read-only or gone) devices are already not
acknowledged, so they keep their alarms and send again; what is left is to
tell people. The store cannot record that, so the alert goes out where it can:

- a retained MQTT message on ``<prefix>/system/alerts/store`` (``active`` with
  the reason and since when; ``cleared`` when it is over), which alarm-centre
  dashboards subscribe to;
- ``/readyz`` answers 503 naming the store (a load balancer or orchestrator
  sees it), and the ``navet_system_alert`` gauge is 1 (Prometheus alerting);
- an ERROR log line.

When writes work again, every tenant gets a technical alarm in its own event
stream (``technical.other``: "Navet could not store incoming events from … to
…"), so the gap is acknowledged and closed by a person like any other alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from gateway.transports.base import MqttClient

from .clock import Clock
from .metrics import Metrics
from .model import EventBase, make_event
from .store import Store

log = logging.getLogger(__name__)


class SystemAlerts:
    """Watches the store; tells operators when it cannot write, and when it can again.

    :param mqtt: the MQTT client to publish on, asked for at each alert (it connects
        after this is made, and may be down too).
    :param tenants: the tenants of the settings (adapter instances), besides those of
        the care configuration, whose streams get the technical alarm after an outage.
    """

    def __init__(self, store: Store, clock: Clock, metrics: Metrics,
                 emit: Callable[[list[EventBase]], Awaitable[None]], *,
                 mqtt: Callable[[], MqttClient], prefix: str = "navet",
                 tenants: Callable[[], set[str]] = set, check_s: float = 1.0) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.emit = emit
        self.mqtt = mqtt
        self.prefix = prefix
        self.tenants = tenants
        self.check_s = check_s
        self.active: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task[None] | None = None
        self.history: list[tuple[str, str, datetime]] = []  # (name, state, at)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="system-alerts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("system alert check failed")
            await self.clock.sleep(self.check_s)

    async def check(self) -> None:
        store = self.store
        if not store.healthy and "store" not in self.active:
            await self._raise("store", f"Navet cannot store incoming events: "
                              f"{store.last_error or 'the database is not writable'}. Devices "
                              "are not acknowledged and send again.")
        elif store.healthy and "store" in self.active:
            since = self.active["store"]["since"]
            await self._clear("store")
            await self._after_store_outage(since)

    async def _raise(self, name: str, text: str) -> None:
        now = self.clock.now()
        self.active[name] = {"since": now, "text": text}
        self.history.append((name, "active", now))
        log.error("SYSTEM ALERT %s: %s", name, text)
        self.metrics.system_alert.labels(name).set(1)
        await self._publish(name, {"alert": name, "state": "active", "since": now.isoformat(),
                                   "text": text})

    async def _clear(self, name: str) -> None:
        now = self.clock.now()
        since = self.active.pop(name)["since"]
        self.history.append((name, "cleared", now))
        log.warning("system alert %s cleared (active since %s)", name, since.isoformat())
        self.metrics.system_alert.labels(name).set(0)
        await self._publish(name, {"alert": name, "state": "cleared",
                                   "since": since.isoformat(), "cleared": now.isoformat()})

    async def _publish(self, name: str, body: dict[str, Any]) -> None:
        prefix = self.prefix
        try:
            mqtt = self.mqtt()
            await mqtt.publish(f"{prefix}/system/alerts/{name}", json.dumps(body).encode(),
                               qos=1, retain=True)
        except Exception as err:  # the broker may be down too; the log and /readyz remain
            log.error("could not publish system alert %s over MQTT: %s", name, err)

    async def _after_store_outage(self, since: datetime) -> None:
        """Put the gap in every tenant's stream as a technical alarm for a person to close."""
        now = self.clock.now()
        tenants = {row["id"] for row in self.store.rows("tenants")} | self.tenants()
        text = (f"Navet could not store incoming events from {since.isoformat()} to "
                f"{now.isoformat()}; devices were not acknowledged and were asked to resend. "
                "Check that nothing was lost at devices that do not retry.")
        events = [make_event(
            "alarm.raised", tenant=tenant, time=now,
            source={"adapter": "navet", "protocol": "system", "ref": f"store:{since.isoformat()}"},
            alarm=f"navet:store-outage:{since.isoformat()}", priority="high",
            data={"kind": "technical.other", "text": text[:500], "code": "navet:store"})
            for tenant in sorted(tenants)]
        if events:
            await self.emit(events)
