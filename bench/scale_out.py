"""Several ``navet serve`` instances on one PostgreSQL and one Mosquitto, one of them killed.

The benchmark starts its own PostgreSQL (tests/postgres.py) and Mosquitto
(bench/broker.py, configured as Navet configures it), then for 1, 2 and
``--instances`` instances (each run on a schema of its own):

- starts the instances (``navet serve``, ``mqtt.share_group`` set, one instance
  name each, the Zigbee2MQTT adapter for one tenant), and waits until every one
  registered its MQTT sessions;
- publishes ``--frames`` QoS 1 frames from ``--devices`` simulated sensors, round
  robin over the devices, each device numbering its frames: frame *k* of a device
  carries ``last_seen = T0 + k ms``, so the stored event's time is the device's
  sequence number;
- in the last run, SIGKILLs ``--kill`` instances once 40 % of the frames are out;
- waits until every frame is stored (or nothing moves for ``--stall`` s) and reads
  the store.

Figures (the last run's, with the killed instance; ``runs`` has each run):

``lost``           frames published that no stored event stands for.
``duplicated``     frames stored as two events (the ids are deterministic, so > 0 is a bug).
``out_of_order``   events stored (= committed, = streamed: seq order is commit order)
                   after a later frame of the same device: the order a consumer of the
                   stream or the outbox sees differs from the order the device sent.
``redelivered``    frames the surviving instances were handed a second time (the
                   broker redelivers what the killed one held unacknowledged): counted
                   from their ``navet_duplicates_total``, per frame.
``stream_missing`` events stored that a live SSE client of a surviving instance, following
                   the stream from the start, was never sent (another instance committed
                   them: it must hear of them, LISTEN/NOTIFY, and its cursor must not pass them).
``stream_in_store_order``  that client got them in seq order, none twice.
``throughput_vs_one_instance``  frames/s of each run over frames/s of the one-instance run.
``detected_s``     from the SIGKILL until another instance found it gone and began to take
                   over (its name's lock in PostgreSQL was free).
``takeover_s``     from the SIGKILL until that instance had handled everything the dead
                   one's MQTT sessions held, erased them and freed its leases (its
                   registration gone): under a backlog, this is draining a third of it.

Per-device order: Mosquitto hands the messages of a shared subscription out round
robin, so two frames of one device may be handled by two instances at once and
committed in either order; ``out_of_order`` counts what that does at this rate.

Usage::

    python3 bench/scale_out.py --instances 3 --kill 1 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: python3 bench/scale_out.py
    sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402  (after the path is set)
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from bench.broker import BenchBroker  # noqa: E402
from gateway.core.store import with_schema  # noqa: E402
from tests.postgres import query_database, start_server  # noqa: E402
from tests.services import free_port  # noqa: E402

TENANT = "bench"
BASE = "zigbee2mqtt"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS_PER_FRAME = 2  # sensor.reported + device.heartbeat: what a duplicate frame costs


class Instance:
    """One ``navet serve`` process with its config file and log."""

    def __init__(self, name: str, workdir: Path, database: str, mqtt_port: int,
                 data_dir: Path) -> None:
        self.name = name
        self.http_port = free_port()
        config = {
            "environment": "development",
            "data_dir": str(data_dir),
            "database": database,
            "instance": name,
            "log_level": "WARNING",
            "mqtt": {"mode": "external", "host": "127.0.0.1", "port": mqtt_port,
                     "share_group": "navet"},
            "http": {"host": "127.0.0.1", "port": self.http_port},
            "adapters": [{"adapter": "zigbee2mqtt", "tenant": TENANT,
                          "settings": {"qos": 1}}],
        }
        self.config = workdir / f"{name}.json"
        self.config.write_text(json.dumps(config))
        self.log = workdir / f"{name}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("NAVET_DATABASE", None)
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])

    def duplicates(self) -> float:
        """Events this instance was handed again and dropped (``navet_duplicates_total``)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics",
                                        timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return 0.0
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("navet_duplicates_total"))

    def stop(self, grace: float = 20.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


class StreamFollower:
    """A live client of one instance's SSE stream (``/api/v1/stream``), from the start:
    the events it is sent, in the order it is sent them."""

    def __init__(self, port: int) -> None:
        import httpx

        self.ids: list[str] = []
        self.error: str | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        self._url = (f"http://127.0.0.1:{port}/api/v1/stream?tenant={TENANT}"
                     "&type=sensor.reported&after=0")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", self._url) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("data:"):
                        self.ids.append(json.loads(line[5:])["id"])
        except Exception as err:
            if not self._stop.is_set():
                self.error = f"{type(err).__name__}: {err}"

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ids) < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.1)

    def close(self) -> None:
        self._stop.set()
        self._client.close()
        self._thread.join(timeout=5)


def _wait_registered(database: str, instances: list[Instance], timeout: float) -> None:
    """Until every instance registered its MQTT sessions (its adapters are subscribed)."""
    deadline = time.monotonic() + timeout
    names = {i.name for i in instances}
    while True:
        rows = query_database(database, "SELECT name, sessions FROM instances")
        ready = {r[0] for r in rows if r[1] not in ("", "[]")}
        if names <= ready:
            return
        for inst in instances:
            if not inst.alive():
                raise RuntimeError(f"instance {inst.name} exited:\n{inst.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"instances not ready in {timeout:.0f} s: {sorted(names - ready)}")
        time.sleep(0.2)


class Publisher:
    """QoS 1 frames, round robin over the devices, at most ``inflight`` unacknowledged."""

    def __init__(self, port: int, devices: int, inflight: int = 100) -> None:
        self.devices = devices
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-devices",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(inflight)
        self.window = threading.BoundedSemaphore(inflight)
        self.acked = 0
        self.client.on_publish = self._on_publish
        connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: connected.set()
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()
        if not connected.wait(10):
            raise RuntimeError("the publisher got no CONNACK")

    def _on_publish(self, c: object, u: object, mid: int, rc: object, p: object) -> None:
        self.acked += 1
        self.window.release()

    def send(self, i: int) -> None:
        device, k = i % self.devices, i // self.devices
        seen = (T0 + timedelta(milliseconds=k)).isoformat().replace("+00:00", "Z")
        body = json.dumps({"occupancy": k % 2 == 0, "linkquality": 90, "last_seen": seen})
        if not self.window.acquire(timeout=60):
            raise RuntimeError("the broker stopped acknowledging")
        self.client.publish(f"{BASE}/dev{device:04d}", body, qos=1)

    def close(self) -> None:
        deadline = time.monotonic() + 30
        while self.window._value < self.window._initial_value and \
                time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.02)
        self.client.disconnect()
        self.client.loop_stop()


STORED = ("SELECT device, time, received, id FROM events WHERE type = 'sensor.reported'"
          " ORDER BY seq")


def _count(database: str) -> int:
    rows = query_database(database, "SELECT count(*) FROM events WHERE type = "
                                    "'sensor.reported'")
    return int(rows[0][0]) if rows else 0


def one_run(n: int, args: argparse.Namespace, server: Any, broker: BenchBroker,
            workdir: Path, data_dir: Path, *, kill: int = 0) -> dict[str, Any]:
    run_id = f"r{n}k{kill}"
    database = with_schema(server.url(), f"scale_{run_id}")
    instances: list[Instance] = []
    try:
        # the first starts alone: it makes the schema and the data directory's keys
        instances.append(Instance(f"{run_id}n0", workdir, database, broker.port, data_dir))
        _wait_registered(database, instances, 90)
        instances += [Instance(f"{run_id}n{k}", workdir, database, broker.port, data_dir)
                      for k in range(1, n)]
        _wait_registered(database, instances, 90)
        follower = StreamFollower(instances[-1].http_port)  # one that is not killed
        publisher = Publisher(broker.port, args.devices)
        kill_at = int(args.frames * 0.4) if kill else -1
        killed_at = 0.0
        takeover: dict[str, float] = {}
        start = time.time()
        for i in range(args.frames):
            if args.rate > 0:  # frame i leaves at start + i / rate, not earlier
                time.sleep(max(0.0, start + i / args.rate - time.time()))
            if i == kill_at:
                for victim in instances[:kill]:
                    if args.graceful:
                        victim.proc.send_signal(signal.SIGTERM)  # a rolling restart's stop
                    else:
                        victim.kill()
                killed_at = time.time()
                threading.Thread(target=_watch_takeover, daemon=True, args=(
                    database, [v.name for v in instances[:kill]], takeover)).start()
            publisher.send(i)
        publisher.close()
        published = time.time()
        last, moved = -1, time.monotonic()
        while True:
            have = _count(database)
            if have >= args.frames:
                break
            if have != last:
                last, moved = have, time.monotonic()
            elif time.monotonic() - moved > args.stall:
                break
            time.sleep(0.2)
        rows = query_database(database, STORED)
        follower.wait_for(len(rows), 30)
        follower.close()
        redelivered_events = sum(i.duplicates() for i in instances if i.alive())
        if kill:
            deadline = time.monotonic() + 30  # the figure, even when the frames were quicker
            while "at" not in takeover and time.monotonic() < deadline:
                time.sleep(0.1)
        detected = _first_log_time([i for i in instances if i.alive()], "is gone")
        if os.environ.get("NAVET_BENCH_LOGS"):
            for inst in instances:
                print(f"--- {inst.name}\n{inst.tail()}", file=sys.stderr)
    finally:
        for inst in instances:
            inst.stop()
    seen: dict[str, int] = defaultdict(lambda: -1)
    keys: set[tuple[str, str]] = set()
    out_of_order = 0
    last_received = start
    for device, when, received, _ in rows:
        k = round((datetime.fromisoformat(when) - T0).total_seconds() * 1000)
        if k < seen[device]:
            out_of_order += 1
        seen[device] = max(seen[device], k)
        keys.add((device, when))
        last_received = max(last_received, datetime.fromisoformat(received).timestamp())
    elapsed = max(1e-6, last_received - start)
    figures: dict[str, Any] = {
        "instances": n,
        "killed": kill,
        "frames": args.frames,
        "lost": args.frames - len(keys),
        "duplicated": len(rows) - len(keys),
        "out_of_order": out_of_order,
        "redelivered": round(redelivered_events / EVENTS_PER_FRAME),
        "frames_per_s": round(len(keys) / elapsed, 1),
        "stream_missing": len({r[3] for r in rows} - set(follower.ids)),
        "stream_in_store_order": follower.ids == [r[3] for r in rows],
        **({"stream_error": follower.error} if follower.error else {}),
        "publish_s": round(published - start, 2),
        "store_s": round(elapsed, 2),
    }
    if kill:
        figures["detected_s"] = round(detected - killed_at, 2) if detected else None
        figures["takeover_s"] = round(takeover["at"] - killed_at, 2) if "at" in takeover \
            else None
    return figures


def _first_log_time(instances: list[Instance], text: str) -> float | None:
    """When the first of ``instances`` logged ``text`` (their logs are JSON lines)."""
    times = []
    for inst in instances:
        for line in inst.log.read_text(errors="replace").splitlines():
            if text in line and line.startswith("{"):
                with contextlib.suppress(ValueError, KeyError):
                    stamp = json.loads(line)["time"].replace("Z", "+00:00")
                    times.append(datetime.fromisoformat(stamp).timestamp())
    return min(times) if times else None


def _watch_takeover(database: str, names: list[str], out: dict[str, float]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = query_database(database, "SELECT name FROM instances")
        if not {r[0] for r in rows} & set(names):
            out["at"] = time.time()
            return
        time.sleep(0.1)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="navet-scale-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"  # shared: every instance has the same keys
        server = start_server(free_port())
        try:
            with BenchBroker(workdir, inflight=100) as broker:
                counts = sorted({1, 2, args.instances}) if args.instances > 1 else [1]
                runs = [one_run(n, args, server, broker, workdir, data_dir) for n in counts]
                if args.kill:
                    runs.append(one_run(args.instances, args, server, broker, workdir,
                                        data_dir, kill=args.kill))
        finally:
            server.destroy()
    one = runs[0]["frames_per_s"]
    final = runs[-1]
    return {
        "instances": args.instances,
        "killed": args.kill,
        "frames": args.frames,
        "devices": args.devices,
        "lost": final["lost"],
        "duplicated": final["duplicated"],
        "out_of_order": final["out_of_order"],
        "redelivered": final["redelivered"],
        "stream_missing": final["stream_missing"],
        "stream_in_store_order": final["stream_in_store_order"],
        "detected_s": final.get("detected_s"),
        "takeover_s": final.get("takeover_s"),
        "rate": args.rate,
        "graceful": args.graceful,
        "throughput_vs_one_instance": {
            str(r["instances"]) + (" (one killed)" if r["killed"] else ""):
                round(r["frames_per_s"] / one, 2) for r in runs},
        "runs": runs,
        "seconds": round(time.monotonic() - started, 1),
        "date": datetime.now(UTC).date().isoformat(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 bench/scale_out.py")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--kill", type=int, default=1, help="instances SIGKILLed mid-run")
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--devices", type=int, default=101,
                        help="an odd count spreads each device over the instances")
    parser.add_argument("--stall", type=float, default=40.0,
                        help="give up when nothing was stored for this many seconds")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="frames/s from all devices together; 0 = flat out (a backlog)")
    parser.add_argument("--graceful", action="store_true",
                        help="stop the --kill instances with SIGTERM instead (rolling restart)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.kill >= args.instances:
        parser.error("--kill must leave at least one instance running")
    figures = measure(args)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    return 0 if figures["lost"] == 0 and figures["duplicated"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
