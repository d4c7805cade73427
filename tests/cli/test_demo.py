"""``navet demo`` as a user starts it: a subprocess with a live view and a JSON summary."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.postgres import database_of, query_database
from tests.services import free_port

RUN_TIMEOUT = 90.0


def sign_in(url: str, user: str, password: str) -> httpx.Response:
    """Sign in as a person does, and open their home screen."""
    with httpx.Client(base_url=url, timeout=5) as client:
        form = client.get("/signin")
        token = re.search(r'name="form" value="([^"]+)"', form.text)
        assert token is not None, form.text[:500]
        done = client.post("/signin", data={"form": token[1], "user": user,
                                            "password": password})
        assert done.status_code == 303, done.text[:500]
        return client.get(done.headers["location"])


def test_demo_runs_for_a_duration_serves_the_live_view_and_reports_events(
    tmp_path: Path,
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--duration", "8", "--json",
         "--port", str(port), "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        live_view = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                root = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        # the demo needs a sign-in like production: / leads to it; the printed account works
        assert root.status_code == 303 and root.headers["location"] == "/signin"
        live_view = sign_in(f"http://127.0.0.1:{port}", "operator", "demo")
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    stderr = err.decode(errors="replace")
    assert proc.returncode == 0, stderr[-3000:]
    assert live_view is not None and live_view.status_code == 200, stderr[-3000:]
    assert "live view at http://127.0.0.1:" in stderr  # progress goes to stderr with --json
    for user, role in (("operator", "operator"), ("hemtjanst", "staff"), ("admin", "admin"),
                       ("uppfoljning", "analyst")):
        assert re.search(rf"{user} +password demo +role {role}", stderr), stderr[-3000:]

    summary = json.loads(out)
    assert 8 <= summary["duration_s"] < RUN_TIMEOUT
    assert summary["dead_letters"] == 0
    assert summary["events"]["sensor.reported"] > 0
    assert summary["events"]["device.online"] > 0
    for tenant in ("vasteras", "sala"):
        assert summary["by_tenant"][tenant]["sensor.reported"] > 0
    assert sum(summary["by_tenant"][t]["sensor.reported"] for t in summary["by_tenant"]) \
        == summary["events"]["sensor.reported"]
    families = {s["family"] for s in summary["simulators"]}
    assert {"zigbee2mqtt", "scaip", "dc09"} <= families
    from gateway.core.plugins import build_plugin_manager

    adapters = {name for name, _ in build_plugin_manager().adapters}
    for family in families & adapters:  # every device simulator reached the store
        assert sum(summary["by_adapter"].get(family, {}).values()) > 0, family
    z2m = summary["by_adapter"]["zigbee2mqtt"]
    published = sum(s["published"] for s in summary["simulators"]
                    if s["family"] == "zigbee2mqtt")
    # every message a Zigbee2MQTT simulator published reached the store
    # (a state message gives one sensor.reported, an availability message one device.online)
    assert z2m["sensor.reported"] + z2m["device.online"] == published
    # the SCAIP units registered and sent heartbeats; the DC-09 panels polled
    assert summary["by_adapter"]["scaip"].get("device.heartbeat", 0) > 0
    assert summary["by_adapter"]["dc09"].get("device.heartbeat", 0) > 0
    assert query_database(database_of(tmp_path / "data"), "SELECT count(*) FROM events")[0][0] > 0


def test_demo_text_summary(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "demo", "--duration", "3",
         "--port", str(free_port()), "--data-dir", str(tmp_path)],
        capture_output=True, timeout=RUN_TIMEOUT,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert "Navet demo running — live view at http://127.0.0.1:" in out
    assert "Tenant vasteras:" in out and "Tenant sala:" in out
    assert "sensor.reported" in out


def test_demo_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    import signal

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--json", "--port", str(port),
         "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        up = False
        while not up and time.monotonic() < deadline and proc.poll() is None:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/signin", timeout=2).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert up, err.decode(errors="replace")[-3000:]
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    assert "Navet demo stopping (SIGINT)" in err.decode()
    assert json.loads(out)["dead_letters"] == 0


def test_demo_accounts_are_staff_and_hemtjanst_has_a_visit_at_one_door_only() -> None:
    """Each sign-in account of the demo is a staff entry (their actions carry their name);
    hemtjanst has a planned visit whenever the demo runs at r-1003 and none at r-1001."""
    from datetime import UTC, datetime, timedelta

    from gateway.core.care import load_care_config
    from gateway.core.policy.visits import assigned, slots
    from gateway.demo.run import DEMO_USERS, MUNICIPALITY_FILE
    from gateway.demo.run import DemoOperator as Operator

    care = load_care_config(MUNICIPALITY_FILE)
    vasteras = next(t for t in care.tenants if t.id == "vasteras")
    staff = {s.id: s for s in vasteras.staff}
    assert {u[0] for u in DEMO_USERS} <= set(staff)
    assert [u[2] for u in DEMO_USERS] == ["operator", "staff", "admin", "analyst"]
    hemtjanst = staff["hemtjanst"]
    start = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    for hour in range(0, 24, 3):  # whatever hour the demo is started
        now = start + timedelta(hours=hour)
        on_now = {s.resident for s in slots(vasteras, now)
                  if assigned(s.visit, hemtjanst) and s.start <= now < s.end}
        assert "r-1003" in on_now and "r-1001" not in on_now, now
    assert Operator.__init__.__kwdefaults__["untouched_s"] >= 30  # alarms wait for a person
