"""The kit's checks that need no running adapter: they call ``decode`` only.

Each returns one :class:`Check`. A failed check's message says what the vendor
should change, naming the frame that showed it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from gateway.core.adapters import AdapterBase, Manifest
from gateway.core.model import CONTRACT_VERSION, EventBase
from gateway.errors import PayloadError, PluginError

from .declaration import FILE_NAME, FrameSpec
from .manifest import manifest_problems
from .report import Check
from .subject import Subject

DECODE_BUDGET_S = 5.0
"""Real seconds one ``decode`` call may take on any input before it counts as a hang."""
FUZZ_INPUTS = 600
OVERSIZED = 1024 * 1024


def _short(data: bytes | str, limit: int = 60) -> str:
    text = repr(data[:limit])
    return text + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


def no_declaration(check_id: str, subject: Subject) -> Check:
    return Check(check_id, "fail",
                 f"{subject.name} ships no conformance section: add {FILE_NAME} beside the "
                 f"plugin's manifest.json with adapters.{subject.name} (docs/adapters/)")


# --------------------------------------------------------------------------- manifest


def check_manifest(subject: Subject) -> Check:
    problems: list[str] = []
    manifest = getattr(subject.cls, "manifest", None)
    if not isinstance(manifest, Manifest):
        return Check("manifest", "fail",
                     f"{subject.cls.__name__}.manifest must be a gateway.Manifest")
    if manifest.name != subject.name:
        problems.append(f"manifest name {manifest.name!r} is not the adapter's name "
                        f"{subject.name!r}")
    if not manifest.supports(CONTRACT_VERSION):
        problems.append(f"contract range {manifest.contract} excludes contract "
                        f"{CONTRACT_VERSION}; widen it only once the kit passes against "
                        f"{CONTRACT_VERSION}")
    if getattr(subject.cls, "decode", None) in (None, AdapterBase.decode):
        problems.append("the adapter class does not implement decode(frame)")
    if manifest.commands and not callable(getattr(subject.cls, "execute", None)):
        problems.append(f"the manifest lists commands {list(manifest.commands)} but the "
                        "adapter has no async execute(command)")
    plugin = subject.plugin_manifest
    if subject.module is not None:
        if not plugin:
            problems.append(f"plugin {subject.plugin} has no manifest.json beside its "
                            "__init__.py")
        else:
            problems += [f"manifest.json: {p}" for p in manifest_problems(subject.plugin, plugin)]
            if subject.name not in plugin.get("adapters", []):
                problems.append(f"manifest.json: adapters does not list {subject.name!r}")
            kinds = set(plugin.get("device_kinds", []))
            missing = sorted(str(k) for k in manifest.device_kinds if str(k) not in kinds)
            if missing:
                problems.append(f"manifest.json: device_kinds lacks {missing}, which "
                                f"{subject.name} declares")
    if problems:
        return Check("manifest", "fail", "; ".join(problems))
    return Check("manifest", "pass",
                 f"manifest valid; contract range {manifest.contract} includes "
                 f"{CONTRACT_VERSION}")


# --------------------------------------------------------------------------- vectors


def check_vectors(subject: Subject) -> Check:
    from gateway.contracts import check_vector

    if subject.declaration is None:
        return no_declaration("vectors", subject)
    missing = subject.declaration.missing_vector_dirs()
    if missing:
        return Check("vectors", "fail", f"vector directories not found: {missing} (paths are "
                                        f"relative to {FILE_NAME})")
    files = subject.declaration.vector_files()
    if not files:
        return Check("vectors", "fail",
                     f"no golden vectors: record some with python -m gateway.contracts vector "
                     f"{subject.name} and list their directory under vectors in {FILE_NAME}")
    wrong = [f for f in files if f.parent.name != subject.name]
    if wrong:
        return Check("vectors", "fail", f"vectors must be in a folder named {subject.name}: "
                                        f"{wrong[0]}")
    problems: list[str] = []
    good = refused = 0
    for path in files:
        found = check_vector(path, subject.registry)
        problems += [f"{path.name}: {p.splitlines()[0]}" for p in found]
        vector = json.loads(path.read_text(encoding="utf-8"))
        if "error" in vector:
            refused += 1
        else:
            good += 1
            if not found:
                spec = vector["frame"]
                frame = FrameSpec(address=spec["address"], payload=str(spec["payload"]),
                                  transport=spec.get("transport", "mqtt"),
                                  meta=spec.get("meta", {}))
                subject.events += [(f"vector {path.name}", e) for e in _decode_vector(
                    subject, frame, spec)]
    if problems:
        return Check("vectors", "fail", f"{len(problems)} of {len(files)} vectors disagree: "
                                        + "; ".join(problems[:5]))
    if not good or not refused:
        return Check("vectors", "fail",
                     f"vectors must cover frames that give events and frames that are refused "
                     f"(have {good} good, {refused} refused)")
    return Check("vectors", "pass", f"{len(files)} golden vectors replay exactly "
                                    f"({good} with events, {refused} refused)")


def _decode_vector(subject: Subject, frame: FrameSpec, spec: dict[str, Any]) -> list[EventBase]:
    from datetime import datetime

    from gateway.core.adapters import RawFrame

    raw = RawFrame(subject.name, spec["tenant"], frame.transport, frame.address,
                   frame.payload_bytes(), datetime.fromisoformat(spec["received"]),
                   meta=frame.meta)
    return list(subject.cls(spec.get("settings", {})).decode(raw))


# --------------------------------------------------------------------------- samples


def decode_samples(subject: Subject) -> tuple[int, list[str]]:
    """Decode every declared good frame once; (events, problems)."""
    problems: list[str] = []
    count = 0
    assert subject.declaration is not None
    frames = subject.good_frames()
    frames += [(f"simulator[{i}]", f)
               for i, f in enumerate(subject.declaration.simulator_frames(20))]
    for origin, frame in frames:
        try:
            events = subject.decode(frame, origin=origin)
        except PayloadError as err:
            problems.append(f"{origin} was refused ({err}); a declared good frame must give "
                            "events")
            continue
        except Exception as err:
            problems.append(f"{origin}: decode raised {type(err).__name__}: {err}")
            continue
        if not events:
            problems.append(f"{origin} gave no events")
        count += len(events)
    return count, problems


# --------------------------------------------------------------------------- events


@functools.cache
def _validator(event_type: str) -> Any:
    from jsonschema import Draft202012Validator

    from gateway.contracts import DEFAULT_DIR, event_schema

    path = DEFAULT_DIR / "events" / f"{event_type}.json"
    schema = (json.loads(path.read_text(encoding="utf-8")) if path.exists()
              else event_schema(event_type))
    return Draft202012Validator(schema)


def schema_problems(event: EventBase | dict[str, Any]) -> list[str]:
    """What the published JSON Schema of its type says is wrong with ``event``."""
    from gateway.core.model import CATALOGUE

    data = (event.model_dump(mode="json", warnings=False) if isinstance(event, EventBase)
            else event)
    event_type = data.get("type")
    if event_type not in CATALOGUE:
        return [f"type {event_type!r} is not in the contract's catalogue"]
    found = []
    for error in _validator(str(event_type)).iter_errors(data):
        # anyOf (a field that may be null): say what the non-null branches wanted
        branches = [e.message for e in error.context or ()
                    if not e.message.endswith("is not of type 'null'")]
        message = " or ".join(dict.fromkeys(branches)) or error.message
        found.append(f"{'/'.join(map(str, error.path)) or 'event'}: {message}")
    return found


def check_events(subject: Subject, sample_problems: list[str]) -> Check:
    if subject.declaration is None:
        return no_declaration("events-valid", subject)
    if not subject.declaration.spec.frames:
        return Check("events-valid", "fail",
                     f"declare good frames (frames in {FILE_NAME}) so the kit can see the "
                     "adapter's events")
    if sample_problems:
        return Check("events-valid", "fail", "; ".join(sample_problems[:5]))
    problems: list[str] = []
    for origin, event in subject.events:
        data = event.model_dump(mode="json", warnings=False)
        for p in schema_problems(data):
            problems.append(f"{origin}: {data.get('type')} {p}")
        source = data.get("source") or {}
        if source.get("adapter") != subject.name:
            problems.append(f"{origin}: source.adapter is {source.get('adapter')!r}, must be "
                            f"{subject.name!r}")
    tenants = {e.tenant for o, e in subject.events if not o.startswith("vector")}
    if tenants - {subject.tenant}:
        problems.append(f"events carry tenant {sorted(tenants - {subject.tenant})} but the "
                        f"frame's tenant is {subject.tenant!r}: always use frame.tenant")
    if problems:
        return Check("events-valid", "fail",
                     f"{len(problems)} problems against contracts/events: "
                     + "; ".join(problems[:5]))
    types = sorted({e.type for _, e in subject.events})
    return Check("events-valid", "pass",
                 f"{len(subject.events)} events valid against the contract's JSON schemas "
                 f"({', '.join(types)})")


# --------------------------------------------------------------------------- ids


def _dumped(events: list[EventBase]) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json", warnings=False) for e in events]


def check_ids(subject: Subject) -> Check:
    if subject.declaration is None:
        return no_declaration("deterministic-ids", subject)
    frames = subject.good_frames()
    frames += [(f"simulator[{i}]", f)
               for i, f in enumerate(subject.declaration.simulator_frames(20))]
    if not frames:
        return Check("deterministic-ids", "fail", f"declare good frames in {FILE_NAME}")
    same = subject.instance()
    for origin, frame in frames:
        try:
            first = _dumped(same.decode(subject.raw(frame)))
            again = _dumped(same.decode(subject.raw(frame)))
            fresh = _dumped(subject.instance().decode(subject.raw(frame)))
        except Exception:  # a frame that fails is events-valid's and total-decoding's finding
            continue
        for label, other in (("decoded again", again), ("decoded by a new instance", fresh)):
            if [e["id"] for e in first] != [e["id"] for e in other]:
                return Check("deterministic-ids", "fail",
                             f"{origin} {label} gave ids {[e['id'] for e in other]}, first "
                             f"{[e['id'] for e in first]}: derive ids from the source "
                             "(make_event with source.ref), keep no state between decode calls")
            if first != other:
                return Check("deterministic-ids", "fail",
                             f"{origin} {label} gave different events: decode must be pure "
                             "(no clock, no randomness, no state between calls)")
    ids = [e.id for o, e in subject.events if not o.startswith("vector")]
    return Check("deterministic-ids", "pass",
                 f"{len(frames)} frames decoded twice and by a new instance give the same "
                 f"{len(ids)} events and ids")


# --------------------------------------------------------------------------- totality


def fuzz_inputs(subject: Subject, count: int = FUZZ_INPUTS) -> list[tuple[str, FrameSpec, bytes]]:
    """Bad input made from the declared frames: seeded, so the same every run."""
    rng = random.Random(f"navet-conformance:{subject.name}")
    frames = [f for _, f in subject.good_frames()] or [FrameSpec(payload="")]
    made: list[tuple[str, FrameSpec, bytes]] = []
    for frame in frames:
        data = frame.payload_bytes()
        made.append(("empty", frame, b""))
        cuts = sorted({*range(1, min(len(data), 24)), *range(24, len(data), 7)})
        made += [(f"truncated at {n}", frame, data[:n]) for n in cuts]
        made.append(("oversized", frame, data + b" " * OVERSIZED))
        made.append(("oversized repeat", frame, data * (OVERSIZED // max(len(data), 1))))
    specials = [b"\xff\xfe\x00garbage", b"{" * 100_000, b"[" * 100_000 + b"]" * 100_000,
                b'{"a": NaN}', b'{"a": Infinity}', b"9" * 5000, b"null", b"[]", b"{}",
                b'"' + b"\\u0000" * 10 + b'"', b"<a>" * 50_000, b"\r\n" * 1000]
    made += [("special", frames[i % len(frames)], s) for i, s in enumerate(specials)]
    while len(made) < count + len(frames) * 30:
        frame = rng.choice(frames)
        data = bytearray(frame.payload_bytes())
        kind = rng.randrange(4)
        if kind == 0 or not data:
            made.append(("random bytes", frame, rng.randbytes(rng.randrange(1, 400))))
            continue
        for _ in range(rng.randrange(1, 6)):
            if not data:
                break
            pos = rng.randrange(len(data))
            if kind == 1:
                data[pos] = rng.randrange(256)
            elif kind == 2:
                data[pos:pos] = rng.choice([b"-1", b"99999999999999999999", b"\x00", b'"',
                                            b"{}", b"[", b"\xc3", b"NaN", b"1e999"])
            else:
                del data[pos:pos + rng.randrange(1, 8)]
        made.append(("mutated", frame, bytes(data)))
    return made


def _run_with_budget(fn: Callable[[], Any], budget: float) -> tuple[str, Any]:
    """``("ok", value)``, ``("raised", exc)`` or ``("hang", None)`` after ``budget`` seconds."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["ok"] = fn()
        except BaseException as err:
            box["raised"] = err

    worker = threading.Thread(target=run, daemon=True, name="conformance-decode")
    worker.start()
    worker.join(budget)
    if worker.is_alive():
        return "hang", None
    return ("ok", box["ok"]) if "ok" in box else ("raised", box["raised"])


def check_totality(subject: Subject, measurements: dict[str, Any]) -> Check:
    if subject.declaration is None:
        return no_declaration("total-decoding", subject)
    inputs = fuzz_inputs(subject)
    instance = subject.instance()
    refused = accepted = 0
    slowest = 0.0
    for kind, frame, payload in inputs:
        raw = subject.raw(frame, payload)
        started = time.perf_counter()
        status, value = _run_with_budget(lambda r=raw: instance.decode(r), DECODE_BUDGET_S)
        slowest = max(slowest, time.perf_counter() - started)
        where = f"{kind} input {_short(payload)} at address {frame.address!r}"
        if status == "hang":
            return Check("total-decoding", "fail",
                         f"decode did not return within {DECODE_BUDGET_S:g} s on {where}: "
                         "bound loops and input sizes, refuse oversized frames early")
        if status == "raised":
            if isinstance(value, PayloadError):
                refused += 1
                continue
            return Check("total-decoding", "fail",
                         f"decode raised {type(value).__name__} ({value}) on {where}: catch "
                         "it and raise gateway.PayloadError naming what was wrong")
        if not isinstance(value, list) or not all(isinstance(e, EventBase) for e in value):
            return Check("total-decoding", "fail",
                         f"decode returned {type(value).__name__} on {where}: return a list "
                         "of events")
        accepted += 1
        subject.events += [(f"fuzzed {kind}", e) for e in value]
    measurements["slowest_decode_ms"] = round(slowest * 1000, 1)
    return Check("total-decoding", "pass",
                 f"{len(inputs)} fuzzed, truncated and oversized frames: {refused} refused "
                 f"with PayloadError, {accepted} decoded, none crashed or took over "
                 f"{DECODE_BUDGET_S:g} s")


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


def plugin_error_check(check_id: str, err: PluginError) -> Check:
    return Check(check_id, "fail", str(err))
