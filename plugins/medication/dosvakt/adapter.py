"""The Dosvakt cloud adapter: a webhook for dose-event pushes and a watchdog on the link.

The Dosvakt cloud pushes batches of events to ``POST /ingress/<instance>/<path>``
with the organisation's API key (``X-Api-Key`` or ``Authorization: Bearer``).
It also sends an ``ALIVE`` message when the link is set up, when someone presses
"test connection" in the Dosvakt portal, and every ``intervalS`` seconds.

Answers (the vendor's retry logic depends on them, see contracts/vendors/dosvakt.md):

- 200 once every event of the batch is durably stored (or was already): new and
  duplicate counts, and ``"alive": true`` when the batch held an ``ALIVE``.
- 401 for a missing or wrong key. Nothing is decoded or stored, not even as a
  dead letter: a request without the key is not the vendor's, and keeping it
  would let anyone who finds the URL fill the disk. Failures are counted
  (``health()``) and logged at most once a minute, without the key.
- 422 with the reason when an authenticated batch cannot be read; the frame is
  kept once as a dead letter. 4xx answers are final: the vendor must not retry them.
- 503 (from the ingress route) when the store cannot write: retry later.

The watchdog: any authenticated request proves the link works. When none comes
within the announced interval plus ``alive_grace_s``, Navet stores
``device.offline`` for the link device ``dosvakt:link-<instance>`` (which the
core turns into a ``technical.link_lost`` alarm); the next request stores
``device.online`` and the alarm closes. The catch-up after an outage is just the
vendor's queue: events keep their ``eventId``, so a resend is a duplicate, never a
second event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any, ClassVar

from gateway import (
    AdapterBase,
    AdapterHost,
    DeviceKind,
    Event,
    Manifest,
    NavetError,
    RawFrame,
    WebhookRequest,
    WebhookResponse,
)

from ..const import DOSVAKT, WATCHDOG
from .decode import decode_batch
from .models import DosvaktSettings

log = logging.getLogger(__name__)

AUTH_LOG_EVERY_S = 60.0


class DosvaktAdapter(AdapterBase):
    """Receive Dosvakt cloud pushes; supervise the push link."""

    manifest: ClassVar[Manifest] = Manifest(
        name=DOSVAKT,
        vendor="Dosvakt (dispenser vendor cloud, REST push)",
        description="Medication dispensers via the Dosvakt cloud: dose events pushed over "
                    "HTTPS with a per-organisation API key, I'm-alive link supervision",
        device_kinds=(DeviceKind.MEDICATION_DISPENSER, DeviceKind.OTHER),
        transports=("webhook",),
        contract=">=1.0,<2",
        permissions=("http:ingress",),
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = DosvaktSettings.model_validate(self.settings)
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = ""
        self._interval = self.config.alive_interval_s
        self._last_contact: datetime | None = None
        self._link = "unknown"  # unknown | up | down
        self._down_since: datetime | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.auth_failures = 0
        self._auth_logged: datetime | None = None
        self._auth_unlogged = 0

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[Event]:
        return decode_batch(frame)

    # ------------------------------------------------------------------ I/O

    async def start(self, host: AdapterHost) -> None:
        if not self.config.digests():
            raise NavetError(
                f"adapter {DOSVAKT} ({getattr(host, 'instance_id', '?')}): no API key "
                "configured; set settings.api_key_sha256 (or api_keys)")
        self._host = host
        self._tenant = getattr(host, "tenant", "")
        self._instance = getattr(host, "instance_id", "")
        self._last_contact = host.clock.now()  # a fresh start gives the vendor one interval
        host.add_webhook(self.config.path, self.handle)
        self._task = asyncio.create_task(self._watch(), name=f"{self._instance}-watchdog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def health(self) -> dict[str, Any]:
        """The link as operators see it (no secrets)."""
        return {
            "link": self._link,
            "last_contact": self._last_contact.isoformat() if self._last_contact else None,
            "alive_interval_s": self._interval,
            "down_since": self._down_since.isoformat() if self._down_since else None,
            "auth_failures": self.auth_failures,
        }

    async def handle(self, request: WebhookRequest) -> WebhookResponse:
        """One push from the Dosvakt cloud (the ingress route has read the body already)."""
        assert self._host is not None
        if not self.config.accepts(_key(request)):
            return self._unauthorised(request)
        body = request.body
        now = self._host.clock.now()
        await self._contact(now)
        frame = RawFrame(adapter=DOSVAKT, tenant=self._tenant, transport="https",
                         address=self.config.path, payload=body, received=now,
                         instance=self._instance)
        result = await self._host.ingest(frame)  # StoreUnavailableError -> 503 upstream
        if result.dead_letter is not None:
            return WebhookResponse(
                {"status": "rejected", "detail": result.reason,
                 "deadLetter": result.dead_letter}, status=422)
        alive = self._announced(body)
        return WebhookResponse({
            "status": "ok", "accepted": len(result.accepted),
            "duplicates": len(result.duplicates), "alive": alive,
            "link": self._link, "receivedAt": now.isoformat(),
        })

    # ------------------------------------------------------------------ auth

    def _unauthorised(self, request: WebhookRequest) -> WebhookResponse:
        assert self._host is not None
        self.auth_failures += 1
        self._auth_unlogged += 1
        now = self._host.clock.now()
        if self._auth_logged is None or \
                (now - self._auth_logged).total_seconds() >= AUTH_LOG_EVERY_S:
            peer = request.client or "?"
            log.warning("%s: %d request(s) with a missing or wrong API key refused (last from "
                        "%s)", self._instance, self._auth_unlogged, peer)
            self._auth_logged, self._auth_unlogged = now, 0
        return WebhookResponse(
            {"status": "unauthorized",
             "detail": "missing or wrong API key (send X-Api-Key or Authorization: Bearer)"},
            status=401, headers={"WWW-Authenticate": 'Bearer realm="navet"'})

    # ------------------------------------------------------------------ link watchdog

    def _announced(self, body: bytes) -> bool:
        """Pick up the interval an ALIVE announces (the batch is stored and valid)."""
        alive = False
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            for item in json.loads(body).get("events", []):
                if isinstance(item, dict) and item.get("type") == "ALIVE":
                    alive = True
                    interval = (item.get("alive") or {}).get("intervalS")
                    if isinstance(interval, int) and 10 <= interval <= 86_400 \
                            and interval != self._interval:
                        self._interval = interval
                        self._wake.set()
        return alive

    async def _contact(self, now: datetime) -> None:
        """An authenticated request arrived: the link is up (tell the core if it was down)."""
        async with self._lock:
            if self._link == "down" and self._last_contact is not None:
                silent = max(0, int((now - self._last_contact).total_seconds()))
                await self._ingest_link({"link": "up", "at": now.isoformat(),
                                         "lastContact": self._last_contact.isoformat(),
                                         "silentS": silent})
                log.info("%s: Dosvakt push link up again after %d s", self._instance, silent)
                self._down_since = None
            self._link = "up"
            if self._last_contact is None or now > self._last_contact:
                self._last_contact = now
            self._wake.set()

    async def _watch(self) -> None:
        assert self._host is not None
        clock = self._host.clock
        while True:
            self._wake.clear()
            try:
                async with self._lock:
                    assert self._last_contact is not None
                    deadline = self._last_contact + timedelta(
                        seconds=self._interval + self.config.alive_grace_s)
                    wait = (deadline - clock.now()).total_seconds()
                    if wait <= 0 and self._link != "down":
                        await self._ingest_link({
                            "link": "down", "at": deadline.isoformat(),
                            "lastContact": self._last_contact.isoformat(),
                            "intervalS": self._interval + self.config.alive_grace_s})
                        log.warning("%s: no push from the Dosvakt cloud since %s; link down",
                                    self._instance, self._last_contact.isoformat())
                        self._link, self._down_since = "down", deadline
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: link watchdog failed; retrying in 5 s", self._instance)
                await clock.sleep(5)
                continue
            await _sleep_or_wake(clock, wait if wait > 0 else None, self._wake)

    async def _ingest_link(self, body: dict[str, Any]) -> None:
        assert self._host is not None
        frame = RawFrame(adapter=DOSVAKT, tenant=self._tenant, transport=WATCHDOG,
                         address="link", payload=json.dumps(body).encode(),
                         received=self._host.clock.now(), instance=self._instance)
        await self._host.ingest(frame)


def _key(request: WebhookRequest) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _sleep_or_wake(clock: Any, seconds: float | None, wake: asyncio.Event) -> None:
    """Sleep ``seconds`` on the injected clock (forever if None) or until ``wake`` is set."""
    if wake.is_set():
        return
    tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(wake.wait())]
    if seconds is not None:
        tasks.append(asyncio.ensure_future(clock.sleep(max(0.0, seconds))))
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
