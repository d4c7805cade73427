"""A GPS alarm watch and the Stigfinnare cloud that pushes its messages to Navet.

:class:`StigfinnareCloud` is the vendor's side of contracts/vendors/stigfinnare.md,
written from that document (not from the adapter): it signs each JSON message with the
organisation's secret (HMAC-SHA256 over ``"<timestamp>." + body``) and POSTs it over real
HTTP to ``{http_url}/ingress/<instance id>/<path>``, retrying 5xx answers like the vendor
cloud promises to.

:class:`GpsTracker` is one watch on one resident. Its script, repeated each day:
fixes at home every 5 minutes with a few metres of jitter, heartbeats with the battery
every 15 minutes; two minutes in, the resident walks out (a fix every 30 s, 35 m north
each), wanders about 400 m from home, presses SOS out there, and walks back. The
battery drains 1 % per heartbeat, is reported low at 20 % and charged at 10 %. All
times are the clock's own, so on a :class:`gateway.FakeClock` a test walks a night in
milliseconds; at night the walk leaves the demo resident's night-time fence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from gateway import Clock

from .runner import ScenarioRunner

log = logging.getLogger(__name__)

FAMILY = "stigfinnare"
DAY = 24 * 3600.0
M_PER_DEG_LAT = 111_195.0

DEMO_HOME = (59.61420, 16.54480)
"""(lat, lon) of the demo resident's home; gateway/demo/municipality.yaml draws the fence
around it (a square of about 160 m)."""

HEARTBEAT_S = 900
HOME_FIX_S = 300
WALK_OUT_AT = 120.0
STEP_S = 30.0
STEP_M = 35.0
STEPS = 12
WANDER_FIXES = 6
WANDER_S = 60.0


def walk_script() -> list[tuple[float, float, str]]:
    """The walk as (seconds after its start, metres north of home, message type)."""
    out: list[tuple[float, float, str]] = []
    t = 0.0
    for i in range(1, STEPS + 1):  # out
        out.append((t, i * STEP_M, "position"))
        t += STEP_S
    far = STEPS * STEP_M
    for i in range(WANDER_FIXES):  # about, out there
        out.append((t, far + (15 if i % 2 else 0), "position"))
        if i == WANDER_FIXES // 2:
            out.append((t + 1, far + 5, "sos"))
        t += WANDER_S
    for i in range(STEPS - 1, -1, -1):  # back home
        out.append((t, i * STEP_M, "position"))
        t += STEP_S
    return out


class StigfinnareCloud:
    """Signs and POSTs messages for one organisation, as the vendor's cloud does."""

    def __init__(self, url: str, organisation: str, secret: str, clock: Clock, *,
                 client: httpx.AsyncClient | None = None, retries: int = 3) -> None:
        self.url = url
        self.organisation = organisation
        self.secret = secret.encode()
        self.clock = clock
        self.retries = retries
        self._client = client
        self.answers: list[int] = []

    def headers(self, body: bytes) -> dict[str, str]:
        timestamp = int(self.clock.now().timestamp())
        digest = hmac.new(self.secret, f"{timestamp}.".encode() + body,
                          hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json",
                "X-Stigfinnare-Organisation": self.organisation,
                "X-Stigfinnare-Timestamp": str(timestamp),
                "X-Stigfinnare-Signature": f"v1={digest}"}

    async def post(self, message: dict[str, Any]) -> int:
        """POST one message; the status of the last attempt (5xx is retried)."""
        body = json.dumps(message, separators=(",", ":")).encode()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0)
        status = 0
        for _ in range(self.retries):
            r = await self._client.post(self.url, content=body, headers=self.headers(body))
            status = r.status_code
            if status < 500:
                break
        self.answers.append(status)
        if status >= 300:
            log.warning("Stigfinnare cloud: %s answered %d for message %s", self.url, status,
                        message.get("id"))
        return status

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class GpsTracker:
    """One GPS watch on one resident, reporting through a :class:`StigfinnareCloud`."""

    family = FAMILY

    def __init__(self, cloud: StigfinnareCloud, clock: Clock, imei: str, *, name: str = "",
                 home: tuple[float, float] = DEMO_HOME, model: str = "Stigfinnare S2",
                 battery: int = 60, seed: int = 0) -> None:
        self.cloud = cloud
        self.clock = clock
        self.imei = imei
        self.name = name or imei
        self.home = home
        self.model = model
        self.battery = battery
        self.rng = random.Random(f"{seed}:{imei}")
        self.published = 0
        self.failed = 0
        self._n = 0

    # ------------------------------------------------------------------ messages

    def _message(self, kind: str, **extra: Any) -> dict[str, Any]:
        now = self.clock.now()
        self._n += 1
        return {"v": 1, "id": f"{self.imei}-{int(now.timestamp() * 1000)}-{self._n}",
                "type": kind, "time": now.isoformat().replace("+00:00", "Z"),
                "device": {"imei": self.imei, "model": self.model}, **extra}

    def _position(self, north_m: float, *, jitter_m: float = 4.0) -> dict[str, Any]:
        lat0, lon0 = self.home
        north = north_m + self.rng.uniform(-jitter_m, jitter_m)
        east = self.rng.uniform(-jitter_m, jitter_m)
        lat = lat0 + north / M_PER_DEG_LAT
        lon = lon0 + east / (M_PER_DEG_LAT * math.cos(math.radians(lat0)))
        return {"lat": round(lat, 7), "lon": round(lon, 7),
                "accuracy_m": round(self.rng.uniform(5, 12), 1), "source": "gps",
                "time": self.clock.now().isoformat().replace("+00:00", "Z")}

    async def send(self, message: dict[str, Any]) -> None:
        try:
            status = await self.cloud.post(message)
        except httpx.HTTPError as err:
            self.failed += 1
            log.warning("Stigfinnare cloud could not reach Navet: %s", err)
            return
        if status < 300:
            self.published += 1
        else:
            self.failed += 1

    def _battery(self) -> dict[str, Any]:
        return {"level_pct": self.battery, "low": self.battery <= 20,
                "charging": False}

    async def heartbeat(self) -> None:
        self.battery = max(0, self.battery - 1)
        if self.battery <= 10:
            self.battery = 100  # the home-care staff charged it
        await self.send(self._message("heartbeat", interval_s=HEARTBEAT_S,
                                      battery=self._battery()))
        if self.battery == 20:
            await self.send(self._message("battery", battery=self._battery()))

    def at(self, north_m: float, kind: str) -> Callable[[], Awaitable[None]]:
        async def act() -> None:
            extra: dict[str, Any] = {"position": self._position(north_m)}
            if kind == "position":
                extra["trigger"] = "movement" if north_m else "periodic"
            await self.send(self._message(kind, **extra))
        return act

    # ------------------------------------------------------------------ script

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        runner.every(HEARTBEAT_S, self.heartbeat, name=f"{self.name} heartbeat")
        walk = walk_script()
        back_at = WALK_OUT_AT + walk[-1][0]
        for day in range(days):
            base = day * DAY
            for t, north, kind in walk:
                runner.at(base + WALK_OUT_AT + t, self.at(north, kind),
                          name=f"{self.name} walk {kind}")
            t = 0.0
            while t < DAY:
                if not WALK_OUT_AT <= t <= back_at:
                    runner.at(base + t + 1, self.at(0.0, "position"),
                              name=f"{self.name} fix at home")
                t += HOME_FIX_S


def trackers(ctx: Any, devices: list[Any]) -> list[GpsTracker]:
    """The simulator factory: one watch per configured GPS device, one cloud per instance.

    Needs ``ctx.http_url`` (the gateway's HTTP address) and ``ctx.instance_id``; without
    them there is nowhere to push, which is reported and builds nothing.
    """
    if not ctx.http_url or not ctx.instance_id:
        log.warning("stigfinnare simulator: no HTTP address of the gateway in the "
                    "simulator context; GPS trackers not started")
        return []
    settings = ctx.settings
    path = str(settings.get("path", "v1/messages")).strip("/")
    cloud = StigfinnareCloud(f"{ctx.http_url}/ingress/{ctx.instance_id}/{path}",
                             str(settings["organisation"]), str(settings["secret"]), ctx.clock)
    return [GpsTracker(cloud, ctx.clock, d.address, name=f"{ctx.tenant}/{d.address}",
                       seed=ctx.seed) for d in devices]
