"""Where a GPS alarm is: ``GET /api/v1/alarms/{id}/map``.

The console draws a GPS alarm's position with the resident's geofences and the device's
recent track (docs/console.md, "Larmkö"). This route hands it everything for that one
alarm, read under the same rule as the alarm itself (whoever may read the alarm may see
where it is; the resident's other data and other residents' fences stay out of it):

- ``position``: where the alarm is, the alarm's own location point, else the newest
  position an ``alarm.updated`` gave it (an SOS without a fix gets the last known one);
- ``fences``: the resident's geofences from the care configuration, each with whether it
  is enforced now (its time windows, in the tenant's time zone) and how many metres the
  alarm's position is outside it (0 inside), measured by :mod:`gateway.core.geo`, the
  same geometry the geofence rule decides with;
- ``outside_m``: metres outside every fence (0 when inside any; null without fences or a
  position): the number the map's text alternative says;
- ``track``: the device's fixes (``position.reported``) from ``TRACK_BEFORE_S`` before the
  alarm until now, oldest first, at most ``TRACK_MAX``;
- ``timezone``: the tenant's, so every screen says the municipality's clock time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from gateway.core.care import tenant_care
from gateway.core.geo import Area
from gateway.core.model import GeoPoint
from gateway.core.rules.geofence import enforced

from ..deps import AlarmsDep, ClockDep, StoreDep, TenantScope
from .alarms import CONFLICT, AlarmId

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

TRACK_BEFORE_S: Final = 3600
"""The track starts this long before the alarm was raised."""
TRACK_MAX: Final = 200
"""At most this many fixes, the newest ones."""


class MapPosition(BaseModel):
    time: str | None = Field(description="When the position was taken (ISO 8601).")
    lat: float
    lon: float
    accuracy_m: float | None


class MapFence(BaseModel):
    id: str
    name: str
    kind: str = Field(description="home or allowed (care configuration ``geofences``).")
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, WGS-84.")
    margin_m: float
    enforced: bool = Field(description="Whether leaving it raises an alarm now (its windows, "
                           "in the tenant's time zone).")
    outside_m: float | None = Field(description="Metres the alarm's position is outside this "
                                    "fence, 0 inside; null without a position.")


class AlarmMap(BaseModel):
    """One alarm's position, the resident's geofences and the device's recent track."""

    alarm: str
    resident: str | None
    device: str | None
    position: MapPosition | None
    outside_m: float | None = Field(description="Metres outside every fence, 0 when inside "
                                    "any; null without fences or a position.")
    fences: list[MapFence]
    track: list[MapPosition] = Field(description="The device's fixes, oldest first.")
    timezone: str = Field(description="The tenant's time zone (IANA), to show times in.")


def _position(point: GeoPoint, time: datetime | None) -> MapPosition:
    return MapPosition(time=time.isoformat() if time else None, lat=point.lat, lon=point.lon,
                       accuracy_m=point.accuracy_m)


@router.get("/{alarm}/map", response_model=AlarmMap, responses={404: CONFLICT[404]},
            summary="An alarm's position with the resident's geofences and recent track")
async def alarm_map(alarms: AlarmsDep, clock: ClockDep, store: StoreDep, tenant: TenantScope,
                    alarm: AlarmId) -> AlarmMap:
    rec = await alarms.alarm(tenant.id, alarm)
    if rec is None or rec.state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alarm {alarm!r} in tenant "
                            f"{tenant.id!r}")
    where: MapPosition | None = None
    if rec.location is not None and rec.location.point is not None:
        where = _position(rec.location.point, rec.raised)
    else:
        for h in reversed(rec.history):
            point = getattr(h.data, "position", None)
            if isinstance(point, GeoPoint):
                where = _position(point, h.time)
                break
    now = clock.now()
    since = (rec.raised or now) - timedelta(seconds=TRACK_BEFORE_S)

    def read(conn: Any) -> tuple[list[Any], list[Any], str]:
        care = tenant_care(store, tenant.id)
        fences = [g for g in (care.geofences if care else []) if g.resident == rec.resident]
        fixes = []
        if rec.device is not None or rec.resident is not None:
            fixes = store.query_events(
                tenant.id, types=["position.reported"],
                device=rec.device.id if rec.device else None,
                resident=None if rec.device else rec.resident,
                since=since, limit=TRACK_MAX, newest_first=True)
        return fences, fixes, care.timezone if care else "Europe/Stockholm"

    fences, fixes, zone = await store.read(read)
    local = now.astimezone(ZoneInfo(zone))
    shown: list[MapFence] = []
    for g in fences:
        area = Area.from_geojson(g.geometry)
        out = area.outside_by_m(where.lat, where.lon) if where else None
        shown.append(MapFence(id=g.id, name=g.name or g.id, kind=g.kind,
                              geometry=dict(g.geometry), margin_m=g.margin_m,
                              enforced=enforced(g, local),
                              outside_m=round(out, 1) if out is not None else None))
    outside = (min(f.outside_m for f in shown if f.outside_m is not None)
               if where and shown else None)
    track = [_position(s.event.data.point, s.event.time) for s in reversed(fixes)]
    return AlarmMap(alarm=rec.id, resident=rec.resident,
                    device=rec.device.id if rec.device else None, position=where,
                    outside_m=outside, fences=shown, track=track, timezone=zone)
