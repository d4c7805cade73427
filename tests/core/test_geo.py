"""Point-in-polygon (ray casting with holes), distances, and GeoJSON validation."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.core.care import CareConfig
from gateway.core.geo import Area, GeometryError, polygon_contains, ring_contains
from gateway.errors import ConfigError

coord = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)


def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


def winding_number(ring: list[tuple[float, float]], x: float, y: float) -> int:
    """An independent oracle: the winding number (non-zero = inside for simple rings)."""
    wn = 0
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        cross = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
        if y1 <= y < y2 and cross > 0:
            wn += 1
        elif y2 <= y < y1 and cross < 0:
            wn -= 1
    return wn


def near_edge(ring: list[tuple[float, float]], x: float, y: float, eps: float = 1e-6) -> bool:
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length2)) if length2 else 0.0
        if math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)) < eps:
            return True
    return False


@st.composite
def star_polygons(draw: Any) -> list[tuple[float, float]]:
    """Simple (non-self-intersecting) rings: vertices at sorted angles around a centre."""
    cx, cy = draw(coord), draw(coord)
    n = draw(st.integers(min_value=3, max_value=12))
    angles = sorted(draw(st.lists(st.floats(min_value=0, max_value=2 * math.pi - 1e-3),
                                  min_size=n, max_size=n, unique=True)))
    assume(all(b - a > 1e-3 for a, b in itertools.pairwise(angles)))
    radii = draw(st.lists(st.floats(min_value=0.5, max_value=10), min_size=n, max_size=n))
    ring = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a, r in zip(angles, radii,
                                                                          strict=True)]
    return [*ring, ring[0]]


@given(coord, coord, st.floats(0.1, 20), st.floats(0.1, 20), coord, coord)
def test_rectangles_contain_exactly_the_points_strictly_inside(
    x0: float, y0: float, w: float, h: float, px: float, py: float
) -> None:
    ring = rect(x0, y0, x0 + w, y0 + h)
    assume(not near_edge(ring, px, py))
    assert ring_contains(tuple(ring), px, py) == (x0 < px < x0 + w and y0 < py < y0 + h)


@settings(max_examples=300)
@given(star_polygons(), coord, coord)
def test_ray_casting_agrees_with_the_winding_number(
    ring: list[tuple[float, float]], px: float, py: float
) -> None:
    assume(not near_edge(ring, px, py))
    assert ring_contains(tuple(ring), px, py) == (winding_number(ring, px, py) != 0)


@given(star_polygons(), coord, coord, st.integers(0, 11), st.booleans())
def test_start_vertex_and_orientation_do_not_matter(
    ring: list[tuple[float, float]], px: float, py: float, shift: int, reverse: bool
) -> None:
    assume(not near_edge(ring, px, py))
    body = ring[:-1]
    k = shift % len(body)
    other = body[k:] + body[:k]
    if reverse:
        other = other[::-1]
    assert ring_contains(tuple(ring), px, py) == ring_contains(tuple([*other, other[0]]),
                                                               px, py)


@given(coord, coord, st.floats(2, 20), st.floats(0.1, 0.45), st.floats(0.1, 0.45),
       st.floats(-25, 25), st.floats(-25, 25))
def test_a_hole_is_outside(x0: float, y0: float, size: float, hx: float, hy: float,
                           dx: float, dy: float) -> None:
    outer = rect(x0, y0, x0 + size, y0 + size)
    hole = rect(x0 + hx * size, y0 + hy * size, x0 + (hx + 0.5) * size, y0 + (hy + 0.5) * size)
    px, py = x0 + size / 2 + dx, y0 + size / 2 + dy
    assume(not near_edge(outer, px, py) and not near_edge(hole, px, py))
    expected = ring_contains(tuple(outer), px, py) and not ring_contains(tuple(hole), px, py)
    assert polygon_contains((tuple(outer), tuple(hole)), px, py) == expected


@given(star_polygons(), coord, coord, st.floats(-100, 100), st.floats(-30, 30))
def test_translating_point_and_polygon_together_changes_nothing(
    ring: list[tuple[float, float]], px: float, py: float, tx: float, ty: float
) -> None:
    assume(not near_edge(ring, px, py, eps=1e-4))
    moved = tuple((x + tx, y + ty) for x, y in ring)
    assert ring_contains(tuple(ring), px, py) == ring_contains(moved, px + tx, py + ty)


def test_distance_to_the_edge_in_metres() -> None:
    # a square of 0.01 degrees at 60 N: 0.01 deg of latitude is about 1112 m
    area = Area.from_geojson({"type": "Polygon", "coordinates": [
        [[16.0, 60.0], [16.02, 60.0], [16.02, 60.01], [16.0, 60.01], [16.0, 60.0]]]})
    assert area.contains(60.005, 16.01)
    assert area.outside_by_m(60.005, 16.01) == 0
    assert area.outside_by_m(60.02, 16.01) == pytest.approx(1112, rel=0.01)
    assert area.edge_distance_m(60.005, 16.01) == pytest.approx(556, rel=0.01)
    east = 0.005 * 111_195 * math.cos(math.radians(60.005))
    assert area.outside_by_m(60.005, 16.025) == pytest.approx(east, rel=0.01)


def test_multipolygon_with_a_hole() -> None:
    area = Area.from_geojson({"type": "MultiPolygon", "coordinates": [
        [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]],
        [[[20, 0], [30, 0], [30, 10], [20, 0]]],
    ]})
    assert area.contains(2, 2) and not area.contains(5, 5) and area.contains(2, 28)
    assert not area.contains(8, 22) and not area.contains(5, 15)


@pytest.mark.parametrize(("geometry", "message"), [
    ({"type": "Point", "coordinates": [16, 59]}, "type 'Point' is not supported"),
    ([[16, 59]], "must be a GeoJSON geometry object"),
    ({"type": "Polygon", "coordinates": []}, "non-empty 'coordinates'"),
    ({"type": "Polygon", "coordinates": [[[16, 59], [17, 59], [16, 59]]]},
     "outline: a ring needs at least 4 positions"),
    ({"type": "Polygon", "coordinates": [[[16, 59], [17, 59], [17, 60], [16, 60]]]},
     "outline: the ring is not closed: it starts at [16.0, 59.0] and ends at [16.0, 60.0]"),
    ({"type": "Polygon", "coordinates": [[[16, 59], [190, 59], [17, 60], [16, 59]]]},
     "outline, position 1: longitude 190 is outside -180..180"),
    ({"type": "Polygon", "coordinates": [[[16, 59], [17, 95], [17, 60], [16, 59]]]},
     "outline, position 1: latitude 95 is outside -90..90"),
    ({"type": "Polygon", "coordinates": [[[16, 59], ["17", 59], [17, 60], [16, 59]]]},
     "outline, position 1: must be [lon, lat]"),
    ({"type": "Polygon", "coordinates": [[[16, 59], [17, 59], [18, 59], [16, 59]]]},
     "encloses no area"),
    ({"type": "Polygon", "coordinates": [
        [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]],
        [[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]}, "hole 1 lies outside the polygon's outline"),
    ({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]],
                                              [[[0, 0], [1, 0], [0, 0]]]]},
     "polygon 1: outline: a ring needs at least 4 positions"),
    ({"type": "Polygon", "coordinates": [[[-170, 0], [170, 0], [170, 1], [-170, 0]]]},
     "antimeridian"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [10**400, 0], [1, 1], [0, 0]]]},
     "longitude"),
])
def test_bad_geometry_is_refused_with_a_reason(geometry: Any, message: str) -> None:
    with pytest.raises(GeometryError) as err:
        Area.from_geojson(geometry)
    assert message in str(err.value)


def _tenant(fence: dict[str, Any]) -> dict[str, Any]:
    return {"tenants": [{"id": "vasteras", "name": "V", "residents": [{"id": "r-1"}],
                         "geofences": [fence]}]}


def test_the_care_configuration_names_the_broken_fence() -> None:
    fence = {"id": "hemma", "resident": "r-1", "kind": "home", "geometry": {
        "type": "Polygon", "coordinates": [[[16, 59], [17, 59], [17, 60], [16, 60]]]}}
    with pytest.raises(ValueError) as err:
        CareConfig.model_validate(_tenant(fence))
    text = str(err.value)
    assert "tenants.0.geofences.0.geometry" in text and "the ring is not closed" in text


async def test_a_fence_for_an_unknown_resident_is_refused(database: str) -> None:
    from gateway.core.care import apply_care_config
    from gateway.core.directory import DeviceDirectory
    from gateway.core.store import make_store

    fence = {"id": "hemma", "resident": "r-9", "geometry": {
        "type": "Polygon", "coordinates": [[[16, 59], [17, 59], [17, 60], [16, 59]]]}}
    store = make_store(database)
    store.open()
    try:
        with pytest.raises(ConfigError, match="geofence hemma names unknown resident r-9"):
            await apply_care_config(CareConfig.model_validate(_tenant(fence)), store,
                                    DeviceDirectory())
    finally:
        store.close()
