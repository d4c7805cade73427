"""The Zigbee2MQTT traffic every benchmark stage sends, and what Navet makes of it.

A frame's ``last_seen`` is the moment it was published (ISO 8601, microseconds).
That is what Zigbee2MQTT itself puts there with ``advanced.last_seen: ISO_8601``,
so it gives every frame a distinct, deterministic event id *and* lets the
receiving side compute publish-to-durable latency without adding a field the
adapter would have to ignore.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

from gateway.core.store import is_postgres, schema_of, with_schema

BASE_TOPIC: Final = "zigbee2mqtt"
TENANT: Final = "bench"
DEVICES_PER_KIND: Final = 50

# (name suffix, payload fields apart from last_seen, events the adapter makes of it)
KINDS: Final[tuple[tuple[str, dict[str, object], int], ...]] = (
    # sensor.reported + device.battery + device.heartbeat
    ("door", {"contact": False, "battery": 87, "voltage": 3000, "linkquality": 120}, 3),
    # sensor.reported + device.heartbeat
    ("bed", {"occupancy": True, "linkquality": 96}, 2),
    # sensor.reported + device.battery + device.heartbeat
    ("water", {"water_leak": False, "battery": 64, "linkquality": 75}, 3),
    # sensor.reported (two readings) + device.heartbeat
    ("motion", {"occupancy": False, "illuminance_lux": 12, "linkquality": 140}, 2),
)


def device_count() -> int:
    return DEVICES_PER_KIND * len(KINDS)


def frame_kind(i: int) -> tuple[str, dict[str, object], int]:
    return KINDS[i % len(KINDS)]


def is_alarm(i: int, alarm_every: int) -> bool:
    """Frame ``i`` is an alarm frame: every ``alarm_every``-th (0: none)."""
    return alarm_every > 0 and i % alarm_every == alarm_every - 1


ALARM_FIELDS: Final[dict[str, object]] = {"water_leak": True, "battery": 64, "linkquality": 75}
"""An alarm frame: a water leak from a sensor of its own (the passive rule raises
``passive.water_leak`` at once, one per sensor), 3 events like any water frame."""


def topic(i: int, alarm_every: int = 0) -> str:
    """Frame ``i`` goes to device ``i`` modulo the fleet, kinds interleaved; an alarm frame
    to a leak sensor of its own."""
    if is_alarm(i, alarm_every):
        return f"{BASE_TOPIC}/leak{i:06d}_water"
    suffix, _, _ = frame_kind(i)
    room = (i // len(KINDS)) % DEVICES_PER_KIND
    return f"{BASE_TOPIC}/room{room:03d}_{suffix}"


def payload(i: int, sent_us: int, alarm_every: int = 0) -> bytes:
    fields = ALARM_FIELDS if is_alarm(i, alarm_every) else frame_kind(i)[1]
    return json.dumps({**fields, "last_seen": iso_us(sent_us)}).encode()


def events_for(count: int, alarm_every: int = 0) -> int:
    """How many events ``count`` frames (numbered from 0) become."""
    return sum(3 if is_alarm(i, alarm_every) else frame_kind(i)[2] for i in range(count))


ADAPTER_EVENTS_SQL: Final = (
    "SELECT count(CASE WHEN json_extract(body, '$.source.adapter') = 'zigbee2mqtt' THEN 1 END),"
    " count(*) FROM events"
)
"""(events the adapter made, all events): rules may derive more, e.g. alarms."""


def iso_us(epoch_us: int) -> str:
    seconds, micros = divmod(epoch_us, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros).isoformat()


def sent_seconds(body: bytes) -> float:
    """The publish time carried in a frame's ``last_seen``, as epoch seconds."""
    value = json.loads(body)["last_seen"]
    return datetime.fromisoformat(value).timestamp()


class SendClock:
    """Epoch microseconds that never repeat, so two frames never share an id."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = time.time_ns() // 1000
        self._last = now if now > self._last else self._last + 1
        return self._last


def frames(count: int, clock: SendClock) -> Iterator[tuple[str, bytes]]:
    for i in range(count):
        yield topic(i), payload(i, clock.next())


def phase_database(phase: str) -> str:
    """The database for one phase of a benchmark: "" (SQLite in the phase's temporary data
    directory), or, when ``NAVET_DATABASE`` is a PostgreSQL URL, a schema of the phase's
    own in that database, so that phases never count each other's events."""
    url = os.environ.get("NAVET_DATABASE", "")
    if not is_postgres(url):
        return ""
    return with_schema(url, f"{schema_of(url)}_{phase}_{os.getpid()}_{time.monotonic_ns()}")


def store_kind() -> str:
    return "postgresql" if is_postgres(os.environ.get("NAVET_DATABASE", "")) else "sqlite"
