"""A GPS alarm on the operator's map, in a real browser (Debian chromium, Playwright).

The simulated Stigfinnare watch (simulators/gps.py) walks its resident out of the home
geofence, pushed by the simulated vendor cloud over real HTTP into a gateway under
uvicorn with ``auth.mode: local``. The operator, signed in, sees the geofence alarm
arrive, opens it, and finds the plain drawing (no tiles configured, nothing fetched from
elsewhere): the fence, the watch's track, the alarm's position highlighted north of the
fence, a scale bar and a north arrow, and the words saying how many metres outside the
fence it is, the same number the test works out by hand from the simulator's square
fence. Beside the queue, device health shows the watch's low battery and a sensor that
was never heard. axe-core finds no serious or critical violation.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import math
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn

from gateway import Actor, FakeClock
from gateway.api import create_app
from gateway.core.accounts import add_user, hash_password
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from simulators import ScenarioRunner
from simulators.gps import GpsTracker, StigfinnareCloud
from tests.core.rules.helpers import settle
from tests.plugins.alarms.gps.stigfinnare import (
    HALF,
    HOME,
    IMEI,
    M_PER_DEG,
    RESIDENT,
    TENANT,
    instance_settings,
    square,
)
from tests.services import free_port

from .test_console_browser import (  # noqa: F401  # axe and browser are fixtures
    PASSWORD,
    _Server,
    axe,
    browser,
    check_axe,
    new_page,
    shot,
    sign_in,
)
from .test_homecare_browser import no_sideways_scroll, phone_page

pytestmark = pytest.mark.chromium

SILENT = "zigbee2mqtt:hall_motion"
CARE = {"tenants": [{
    "id": TENANT, "name": "Västerås stad", "timezone": "Europe/Stockholm",
    "alarms": {"receivers": ["larmcentral"]},
    "residents": [{"id": RESIDENT, "label": "Lgh 1102", "home": {"text": "Storgatan 1"}}],
    "devices": [{"adapter": "stigfinnare", "address": IMEI, "kind": "gps_alarm",
                 "resident": RESIDENT, "heartbeat_s": 900, "vendor": "Stigfinnare"},
                {"adapter": "zigbee2mqtt", "address": "hall_motion", "kind": "passive_sensor",
                 "resident": RESIDENT, "heartbeat_s": 600, "location": "Hall"}],
    "staff": [{"id": "hanna", "label": "Hanna, hemtjänst norr", "teams": ["norr"]}],
    # always enforced (no windows): the test runs at any hour
    "geofences": [{"id": "hemma", "resident": RESIDENT, "name": "Hemma", "kind": "home",
                   "geometry": square(HALF)}],
}]}


@dataclass
class Served:
    url: str
    gateway: Gateway
    loop: asyncio.AbstractEventLoop
    clock: FakeClock
    runner: ScenarioRunner
    watch: GpsTracker

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def walk(self, seconds: float) -> None:
        """Let the watch's script run ``seconds`` of its own time, 10 s at a time, each
        message answered and its rules done before the clock moves on."""
        async def steps() -> None:
            task = asyncio.create_task(self.runner.run(until=self.runner.now + seconds))
            left = seconds
            while left > 0:
                async with asyncio.timeout(10):
                    while not (self.runner.sleeping or task.done()):
                        await asyncio.sleep(0.005)
                await settle(self.gateway)
                await self.clock.advance(min(10, left))
                left -= 10
            async with asyncio.timeout(10):
                await task
            await settle(self.gateway)
        self.run(steps(), timeout=120)


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    """The gateway with the watch's script ready; ``console.map_tiles`` from the test's
    parameter (none by default)."""
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    tiles = getattr(request, "param", None)
    if tiles == "tile_server":  # the loopback tile server below
        tiles = request.getfixturevalue("tile_server") + "/{z}/{x}/{y}.png"
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                        care_config=[care], console={"map_tiles": tiles} if tiles else {},
                        adapters=[{"adapter": "stigfinnare", "tenant": TENANT,
                                   "settings": instance_settings()}])
    # the browser's own clock judges silence and ages: start the gateway's at the real now
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"))
    port = free_port()
    server = _Server(uvicorn.Config(create_app(gateway=gw), host="127.0.0.1", port=port,
                                    lifespan="on", log_level="warning",
                                    timeout_graceful_shutdown=2))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),),
                              name="navet-uvicorn", daemon=True)
    thread.start()
    for _ in range(200):  # bounded: 10 s
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    url = f"http://127.0.0.1:{port}"
    settings_ = instance_settings()
    cloud = StigfinnareCloud(f"{url}/ingress/stigfinnare-{TENANT}/v1/messages",
                             settings_["organisation"], settings_["secret"], clock)
    # 21 %: the first heartbeat drains it to 20 %, which the watch reports as low
    watch = GpsTracker(cloud, clock, IMEI, name="klocka", battery=21, seed=3)
    runner = ScenarioRunner(clock)
    watch.schedule(runner)
    served = Served(url, gw, loop, clock, runner, watch)
    digest = hash_password(PASSWORD)
    for subject, name, role in (("anna", "Anna Operatör", "operator"),
                                ("hanna", "Hanna Hemtjänst", "staff")):
        served.run(gw.store.write(lambda conn, s=subject, n=name, r=role: add_user(
            conn, subject=s, name=n, roles=[r], tenants=[TENANT], password_hash=digest,
            now=clock.now())))
    try:
        yield served
    finally:
        served.run(cloud.close())
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"
        loop.close()


def test_a_gps_alarm_is_drawn_with_its_fence_track_and_distance_outside(
        served: Served, browser: Any, axe: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(served.url) else outside.append(r.url))
    sign_in(page, served.url)
    expect(page.locator("#status")).to_have_text("Live")

    # the watch: a fix and a heartbeat at home, then out 35 m north every 30 s; the fence
    # reaches 80 m, and two clear fixes outside in a row raise the alarm (at 175 m)
    served.walk(300)
    # (the watch's low battery raises technical.low_battery beside it)
    row = page.locator("#queue tbody tr", has_text="gps.geofence_exit")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Lgh 1102")

    # device health beside the queue: the watch's low battery, the sensor never heard
    health = page.locator("#health")
    expect(health).to_contain_text(f"stigfinnare:{IMEI}")
    expect(health.locator("li", has_text=IMEI)).to_contain_text("batteri 20 %")
    expect(health.locator("li", has_text=SILENT)).to_contain_text("(Lgh 1102, Hall) aldrig hörd")

    row.first.focus()
    page.keyboard.press("Enter")
    drawing = page.locator("#map svg.gpsmap")
    expect(drawing).to_be_visible()
    expect(drawing.locator("path.fence")).to_have_count(1)
    expect(drawing.locator("path.fence")).to_have_attribute("data-fence", "hemma")
    expect(drawing.locator("circle.alarm-position")).to_have_count(1)
    expect(drawing.locator(".scale text")).to_have_text(re.compile(r"^\d+ m$"))
    expect(drawing.locator(".north text")).to_have_text("N")
    expect(drawing.locator("image")).to_have_count(0)  # no tiles configured: none fetched

    # the alarm's position and track as the API gives them; the metres worked out by hand
    alarm = next(a for a in served.run(served.gateway.alarms.open_alarms(TENANT))
                 if a.kind == "gps.geofence_exit")
    point = alarm.location.point
    by_hand = (point.lat - HOME[0]) * M_PER_DEG - HALF  # north of the square's north edge
    assert 85 < by_hand < 105
    words = page.locator("#map-text")
    expect(words).to_contain_text("m utanför geostaketet (Hemma)")
    said = int(re.search(r"(\d+) m utanför", words.text_content() or "").group(1))  # type: ignore[union-attr]
    assert abs(said - by_hand) <= 1.5, (said, by_hand)
    expect(drawing.locator("desc")).to_have_text(words.text_content() or "")
    fixes = drawing.locator("circle.fix")
    count = fixes.count()
    assert count >= 6, count  # at home, then every step out
    expect(words).to_contain_text(f"Spåret: {count} positioner")

    # drawn where it is: north (above) of the fence, and the newest fix beside it
    box = drawing.locator("path.fence").evaluate("p => { const b = p.getBBox(); "
                                                 "return [b.x, b.y, b.width, b.height]; }")
    cx, cy = (float(drawing.locator("circle.alarm-position").get_attribute(a) or "nan")
              for a in ("cx", "cy"))
    assert box[0] <= cx <= box[0] + box[2] and cy < box[1], (box, cx, cy)
    check_axe(page, axe, "alarm detail with map")
    shot(page, "alarm-map")

    # the watch walks on: its new fixes join the open alarm's track as they arrive
    served.walk(60)
    expect(fixes).to_have_count(count + 2)
    count += 2

    # in English when the person picks it, the same metres
    page.click("#lang-en")
    expect(page.locator("h1")).to_have_text("Alarm queue")
    page.locator("#queue tbody tr", has_text="gps.geofence_exit").click()
    expect(page.locator("#map-text")).to_contain_text(
        f"{said} m outside the geofence (Hemma)")
    expect(page.locator("#map-text")).to_contain_text(f"Track: {count} positions")
    expect(page.locator("#map-title")).to_have_text("Map")
    assert outside == [], f"the page fetched from elsewhere: {outside}"
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_the_map_route_says_where_the_alarm_is_and_is_tenant_checked(served: Served) -> None:
    served.walk(300)
    alarm = next(a for a in served.run(served.gateway.alarms.open_alarms(TENANT))
                 if a.kind == "gps.geofence_exit")
    from gateway.core.security.tokens import LocalKeys, issue_token

    keys = LocalKeys(served.gateway.settings.data_dir / "keys")
    mine = issue_token(keys, subject="op", tenants=[TENANT], roles=["operator"], ttl_s=600,
                       issuer="navet", audience="navet-api")
    other = issue_token(keys, subject="op2", tenants=["sala"], roles=["operator"], ttl_s=600,
                        issuer="navet", audience="navet-api")
    client = httpx.Client(base_url=served.url, timeout=10)
    got = client.get(f"/api/v1/alarms/{alarm.id}/map", params={"tenant": TENANT},
                     headers={"Authorization": f"Bearer {mine}"})
    assert got.status_code == 200, got.text
    body = got.json()
    point = alarm.location.point
    assert body["position"]["lat"] == point.lat and body["position"]["lon"] == point.lon
    assert [f["id"] for f in body["fences"]] == ["hemma"]
    assert body["fences"][0]["enforced"] is True
    assert body["timezone"] == "Europe/Stockholm"
    by_hand = (point.lat - HOME[0]) * M_PER_DEG - HALF
    assert abs(body["outside_m"] - by_hand) <= 1.5
    times = [p["time"] for p in body["track"]]
    assert times == sorted(times) and len(times) >= 6
    assert body["track"][-1]["lat"] > HOME[0]  # walking north
    denied = client.get(f"/api/v1/alarms/{alarm.id}/map", params={"tenant": TENANT},
                        headers={"Authorization": f"Bearer {other}"})
    assert denied.status_code == 403
    missing = client.get("/api/v1/alarms/no-such/map", params={"tenant": TENANT},
                         headers={"Authorization": f"Bearer {mine}"})
    assert missing.status_code == 404
    client.close()


def test_the_staff_member_sent_out_finds_the_map_on_the_phone(
        served: Served, browser: Any, axe: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    served.walk(300)
    alarm = next(a for a in served.run(served.gateway.alarms.open_alarms(TENANT))
                 if a.kind == "gps.geofence_exit")
    operator = Actor(kind="operator", id="anna", name="Anna")
    served.run(served.gateway.alarms.acknowledge(TENANT, alarm.id, operator))
    served.run(served.gateway.alarms.dispatch(TENANT, alarm.id, operator,
                                              Actor(kind="staff", id="hanna", name="Hanna")))
    errors: list[str] = []
    phone = phone_page(browser, errors)
    sign_in(phone, served.url, "hanna", home="/console/hemtjanst")
    card = phone.locator("#my-alarms li", has_text="gps.geofence_exit")
    expect(card).to_have_count(1)
    opener = card.locator("summary.map-summary")
    expect(opener).to_have_text("Visa på karta")
    expect(card.locator("svg.gpsmap")).to_have_count(0)  # drawn when asked for
    opener.focus()
    phone.keyboard.press("Enter")
    drawing = card.locator("svg.gpsmap")
    expect(drawing).to_be_visible()
    expect(drawing.locator("path.fence")).to_have_count(1)
    expect(drawing.locator("circle.alarm-position")).to_have_count(1)
    by_hand = (alarm.location.point.lat - HOME[0]) * M_PER_DEG - HALF
    words = card.locator(".map-words")
    expect(words).to_contain_text("m utanför geostaketet (Hemma)")
    said = int(re.search(r"(\d+) m utanför", words.text_content() or "").group(1))  # type: ignore[union-attr]
    assert abs(said - by_hand) <= 1.5, (said, by_hand)
    raised = alarm.raised.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%H:%M")
    expect(card.locator(".state")).to_contain_text(raised)  # the municipality's clock …
    expect(words).to_contain_text(f"Positionen från kl. {raised}.")  # … on the map too
    labelled = drawing.get_attribute("aria-labelledby") or ""
    assert all(phone.locator(f"#{i}").count() == 1 for i in labelled.split()), labelled
    no_sideways_scroll(phone)
    check_axe(phone, axe, "home care with a GPS alarm's map")
    shot(phone, "homecare-map")
    # a live update re-renders the card: the map stays open, the focus where it was
    served.walk(300)  # the watch walks on: a position update on the alarm
    expect(card.locator("svg.gpsmap")).to_be_visible()
    expect(card.locator("summary.map-summary")).to_be_focused()
    assert errors == [], errors


# ----------------------------------------------------------------------------- with tiles

def _png(size: int = 256) -> bytes:
    """A plain light-grey PNG tile, made here (no image library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xdd\xdd\xdd" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


TILE_PATHS: list[str] = []


@pytest.fixture
def tile_server() -> Iterator[str]:
    """A tile server on the loopback, answering every /z/x/y.png with a grey tile."""
    tile = _png()

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the standard library's name
            TILE_PATHS.append(self.path)
            ok = re.fullmatch(r"/\d+/\d+/\d+\.png", self.path) is not None
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(tile)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, name="tiles", daemon=True)
    thread.start()
    TILE_PATHS.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("served", ["tile_server"], indirect=True)
def test_configured_tiles_lie_under_the_drawing_where_the_position_is(
        tile_server: str, served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text
            else None)
    sign_in(page, served.url)
    answer = page.goto(f"{served.url}/console/alarms")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert f"img-src 'self' data: {tile_server};" in policy  # images only
    assert "default-src 'self';" in policy and tile_server not in policy.split(";", 1)[0]
    expect(page.locator("#status")).to_have_text("Live")
    served.walk(300)
    row = page.locator("#queue tbody tr", has_text="gps.geofence_exit")
    expect(row).to_have_count(1)
    row.click()
    images = page.locator("#map svg.gpsmap image")
    expect(images.first).to_be_attached()
    hrefs = [images.nth(i).get_attribute("href") or "" for i in range(images.count())]
    found = [re.fullmatch(rf"{re.escape(tile_server)}/(\d+)/(\d+)/(\d+)\.png", h) for h in hrefs]
    assert all(found), hrefs
    zooms = {int(m.group(1)) for m in found if m}
    assert len(zooms) == 1 and 15 <= min(zooms) <= 19, zooms
    # the tile holding the alarm's position (worked out here, the usual slippy-map way)
    # is drawn under the red dot
    alarm = next(a for a in served.run(served.gateway.alarms.open_alarms(TENANT))
                 if a.kind == "gps.geofence_exit")
    lat, lon, z = alarm.location.point.lat, alarm.location.point.lon, zooms.pop()
    n = 2 ** z
    tx = int((lon + 180) / 360 * n)
    ty = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    under = images.locator(f'xpath=self::*[@href="{tile_server}/{z}/{tx}/{ty}.png"]')
    expect(under).to_have_count(1)
    x, y, w, h = (float(under.get_attribute(a) or "nan") for a in ("x", "y", "width", "height"))
    dot = page.locator("#map circle.alarm-position")
    cx, cy = (float(dot.get_attribute(a) or "nan") for a in ("cx", "cy"))
    assert x <= cx <= x + w and y <= cy <= y + h, ((x, y, w, h), (cx, cy))
    # the browser fetched them from the tile server, and nothing was refused
    page.wait_for_function("() => [...document.querySelectorAll('#map image')].length > 0")
    expect(page.locator("#map-text")).to_contain_text("m utanför geostaketet (Hemma)")
    for _ in range(100):  # bounded: 5 s
        if f"/{z}/{tx}/{ty}.png" in TILE_PATHS:
            break
        threading.Event().wait(0.05)
    assert f"/{z}/{tx}/{ty}.png" in TILE_PATHS, TILE_PATHS
    assert refused == [] and errors == []
