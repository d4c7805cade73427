"""``navet demo``: the demo municipality, its simulated flats and the live view, in one process.

The demo runs exactly what an operator would run (``gateway.yaml`` beside this
file is an ordinary settings file; ``municipality.yaml`` an ordinary care
configuration) on the embedded default: SQLite in a data directory and the
embedded MQTT broker. The simulators connect to that broker over TCP with the
same MQTT client the gateway uses, so the demo exercises the real network path
from a Zigbee2MQTT bridge to the live view.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from gateway.core.care import CareConfig, load_care_config
from gateway.core.clock import SystemClock
from gateway.core.gateway import Gateway
from gateway.core.settings import MqttSettings, Settings, load_settings
from gateway.transports.base import MqttClient
from simulators import ScenarioRunner, SimContext, SimDevice, Simulator, build, families
from simulators.zigbee2mqtt import DAY

from .operator import DemoOperator

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).parent
SETTINGS_FILE = DEMO_DIR / "gateway.yaml"
MUNICIPALITY_FILE = DEMO_DIR / "municipality.yaml"
SETTLE_TIMEOUT = 5.0
SIM_STOP_TIMEOUT = 5.0
DEMO_PASSWORD = "demo"
DEMO_USERS: tuple[tuple[str, str, str, bool], ...] = (
    # (user name = subject, display name, role, every demo tenant or only Västerås)
    ("operator", "Larmoperatör (demo)", "operator", True),
    ("hemtjanst", "Hemtjänst (demo)", "staff", False),
    ("admin", "Administratör (demo)", "admin", True),
    ("uppfoljning", "Uppföljning (demo)", "analyst", True),
)
"""One sign-in account per role, each also a staff entry in municipality.yaml, so what a
person does as one of them is recorded under that name."""


@dataclass
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    mqtt_port: int = 0
    duration: float | None = None
    data_dir: Path | None = None
    speed: float = 60.0
    seed: int = 1


def demo_settings(opts: DemoOptions, data_dir: Path, mqtt_port: int) -> Settings:
    """The demo's settings, with every address made real for this run.

    The HTTP port is fixed before start (a free one for ``--port 0``), so vendor
    clouds that are told where to post (``public_url``) reach this gateway, and a
    simulated vendor cloud on loopback (``api_url``) gets a free port of its own
    so two demos (or a demo beside the tests) never collide.
    """
    port = opts.port or _free_port()
    settings = load_settings(
        SETTINGS_FILE,
        data_dir=str(data_dir),
        mqtt={"mode": "embedded", "host": "127.0.0.1", "port": mqtt_port,
              "client_id": "navet-demo-gateway"},
        http={"host": opts.host, "port": port},
    )
    here = "127.0.0.1" if opts.host in ("0.0.0.0", "::", "") else opts.host
    for inst in settings.adapters:
        if "public_url" in inst.settings:
            inst.settings["public_url"] = f"http://{here}:{port}"
        api = str(inst.settings.get("api_url", ""))
        if api.startswith("http://127.0.0.1:"):
            inst.settings["api_url"] = f"http://127.0.0.1:{_free_port()}"
    return settings


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _simulator_client(gw: Gateway, settings: Settings) -> MqttClient:
    """An MQTT client for the simulators, on the broker the gateway uses."""
    broker = gw.broker
    memory = getattr(broker, "broker", None)
    if memory is not None and hasattr(memory, "client"):  # mqtt.mode "memory"
        client: MqttClient = memory.client("navet-demo-simulators")
    else:
        from gateway.transports.mqtt import PahoMqttClient

        port = int(getattr(broker, "port", settings.mqtt.port))
        mqtt = MqttSettings(mode="external", host=settings.mqtt.host, port=port,
                            client_id="navet-demo-simulators")
        client = PahoMqttClient(mqtt, persistent=False)
    await client.connect()
    return client


async def create_demo_users(gw: Gateway, care: CareConfig) -> list[str]:
    """The demo's accounts (made again on each start, so a reused data dir has them as
    documented); returns one line per account for the start message."""
    from gateway.core.accounts import add_user, hash_password

    digest = hash_password(DEMO_PASSWORD)
    everywhere = [t.id for t in care.tenants]
    now = gw.clock.now()
    lines = []
    for subject, name, role, all_tenants in DEMO_USERS:
        tenants = everywhere if all_tenants else ["vasteras"]
        await gw.store.write(partial(add_user, subject=subject, name=name, roles=[role],
                                     tenants=tenants, password_hash=digest, now=now,
                                     replace=True))
        lines.append(f"  {subject:<12} password {DEMO_PASSWORD}  role {role:<9} "
                     f"tenants {', '.join(tenants)}")
    return lines


def api_headers_for(settings: Settings,
                    tenants: list[str]) -> Callable[[str | None], dict[str, str]] | None:
    """Bearer tokens for the simulated staff's API calls (None: the API is open)."""
    if settings.auth.mode != "local":
        return None
    from gateway.core.security.tokens import LocalKeys, issue_token

    keys = LocalKeys(settings.data_dir / "keys")
    cache: dict[str | None, dict[str, str]] = {}

    def headers(staff: str | None) -> dict[str, str]:
        if staff not in cache:
            # a planner that lists the staff (an operator's read), or one staff member
            token = issue_token(keys, subject=staff or "demo-planner", tenants=tenants,
                                roles=["staff"] if staff else ["operator"], ttl_s=7 * 86400,
                                issuer=settings.auth.issuer, audience=settings.auth.audience)
            cache[staff] = {"Authorization": f"Bearer {token}"}
        return cache[staff]

    return headers


def simulators_for(care: CareConfig, settings: Settings, mqtt: MqttClient, seed: int,
                   clock: Any, adapters: dict[str, Any] | None = None,
                   http_url: str | None = None,
                   ) -> tuple[list[Simulator], list[str]]:
    """Build a simulator for every configured device family that has one.

    ``adapters`` are the running adapter instances by instance id, so a simulator
    can learn where a receiver listens. Returns ``(simulators, families without
    a simulator)``.
    """
    sims: list[Simulator] = []
    skipped: set[str] = set()
    api_headers = api_headers_for(settings, [t.id for t in care.tenants])
    for tenant in care.tenants:
        for inst in settings.adapters:
            if inst.tenant != tenant.id:
                continue
            devices = [SimDevice(tenant.id, d.adapter, d.address, str(d.kind), d.resident,
                                 d.heartbeat_s)
                       for d in tenant.devices if d.adapter == inst.adapter]
            if not devices:
                continue
            if inst.adapter not in families():
                skipped.add(inst.adapter)
                continue
            ctx = SimContext(mqtt, clock, tenant.id, dict(inst.settings), seed,
                             adapter=(adapters or {}).get(inst.instance_id),
                             http_url=http_url, instance_id=inst.instance_id,
                             api_headers=api_headers)
            sims.extend(build(inst.adapter, ctx, devices))
    return sims, sorted(skipped)


async def run_demo(opts: DemoOptions, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the demo until ``opts.duration`` passes or a signal arrives; return the summary."""
    from gateway.cli.runtime import Runtime

    if opts.duration is not None:
        # A timed demo that overruns by a minute is stuck somewhere: dump every thread's
        # stack to stderr then (the demo keeps running), so the cause can be found.
        faulthandler.dump_traceback_later(opts.duration + 60.0, repeat=False)
    data_dir = opts.data_dir or Path(tempfile.mkdtemp(prefix="navet-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    mqtt_port = opts.mqtt_port or _free_port()
    settings = demo_settings(opts, data_dir, mqtt_port)
    care = load_care_config(MUNICIPALITY_FILE)

    runtime = Runtime(settings)
    runtime.install_signal_handlers()
    started = time.monotonic()
    await runtime.start()
    gw = runtime.gateway
    before = {t.id: gw.store.count_events(t.id) for t in care.tenants}  # a reused data dir
    first_seq = gw.store.last_seq()
    sim_client: MqttClient | None = None
    runner_task: asyncio.Task[None] | None = None
    sims: list[Simulator] = []
    skipped: list[str] = []
    runner = ScenarioRunner(SystemClock(), speed=opts.speed)
    operator: DemoOperator | None = None
    try:
        accounts = await create_demo_users(gw, care)
        sim_client = await _simulator_client(gw, settings)
        sims, skipped = simulators_for(care, settings, sim_client, opts.seed, SystemClock(),
                                       gw.adapter_instances, runtime.url)
        operator = DemoOperator(gw, [t.id for t in care.tenants], seed=opts.seed)
        operator.start()
        days = math.ceil((opts.duration or 30 * DAY / opts.speed) * opts.speed / DAY) + 1
        for sim in sims:
            sim.schedule(runner, days=days)
        runner_task = asyncio.create_task(runner.run(), name="demo-simulators")
        tenants = ", ".join(t.id for t in care.tenants)
        progress(f"Navet demo: tenants {tenants}; {len(sims)} simulator(s) at "
                 f"{opts.speed:g}x speed; data in {data_dir}, store {gw.store.label}")
        if skipped:
            progress(f"  no simulator yet for: {', '.join(skipped)}")
        if runtime.url:
            progress(f"Sign in at {runtime.url}/ as one of:")
            for line in accounts:
                progress(line)
        where = f"live view at {runtime.url}" if runtime.url else "HTTP API disabled"
        until = f"for {opts.duration:g}s" if opts.duration else "Ctrl-C to stop"
        progress(f"Navet demo running — {where} — {until}")
        await runtime.wait(opts.duration)
        progress(f"Navet demo stopping ({runtime.stop_reason or 'done'})")
    finally:
        if runner_task is not None:
            await runner.stop(runner_task)
        if operator is not None:
            await operator.stop()
        for sim in sims:
            stop = getattr(sim, "stop", None)
            if stop is not None:
                try:
                    async with asyncio.timeout(SIM_STOP_TIMEOUT):  # one stuck simulator
                        await stop()                            # must not hold the demo
                except Exception as err:  # TimeoutError included
                    log.warning("simulator %s did not stop cleanly: %r", sim.name, err)
        if sim_client is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(SIM_STOP_TIMEOUT):
                    await sim_client.disconnect()
        summary: dict[str, Any] = {}
        if gw.started:
            await _settle(gw)
            summary = _summary(gw, care, before, sims, skipped, runner,
                               time.monotonic() - started)
            summary["by_adapter"] = gw.store.count_events_by_adapter(after_seq=first_seq)
            if operator is not None:
                summary["operator"] = operator.summary()
            summary.update(live_view=runtime.url, data_dir=str(data_dir),
                           store={"kind": gw.store.kind, "database": gw.store.label},
                           mqtt={"host": settings.mqtt.host, "port": mqtt_port},
                           speed=opts.speed)
        await runtime.stop()
        faulthandler.cancel_dump_traceback_later()
    return summary


async def _settle(gw: Gateway) -> None:
    """Give in-flight frames and the outbox a bounded moment to finish before counting:
    until nothing new was stored for a moment and the outbox is empty."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT
    last, quiet_since = -1, loop.time()
    while loop.time() < deadline:
        seq = gw.store.last_seq()
        if seq != last:
            last, quiet_since = seq, loop.time()
        elif loop.time() - quiet_since > 0.5 and not gw.store.outbox_depth():
            return
        await asyncio.sleep(0.05)


def _summary(gw: Gateway, care: CareConfig, before: dict[str, dict[str, int]],
             sims: list[Simulator], skipped: list[str], runner: ScenarioRunner,
             elapsed: float) -> dict[str, Any]:
    """Events stored during this run (by type and by tenant), not what a reused dir held."""
    by_tenant: dict[str, dict[str, int]] = {}
    events: dict[str, int] = {}
    for tenant in care.tenants:
        old = before.get(tenant.id, {})
        counts = {k: n - old.get(k, 0) for k, n in gw.store.count_events(tenant.id).items()}
        by_tenant[tenant.id] = {k: n for k, n in counts.items() if n}
        for k, n in by_tenant[tenant.id].items():
            events[k] = events.get(k, 0) + n
    return {
        "duration_s": round(elapsed, 2),
        "simulated_s": round(runner.now, 1),
        "events": dict(sorted(events.items())),
        "by_tenant": by_tenant,
        "dead_letters": gw.store.count_dead_letters(),
        "simulators": [{"family": s.family, "name": s.name, "published": s.published}
                       for s in sims],
        "skipped_families": skipped,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a person reads it."""
    if not summary:
        return "Navet demo did not start."
    lines = [f"Navet demo ran {summary['duration_s']:g}s "
             f"({summary['simulated_s'] / 3600:.1f} simulated hours)."]
    total = sum(summary["events"].values())
    lines.append(f"Events stored: {total}")
    for etype, n in sorted(summary["events"].items()):
        lines.append(f"  {etype:<24} {n:>7}")
    for tenant, counts in summary["by_tenant"].items():
        lines.append(f"Tenant {tenant}: {sum(counts.values())} events")
    if summary.get("by_adapter"):
        lines.append("Events by adapter: " + ", ".join(
            f"{a} {sum(n.values())}" for a, n in summary["by_adapter"].items()))
    lines.append(f"Dead letters: {summary['dead_letters']}")
    if summary.get("operator"):
        op = summary["operator"]
        lines.append(f"Demo operator: {op['alarms_seen']} alarms seen, {op['acknowledged']} "
                     f"acknowledged, {op['closed']} closed")
    published = sum(s["published"] for s in summary["simulators"])
    lines.append(f"Simulators: {len(summary['simulators'])} published {published} messages")
    lines.append(f"Data kept in {summary['data_dir']}")
    store = summary.get("store", {})
    if store.get("kind", "sqlite") != "sqlite":
        lines.append(f"Events stored in {store['kind']}: {store['database']}")
    return "\n".join(lines)
