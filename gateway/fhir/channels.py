"""Delivery of R5 topic-based notifications: rest-hook and websocket sinks.

A FHIR Subscription is an ordinary Navet outbox subscription whose sink is
one of these classes (registered through ``navet_register_sinks``), so
notifications are durable, retried with backoff and ordered per resident like
every other delivery. ``deliver`` raises :class:`TransportError` to be retried:
a rest-hook endpoint that answers non-2xx or cannot be reached, a websocket
subscription with no client bound.

Every notification is a ``subscription-notification`` Bundle whose first entry
is a SubscriptionStatus. Event notifications are numbered per subscription
(``eventNumber``, persisted, the same number on every retry of one event), so a
client sees gaps. ``heartbeatPeriod`` sends a heartbeat when nothing else was
sent for that long (on the injected clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from gateway.core.model import EventBase
from gateway.errors import TransportError

from . import state
from .bundles import FHIR_JSON
from .checks import validate
from .ids import fhir_id
from .mapping.common import ts
from .repository import FhirRepository
from .topics import TOPICS, Topic

log = logging.getLogger(__name__)


class _Host:
    """What the repository needs, from a sink's services (no plugin hooks here)."""

    def __init__(self, store: Any, clock: Any) -> None:
        self.store, self.clock = store, clock
        self.plugins = _NoPlugins()


class _NoPlugins:
    def event_to_fhir(self, event: EventBase) -> None:
        return None


class FhirSink:
    kind: ClassVar[str] = "fhir"

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        self.store = services.store
        self.clock = services.clock
        self.core_id: str = services.subscription.id
        self.tenant: str = services.subscription.tenant
        self.resource: dict[str, Any] = settings["resource"]
        self.fid: str = self.resource["id"]
        self.topic: Topic = TOPICS[settings["topic"]]
        self.base: str = settings["base"]
        self.content: str = self.resource.get("content", "id-only")
        self.filters = [(f["filterParameter"], f["value"])
                        for f in self.resource.get("filterBy", [])]
        self.heartbeat: int | None = self.resource.get("heartbeatPeriod")
        self.last_sent = self.clock.now()
        self._task: asyncio.Task[None] | None = None
        if self.heartbeat:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self._task = loop.create_task(self._beat(), name=f"fhir-heartbeat-{self.fid}")

    # ------------------------------------------------------------------ outbox side

    async def deliver(self, event: EventBase) -> None:
        if not self.topic.fires_on(event) or not self._passes(event):
            return  # not for this subscriber: done, nothing to send
        if await self._ended():
            return  # past Subscription.end: the subscription is off, nothing more is sent
        await self.ready()
        number = await state.number(self.store, self.fid, event.id)
        bundle = await self.notification("event-notification", event, number)
        await self.send(bundle)
        self.last_sent = self.clock.now()

    async def _ended(self) -> bool:
        end = self.resource.get("end")
        if not end:
            return False
        until = datetime.fromisoformat(end.replace("Z", "+00:00"))
        if self.clock.now() < (until if until.tzinfo else until.replace(tzinfo=UTC)):
            return False
        if await state.status(self.store, self.fid) != "off":
            await state.set_status(self.store, self.fid, "off", f"ended at {end}")
        return True

    def _passes(self, event: EventBase) -> bool:
        for name, value in self.filters:
            if name == "patient":
                fid = value.split("/", 1)[-1]
                if event.resident is None or fhir_id(event.resident) != fid:
                    return False
            elif name == "subject" and (
                    event.device is None or f"Device/{fhir_id(event.device.id)}" != value):
                return False
        return True

    async def ready(self) -> None:
        """Raise TransportError while the channel cannot take notifications."""

    async def send(self, bundle: dict[str, Any]) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # ------------------------------------------------------------------ bundles

    async def notification(self, kind: str, event: EventBase | None = None,
                           number: int | None = None, *,
                           events: list[tuple[EventBase, int]] | None = None,
                           content: str | None = None) -> dict[str, Any]:
        """A notification Bundle of ``kind``; ``events`` for a query-event answer."""
        items = events if events is not None else (
            [(event, number)] if event is not None and number is not None else [])
        content = content or self.content
        count = await state.count(self.store, self.fid)
        status: dict[str, Any] = {
            "resourceType": "SubscriptionStatus",
            "status": await state.status(self.store, self.fid) or "active",
            "type": kind,
            "eventsSinceSubscriptionStart": str(count),
            "subscription": {"reference": f"Subscription/{self.fid}"},
            "topic": self.topic.url,
        }
        entries: list[dict[str, Any]] = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}",
                                          "resource": status}]
        notes = []
        seen: dict[str, int] = {}
        for ev, n in items:
            note: dict[str, Any] = {"eventNumber": str(n),
                                    "timestamp": ts(ev.received or ev.time)}
            if content != "empty":
                focus = self.topic.focus(ev)
                note["focus"] = {"reference": focus}
                context = self.topic.context(ev)
                if context:
                    note["additionalContext"] = [{"reference": r} for r in context]
                for entry in await self._entries(ev, [focus, *context], content):
                    if entry["fullUrl"] in seen:  # the same Task again: keep its latest state
                        entries[seen[entry["fullUrl"]]] = entry
                    else:
                        seen[entry["fullUrl"]] = len(entries)
                        entries.append(entry)
            notes.append(note)
        if notes:
            status["notificationEvent"] = notes
        bundle = {"resourceType": "Bundle", "type": "subscription-notification",
                  "timestamp": ts(self.clock.now()), "entry": entries}
        return validate(bundle)

    async def replay(self, since: int | None, until: int | None,
                     content: str | None) -> dict[str, Any]:
        """The ``$events`` answer: notifications already numbered, from ``since`` to ``until``."""
        found = await state.numbered(self.store, self.fid, since, until)
        items: list[tuple[EventBase, int]] = []
        for event_id, n in found:
            stored = await self.store.read(
                lambda conn, e=event_id: self.store.get_event(self.tenant, e))
            if stored is not None:
                items.append((stored.event, n))
        return await self.notification("query-event", events=items, content=content)

    async def _entries(self, event: EventBase, refs: list[str],
                       content: str) -> list[dict[str, Any]]:
        created = event.type == "alarm.raised" or self.topic.resource != "Task"
        full: dict[str, dict[str, Any]] = {}
        if content == "full-resource":
            repo = FhirRepository(_Host(self.store, self.clock), self.tenant)
            found = await self.store.read(lambda conn: repo.event_resources(event))
            full = {f"{r['resourceType']}/{r['id']}": r for r in found}
        out = []
        for i, r in enumerate(refs):
            rtype = r.split("/", 1)[0]
            create = created or i > 0  # a Provenance is always new
            entry: dict[str, Any] = {
                "fullUrl": f"{self.base}/{r}",
                "request": {"method": "POST" if create else "PUT",
                            "url": rtype if create else r},
                "response": {"status": "201" if create else "200"},
            }
            if r in full:
                entry["resource"] = full[r]
            out.append(entry)
        return out

    # ------------------------------------------------------------------ heartbeat

    async def _beat(self) -> None:
        """Send a heartbeat whenever ``heartbeatPeriod`` passed without any notification."""
        assert self.heartbeat
        while True:
            wait = self.heartbeat - (self.clock.now() - self.last_sent).total_seconds()
            if wait > 0:
                await self.clock.sleep(wait)
                continue
            if await self._ended():
                return
            try:
                await self.ready()
                await self.send(await self.notification("heartbeat"))
                self.last_sent = self.clock.now()
                continue
            except TransportError as err:
                log.info("FHIR subscription %s: heartbeat not sent: %s", self.fid, err)
            except Exception:
                log.exception("FHIR subscription %s: heartbeat failed", self.fid)
            await self.clock.sleep(self.heartbeat)  # failed: try again one period later


class FhirRestHookSink(FhirSink):
    """POSTs each notification to the subscriber's endpoint (R5 rest-hook channel)."""

    kind: ClassVar[str] = "fhir-rest-hook"

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        super().__init__(settings, services)
        self.endpoint: str = self.resource["endpoint"]
        self.headers = {"Content-Type": FHIR_JSON}
        for p in self.resource.get("parameter", []):
            self.headers[p["name"]] = p["value"]
        self.timeout = float(self.resource.get("timeout", 10))
        self._client = httpx.AsyncClient(timeout=self.timeout)

    async def handshake(self) -> bool:
        """Send the R5 handshake; the subscription becomes active or error."""
        try:
            await self.send(await self.notification("handshake"))
        except TransportError as err:
            await state.set_status(self.store, self.fid, "error", str(err))
            return False
        await state.set_status(self.store, self.fid, "active", None)
        self.last_sent = self.clock.now()
        return True

    async def ready(self) -> None:
        current = await state.status(self.store, self.fid)
        if current == "off":
            raise TransportError(f"FHIR subscription {self.fid} is off")
        if current != "active" and not await self.handshake():
            raise TransportError(f"FHIR subscription {self.fid}: handshake with "
                                 f"{self.endpoint} failed")

    async def send(self, bundle: dict[str, Any]) -> None:
        try:
            response = await self._client.post(self.endpoint, json=bundle, headers=self.headers)
        except httpx.HTTPError as err:
            raise TransportError(f"FHIR subscription {self.fid}: POST {self.endpoint} "
                                 f"failed: {type(err).__name__}: {err}") from err
        if not 200 <= response.status_code < 300:
            raise TransportError(f"FHIR subscription {self.fid}: {self.endpoint} answered "
                                 f"{response.status_code}")

    async def aclose(self) -> None:
        await super().aclose()
        await self._client.aclose()


class FhirWebSocketSink(FhirSink):
    """Sends notifications to the websocket clients bound with a binding token."""

    kind: ClassVar[str] = "fhir-websocket"

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        super().__init__(settings, services)
        self.sockets: set[Any] = set()  # objects with ``async send_text(str)``

    async def attach(self, socket: Any) -> None:
        """Bind a client: it gets the handshake, then every notification."""
        await socket.send_text(json.dumps(await self.notification("handshake")))
        self.sockets.add(socket)

    def detach(self, socket: Any) -> None:
        self.sockets.discard(socket)

    async def ready(self) -> None:
        if not self.sockets:
            raise TransportError(f"FHIR subscription {self.fid}: no websocket client is bound")

    async def send(self, bundle: dict[str, Any]) -> None:
        text = json.dumps(bundle)
        sent = 0
        for socket in list(self.sockets):
            try:
                await socket.send_text(text)
                sent += 1
            except Exception as err:  # a closed socket: forget it
                log.info("FHIR subscription %s: websocket client gone: %s", self.fid, err)
                self.sockets.discard(socket)
        if sent == 0:
            raise TransportError(f"FHIR subscription {self.fid}: no websocket client took it")
