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
from datetime import datetime
from typing import Any

from .model import make_event

log = logging.getLogger(__name__)


class SystemAlerts:
    def __init__(self, gateway: Any, *, check_s: float = 1.0) -> None:
        self.gw = gateway
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
            await self.gw.clock.sleep(self.check_s)

    async def check(self) -> None:
        store = self.gw.store
        if not store.healthy and "store" not in self.active:
            await self._raise("store", f"Navet cannot store incoming events: "
                              f"{store.last_error or 'the database is not writable'}. Devices "
                              "are not acknowledged and send again.")
        elif store.healthy and "store" in self.active:
            since = self.active["store"]["since"]
            await self._clear("store")
            await self._after_store_outage(since)

    async def _raise(self, name: str, text: str) -> None:
        now = self.gw.clock.now()
        self.active[name] = {"since": now, "text": text}
        self.history.append((name, "active", now))
        log.error("SYSTEM ALERT %s: %s", name, text)
        self.gw.metrics.system_alert.labels(name).set(1)
        await self._publish(name, {"alert": name, "state": "active", "since": now.isoformat(),
                                   "text": text})

    async def _clear(self, name: str) -> None:
        now = self.gw.clock.now()
        since = self.active.pop(name)["since"]
        self.history.append((name, "cleared", now))
        log.warning("system alert %s cleared (active since %s)", name, since.isoformat())
        self.gw.metrics.system_alert.labels(name).set(0)
        await self._publish(name, {"alert": name, "state": "cleared",
                                   "since": since.isoformat(), "cleared": now.isoformat()})

    async def _publish(self, name: str, body: dict[str, Any]) -> None:
        prefix = self.gw.settings.mqtt.northbound_prefix
        try:
            mqtt = self.gw.mqtt
            await mqtt.publish(f"{prefix}/system/alerts/{name}", json.dumps(body).encode(),
                               qos=1, retain=True)
        except Exception as err:  # the broker may be down too; the log and /readyz remain
            log.error("could not publish system alert %s over MQTT: %s", name, err)

    async def _after_store_outage(self, since: datetime) -> None:
        """Put the gap in every tenant's stream as a technical alarm for a person to close."""
        now = self.gw.clock.now()
        tenants = {row["id"] for row in self.gw.store.rows("tenants")} | \
            {a.tenant for a in self.gw.settings.adapters}
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
            await self.gw.emit(events)
