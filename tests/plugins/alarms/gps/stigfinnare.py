"""Test helpers for the Stigfinnare GPS alarms: a demo fence, messages, signing by hand.

Signing here is written from contracts/vendors/stigfinnare.md, not imported from the
adapter, so a test that passes proves the document and the code agree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from datetime import datetime
from typing import Any

from gateway import FakeClock, RawFrame
from gateway.core.gateway import Gateway

TENANT = "vasteras"
ORG = "org-vasteras-7"
SECRET = "s3cret-for-tests-0123456789abcdef-XYZ"
OLD_SECRET = "previous-secret-0123456789abcdef-ABC"
IMEI = "356938035643809"
DEVICE = f"stigfinnare:{IMEI}"
RESIDENT = "r-1001"
HOME = (59.6142, 16.5448)  # lat, lon
M_PER_DEG = 111_195.0
HALF = 80.0  # the home fence is a square of 160 m around HOME


def offset(north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    lat0, lon0 = HOME
    return (lat0 + north_m / M_PER_DEG,
            lon0 + east_m / (M_PER_DEG * math.cos(math.radians(lat0))))


def square(half_m: float) -> dict[str, Any]:
    """A GeoJSON Polygon: a square of 2 x ``half_m`` around HOME, counter-clockwise."""
    corners = [offset(-half_m, -half_m), offset(-half_m, half_m), offset(half_m, half_m),
               offset(half_m, -half_m)]
    ring = [[lon, lat] for lat, lon in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


NIGHT = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
          "start": "22:00", "end": "07:00"}]


def care(geofences: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    fences = geofences if geofences is not None else [
        {"id": "hemma", "resident": RESIDENT, "name": "Hemma", "kind": "home",
         "geometry": square(HALF), "windows": NIGHT}]
    return {"tenants": [{
        "id": TENANT, "name": "Västerås stad", "timezone": "Europe/Stockholm",
        "residents": [{"id": RESIDENT, "label": "Lgh 1102"}],
        "devices": [{"adapter": "stigfinnare", "address": IMEI, "kind": "gps_alarm",
                     "resident": RESIDENT}],
        "geofences": fences,
    }]}


def instance_settings(**extra: Any) -> dict[str, Any]:
    return {"organisation": ORG, "secret": SECRET, **extra}


def message(clock: FakeClock, kind: str, n: int, *, north_m: float | None = None,
            east_m: float = 0.0, accuracy: float | None = 8.0, at: datetime | None = None,
            **extra: Any) -> dict[str, Any]:
    now = (at or clock.now()).isoformat()
    msg: dict[str, Any] = {"v": 1, "id": f"m-{n}", "type": kind, "time": now,
                           "device": {"imei": IMEI, "model": "S2"}, **extra}
    if north_m is not None:
        lat, lon = offset(north_m, east_m)
        msg["position"] = {"lat": lat, "lon": lon, "accuracy_m": accuracy, "time": now}
    return msg


def signed_headers(body: bytes, at: datetime, secret: str = SECRET,
                   org: str = ORG) -> dict[str, str]:
    ts = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Stigfinnare-Organisation": org, "X-Stigfinnare-Timestamp": str(ts),
            "X-Stigfinnare-Signature": f"v1={digest}", "Content-Type": "application/json"}


class Watch:
    """Sends Stigfinnare messages through the gateway's pipeline (decode, store, rules)."""

    def __init__(self, gw: Gateway, clock: FakeClock) -> None:
        self.gw, self.clock, self.n = gw, clock, 0

    async def send(self, kind: str, **kw: Any) -> None:
        self.n += 1
        body = json.dumps(message(self.clock, kind, self.n, **kw)).encode()
        result = await self.gw.ingest(RawFrame("stigfinnare", TENANT, "webhook",
                                               "/v1/messages", body, self.clock.now()))
        assert result.accepted, result.reason

    async def fix(self, north_m: float, **kw: Any) -> None:
        await self.send("position", north_m=north_m, **kw)
