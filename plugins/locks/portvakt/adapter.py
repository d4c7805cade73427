"""Portvakt: commands over the vendor's REST API, events from signed webhooks and a feed.

I/O, all on the host's clock:

- **Webhooks** (``/ingress/<instance>/events``): each body is one access or
  status event, HMAC-signed with a timestamp. Bad signatures, stale or future
  timestamps and replays are refused before anything is stored; an accepted
  body is stored as a raw frame and decoded, and only then answered 200, so the
  cloud re-sends anything Navet did not keep.
- **Link loop**: every ``poll_s`` the adapter reads the account's event feed
  after its cursor (``GET /v1/events``). That is the health check of the link
  and the catch-up for webhooks that never arrived: while the cloud or Navet's
  ingress was down the vendor kept the events, and they are fetched here.
  Failures back off exponentially; after ``down_after`` in a row the link is
  reported down (``device.offline`` of ``portvakt:cloud``, which raises Navet's
  technical link-lost alarm) and up again when a call succeeds.
- **Commands** (``POST /v1/locks/{lock}/commands``), retried with backoff on
  network errors, 429 and 5xx until ``command_deadline_s``; the command id is
  the idempotency key, so a retry never opens a door twice.

``decode`` is pure: the same body gives the same events whichever way it came.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from gateway import (
    AdapterBase,
    AdapterHost,
    Command,
    CommandResult,
    ContractError,
    DeviceKind,
    Event,
    Manifest,
    OutboundPolicy,
    OutboundRefused,
    PayloadError,
    RawFrame,
    TransportError,
    WebhookRequest,
    WebhookResponse,
    device_id,
)

from ..const import COMMANDS, LINK_TRANSPORT
from ..normalise import DoorHappening, events_for, link_events
from .const import (
    ACTOR_METHODS,
    ADAPTER,
    DENY_CODES,
    EVENT_TYPES,
    LINK_ADDRESS,
    PROTOCOL,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VENDOR,
    WEBHOOK_PATH,
)
from .models import LinkState, PortvaktSettings, WebhookEvent
from .signing import SignatureError, Verifier

log = logging.getLogger(__name__)

COMMAND_VERBS = {"lock.unlock": "unlock", "lock.lock": "lock"}
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class _Unavailable(Exception):
    """One call failed in a way worth retrying (network, 429, 5xx)."""


class PortvaktAdapter(AdapterBase):
    """Portvakt lock cloud: REST commands, signed webhooks, event feed catch-up."""

    manifest: ClassVar[Manifest] = Manifest(
        name=ADAPTER,
        vendor=VENDOR,
        description="Door locks via the Portvakt cloud (REST commands, HMAC-signed webhooks)",
        device_kinds=(DeviceKind.DOOR_LOCK, DeviceKind.OTHER),
        transports=("rest", "webhook"),
        contract=">=1.0,<2",
        commands=COMMANDS,
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = PortvaktSettings.model_validate(self.settings)
        self._verifier = Verifier(self.config.webhook_secret, self.config.tolerance_s)
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = ""
        self._http: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._cursor: str | None = None
        self._registered = False
        self.link_up = True  # until shown otherwise; the first failures decide
        self.failures = 0
        self.last_error: str | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: AdapterHost) -> None:
        self._host = host
        self._tenant = getattr(host, "tenant", "")
        self._instance = getattr(host, "instance_id", "")
        outbound = OutboundPolicy.of(host)
        outbound.check_url(str(self.config.api_url))  # a refused api_url stops the start
        # every call goes through the gateway's outbound policy (resolved and checked)
        self._http = outbound.http_client(
            base_url=str(self.config.api_url).rstrip("/"),
            headers={"Authorization": f"Bearer {self.config.api_key}",
                     "Accept": "application/json", "User-Agent": "navet-portvakt/0.1"},
            timeout=self.config.http_timeout_s,
        )
        host.add_webhook(WEBHOOK_PATH, self._webhook)
        self._task = asyncio.create_task(self._link_loop(), name=f"portvakt-{self._instance}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def health(self) -> dict[str, Any]:
        """The link as an operator sees it (no secrets)."""
        return {"adapter": ADAPTER, "instance": self._instance,
                "link": "up" if self.link_up else "down", "failures": self.failures,
                "last_error": self.last_error, "cursor": self._cursor}

    # ------------------------------------------------------------------ webhooks

    async def _webhook(self, request: WebhookRequest) -> WebhookResponse:
        assert self._host is not None
        body = request.body
        now = self._host.clock.now()
        try:
            key = self._verifier.verify(request.headers.get(TIMESTAMP_HEADER),
                                        request.headers.get(SIGNATURE_HEADER), body,
                                        now.timestamp())
        except SignatureError as err:
            log.warning("portvakt %s: webhook refused: %s", self._instance, err.reason)
            return WebhookResponse({"error": err.reason}, status=err.status)
        result = await self._host.ingest(RawFrame(
            adapter=ADAPTER, tenant=self._tenant, transport="webhook",
            address=f"webhook/{WEBHOOK_PATH}", payload=body, received=now,
            instance=self._instance))
        self._verifier.remember(key)
        if result.dead_letter is not None:
            # authentic but unreadable: keep it (dead letter) and tell the vendor why,
            # with a 2xx so it is not re-sent forever
            return WebhookResponse({"stored": False, "reason": result.reason}, status=202)
        return WebhookResponse({"stored": True, "events": len(result.accepted) + len(
            result.duplicates)})

    # ------------------------------------------------------------------ link loop

    async def _link_loop(self) -> None:
        assert self._host is not None
        clock = self._host.clock
        if self._cursor is None and self.config.catchup_s:
            since = clock.now() - timedelta(seconds=self.config.catchup_s)
            self._cursor = f"time:{since.isoformat()}"
        while True:
            try:
                if self.config.public_url is not None and not self._registered:
                    await self._register_webhook()
                await self._catch_up()
                await self._succeeded()
                await clock.sleep(self.config.poll_s)
            except asyncio.CancelledError:
                raise
            except _Unavailable as err:
                await self._failed(str(err))
                await clock.sleep(self._backoff(self.failures))
            except Exception as err:  # never let the loop die: log, count, retry
                log.exception("portvakt %s: link loop error", self._instance)
                await self._failed(f"{type(err).__name__}: {err}")
                await clock.sleep(self._backoff(self.failures))

    def _backoff(self, failures: int) -> float:
        return float(min(self.config.retry_max_s,
                         self.config.retry_base_s * 2 ** max(0, failures - 1)))

    async def _register_webhook(self) -> None:
        url = (f"{str(self.config.public_url).rstrip('/')}/ingress/{self._instance}/"
               f"{WEBHOOK_PATH}")
        await self._call("PUT", "/v1/webhook", json={"url": url})
        self._registered = True
        log.info("portvakt %s: webhook registered at the vendor", self._instance)

    async def _catch_up(self) -> None:
        """Fetch and store every event after the cursor, page by page."""
        assert self._host is not None
        while True:
            params = {"limit": "100"}
            if self._cursor is not None:
                kind, _, value = self._cursor.partition(":")
                params["since" if kind == "time" else "after"] = value
            page = await self._call("GET", "/v1/events", params=params)
            items = page.get("events", [])
            if not isinstance(items, list):
                raise _Unavailable("event feed answered without an 'events' list")
            for item in items:
                payload = json.dumps(item, separators=(",", ":"), sort_keys=True).encode()
                await self._host.ingest(RawFrame(
                    adapter=ADAPTER, tenant=self._tenant, transport="rest",
                    address="feed/v1/events", payload=payload,
                    received=self._host.clock.now(), instance=self._instance))
            if page.get("cursor"):
                self._cursor = f"cursor:{page['cursor']}"  # only after every item is stored
            if not page.get("more"):
                return

    async def _succeeded(self) -> None:
        self.failures, self.last_error = 0, None
        if not self.link_up:
            self.link_up = True
            await self._report_link("up", "the Portvakt API answers again")

    async def _failed(self, reason: str) -> None:
        self.failures += 1
        self.last_error = reason
        log.warning("portvakt %s: call failed (%d in a row): %s", self._instance,
                    self.failures, reason)
        if self.link_up and self.failures >= self.config.down_after:
            self.link_up = False
            self._registered = False  # register again when it is back
            await self._report_link("down", f"Portvakt API unreachable: {reason}")

    async def _report_link(self, state: str, reason: str) -> None:
        assert self._host is not None
        now = self._host.clock.now()
        body = LinkState(state=state, reason=reason[:200], since=now).model_dump_json()
        try:
            await self._host.ingest(RawFrame(
                adapter=ADAPTER, tenant=self._tenant, transport=LINK_TRANSPORT,
                address=LINK_ADDRESS, payload=body.encode(), received=now,
                instance=self._instance))
        except Exception:  # the store is down too: the state is still on the adapter
            log.exception("portvakt %s: could not store link state %s", self._instance, state)

    # ------------------------------------------------------------------ HTTP

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call. Retryable failures raise ``_Unavailable``; refusals return the
        body with ``_status`` set; a bad key raises ``TransportError``."""
        if self._http is None:
            raise _Unavailable("adapter not started")
        try:
            resp = await self._http.request(method, path, **kwargs)
        except OutboundRefused as err:  # DNS changed to an address the policy refuses
            raise _Unavailable(f"{method} {path}: {err}") from err
        except httpx.HTTPError as err:
            raise _Unavailable(f"{method} {path}: {type(err).__name__}: {err}") from err
        if resp.status_code in RETRYABLE:
            raise _Unavailable(f"{method} {path}: HTTP {resp.status_code}")
        if resp.status_code in (401, 403):
            raise TransportError(f"portvakt {self._instance}: the vendor refused our API key "
                                 f"(HTTP {resp.status_code}); check api_key")
        try:
            body = resp.json() if resp.content else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        body["_status"] = resp.status_code
        return body

    # ------------------------------------------------------------------ commands

    async def execute(self, command: Command) -> CommandResult:
        """Send one command; retry until the deadline; raise ``TransportError`` if the
        vendor could not be reached, return a refusal if it refused."""
        assert self._host is not None
        verb = COMMAND_VERBS.get(command.name)
        if verb is None:
            return CommandResult(False, f"portvakt cannot {command.name}")
        clock = self._host.clock
        deadline = clock.now() + timedelta(seconds=self.config.command_deadline_s)
        attempt = 0
        while True:
            attempt += 1
            try:
                body = await self._call(
                    "POST", f"/v1/locks/{command.address}/commands",
                    json={"command": verb, "reference": command.id,
                          "requested_by": command.requested_by.id},
                    headers={"Idempotency-Key": command.id})
            except _Unavailable as err:
                await self._failed(str(err))
                wait = self._backoff(attempt)
                if clock.now() + timedelta(seconds=wait) > deadline:
                    raise TransportError(f"portvakt: {command.name} not delivered after "
                                         f"{attempt} attempt(s): {err}") from err
                await clock.sleep(wait)
                continue
            await self._succeeded()
            status = body.get("_status", 0)
            if status in (200, 201, 202):
                return CommandResult(True, vendor_ref=str(body.get("command_id") or "") or None)
            code = str(body.get("error") or f"http_{status}")
            message = str(body.get("message") or code)
            return CommandResult(False, f"{message} ({code})"[:300],
                                 vendor_ref=str(body.get("command_id") or "") or None)

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[Event]:
        if frame.transport == LINK_TRANSPORT:
            return self._decode_link(frame)
        try:
            raw = frame.json()
        except ValueError as err:
            raise PayloadError(f"body is not JSON: {err}", adapter=ADAPTER) from err
        try:
            ev = WebhookEvent.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PayloadError(f"event field {where or 'body'}: {first['msg']}",
                               adapter=ADAPTER) from err
        what = EVENT_TYPES.get(ev.type)
        if what is None:
            raise PayloadError(f"unknown event type {ev.type!r}", adapter=ADAPTER,
                               device=ev.lock.id)
        method = None
        user = None
        if ev.actor is not None:
            method = ACTOR_METHODS.get(ev.actor.type)
            if method is None and what in ("unlocked", "locked"):
                raise PayloadError(f"unknown actor type {ev.actor.type!r}", adapter=ADAPTER,
                                   device=ev.lock.id)
            user = ev.actor.user_ref
        happening = DoorHappening(
            what=what,  # type: ignore[arg-type]
            time=ev.occurred_at, method=method, user=user,
            deny_code=DENY_CODES.get(ev.reason or ""),
            deny_text=(f"refused by the lock ({ev.reason})" if ev.reason else None),
            battery_pct=ev.battery.percent if ev.battery else None,
            battery_low=ev.battery.low if ev.battery else None,
            tamper=(ev.tamper or {}).get("active"),
        )
        device = {"id": device_id(ADAPTER, ev.lock.id), "kind": DeviceKind.DOOR_LOCK,
                  "vendor": VENDOR, "model": ev.lock.model, "serial": ev.lock.serial}
        source = {"adapter": ADAPTER, "protocol": PROTOCOL, "ref": ev.event_id}
        try:
            return events_for(happening, tenant=frame.tenant, device=device, source=source)
        except ContractError as err:
            raise PayloadError(str(err), adapter=ADAPTER, device=ev.lock.id) from err

    def _decode_link(self, frame: RawFrame) -> list[Event]:
        try:
            state = LinkState.model_validate_json(frame.payload)
        except ValidationError as err:
            raise PayloadError(f"link state: {err.errors()[0]['msg']}", adapter=ADAPTER) \
                from err
        return link_events(ADAPTER, LINK_ADDRESS, state.state, state.reason, state.since,
                           frame.tenant, PROTOCOL, VENDOR)
