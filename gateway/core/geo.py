"""WGS-84 geometry for geofences: GeoJSON areas, point-in-polygon, distance to the edge.

An :class:`Area` is a GeoJSON ``Polygon`` or ``MultiPolygon`` (RFC 7946: positions are
``[lon, lat]``, the first ring of a polygon is its outline and the others are holes).
:meth:`Area.from_geojson` validates it and says exactly what is wrong, so a care
configuration with a broken fence is refused when it is loaded, not at 03:00 when a
resident walks out.

Containment is ray casting (even-odd) on the lon/lat plane. That is exact for the
question "which side of each edge" as long as an area does not cross the antimeridian
(refused) and its edges are short enough that a straight line in lon/lat is the edge
people meant (true for fences of a few kilometres). Distances to the edge are in metres
on a local equirectangular projection around the point, accurate to well under a metre
at fence scale, which is far below any GPS accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""

Position = tuple[float, float]
"""(lon, lat), the GeoJSON order."""
Ring = tuple[Position, ...]
Polygon = tuple[Ring, ...]
"""The outline first, then the holes."""


class GeometryError(ValueError):
    """A GeoJSON area that cannot be used as a geofence; the message says where and why."""


def ring_contains(ring: Ring, lon: float, lat: float) -> bool:
    """Whether (lon, lat) is inside the closed ``ring`` (ray casting, even-odd rule).

    A horizontal ray goes from the point towards +lon; each edge it crosses flips the
    answer. The half-open test ``(lat1 > lat) != (lat2 > lat)`` counts a vertex exactly
    on the ray once, never twice. Points exactly on an edge may fall either way.
    """
    inside = False
    for i in range(len(ring) - 1):
        lon1, lat1 = ring[i]
        lon2, lat2 = ring[i + 1]
        if (lat1 > lat) != (lat2 > lat):
            crossing = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < crossing:
                inside = not inside
    return inside


def polygon_contains(polygon: Polygon, lon: float, lat: float) -> bool:
    """Inside the outline and not inside any hole."""
    outline, *holes = polygon
    return ring_contains(outline, lon, lat) and not any(
        ring_contains(hole, lon, lat) for hole in holes)


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float,
                      by: float) -> float:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def edge_distance_m(polygons: Sequence[Polygon], lon: float, lat: float) -> float:
    """Metres from (lon, lat) to the nearest edge of any ring (holes included)."""
    k = math.pi / 180 * EARTH_RADIUS_M
    kx = k * math.cos(math.radians(lat))
    best = math.inf
    for polygon in polygons:
        for ring in polygon:
            for i in range(len(ring) - 1):
                (lon1, lat1), (lon2, lat2) = ring[i], ring[i + 1]
                best = min(best, _segment_distance(
                    0.0, 0.0, (lon1 - lon) * kx, (lat1 - lat) * k,
                    (lon2 - lon) * kx, (lat2 - lat) * k))
    return best


def ring_area(ring: Ring) -> float:
    """Signed area on the lon/lat plane (shoelace); positive when counter-clockwise."""
    return sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1]
               for i in range(len(ring) - 1)) / 2


@dataclass(frozen=True)
class Area:
    """A validated GeoJSON Polygon or MultiPolygon."""

    polygons: tuple[Polygon, ...]
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

    def contains(self, lat: float, lon: float) -> bool:
        min_lon, min_lat, max_lon, max_lat = self.bbox
        if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
            return False
        return any(polygon_contains(p, lon, lat) for p in self.polygons)

    def edge_distance_m(self, lat: float, lon: float) -> float:
        return edge_distance_m(self.polygons, lon, lat)

    def outside_by_m(self, lat: float, lon: float) -> float:
        """How far outside the area the point is, in metres; 0 when it is inside."""
        return 0.0 if self.contains(lat, lon) else self.edge_distance_m(lat, lon)

    @classmethod
    def from_geojson(cls, obj: Any) -> Area:
        """Validate a GeoJSON geometry object. :raises GeometryError: naming what is wrong."""
        if not isinstance(obj, Mapping):
            raise GeometryError("must be a GeoJSON geometry object with 'type' Polygon or "
                                f"MultiPolygon, got {type(obj).__name__}")
        kind = obj.get("type")
        coords = obj.get("coordinates")
        if kind not in ("Polygon", "MultiPolygon"):
            raise GeometryError(f"type {kind!r} is not supported; a geofence is a GeoJSON "
                                "Polygon or MultiPolygon")
        if not isinstance(coords, list) or not coords:
            raise GeometryError(f"{kind} needs a non-empty 'coordinates' list")
        raw_polygons = [coords] if kind == "Polygon" else coords
        polygons = tuple(_polygon(p, i, kind == "MultiPolygon")
                         for i, p in enumerate(raw_polygons))
        lons = [lon for poly in polygons for lon, _ in poly[0]]
        lats = [lat for poly in polygons for _, lat in poly[0]]
        if max(lons) - min(lons) > 180:
            raise GeometryError("the area spans more than 180 degrees of longitude (it would "
                                "cross the antimeridian), which geofences do not support")
        return cls(polygons, (min(lons), min(lats), max(lons), max(lats)))


def _polygon(raw: Any, index: int, multi: bool) -> Polygon:
    where = f"polygon {index}: " if multi else ""
    if not isinstance(raw, list) or not raw:
        raise GeometryError(f"{where}a polygon is a non-empty list of rings")
    rings = tuple(_ring(r, f"{where}{'outline' if j == 0 else f'hole {j}'}")
                  for j, r in enumerate(raw))
    outline = rings[0]
    for j, hole in enumerate(rings[1:], start=1):
        if not ring_contains(outline, *_centroid_hint(hole)):
            raise GeometryError(f"{where}hole {j} lies outside the polygon's outline")
    return rings


def _centroid_hint(ring: Ring) -> Position:
    """A point inside ``ring`` good enough to tell which side of the outline a hole is on."""
    n = len(ring) - 1
    lon = sum(p[0] for p in ring[:n]) / n
    lat = sum(p[1] for p in ring[:n]) / n
    if ring_contains(ring, lon, lat):
        return lon, lat
    return ring[0]


def _ring(raw: Any, where: str) -> Ring:
    if not isinstance(raw, list):
        raise GeometryError(f"{where}: a ring is a list of [lon, lat] positions, "
                            f"got {type(raw).__name__}")
    if len(raw) < 4:
        raise GeometryError(f"{where}: a ring needs at least 4 positions (3 corners and the "
                            f"first repeated at the end), got {len(raw)}")
    ring = tuple(_position(p, f"{where}, position {k}") for k, p in enumerate(raw))
    if ring[0] != ring[-1]:
        raise GeometryError(f"{where}: the ring is not closed: it starts at "
                            f"{list(ring[0])} and ends at {list(ring[-1])}; repeat the "
                            "first position at the end")
    if len(set(ring)) < 3 or ring_area(ring) == 0:
        raise GeometryError(f"{where}: the ring encloses no area (its positions lie on "
                            "one line or repeat)")
    return ring


def _position(raw: Any, where: str) -> Position:
    if (not isinstance(raw, list) or len(raw) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)):
        raise GeometryError(f"{where}: must be [lon, lat] (numbers, optionally an altitude), "
                            f"got {raw!r}")
    try:
        lon, lat = float(raw[0]), float(raw[1])
    except OverflowError:
        lon = lat = math.inf  # refused just below, with the value named
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise GeometryError(f"{where}: longitude {raw[0]!r} is outside -180..180 (GeoJSON "
                            "positions are [lon, lat])")
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise GeometryError(f"{where}: latitude {raw[1]!r} is outside -90..90 (GeoJSON "
                            "positions are [lon, lat])")
    return lon, lat


def _checked_area(value: dict[str, Any]) -> dict[str, Any]:
    Area.from_geojson(value)
    return value


GeoJsonArea = Annotated[
    dict[str, Any],
    AfterValidator(_checked_area),
    Field(description="GeoJSON Polygon or MultiPolygon, WGS-84, positions [lon, lat]; "
          "closed rings of at least 4 positions; later rings of a polygon are holes.",
          examples=[{"type": "Polygon", "coordinates": [[[16.54, 59.61], [16.55, 59.61],
                                                         [16.55, 59.62], [16.54, 59.61]]]}]),
]
"""A care-configuration field holding a validated GeoJSON area (kept as the JSON given)."""
