"""The kit's checks of the manifest, the vectors and the events (``decode`` only).

Each returns one :class:`Check`. A failed check's message says what the vendor
should change, naming the frame that showed it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from gateway.core.adapters import AdapterBase, Manifest
from gateway.core.model import CONTRACT_VERSION, EventBase
from gateway.errors import PayloadError

from .declaration import FILE_NAME, FrameSpec
from .manifest import manifest_problems
from .report import Check
from .subject import Subject


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
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs

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
