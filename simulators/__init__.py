"""Device and vendor-cloud simulators, and the registry that builds them.

A simulator family is named after the adapter that reads it (``zigbee2mqtt``;
later ``scaip``, ``dc09``, ``gps``, lock and dispenser clouds). Its factory
gets the devices a municipality configured for that adapter and returns
simulators that put their script on a :class:`ScenarioRunner`. The demo builds
every family that is registered and has devices; a family whose adapter has no
simulator yet is reported as skipped, not an error.

Adding a family::

    from simulators import register
    register("dc09", lambda ctx, devices: [MyPanelSimulator(ctx, d) for d in devices])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway import Clock, MqttClient

from . import medication_cloud, medication_mqtt
from .alarm_units import dc09_panels, scaip_residents
from .gps import FAMILY as GPS_FAMILY
from .gps import trackers as gps_trackers
from .runner import ScenarioRunner
from .zigbee2mqtt import FAMILY as Z2M_FAMILY
from .zigbee2mqtt import Zigbee2MqttFlat


@dataclass(frozen=True)
class SimDevice:
    """One configured device, as a simulator needs to know it."""

    tenant: str
    adapter: str
    address: str
    kind: str
    resident: str | None = None
    heartbeat_s: int | None = None


@dataclass
class SimContext:
    """What a simulator factory may use: the MQTT client, clock, adapter settings, seed."""

    mqtt: MqttClient
    clock: Clock
    tenant: str
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    adapter: Any = None
    """The running adapter instance, for simulators that must learn where it listens
    (a SCAIP or DC-09 receiver started on port 0). None when nothing runs."""
    http_url: str | None = None
    """The gateway's HTTP base URL (e.g. ``http://127.0.0.1:8080``), for simulated vendor
    clouds that push webhooks to ``{http_url}/ingress/<instance>/<path>``."""
    instance_id: str = ""
    """The adapter instance id these devices belong to (the ingress path uses it)."""
    api_headers: Callable[[str | None], dict[str, str]] | None = None
    """Headers that authenticate a call to Navet's API as a staff member (None: a planner
    listing the staff), e.g. a bearer token; None when the API is open (auth.mode off),
    where simulators name their staff with ``X-Navet-Actor``."""


class Simulator(Protocol):
    family: str
    name: str
    published: int

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None: ...


SimulatorFactory = Callable[[SimContext, list[SimDevice]], list[Simulator]]

_REGISTRY: dict[str, SimulatorFactory] = {}


def register(family: str, factory: SimulatorFactory) -> None:
    """Make ``family`` (an adapter name) simulatable. Re-registering replaces it."""
    _REGISTRY[family] = factory


def families() -> list[str]:
    return sorted(_REGISTRY)


def build(family: str, ctx: SimContext, devices: list[SimDevice]) -> list[Simulator]:
    """Simulators for ``devices`` of ``family``; ``KeyError`` if it has no simulator."""
    return _REGISTRY[family](ctx, devices)


def _locks_cloud(ctx: SimContext, devices: list[SimDevice]) -> Simulator:
    from .locks_cloud import PortvaktSimulator  # starts an HTTP server only when scheduled

    return PortvaktSimulator(ctx, devices)


def _locks_mqtt(ctx: SimContext, devices: list[SimDevice]) -> Simulator:
    from .locks_mqtt import LasbroSimulator

    return LasbroSimulator(ctx, devices)


def _zigbee2mqtt(ctx: SimContext, devices: list[SimDevice]) -> list[Simulator]:
    """One simulated flat per resident (a device without a resident is its own flat)."""
    flats: dict[str, list[str]] = {}
    for dev in devices:
        flats.setdefault(dev.resident or dev.address, []).append(dev.address)
    base = str(ctx.settings.get("base_topic", "zigbee2mqtt"))
    return [
        Zigbee2MqttFlat(ctx.mqtt, ctx.clock, names, base_topic=base,
                        name=f"{ctx.tenant}/{flat}", seed=ctx.seed)
        for flat, names in sorted(flats.items())
    ]


register(Z2M_FAMILY, _zigbee2mqtt)
register("scaip", lambda ctx, devices: list(scaip_residents(ctx, devices)))
register("dc09", lambda ctx, devices: list(dc09_panels(ctx, devices)))
register("portvakt", lambda ctx, devices: [_locks_cloud(ctx, devices)])
register("lasbro", lambda ctx, devices: [_locks_mqtt(ctx, devices)])
register("dosvakt", lambda ctx, devices: list(medication_cloud.clouds(ctx, devices)))
register("medikub", lambda ctx, devices: list(medication_mqtt.dispensers(ctx, devices)))
register(GPS_FAMILY, lambda ctx, devices: list(gps_trackers(ctx, devices)))


def _cameras(family: str) -> SimulatorFactory:
    def factory(ctx: SimContext, devices: list[SimDevice]) -> list[Simulator]:
        if family == "ugglan":  # imported when used: the cloud brings an HTTP server
            from .cameras_cloud import ugglan_family
            return ugglan_family(ctx, devices)
        from .cameras_mqtt import vaktaren_family
        return vaktaren_family(ctx, devices)

    return factory


register("ugglan", _cameras("ugglan"))
register("vaktaren", _cameras("vaktaren"))

__all__ = [
    "ScenarioRunner",
    "SimContext",
    "SimDevice",
    "Simulator",
    "SimulatorFactory",
    "Zigbee2MqttFlat",
    "build",
    "families",
    "register",
]
