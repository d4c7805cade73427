"""The Dosvakt vendor cloud: a real HTTP client pushing dose events to Navet's ingress.

It behaves as contracts/vendors/dosvakt.md tells a vendor cloud to behave:

- every event gets an ``eventId`` once and keeps it on every retry;
- events wait in an outgoing queue until Navet answers 2xx, and go out in order,
  at most ``batch`` per request; a connection error, 401, 429 or 5xx leaves them
  queued and a retry follows after ``retry_s``; any other 4xx is final (the batch
  is dropped and counted in ``rejected``);
- an ``ALIVE`` message when the link is set up and every ``alive_s`` seconds,
  never queued (a stale "I'm alive" means nothing).

:meth:`outage` and :meth:`restore` play a cloud outage: nothing leaves while it
lasts (events still happen at the dispensers and queue up), then the backlog is
pushed with the original ids. :meth:`replay_sent` resends what Navet already
acknowledged, as a cloud that lost its own bookkeeping would.

Scheduled actions only queue and start a background push, so the scenario
runner is never held up by the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from gateway import Clock

from .medication_day import CHECKIN_S, DoseScript, Happening
from .runner import ScenarioRunner

log = logging.getLogger(__name__)

FAMILY = "dosvakt"
FAULT_CODES = {"jam": "E-JAM", "mains": "E-POWER", "network": "E-NET", "hatch": "E-HATCH",
               "empty": "E-EMPTY"}
STEP_TYPES = {"due": "DOSE_DUE", "dispensed": "DOSE_DISPENSED", "taken": "DOSE_TAKEN",
              "missed": "DOSE_MISSED"}
NAMESPACE = uuid.UUID("3d0c5f8e-2b7a-4c61-9d3e-64f6a5b0c0de")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DosvaktCloud:
    """One organisation's Dosvakt cloud with its dispensers."""

    family = FAMILY

    def __init__(
        self,
        clock: Clock,
        url: str,
        api_key: str,
        dispensers: dict[str, DoseScript],
        *,
        name: str = "dosvakt",
        model: str = "Dosvakt R2",
        alive_s: int = 300,
        batch: int = 50,
        retry_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.clock = clock
        self.url = url
        self.api_key = api_key
        self.dispensers = dispensers
        self.name = name
        self.model = model
        self.alive_s = alive_s
        self.batch = batch
        self.retry_s = retry_s
        self.client = httpx.AsyncClient(timeout=10.0, transport=transport)
        self.queue: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.published = 0  # events Navet acknowledged (2xx), duplicates included
        self.duplicates = 0
        self.rejected = 0
        self.failures = 0
        self.alive_answers: list[dict[str, Any]] = []
        self.online = True
        self._counter = 0
        self._scheduled: dict[str, datetime] = {}
        self._push: asyncio.Task[None] | None = None
        self._retry: asyncio.Task[None] | None = None
        self._alives: list[asyncio.Task[Any]] = []

    # ------------------------------------------------------------------ the script

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        start = runner.now
        runner.at(start, lambda: self.alive_soon("setup"), f"{self.name} alive (setup)")
        runner.every(self.alive_s, lambda: self.alive_soon("periodic"),
                     start=start + self.alive_s, name=f"{self.name} alive")
        for serial, script in self.dispensers.items():
            for h in script.happenings(start, days=days):
                runner.at(h.at, _bind(self.happen, serial, h), f"{self.name} {serial} {h.what}")

    async def happen(self, serial: str, h: Happening) -> None:
        """Something happened at dispenser ``serial``: queue its event and push."""
        now = self.clock.now().replace(microsecond=0)
        body: dict[str, Any] = {"device": {"serial": serial, "model": self.model}}
        if h.what in STEP_TYPES:
            assert h.pouch is not None
            if h.what == "due":
                self._scheduled[h.pouch] = now
            scheduled = self._scheduled.setdefault(h.pouch, now)
            body.update(type=STEP_TYPES[h.what], dose={
                "pouchId": h.pouch, "scheduledAt": _iso(scheduled), "label": h.label})
        elif h.what == "refill":
            body.update(type="REFILL_NEEDED", refill={"remainingDoses": h.remaining})
        elif h.what == "fault":
            body.update(type="DEVICE_FAULT", fault={
                "code": FAULT_CODES.get(h.fault or "", "E-OTHER"), "active": h.active,
                "description": f"{h.fault} ({'on' if h.active else 'cleared'})"})
        elif h.what == "battery":
            assert h.level is not None
            body.update(type="BATTERY", battery={"levelPct": h.level, "low": h.level <= 20})
        elif h.what == "checkin":
            body.update(type="DEVICE_CHECKIN", checkin={"intervalS": CHECKIN_S})
        else:
            raise ValueError(f"unknown happening {h.what!r}")
        self.queue.append(self._event(now, body))
        self.kick()

    def _event(self, now: datetime, body: dict[str, Any]) -> dict[str, Any]:
        self._counter += 1
        eid = str(uuid.uuid5(NAMESPACE, f"{self.name}/{self._counter}"))
        return {"eventId": eid, "type": body.pop("type"), "occurredAt": _iso(now), **body}

    # ------------------------------------------------------------------ the link

    async def alive_soon(self, reason: str) -> None:
        """Send "I'm alive" in the background (a scheduled action must not wait on HTTP)."""
        self._alives = [t for t in self._alives if not t.done()]
        self._alives.append(asyncio.create_task(self.alive(reason), name=f"{self.name}-alive"))

    async def drain(self) -> None:
        """Wait until the pushes and I'm-alive messages under way are answered."""
        while True:
            busy = [t for t in (self._push, *self._alives) if t is not None and not t.done()]
            if not busy:
                return
            await asyncio.wait(busy)

    async def alive(self, reason: str = "periodic") -> dict[str, Any] | None:
        """Send "I'm alive" now (not queued); Navet's answer, or None if it did not come."""
        if not self.online:
            return None
        ev = self._event(self.clock.now(), {"type": "ALIVE",
                                            "alive": {"intervalS": self.alive_s,
                                                      "reason": reason}})
        try:
            resp = await self._post([ev])
        except httpx.HTTPError as err:
            self.failures += 1
            log.info("%s: I'm-alive not delivered: %s", self.name, err)
            return None
        answer: dict[str, Any] = resp.json() if resp.status_code == 200 else {
            "status": resp.status_code}
        self.alive_answers.append(answer)
        return answer

    def outage(self) -> None:
        """The cloud stops pushing (its events keep happening and queue up)."""
        self.online = False

    def restore(self) -> None:
        self.online = True
        self.kick()

    def kick(self) -> None:
        """Start a background push unless one runs or the cloud is down."""
        if self.online and self.queue and (self._push is None or self._push.done()):
            self._push = asyncio.create_task(self.flush(), name=f"{self.name}-push")

    async def flush(self) -> bool:
        """Push the queue in order; True when it is empty. Stops at the first failure."""
        while self.queue and self.online:
            batch = self.queue[:self.batch]
            try:
                resp = await self._post(batch)
            except httpx.HTTPError as err:
                self.failures += 1
                log.info("%s: push failed (%s); retrying in %g s", self.name, err, self.retry_s)
                self._later()
                return False
            if resp.status_code in (401, 429) or resp.status_code >= 500:
                self.failures += 1
                log.info("%s: push answered %d; retrying in %g s", self.name, resp.status_code,
                         self.retry_s)
                self._later()
                return False
            del self.queue[:len(batch)]
            if resp.status_code >= 400:
                self.rejected += len(batch)  # final: the vendor's support would look at it
                log.warning("%s: batch rejected: %s", self.name, resp.text[:300])
                continue
            answer = resp.json()
            self.sent += batch
            self.published += len(batch)
            self.duplicates += int(answer.get("duplicates", 0))
        return not self.queue

    async def replay_sent(self) -> dict[str, Any]:
        """Resend everything already acknowledged (a cloud that lost its bookkeeping)."""
        total = {"accepted": 0, "duplicates": 0}
        for i in range(0, len(self.sent), self.batch):
            resp = await self._post(self.sent[i:i + self.batch])
            resp.raise_for_status()
            for k in total:
                total[k] += int(resp.json().get(k, 0))
        return total

    def _later(self) -> None:
        if self._retry is None or self._retry.done():
            self._retry = asyncio.create_task(self._retry_after(), name=f"{self.name}-retry")

    async def _retry_after(self) -> None:
        await self.clock.sleep(self.retry_s)
        self.kick()

    async def _post(self, events: list[dict[str, Any]]) -> httpx.Response:
        return await self.client.post(self.url, json={"events": events},
                                      headers={"X-Api-Key": self.api_key})

    async def stop(self) -> None:
        for task in (self._push, self._retry, *self._alives):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.client.aclose()


def _bind(fn: Any, *args: Any) -> Any:
    async def action() -> None:
        await fn(*args)

    return action


def clouds(ctx: Any, devices: list[Any]) -> list[DosvaktCloud]:
    """The registry factory: one simulated Dosvakt cloud per adapter instance.

    It pushes to ``{ctx.http_url}/ingress/<instance>/<path>`` with the first key in
    clear from the instance's settings (``api_keys``); without an HTTP URL or a
    clear key there is nothing it could push to, and it is left out. The first
    dispenser (by serial) misses its first dose.
    """
    keys = ctx.settings.get("api_keys") or []
    if not ctx.http_url or not keys:
        log.warning("dosvakt simulator for %s left out: it needs the gateway's HTTP URL and "
                    "an api_keys entry in clear", ctx.tenant)
        return []
    instance = ctx.instance_id or f"{FAMILY}-{ctx.tenant}"
    url = f"{ctx.http_url.rstrip('/')}/ingress/{instance}/{ctx.settings.get('path', 'events')}"
    scripts = {dev.address: DoseScript(dev.address, seed=ctx.seed, misses_first=i == 0)
               for i, dev in enumerate(sorted(devices, key=lambda d: d.address))}
    return [DosvaktCloud(ctx.clock, url, str(keys[0]), scripts, name=f"{ctx.tenant}/dosvakt")]
