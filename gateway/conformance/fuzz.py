"""The total-decoding check: bad input made from the declared frames, each call timed.

Inputs are seeded by the adapter's name, so every run (and every machine) feeds
the same ones and the committed reports can be compared.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from gateway.core.model import EventBase
from gateway.errors import PayloadError

from .checks import no_declaration
from .declaration import FrameSpec
from .report import Check
from .subject import Subject

DECODE_BUDGET_S = 5.0
"""Real seconds one ``decode`` call may take on any input before it counts as a hang."""
FUZZ_INPUTS = 600
OVERSIZED = 1024 * 1024


def _short(data: bytes | str, limit: int = 60) -> str:
    text = repr(data[:limit])
    return text + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


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
        mutable = bytearray(frame.payload_bytes())
        kind = rng.randrange(4)
        if kind == 0 or not mutable:
            made.append(("random bytes", frame, rng.randbytes(rng.randrange(1, 400))))
            continue
        for _ in range(rng.randrange(1, 6)):
            if not mutable:
                break
            pos = rng.randrange(len(mutable))
            if kind == 1:
                mutable[pos] = rng.randrange(256)
            elif kind == 2:
                mutable[pos:pos] = rng.choice([b"-1", b"99999999999999999999", b"\x00", b'"',
                                            b"{}", b"[", b"\xc3", b"NaN", b"1e999"])
            else:
                del mutable[pos:pos + rng.randrange(1, 8)]
        made.append(("mutated", frame, bytes(mutable)))
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
        status, value = _run_with_budget(functools.partial(instance.decode, raw),
                                         DECODE_BUDGET_S)
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


