"""Coverage-guided fuzzing of every adapter's decoder (atheris / libFuzzer).

Each adapter's ``decode`` must be total: any bytes give events or one
``PayloadError``, never another exception (the contract in
docs/adapter-authors.md). This script fuzzes the SCAIP, DC-09 and every
webhook/MQTT vendor decoder that is registered, each in its own process for
``--seconds``, seeded with the golden vectors in ``contracts/vectors/`` and a
few well-formed protocol frames, and prints executions, speed, coverage and
findings per target. Any exception other than ``PayloadError`` is a finding:
the input is kept in ``--artifacts`` and the script exits 1.

    pip install atheris
    python bench/fuzz_decoders.py                 # 30 s per target
    python bench/fuzz_decoders.py --seconds 120 --targets scaip,dc09
    python bench/fuzz_decoders.py --json

Not a test: figures vary with the machine. tests/ has the property-based
(hypothesis) tests of the same decoders; this finds what they miss.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "contracts" / "vectors"
T0 = "2026-01-01T07:30:00+00:00"

# Decoders that need settings (accounts, keys) or a fixed address to reach their code.
SPECIAL: dict[str, dict[str, Any]] = {
    "scaip": {"address": "sip:unit7@navet.local", "transport": "sip-udp",
              "settings": {}, "seeds": [
                  b"<mrq><ref>1001</ref><cid>678</cid><dty>0003</dty><stc>0010</stc></mrq>",
                  b"  <mrq xmlns=\"http://www.hi.se/2012/XScaipXML\"> <ref>A7</ref><mty>PI</mty>"
                  b"<cid>1</cid><dty>2</dty><hbo>001</hbo></mrq>",
                  b"<mrq><ref>9</ref><cid>1</cid><dty>51</dty><stc>10</stc><lco>35</lco>"
                  b"<lge><geo>59.61,16.54</geo></lge><crd>a</crd><crd>b</crd></mrq>",
              ]},
    "portvakt": {"address": "events", "transport": "webhook",
                 "settings": {"api_url": "https://api.portvakt.example", "api_key": "k" * 16,
                              "webhook_secret": "s" * 24},
                 "seeds": [b'{"event_id": "evt_1", "type": "access.unlocked", "occurred_at": '
                           b'"2026-01-05T06:31:12.204+00:00", "lock": {"id": "PV-1102", '
                           b'"model": "PV-Door 3", "serial": "PV551234"}, "actor": {"type": '
                           b'"integration", "user_ref": "s-anna", "command_ref": "c-1"}}',
                           b'{"event_id": "evt_2", "type": "lock.battery", "occurred_at": '
                           b'"2026-01-05T06:31:12+00:00", "lock": {"id": "PV-1"}, '
                           b'"battery": {"percent": 18, "low": true}}']},
    "lasbro": {"address": "lasbro/vasteras/hub1/door-1/event", "transport": "mqtt",
               "settings": {"base_topic": "lasbro/vasteras", "bridge": "hub1"},
               "meta": {"base_topic": "lasbro/vasteras"},
               "seeds": [b'{"seq": 118, "ts": 1767594672.204, "evt": "unlock", "src": "remote",'
                         b' "uid": "s-anna", "ref": "r-1", "model": "LB-200"}',
                         b'{"seq": 119, "ts": 1767594673, "evt": "batt", "lvl": 18}',
                         b'{"seq": 120, "ts": 1767594674, "evt": "deny", "src": "pin", '
                         b'"why": "bad_pin"}']},
    "dc09": {"address": "tcp:127.0.0.1:5000", "transport": "tcp",
             "settings": {"tcp_port": 0, "accounts": [
                 {"account": "1234"},
                 {"account": "5678", "key": "000102030405060708090a0b0c0d0e0f"}]},
             "seeds": []},  # filled from the frame builder below
}


def _dc09_seeds() -> list[bytes]:
    from datetime import UTC, datetime

    from plugins.alarms.dc09.crypto import seal
    from plugins.alarms.dc09.frame import clear_content, encode_frame

    now = datetime.now(UTC)
    clear = [("SIA-DCS", "#1234|NMA012"), ("ADM-CID", "#1234|1100 01 012"), ("NULL", None)]
    out = [encode_frame(tok, 1, line="0", account="1234", receiver="0",
                        content=clear_content(data or "", (), now)) for tok, data in clear]
    sealed = seal(bytes.fromhex("000102030405060708090a0b0c0d0e0f"),
                  clear_content("#5678|NQA001", ("X16.5", "Y59.6"), now), has_data=True)
    out.append(encode_frame("SIA-DCS", 2, line="0", account="5678", receiver="0",
                            content=sealed, encrypted=True))
    return out


def _vector_seeds(adapter: str) -> tuple[list[bytes], dict[str, Any]]:
    """Payloads of the adapter's golden vectors, and the frame shape of the first one."""
    seeds: list[bytes] = []
    shape: dict[str, Any] = {}
    folder = VECTORS / adapter
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        frame = json.loads(path.read_text(encoding="utf-8")).get("frame", {})
        payload = frame.get("payload", "")
        if "payload_b64" in frame:
            seeds.append(base64.b64decode(frame["payload_b64"]))
        elif isinstance(payload, str):
            seeds.append(payload.encode())
        else:
            seeds.append(json.dumps(payload).encode())
        if not shape and not path.name.startswith("bad"):
            shape = frame
    return seeds, shape


def targets() -> list[str]:
    from gateway.core.plugins import build_plugin_manager

    return sorted(name for name, _ in build_plugin_manager().adapters)


# --------------------------------------------------------------------------- child


def run_child(target: str, seconds: int, artifacts: Path) -> None:
    import atheris

    # Instrument Navet and its plugins, loading every adapter module inside the block
    # (the plugin manager imports them through entry points) so coverage guides the fuzzer.
    with atheris.instrument_imports(include=["plugins", "gateway"]):
        from gateway import PayloadError, RawFrame
        from gateway.core.plugins import build_plugin_manager

        cls = dict(build_plugin_manager().adapters)[target]

    from datetime import datetime

    special = SPECIAL.get(target, {})
    seeds, shape = _vector_seeds(target)
    # the adapter's settings: ours for special targets, else those the golden vectors name
    adapter = cls(special.get("settings", shape.get("settings", {})))
    seeds += special.get("seeds", [])
    if target == "dc09":
        seeds += _dc09_seeds()
    address = special.get("address") or shape.get("address", f"{target}/device-1")
    transport = special.get("transport") or shape.get("transport", "webhook")
    meta = special.get("meta") or shape.get("meta", {})
    tenant = shape.get("tenant", "vasteras")
    received = datetime.fromisoformat(shape.get("received", T0))

    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-"))
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(seed)

    def one(data: bytes) -> None:
        frame = RawFrame(target, tenant, transport, address, data, received, meta=dict(meta))
        try:
            adapter.decode(frame)
        except PayloadError:
            pass

    artifacts.mkdir(parents=True, exist_ok=True)
    atheris.Setup([sys.argv[0], str(corpus), f"-max_total_time={seconds}",
                   f"-artifact_prefix={artifacts}/{target}-", "-print_final_stats=1",
                   "-max_len=4096", "-rss_limit_mb=2048"], one)
    atheris.Fuzz()


# --------------------------------------------------------------------------- parent


def run_target(target: str, seconds: int, artifacts: Path) -> dict[str, Any]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", target, "--seconds", str(seconds),
         "--artifacts", str(artifacts)],
        capture_output=True, text=True, timeout=seconds * 3 + 120, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    err = proc.stderr
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", err) or \
        re.search(r"Done (\d+) runs", err)
    cov = re.findall(r"cov: (\d+)", err)
    crashed = proc.returncode != 0
    finding = None
    if crashed:
        m = re.search(r"=== Uncaught Python exception: ===\n(.*?)\n", err)
        finding = (m.group(1) if m else err.strip().splitlines()[-1:] or ["?"])[0] \
            if isinstance(m, re.Match) or err else "exited %d" % proc.returncode
    executions = int(runs.group(1)) if runs else 0
    elapsed = time.monotonic() - started
    return {"target": target, "seconds": round(elapsed, 1), "executions": executions,
            "exec_per_s": round(executions / max(elapsed, 1e-9)),
            "coverage_edges": int(cov[-1]) if cov else None,
            "findings": 1 if crashed else 0, "finding": finding}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--targets", default="", help="comma list (default: every adapter)")
    parser.add_argument("--artifacts", default=str(ROOT / "bench" / "fuzz-artifacts"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.seconds, Path(args.artifacts))
        return 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzz_decoders: pip install atheris", file=sys.stderr)
        return 2
    chosen = [t for t in args.targets.split(",") if t] or targets()
    results = [run_target(t, args.seconds, Path(args.artifacts)) for t in chosen]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"Decoder fuzzing (atheris), {args.seconds}s per target")
        print(f"{'target':<14}{'executions':>12}{'exec/s':>9}{'cov edges':>11}  findings")
        for r in results:
            print(f"{r['target']:<14}{r['executions']:>12,}{r['exec_per_s']:>9,}"
                  f"{r['coverage_edges'] or 0:>11}  "
                  f"{r['findings']}{'  ' + str(r['finding']) if r['finding'] else ''}")
    return 1 if any(r["findings"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
