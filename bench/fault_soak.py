"""A fault soak: devices of every family send while faults hit the gateway in random order.

One ``navet serve`` subprocess, one real Mosquitto, SQLite (or a real PostgreSQL server with
``--store postgresql``), a webhook consumer process and an MQTT consumer, two vendor-cloud
stand-ins. Simulated devices of each family send steadily; meanwhile a seeded schedule of
faults runs, one after another in random order:

``gateway_kill``     SIGKILL of ``navet serve``, then a restart with the same configuration
``broker_restart``   Mosquitto stopped (SIGTERM, it saves its persistence) and started again
``db_restart``       the PostgreSQL server stopped (``pg_ctl -m fast``) and started again
                     (only with ``--store postgresql``; SQLite lives inside the gateway)
``consumer_outage``  the webhook consumer process killed, or the MQTT consumer disconnected,
                     for a moment
``cloud_outage``     the Portvakt lock cloud answers 503 and stops pushing, or the Dosvakt
                     dispenser cloud stops pushing, for a moment
``disk_full``        the gateway's data directory is on a small tmpfs mounted for the run;
                     a filler file takes every free byte for a moment (skipped, with a
                     message, when the machine does not allow the mount)

Each frame a device sends carries something unique (a Zigbee2MQTT ``soak`` field, a DC-09
zone number, a SCAIP ``ref``, a cloud's event id) that can be found again in the raw frame
Navet stored for the event, or in the event's ``source.ref``. At the end, per device:

* acknowledged   frames the device got its protocol answer for: MQTT PUBACK (from the broker,
                 QoS 1), DC-09 ACK, SCAIP ``<mrs>``, the cloud's webhook/batch answered 2xx
* lost           acknowledged frames with no stored event
* duplicated     stored events beyond the first for one frame and event type (the same frame
                 stored twice under different ids)
* out of order   acknowledged frames stored (first event's store sequence) before a frame the
                 same device sent earlier. Counted for every family: each sender here sends
                 one frame at a time per device and waits for its answer (DC-09, SCAIP), the
                 clouds push in order, and MQTT keeps order per topic at QoS 1.
* delivered      for every stored event a subscription fans out (all but heartbeats), how
                 often each consumer received it: ``undelivered`` (never) must be 0;
                 ``redelivered`` (more than once) is allowed, delivery is at least once.

Run from the repository root::

    python bench/fault_soak.py                       # 1,000 faults, at most 40 minutes
    python bench/fault_soak.py --faults 40 --minutes 2.5 --seed 7
    python bench/fault_soak.py --store postgresql    # PostgreSQL, restarted as a fault too
    python bench/fault_soak.py --json                # the JSON line only

Prints a table and one JSON line. Exit status 0 when nothing was lost, stored twice or left
undelivered; 2 otherwise; 1 when the run itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `gateway`, `simulators`, `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import paho.mqtt.client as paho
import yaml

from gateway import SystemClock

TENANT = "soak"
NOT_FANNED_OUT = {"device.heartbeat"}
START_TIMEOUT = 90.0
KINDS = ("gateway_kill", "broker_restart", "db_restart", "consumer_outage", "cloud_outage",
         "disk_full")
WEIGHTS = {"gateway_kill": 0.15, "broker_restart": 0.15, "db_restart": 0.1,
           "consumer_outage": 0.25, "cloud_outage": 0.25, "disk_full": 0.1}

# --------------------------------------------------------------------------- the ledger


@dataclass
class Frame:
    family: str
    device: str
    token: str
    order: int  # the n-th frame this device sent
    acked: bool = False
    attempts: int = 0


@dataclass
class Ledger:
    frames: dict[str, Frame] = field(default_factory=dict)
    by_device: dict[str, list[Frame]] = field(default_factory=lambda: defaultdict(list))

    def new(self, family: str, device: str, token: str) -> Frame:
        frame = Frame(family, device, token, len(self.by_device[device]))
        self.frames[token] = frame
        self.by_device[device].append(frame)
        return frame


# --------------------------------------------------------------------------- tokens

_Z2M = re.compile(rb'"soak":\s*"(z2m/[^"]+)"')
_DC09 = re.compile(rb"#(\d+)\|N(?:Y[TR])(\d{4})")
_SCAIP = re.compile(rb"<ref>\s*(\w+)\s*</ref>")
REF_FAMILIES = {"portvakt", "dosvakt"}  # a cloud's event id is the event's source.ref


def token_of(adapter: str, payload: bytes, ref: str | None) -> str | None:
    """The soak token of a stored event, from its raw frame (or its ``source.ref``)."""
    if adapter == "zigbee2mqtt":
        m = _Z2M.search(payload)
        return m.group(1).decode() if m else None
    if adapter == "dc09":
        m = _DC09.search(payload)
        return f"dc09/{m.group(1).decode()}/{int(m.group(2))}" if m else None
    if adapter == "scaip":
        m = _SCAIP.search(payload)
        return f"scaip/{m.group(1).decode()}" if m else None
    if adapter == "portvakt":  # a push or an item of the feed: the event's ref is its id
        return f"portvakt/{ref}" if ref else None
    if adapter == "dosvakt":  # one frame is a batch: the event's own id names it
        return f"dosvakt/{ref}" if ref else None
    return None


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    from tests.services import free_port as free

    return free()


class Gateway:
    """``navet serve --config FILE`` as a subprocess: start, SIGKILL, start again."""

    def __init__(self, config: Path, http_port: int, logs: Path) -> None:
        self.config, self.http_port, self.logs = config, http_port, logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self._out: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self) -> None:
        self.runs += 1
        self._out = open(self.logs / "navet.log", "ab")  # noqa: SIM115  # closed in kill/stop
        self._out.write(f"\n--- start {self.runs} ---\n".encode())
        self._out.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)],
            stdout=self._out, stderr=subprocess.STDOUT, env=_gateway_env(),
        )
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient() as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"navet serve exited ({self.proc.returncode}):\n"
                                       f"{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"navet serve not ready in {START_TIMEOUT:.0f} s:\n"
                                       f"{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{self.url}/readyz", timeout=2)).status_code == 200:
                        return
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)
        self._close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.logs / "navet.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _gateway_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVET_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")) if p)
    return env


WEBHOOK_CONSUMER = r'''
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
out = open(sys.argv[2], "a", buffering=1)
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            event_id = json.loads(body)["id"]
        except (ValueError, KeyError, TypeError):  # cut short: the sender died mid-request
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        out.write(event_id + "\n")
        out.flush()  # written before the 2xx goes out: a kill after it loses nothing
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


class WebhookConsumer:
    """A consumer's webhook endpoint in its own process, killed and restarted as a fault."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.script = directory / "webhook_consumer.py"
        self.script.write_text(WEBHOOK_CONSUMER)
        self.ids = directory / "webhook_ids.txt"
        self.ids.touch()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(self.script), str(self.port),
                                      str(self.ids)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            time.sleep(0.05)
        raise RuntimeError("the webhook consumer did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def received(self) -> Counter[str]:
        return Counter(line for line in self.ids.read_text().splitlines() if line)


class MqttConsumer:
    """A northbound MQTT consumer on a persistent session (QoS 1): disconnects as a fault."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ids: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="soak-consumer",
                                  clean_session=False)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            f"navet/{TENANT}/events/#", qos=1)
        self.client.reconnect_delay_set(0.2, 2)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with contextlib.suppress(ValueError, KeyError):
            event_id = json.loads(msg.payload)["id"]
            with self._lock:
                self.ids[event_id] += 1

    def connect(self) -> None:
        self.client.connect_async("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def received(self) -> Counter[str]:
        with self._lock:
            return Counter(self.ids)


class ScratchVolume:
    """The gateway's data directory on a small tmpfs, so filling it cannot fill the machine."""

    def __init__(self, path: Path, size_mb: int) -> None:
        self.path, self.size_mb = path, size_mb
        self.mounted = False
        self.reason = ""

    def mount(self) -> bool:
        self.path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or not shutil.which("mount"):
            self.reason = "needs root and mount(8) to put the data directory on a tmpfs"
            return False
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=0700",
                               "tmpfs", str(self.path)], capture_output=True, text=True)
        if done.returncode != 0:
            self.reason = f"mount of a tmpfs refused: {done.stderr.strip()}"
            return False
        self.mounted = True
        return True

    def fill(self) -> Path:
        """Take every free byte of the volume (ENOSPC is the point); the filler's path."""
        filler = self.path / "soak-filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 4096, 1):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * size)
        finally:
            os.close(fd)
        return filler

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
            self.mounted = False


# --------------------------------------------------------------------------- senders


class Senders:
    """Every family's simulated devices, sending until :meth:`stop`."""

    def __init__(self, ledger: Ledger, rng: random.Random, interval: float, ports: dict[str, int],
                 gateway_url: str) -> None:
        self.ledger, self.rng, self.interval = ledger, rng, interval
        self.ports, self.gateway_url = ports, gateway_url
        self.running = True
        self.tasks: list[asyncio.Task[None]] = []
        self.clock = SystemClock()
        self.portvakt: Any = None
        self.dosvakt: Any = None
        self._z2m: paho.Client | None = None
        self._z2m_pending: list[tuple[Frame, Any]] = []
        self._pv_acked: set[str] = set()

    async def start(self, devices: dict[str, list[str]]) -> None:
        """Start every family but the lock cloud (:meth:`_start_portvakt`, before the gateway)."""
        # Zigbee2MQTT: one bridge client, QoS 1; the broker's PUBACK is the acknowledgement.
        self._z2m = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="soak-z2m-bridge")
        self._z2m.max_queued_messages_set(0)
        self._z2m.max_inflight_messages_set(100)
        self._z2m.reconnect_delay_set(0.2, 2)
        self._z2m.connect_async("127.0.0.1", self.ports["mqtt"], keepalive=10)
        self._z2m.loop_start()
        for name in devices["zigbee2mqtt"]:
            self._spawn(self._z2m_device(name))
        for account in devices["dc09"]:
            self._spawn(self._dc09_device(account))
        for i, unit in enumerate(devices["scaip"]):
            self._spawn(self._scaip_device(i + 1, unit))
        self._start_dosvakt(devices["dosvakt"])

    def _spawn(self, coro: Any) -> None:
        self.tasks.append(asyncio.create_task(coro))

    async def _pace(self) -> None:
        await asyncio.sleep(self.interval * self.rng.uniform(0.5, 1.5))

    # Zigbee2MQTT ---------------------------------------------------------------------

    async def _z2m_device(self, name: str) -> None:
        assert self._z2m is not None
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        n = 0
        while self.running:
            n += 1
            frame = self.ledger.new("zigbee2mqtt", f"zigbee2mqtt/{name}", f"z2m/{name}/{n}")
            seen = (t0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
            body = {"occupancy": n % 2 == 0, "battery": 100 - n % 50, "linkquality": 100,
                    "last_seen": seen, "soak": frame.token}
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:  # a bridge offline keeps the frame and retries
                frame.attempts += 1
                info = self._z2m.publish(f"zigbee2mqtt/{name}", json.dumps(body), qos=1)
                if info.rc == paho.MQTT_ERR_SUCCESS:
                    self._z2m_pending.append((frame, info))
                    break
                await asyncio.sleep(0.5)
            await self._pace()

    def settle_z2m(self) -> int:
        """Mark Zigbee2MQTT frames the broker acknowledged; how many still wait."""
        waiting = []
        for frame, info in self._z2m_pending:
            try:
                published = info.is_published()
            except (RuntimeError, ValueError):  # paho gave it up
                continue
            if published:
                frame.acked = True
            else:
                waiting.append((frame, info))
        self._z2m_pending = waiting
        return len(waiting)

    # DC-09 -----------------------------------------------------------------------------

    async def _dc09_device(self, account: str) -> None:
        from simulators.dc09 import Dc09Transmitter

        tx = Dc09Transmitter("127.0.0.1", self.ports["dc09"], account=account,
                             ack_timeout=3.0, retries=0)
        n = 0
        try:
            while self.running and n < 9999:  # the zone number (4 digits) names the frame
                n += 1
                frame = self.ledger.new("dc09", f"dc09/{account}", f"dc09/{account}/{n}")
                await self._dc09_send(tx, frame, f"#{account}|N{'YT' if n % 2 else 'YR'}{n:04d}")
                await self._pace()
        finally:
            await tx.close()

    async def _dc09_send(self, tx: Any, frame: Frame, data: str) -> None:
        """One message as a panel sends it: the same bytes again until ACK, for ~40 s."""
        seq = tx.next_seq()
        raw = tx.frame("SIA-DCS", data, seq)
        deadline = time.monotonic() + 40
        naks = 0
        while time.monotonic() < deadline:
            frame.attempts += 1
            try:
                reply = await tx._transmit(raw)
            except (OSError, TimeoutError):
                reply = None
                with contextlib.suppress(Exception):
                    await tx.close()
            kind, when = tx._read_answer(reply, seq) if reply else ("none", None)
            if kind == "ACK":
                frame.acked = True
                return
            if kind == "DUH":
                return
            if kind == "NAK" and when is not None and naks < 3:
                naks += 1
                tx.offset = when - tx.clock.now()
                raw = tx.frame("SIA-DCS", data, seq)
                continue
            await asyncio.sleep(1.0)

    # SCAIP -----------------------------------------------------------------------------

    async def _scaip_device(self, index: int, unit: str) -> None:
        from simulators.scaip import ScaipUnit

        device = ScaipUnit(unit, f"soak-{unit}", ("127.0.0.1", self.ports["scaip"]),
                           clock=self.clock, transport="udp", timeout_s=3.0)
        await device.start()
        n = 0
        try:
            while self.running:
                n += 1
                ref = f"{index}{n:05d}"
                frame = self.ledger.new("scaip", f"scaip/{unit}", f"scaip/{ref}")
                stc = 85 if n % 2 else 86  # mains lost / restored
                body = device.mrq(ref, dty=2, stc=stc)
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    frame.attempts += 1
                    try:
                        await device.send(body, ref)  # the same <mrq>, the same ref
                        frame.acked = True
                        break
                    except (TimeoutError, RuntimeError, OSError):
                        await asyncio.sleep(1.0)
                await self._pace()
        finally:
            await device.stop()

    # Portvakt lock cloud ---------------------------------------------------------------

    async def _start_portvakt(self, locks: list[str]) -> None:
        from simulators.locks_cloud import CloudLock, PortvaktCloud

        cloud = PortvaktCloud(self.clock, "soak-portvakt-api-key", "soak-portvakt-webhook-secret",
                              locks={lock: CloudLock(lock, serial=lock) for lock in locks},
                              port=self.ports["portvakt"], push_retry_s=0.25)
        await cloud.start()
        acked = self._pv_acked

        async def on_response(resp: httpx.Response) -> None:
            if resp.request.method == "POST" and resp.status_code < 300:
                with contextlib.suppress(ValueError, KeyError):
                    acked.add(json.loads(resp.request.content)["event_id"])

        old = cloud._http
        cloud._http = httpx.AsyncClient(timeout=5.0, event_hooks={"response": [on_response]})
        if old is not None:
            await old.aclose()
        self.portvakt = cloud
        for lock in locks:
            self._spawn(self._portvakt_lock(lock))

    async def _portvakt_lock(self, lock: str) -> None:
        n = 0
        while self.running:
            n += 1
            verb = "access.unlocked" if n % 2 else "access.locked"
            event = self.portvakt.happen(lock, verb, actor={"type": "keypad"})
            self.ledger.new("portvakt", f"portvakt/{lock}", f"portvakt/{event['event_id']}")
            await self._pace()

    def settle_portvakt(self) -> int:
        waiting = 0
        for frame in self.ledger.frames.values():
            if frame.family == "portvakt" and not frame.acked:
                if frame.token.split("/", 1)[1] in self._pv_acked:
                    frame.acked = True
                else:
                    waiting += 1
        return waiting

    # Dosvakt dispenser cloud -------------------------------------------------------------

    def _start_dosvakt(self, dispensers: list[str]) -> None:
        from simulators.medication_cloud import DosvaktCloud

        self.dosvakt = DosvaktCloud(self.clock, f"{self.gateway_url}/ingress/dosvakt-{TENANT}"
                                    "/events", "soak-dosvakt-api-key", {}, batch=5, retry_s=0.5)
        for serial in dispensers:
            self._spawn(self._dosvakt_dispenser(serial))

    async def _dosvakt_dispenser(self, serial: str) -> None:
        cloud = self.dosvakt
        n = 0
        while self.running:
            n += 1
            level = 100 - n % 80
            event = cloud._event(self.clock.now().replace(microsecond=0), {
                "type": "BATTERY", "device": {"serial": serial, "model": cloud.model},
                "battery": {"levelPct": level, "low": level <= 20}})
            self.ledger.new("dosvakt", f"dosvakt/{serial}", f"dosvakt/{event['eventId']}")
            cloud.queue.append(event)
            cloud.kick()
            await self._pace()

    def settle_dosvakt(self) -> int:
        sent = {e["eventId"] for e in self.dosvakt.sent}
        waiting = 0
        for frame in self.ledger.frames.values():
            if frame.family == "dosvakt" and not frame.acked:
                if frame.token.split("/", 1)[1] in sent:
                    frame.acked = True
                else:
                    waiting += 1
        return waiting

    # ----------------------------------------------------------------------------------

    def settle(self) -> int:
        """Mark what has been acknowledged since; how many frames still wait for an answer."""
        return self.settle_z2m() + self.settle_portvakt() + self.settle_dosvakt()

    async def stop(self) -> None:
        """Stop making new frames; frames under way finish (DC-09, SCAIP retry up to 40 s)."""
        self.running = False
        await asyncio.wait(self.tasks, timeout=60)
        for task in self.tasks:
            task.cancel()

    async def close(self) -> None:
        if self._z2m is not None:
            self._z2m.disconnect()
            self._z2m.loop_stop()
        if self.portvakt is not None:
            await self.portvakt.stop()
        if self.dosvakt is not None:
            await self.dosvakt.stop()


# --------------------------------------------------------------------------- the soak


def _config(run: Path, data_dir: Path, ports: dict[str, int], http_port: int,
            hook_port: int, database: str | None, devices: dict[str, list[str]]) -> Path:
    residents = [{"id": f"r-{i}", "label": f"Lgh {i}"} for i in range(1, 4)]
    care_devices: list[dict[str, Any]] = []
    kinds = {"zigbee2mqtt": "passive_sensor", "dc09": "social_alarm", "scaip": "social_alarm",
             "portvakt": "door_lock", "dosvakt": "medication_dispenser"}
    for family, names in devices.items():
        for i, name in enumerate(names):
            care_devices.append({"adapter": family, "address": name, "kind": kinds[family],
                                 "resident": residents[i % len(residents)]["id"]})
    care = {"tenants": [{"id": TENANT, "name": "Soak kommun", "residents": residents,
                         "devices": care_devices}]}
    (run / "care.yaml").write_text(yaml.safe_dump(care, allow_unicode=True))
    settings: dict[str, Any] = {
        "environment": "development",
        "data_dir": str(data_dir),
        "log_format": "json",
        "care_config": [str(run / "care.yaml")],
        "mqtt": {"mode": "external", "host": "127.0.0.1", "port": ports["mqtt"],
                 "client_id": "navet-soak"},
        "http": {"host": "127.0.0.1", "port": http_port},
        "outbound": {"allow_loopback": True},  # the consumers and the clouds run here
        "adapters": [
            {"adapter": "zigbee2mqtt", "tenant": TENANT, "settings": {"base_topic": "zigbee2mqtt"}},
            {"adapter": "dc09", "tenant": TENANT, "settings": {
                "host": "127.0.0.1", "tcp_port": ports["dc09"],
                "accounts": [{"account": a} for a in devices["dc09"]]}},
            {"adapter": "scaip", "tenant": TENANT, "settings": {
                "host": "127.0.0.1", "port": ports["scaip"],
                "units": {u: {"password": f"soak-{u}"} for u in devices["scaip"]}}},
            {"adapter": "portvakt", "tenant": TENANT, "settings": {
                "api_url": f"http://127.0.0.1:{ports['portvakt']}",
                "api_key": "soak-portvakt-api-key",
                "webhook_secret": "soak-portvakt-webhook-secret",
                "public_url": f"http://127.0.0.1:{http_port}", "poll_s": 5, "down_after": 3}},
            {"adapter": "dosvakt", "tenant": TENANT,
             "settings": {"api_keys": ["soak-dosvakt-api-key"]}},
        ],
        "subscriptions": [
            {"id": "soak-mqtt", "tenant": TENANT, "sink": "mqtt", "types": ["*"]},
            {"id": "soak-webhook", "tenant": TENANT, "sink": "webhook", "types": ["*"],
             "settings": {"url": f"http://127.0.0.1:{hook_port}/events",
                          "secret": "soak-webhook-secret-0123456789abcdef"}},
        ],
    }
    if database:
        settings["database"] = database
    config = run / "navet.yaml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True))
    return config


def fault_plan(rng: random.Random, total: int, kinds: list[str]) -> list[str]:
    """``total`` faults in random order, each kind by its weight and at least once: one of
    each kind in random order first, then the rest shuffled."""
    weight = sum(WEIGHTS[k] for k in kinds)
    counts = {k: max(1, int(total * WEIGHTS[k] / weight)) for k in kinds}
    while sum(counts.values()) < total:
        counts[rng.choices(kinds, [WEIGHTS[k] for k in kinds])[0]] += 1
    first = list(kinds)  # one of each kind first, so a run cut short by --minutes has all
    rng.shuffle(first)
    rest = [k for k, n in counts.items() for _ in range(n - 1)]
    rng.shuffle(rest)
    return first + rest


class Soak:
    def __init__(self, args: argparse.Namespace, run: Path) -> None:
        self.args, self.run = args, run
        self.rng = random.Random(args.seed)
        self.ledger = Ledger()
        self.injected: Counter[str] = Counter()
        self.detail: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()  # spent in each kind of fault, recovery included
        self.skipped: dict[str, str] = {}
        self.pg: Any = None
        self.broker: Any = None
        self.gateway: Gateway | None = None
        self.webhook: WebhookConsumer | None = None
        self.mqtt_consumer: MqttConsumer | None = None
        self.senders: Senders | None = None
        self.volume: ScratchVolume | None = None
        self.database = ""

    async def setup(self) -> None:
        from gateway.transports.mosquitto import MosquittoProcess

        a = self.args
        devices = {
            "zigbee2mqtt": [f"soak_{i:02d}_bed" for i in range(a.devices)],
            "dc09": [f"{3001 + i}" for i in range(a.devices)],
            "scaip": [f"unit-{i:02d}" for i in range(a.devices)],
            "portvakt": [f"PV-{i:02d}" for i in range(a.devices)],
            "dosvakt": [f"DV-{i:02d}" for i in range(a.devices)],
        }
        self.devices = devices
        (self.run / "mosquitto").mkdir()
        self.broker = MosquittoProcess("127.0.0.1", free_port(), data_dir=self.run / "mosquitto")
        await self.broker.start()
        data_dir = self.run / "data"
        if a.full_disk:
            self.volume = ScratchVolume(data_dir, a.scratch_mb)
            if not self.volume.mount():
                self.skipped["disk_full"] = self.volume.reason
                self.volume = None
        else:
            self.skipped["disk_full"] = "--no-full-disk"
        database = None
        if a.store == "postgresql":
            from tests.postgres import start_server

            self.pg = await asyncio.to_thread(start_server, free_port())
            database = self.pg.url("soak")
        else:
            self.skipped["db_restart"] = ("SQLite runs inside the gateway process: its restart "
                                          "is gateway_kill (use --store postgresql)")
        ports = {"mqtt": self.broker.port, "dc09": free_port(), "scaip": free_port(),
                 "portvakt": free_port()}
        http_port = free_port()
        self.webhook = WebhookConsumer(self.run)
        self.webhook.start()
        config = _config(self.run, data_dir, ports, http_port, self.webhook.port, database,
                         devices)
        from tests.postgres import database_of
        self.database = database or database_of(data_dir)
        self.mqtt_consumer = MqttConsumer(self.broker.port)
        self.mqtt_consumer.connect()
        self.gateway = Gateway(config, http_port, self.run)
        self.senders = Senders(self.ledger, random.Random(a.seed + 1), a.interval, ports,
                               self.gateway.url)
        # The lock cloud is up before the gateway asks it for its webhook.
        await self.senders._start_portvakt(devices["portvakt"])
        await self.gateway.start()
        await self.senders.start(devices)

    # faults --------------------------------------------------------------------------------

    async def inject(self, kind: str) -> None:
        rng = self.rng
        hold = rng.uniform(self.args.hold_min, self.args.hold_max)
        assert self.gateway and self.broker and self.webhook and self.mqtt_consumer
        assert self.senders
        if kind == "gateway_kill":
            await asyncio.sleep(rng.uniform(0, 0.5))
            self.gateway.kill()
            await asyncio.sleep(rng.uniform(0, hold))
            await self.gateway.start()
        elif kind == "broker_restart":
            await self.broker.stop()
            await asyncio.sleep(hold)
            await self.broker.start()
        elif kind == "db_restart":
            await asyncio.to_thread(self.pg.stop, "fast")
            await asyncio.sleep(hold)
            await asyncio.to_thread(self.pg.start)
        elif kind == "consumer_outage":
            if rng.random() < 0.5:
                self.detail["consumer_outage.webhook"] += 1
                self.webhook.kill()
                await asyncio.sleep(hold)
                self.webhook.start()
            else:
                self.detail["consumer_outage.mqtt"] += 1
                self.mqtt_consumer.disconnect()
                await asyncio.sleep(hold)
                self.mqtt_consumer.connect()
        elif kind == "cloud_outage":
            if rng.random() < 0.5:
                self.detail["cloud_outage.portvakt"] += 1
                self.senders.portvakt.outage = True
                await asyncio.sleep(hold)
                self.senders.portvakt.outage = False
            else:
                self.detail["cloud_outage.dosvakt"] += 1
                self.senders.dosvakt.outage()
                await asyncio.sleep(hold)
                self.senders.dosvakt.restore()
        elif kind == "disk_full":
            assert self.volume is not None
            filler = await asyncio.to_thread(self.volume.fill)
            await asyncio.sleep(hold)
            filler.unlink()
        else:
            raise ValueError(kind)
        self.injected[kind] += 1

    async def faults(self) -> float:
        kinds = [k for k in KINDS if k not in self.skipped
                 and (not self.args.kinds or k in self.args.kinds)]
        plan = fault_plan(self.rng, self.args.faults, kinds)
        started = time.monotonic()
        budget = self.args.minutes * 60
        for i, kind in enumerate(plan):
            if time.monotonic() - started > budget:
                print(f"time budget of {self.args.minutes} min spent after {i} faults",
                      file=sys.stderr)
                break
            began = time.monotonic()
            await self.inject(kind)
            self.seconds[kind] += time.monotonic() - began
            await asyncio.sleep(self.rng.uniform(self.args.gap_min, self.args.gap_max))
            if self.args.progress and (i + 1) % self.args.progress == 0:
                print(f"  {i + 1} faults, {len(self.ledger.frames)} frames, "
                      f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        return time.monotonic() - started

    # counting ------------------------------------------------------------------------------

    def read_store(self) -> tuple[list[tuple[int, str, str, dict[str, Any]]], dict[str, bytes]]:
        from tests.postgres import query_database

        rows = query_database(self.database,
                              "SELECT seq, id, type, body FROM events WHERE tenant = ? "
                              "ORDER BY seq", (TENANT,))
        events = [(int(r[0]), str(r[1]), str(r[2]), json.loads(r[3])) for r in rows]
        frames = {str(r[0]): bytes(r[1]) for r in query_database(
            self.database, "SELECT ref, payload FROM frames WHERE tenant = ?", (TENANT,))}
        return events, frames

    def tally(self) -> dict[str, Any]:
        assert self.webhook and self.mqtt_consumer
        events, frames = self.read_store()
        per_token: dict[str, Counter[str]] = defaultdict(Counter)
        first_seq: dict[str, int] = {}
        derived = unexplained = 0
        samples: list[dict[str, Any]] = []
        fanned: list[str] = []
        for seq, event_id, etype, body in events:
            source = body.get("source") or {}
            adapter = source.get("adapter", "")
            if etype not in NOT_FANNED_OUT:
                fanned.append(event_id)
            if adapter == "navet" or not source.get("frame") or (
                    adapter in REF_FAMILIES and not source.get("ref")) or str(
                    source.get("ref") or "").startswith("link:"):
                derived += 1  # by the rules, or an adapter's own (a cloud link reported down)
                continue
            payload = frames.get(source.get("frame") or "", b"")
            token = token_of(adapter, payload, source.get("ref"))
            if token is None or token not in self.ledger.frames:
                unexplained += 1
                if len(samples) < 5:
                    samples.append({"adapter": adapter, "type": etype, "ref": source.get("ref"),
                                    "frame": payload[:200].decode("utf-8", "replace")})
                continue
            per_token[token][etype] += 1
            first_seq.setdefault(token, seq)
        families: dict[str, Counter[str]] = defaultdict(Counter)
        devices: dict[str, dict[str, int]] = {}
        for device, sent in self.ledger.by_device.items():
            family = sent[0].family
            d = Counter(sent=len(sent))
            high = -1
            for frame in sent:
                stored = per_token.get(frame.token)
                if frame.acked:
                    d["acknowledged"] += 1
                    if not stored:
                        d["lost"] += 1
                if stored:
                    d["stored_frames"] += 1
                    d["events_stored"] += sum(stored.values())
                    d["duplicated"] += sum(n - 1 for n in stored.values() if n > 1)
                    if not frame.acked:
                        d["stored_unacknowledged"] += 1
                    if frame.acked:
                        pos = first_seq[frame.token]
                        if pos < high:
                            d["out_of_order"] += 1
                        high = max(high, pos)
            devices[device] = dict(d)
            families[family].update(d)
            families[family]["devices"] += 1
        consumers = {}
        for name, got in (("webhook", self.webhook.received()),
                          ("mqtt", self.mqtt_consumer.received())):
            stored_ids = set(fanned)
            consumers[name] = {
                "expected": len(fanned),
                "delivered": sum(1 for i in fanned if got.get(i)),
                "undelivered": sum(1 for i in fanned if not got.get(i)),
                "redelivered": sum(n - 1 for i, n in got.items() if n > 1 and i in stored_ids),
                "unknown": sum(1 for i in got if i not in stored_ids),
            }
        total = Counter()
        for c in families.values():
            total.update(c)
        return {"families": {k: dict(v) for k, v in sorted(families.items())},
                "devices": devices, "total": dict(total), "consumers": consumers,
                "events": len(events), "derived": derived, "unexplained": unexplained,
                "unexplained_samples": samples}

    def caught_up(self) -> tuple[bool, str]:
        """Everything acknowledged is stored and every fanned-out event delivered?"""
        figures = self.tally()
        lost = figures["total"].get("lost", 0)
        undelivered = sum(c["undelivered"] for c in figures["consumers"].values())
        return lost == 0 and undelivered == 0, f"lost {lost}, undelivered {undelivered}"

    async def settle(self) -> float:
        """After the last fault: stop the devices, let answers, stores and deliveries finish."""
        assert self.senders
        started = time.monotonic()
        await self.senders.stop()
        deadline = time.monotonic() + self.args.settle
        while time.monotonic() < deadline:
            waiting = self.senders.settle()
            done, why = await asyncio.to_thread(self.caught_up)
            if waiting == 0 and done:
                break
            await asyncio.sleep(2.0)
        else:
            print(f"not settled after {self.args.settle:.0f} s: {why}; "
                  f"{self.senders.settle()} frames without an answer", file=sys.stderr)
        return time.monotonic() - started

    async def teardown(self) -> None:
        if self.senders is not None:
            with contextlib.suppress(Exception):
                await self.senders.close()
        if self.gateway is not None:
            self.gateway.stop()
        if self.mqtt_consumer is not None:
            with contextlib.suppress(Exception):
                self.mqtt_consumer.disconnect()
        if self.webhook is not None:
            self.webhook.kill()
        if self.broker is not None:
            await self.broker.stop()
        if self.pg is not None:
            await asyncio.to_thread(self.pg.destroy)
        if self.volume is not None:
            if self.args.keep:  # the store goes with the tmpfs: keep a copy
                shutil.copytree(self.volume.path, self.run / "data-kept", dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("soak-filler"))
            self.volume.unmount()


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    run = Path(tempfile.mkdtemp(prefix="navet-soak-", dir=args.workdir))
    s = Soak(args, run)
    started = time.monotonic()
    try:
        await s.setup()
        fault_s = await s.faults()
        settle_s = await s.settle()
        figures = await asyncio.to_thread(s.tally)
    finally:
        await s.teardown()
        if not args.keep:
            shutil.rmtree(run, ignore_errors=True)
    return {
        "command": " ".join(["python", "bench/fault_soak.py", *sys.argv[1:]]),
        "seed": args.seed, "store": args.store,
        "faults_requested": args.faults,
        "faults": dict(s.injected), "faults_total": sum(s.injected.values()),
        "fault_detail": dict(s.detail), "skipped": s.skipped,
        "fault_mean_s": {k: round(s.seconds[k] / n, 2) for k, n in s.injected.items()},
        "gateway_starts": s.gateway.runs if s.gateway else 0,
        "fault_s": round(fault_s, 1), "settle_s": round(settle_s, 1),
        "duration_s": round(time.monotonic() - started, 1),
        **figures,
        "run_dir": str(run) if args.keep else None,
    }


def report(f: dict[str, Any]) -> str:
    t = f["total"]
    lines = [f"fault soak, seed {f['seed']}, store {f['store']}: {f['faults_total']} faults in "
             f"{f['fault_s']:.0f} s, settled in {f['settle_s']:.0f} s, "
             f"{f['duration_s'] / 60:.1f} min in all",
             "faults survived: " + ", ".join(f"{k} {v}" for k, v in sorted(f["faults"].items()))
             + f"  ({', '.join(f'{k} {v}' for k, v in sorted(f['fault_detail'].items()))})"]
    lines.append("mean seconds per fault, recovery included: " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(f["fault_mean_s"].items())))
    for kind, why in sorted(f["skipped"].items()):
        lines.append(f"skipped {kind}: {why}")
    head = ("family", "devices", "sent", "acked", "stored", "lost", "dup", "order", "unacked+st")
    lines.append("")
    lines.append("{:<12}{:>8}{:>8}{:>8}{:>8}{:>6}{:>6}{:>7}{:>11}".format(*head))
    rows = [*f["families"].items(), ("total", t)]
    for name, c in rows:
        lines.append("{:<12}{:>8}{:>8}{:>8}{:>8}{:>6}{:>6}{:>7}{:>11}".format(
            name, c.get("devices", 0), c.get("sent", 0), c.get("acknowledged", 0),
            c.get("stored_frames", 0), c.get("lost", 0), c.get("duplicated", 0),
            c.get("out_of_order", 0), c.get("stored_unacknowledged", 0)))
    lines.append("")
    lines.append(f"events stored {f['events']} ({f['derived']} derived, not from a frame; "
                 f"{f['unexplained']} not traced to a frame)")
    for name, c in f["consumers"].items():
        lines.append(f"consumer {name:<8} {c['delivered']} of {c['expected']} events delivered, "
                     f"{c['undelivered']} undelivered, {c['redelivered']} redeliveries, "
                     f"{c['unknown']} unknown ids")
    for sample in f.get("unexplained_samples", []):
        lines.append(f"  not traced: {sample}")
    lines.append(f"lost {t.get('lost', 0)}, duplicated {t.get('duplicated', 0)}, "
                 f"out of order {t.get('out_of_order', 0)}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--faults", type=int, default=1000, help="faults to inject (default 1000)")
    p.add_argument("--minutes", type=float, default=40.0,
                   help="stop injecting after this long even if faults remain (default 40)")
    p.add_argument("--seed", type=int, default=1, help="seed of the fault plan and the devices")
    p.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--devices", type=int, default=2, help="devices per family (default 2)")
    p.add_argument("--interval", type=float, default=0.5,
                   help="mean seconds between frames of one device (default 0.5)")
    p.add_argument("--hold-min", type=float, default=0.1, help="shortest fault (s)")
    p.add_argument("--hold-max", type=float, default=1.0, help="longest fault (s)")
    p.add_argument("--gap-min", type=float, default=0.05, help="shortest pause between faults")
    p.add_argument("--gap-max", type=float, default=0.5, help="longest pause between faults")
    p.add_argument("--settle", type=float, default=300.0,
                   help="seconds to wait after the last fault for stores and deliveries")
    p.add_argument("--kinds", type=lambda v: [k.strip() for k in v.split(",") if k.strip()],
                   default=[], help=f"only these faults, comma-separated (of {', '.join(KINDS)})")
    p.add_argument("--no-full-disk", dest="full_disk", action="store_false",
                   help="do not mount a tmpfs for the data directory (no disk_full faults)")
    p.add_argument("--scratch-mb", type=int, default=64, help="size of that tmpfs")
    p.add_argument("--workdir", default=None, help="where the run directory goes (a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the run directory (logs, store)")
    p.add_argument("--progress", type=int, default=0, help="print progress every N faults")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    if unknown := set(args.kinds) - set(KINDS):
        p.error(f"unknown fault kind(s) {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}")
    if args.faults < 1 or args.minutes <= 0 or args.devices < 1 or args.interval <= 0:
        p.error("--faults, --minutes, --devices and --interval must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        figures = asyncio.run(soak(args))
    except (RuntimeError, OSError, TimeoutError) as err:
        print(f"fault soak failed: {err}", file=sys.stderr)
        return 1
    if not args.json:
        print(report(figures))
    print(json.dumps({k: v for k, v in figures.items() if k != "devices"}, sort_keys=True))
    t = figures["total"]
    bad = t.get("lost", 0) or t.get("duplicated", 0) or any(
        c["undelivered"] for c in figures["consumers"].values())
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
