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

A rest-hook connects through the gateway's outbound policy (the endpoint is
resolved, every address checked, the connection made to a checked one), and a
failure to connect reads the same whatever its cause, so a Subscription's
status cannot be used to scan ports. A websocket Subscription nobody is bound
to keeps at most ``subscription_limits.websocket_backlog`` notifications for
at most ``websocket_backlog_ttl_s``; older ones are dropped and counted (the
client catches up with ``$events``, which has every numbered notification).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from gateway.errors import OutboundRefused, TransportError
from gateway.sdk.model import EventBase
from gateway.sdk.outbound import OutboundPolicy, unreachable_message

from . import state
from .bundles import FHIR_JSON
from .checks import validate
from .host import WEBSOCKET_BACKLOG, WEBSOCKET_BACKLOG_TTL_S, FhirSinkServices
from .ids import fhir_id
from .mapping.common import ts
from .repository import FhirRepository
from .topics import TOPICS, Topic

log = logging.getLogger(__name__)


class FhirSink:
    kind: ClassVar[str] = "fhir"

    def __init__(self, settings: dict[str, Any], services: FhirSinkServices) -> None:
        self.services = services
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

    async def send_heartbeat(self, bundle: dict[str, Any]) -> None:
        await self.send(bundle)

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
            repo = FhirRepository(self.services, self.tenant)  # plugins map as in a REST read
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
                await self.send_heartbeat(await self.notification("heartbeat"))
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

    def __init__(self, settings: dict[str, Any], services: FhirSinkServices) -> None:
        super().__init__(settings, services)
        self.endpoint: str = self.resource["endpoint"]
        self.headers = {"Content-Type": FHIR_JSON}
        for p in self.resource.get("parameter", []):
            self.headers[p["name"]] = p["value"]
        self.timeout = float(self.resource.get("timeout", 10))
        self.outbound = OutboundPolicy.of(services)
        self._client = self.outbound.http_client(timeout=self.timeout)

    def destinations(self) -> list[tuple[str, int]]:
        """The endpoint's host and port (checked at creation and at every connection)."""
        parts = urlsplit(self.endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return [(parts.hostname or "", port)]

    @property
    def display_endpoint(self) -> str:
        """The endpoint without query or fragment (they may hold tokens)."""
        parts = urlsplit(self.endpoint)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path or '/'}"

    def describe(self) -> dict[str, Any]:
        return {"channel": "rest-hook", "endpoint": self.display_endpoint}

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
                                 f"{self.display_endpoint} failed")

    async def send(self, bundle: dict[str, Any]) -> None:
        where = f"FHIR subscription {self.fid}: POST {self.display_endpoint}"
        try:
            response = await self._client.post(self.endpoint, json=bundle, headers=self.headers)
        except OutboundRefused as err:
            raise TransportError(f"{where}: {err}") from err
        except httpx.TransportError as err:
            # What the client reads back (status, reason) must not tell an open port from a
            # closed one: one message for every cause; the cause goes to the log.
            log.info("%s failed: %s: %s", where, type(err).__name__, err)
            host, port = self.destinations()[0]
            raise TransportError(f"{where}: {unreachable_message(f'{host}:{port}')}") from err
        except httpx.HTTPError as err:
            raise TransportError(f"{where} failed: {type(err).__name__}") from err
        if not 200 <= response.status_code < 300:
            raise TransportError(f"FHIR subscription {self.fid}: {self.display_endpoint} "
                                 f"answered {response.status_code}")

    async def aclose(self) -> None:
        await super().aclose()
        await self._client.aclose()


class FhirWebSocketSink(FhirSink):
    """Sends notifications to the websocket clients bound with a binding token."""

    kind: ClassVar[str] = "fhir-websocket"

    def __init__(self, settings: dict[str, Any], services: FhirSinkServices) -> None:
        super().__init__(settings, services)
        self.sockets: set[Any] = set()  # objects with ``async send_text(str)``
        limits = getattr(services, "limits", None)
        self.backlog_max = getattr(limits, "websocket_backlog", WEBSOCKET_BACKLOG)
        self.backlog_ttl = timedelta(
            seconds=getattr(limits, "websocket_backlog_ttl_s", WEBSOCKET_BACKLOG_TTL_S))
        # notifications waiting for a client: (when queued, JSON text), oldest first
        self.backlog: deque[tuple[datetime, str]] = deque()
        self.dropped = 0  # pushed out by newer ones (backlog full)
        self.expired = 0  # waited longer than the backlog's time to live
        self._lock = asyncio.Lock()  # attach's catch-up and new notifications keep their order

    def describe(self) -> dict[str, Any]:
        self._expire()
        return {"channel": "websocket", "clients": len(self.sockets),
                "backlog": len(self.backlog), "backlog_max": self.backlog_max,
                "dropped": self.dropped, "expired": self.expired}

    async def attach(self, socket: Any) -> None:
        """Bind a client: it gets the handshake, what waited for a client, then every
        notification."""
        async with self._lock:
            await socket.send_text(json.dumps(await self.notification("handshake")))
            self._expire()
            while self.backlog:
                _, text = self.backlog[0]
                await socket.send_text(text)  # a failure here leaves the rest queued
                self.backlog.popleft()
            self.sockets.add(socket)

    def detach(self, socket: Any) -> None:
        self.sockets.discard(socket)

    async def send(self, bundle: dict[str, Any]) -> None:
        """To every bound client; with none, into the bounded backlog (never an error, so
        the outbox does not hold the events of a Subscription nobody listens to)."""
        text = json.dumps(bundle)
        async with self._lock:
            sent = 0
            for socket in list(self.sockets):
                try:
                    await socket.send_text(text)
                    sent += 1
                except Exception as err:  # a closed socket: forget it
                    log.info("FHIR subscription %s: websocket client gone: %s", self.fid, err)
                    self.sockets.discard(socket)
            if sent == 0:
                self._queue(text)

    async def send_heartbeat(self, bundle: dict[str, Any]) -> None:
        if not self.sockets:  # a heartbeat is for now or never: not queued
            raise TransportError(f"FHIR subscription {self.fid}: no websocket client is bound")
        await self.send(bundle)

    def _queue(self, text: str) -> None:
        self._expire()
        if len(self.backlog) >= self.backlog_max:
            self.backlog.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("FHIR subscription %s: no websocket client bound and %d "
                            "notification(s) waiting; dropped the oldest (%d so far; $events "
                            "still has them)", self.fid, self.backlog_max, self.dropped)
        self.backlog.append((self.clock.now(), text))

    def _expire(self) -> None:
        oldest = self.clock.now() - self.backlog_ttl
        while self.backlog and self.backlog[0][0] <= oldest:
            self.backlog.popleft()
            self.expired += 1
