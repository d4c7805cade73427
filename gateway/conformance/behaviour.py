"""Checks of what the adapter says about devices: heartbeat and silence, zones, and how
fast it decodes."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from .checks import no_declaration
from .declaration import FILE_NAME
from .report import Check
from .subject import Subject

# --------------------------------------------------------------------------- heartbeat


LIVENESS = ("device.heartbeat", "device.online")


def check_heartbeat(subject: Subject) -> Check:
    if subject.declaration is None:
        return no_declaration("heartbeat", subject)
    spec = subject.declaration.spec
    if spec.heartbeat is None:
        return Check("heartbeat", "skipped",
                     "no heartbeat declared: the protocol sends no liveness messages, so "
                     "devices are supervised only with heartbeat_s in the care configuration")
    try:
        events = list(subject.instance().decode(subject.raw(spec.heartbeat.frame)))
    except Exception as err:
        return Check("heartbeat", "fail", f"the heartbeat frame was not decoded: {err}")
    live = [e for e in events if e.type in LIVENESS]
    alarms = [e.type for e in events if e.type.startswith("alarm.")]
    if not live or alarms:
        return Check("heartbeat", "fail",
                     f"the heartbeat frame gave {[e.type for e in events]}: it must give "
                     f"{' or '.join(LIVENESS)} and never an alarm")
    device = live[0].device.id if live[0].device else None
    if device is None:
        return Check("heartbeat", "fail", "the heartbeat event names no device")
    want = spec.heartbeat.interval_s
    if want is not None:
        got = getattr(live[0].data, "interval_s", None)
        if got != want:
            return Check("heartbeat", "fail",
                         f"the heartbeat announces interval_s {got!r}, declared {want:g}: "
                         "announce the device's interval so Navet knows when it is silent")
    if spec.silence is None:
        return Check("heartbeat", "pass",
                     f"heartbeat gives {live[0].type} for {device}; no offline message in the "
                     "protocol, silence is detected from the heartbeat interval")
    try:
        gone = list(subject.instance().decode(subject.raw(spec.silence)))
    except Exception as err:
        return Check("heartbeat", "fail", f"the silence frame was not decoded: {err}")
    offline = [e for e in gone if e.type == "device.offline"]
    if not offline:
        return Check("heartbeat", "fail",
                     f"the silence frame gave {[e.type for e in gone]}: it must give "
                     "device.offline")
    if offline[0].device is None or offline[0].device.id != device:
        return Check("heartbeat", "fail",
                     f"device.offline names {offline[0].device and offline[0].device.id}, the "
                     f"heartbeat {device}: the same device must have the same id")
    return Check("heartbeat", "pass",
                 f"heartbeat gives {live[0].type} and silence gives device.offline for {device}")


# --------------------------------------------------------------------------- zones


def check_zones(subject: Subject) -> Check:
    if subject.declaration is None:
        return no_declaration("zones", subject)
    zones = subject.declaration.spec.zones
    if zones is None:
        return Check("zones", "skipped", "the protocol has no zone numbers (none declared)")
    if not zones:
        return Check("zones", "fail", f"zones is empty in {FILE_NAME}: list frames with "
                                      "zones, or leave zones out when the protocol has none")
    for i, z in enumerate(zones):
        try:
            events = list(subject.instance().decode(subject.raw(z.frame)))
        except Exception as err:
            return Check("zones", "fail", f"zones[{i}] was not decoded: {err}")
        got = [(e.location.zone if e.location else None, e.location.user if e.location else None)
               for e in events]
        want = (z.zone, z.user)
        if want not in got:
            return Check("zones", "fail",
                         f"zones[{i}] must give location.zone {z.zone!r} and location.user "
                         f"{z.user!r} exactly as sent (leading zeros kept); got {got}")
    return Check("zones", "pass", f"{len(zones)} frames carry zone and user exactly as sent")


# --------------------------------------------------------------------------- throughput


def check_throughput(subject: Subject, measurements: dict[str, Any],
                     seconds: float = 1.0) -> Check:
    if subject.declaration is None:
        return no_declaration("throughput", subject)
    spec = subject.declaration.spec
    frames = [subject.raw(f) for f in
              subject.declaration.simulator_frames(200) or [f for _, f in subject.good_frames()]]
    if not frames:
        return Check("throughput", "fail", f"declare good frames in {FILE_NAME}")
    instance = subject.instance()
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for raw in frames:
            with contextlib.suppress(Exception):  # correctness is other checks' business
                instance.decode(raw)
            done += 1
    elapsed = time.perf_counter() - started
    fps = done / elapsed
    floor = spec.baseline_fps / 10
    measurements["decode_fps"] = round(fps)
    measurements["baseline_fps"] = spec.baseline_fps
    if fps < floor:
        return Check("throughput", "fail",
                     f"decoded {fps:.0f} frames/s, far below the declared baseline "
                     f"{spec.baseline_fps:g} (fails under {floor:g}): profile decode")
    return Check("throughput", "pass",
                 f"decode rate printed beside the baseline {spec.baseline_fps:g} frames/s "
                 f"(fails only under {floor:g}); figures under measurements")


