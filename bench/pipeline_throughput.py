"""Pipeline throughput next to a raw Mosquitto relay, measured in the same run.

Machines are noisy, so every Navet figure is printed with the raw relay
figure taken minutes earlier on the same machine, and compared as a ratio.

Stages (see bench/README.md for what each figure means):

1. baseline — paho publisher process -> Mosquitto -> paho subscriber process;
   no parsing, no storage.
2. navet    — the same publisher sending Zigbee2MQTT frames -> Mosquitto -> a
   Navet gateway process (external MQTT, one zigbee2mqtt adapter instance,
   SQLite, or PostgreSQL when ``NAVET_DATABASE`` is a postgresql:// URL) until
   every frame is durably stored. Then again, paced at half the
   rate just sustained, for latency below saturation.
3. burst    — ``Gateway.ingest`` called directly from many tasks (no MQTT), to
   show the store sharing one transaction between waiting frames.
4. lone     — one frame at a time on an idle gateway: batching must not delay it.

Run from the repository root::

    python bench/pipeline_throughput.py                 # 20,000 messages, QoS 1, FULL
    python bench/pipeline_throughput.py --json          # machine-readable
    python bench/pipeline_throughput.py --postgres      # on a throwaway local PostgreSQL
    NAVET_DATABASE=postgresql://navet@db/navet python bench/pipeline_throughput.py
                                                        # on a PostgreSQL server you run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `gateway` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.broker import BenchBroker
from bench.children import Child, ChildError
from bench.frames import events_for, is_alarm, store_kind
from bench.inprocess import alarms_behind_burst, burst, lone_frames


def _relay_args(role: str, port: int, count: int, args: argparse.Namespace, timeout: float,
                rate: float = 0.0, alarm_every: int = 0) -> list[str]:
    return [role, "--port", str(port), "--messages", str(count), "--qos", str(args.qos),
            "--inflight", str(args.inflight), "--timeout", str(timeout), "--rate", str(rate),
            *(["--alarm-every", str(alarm_every)] if alarm_every else [])]


def _run_pair(consumer: Child, port: int, count: int, args: argparse.Namespace, timeout: float,
              rate: float = 0.0, alarm_every: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the publisher once ``consumer`` is subscribed; return both sets of figures."""
    publisher: Child | None = None
    try:
        consumer.expect_ready(60)
        publisher = Child.python("publisher", "bench.relay",
                                 *_relay_args("publish", port, count, args, timeout, rate,
                                              alarm_every))
        publisher.expect_ready(30)
        sent = publisher.result(timeout + 10)
        got = consumer.result(timeout + 10)
        return sent, got
    finally:
        if publisher is not None:
            publisher.stop()
        consumer.stop()


def baseline(args: argparse.Namespace, workdir: Path, timeout: float) -> dict[str, Any]:
    with BenchBroker(workdir / "baseline", inflight=args.inflight) as broker:
        subscriber = Child.python("subscriber", "bench.relay",
                                  *_relay_args("subscribe", broker.port, args.messages, args,
                                               timeout))
        sent, got = _run_pair(subscriber, broker.port, args.messages, args, timeout)
    elapsed = got["last"] - sent["start"]
    return {
        "messages": got["received"],
        "complete": got["received"] == args.messages,
        "seconds": round(elapsed, 3),
        "msgs_per_s": round(got["received"] / elapsed, 1) if elapsed > 0 else 0.0,
        "publish_msgs_per_s": round(sent["sent"] / (sent["end"] - sent["start"]), 1),
    }


def navet(args: argparse.Namespace, workdir: Path, timeout: float, *, count: int,
          rate: float = 0.0, alarm_every: int = 0) -> dict[str, Any]:
    """Publish ``count`` frames (flat out, or at ``rate``/s) to a Navet gateway process;
    every ``alarm_every``-th a water-leak alarm timed to the operator stream."""
    alarms = sum(1 for i in range(count) if is_alarm(i, alarm_every))
    with BenchBroker(workdir / f"navet-{rate:g}", inflight=args.inflight) as broker:
        gateway = Child.python(
            "gateway", "bench.navet_proc", "--port", str(broker.port),
            "--frames", str(count), "--qos", str(args.qos), "--sync", args.sync,
            "--timeout", str(timeout), "--alarms", str(alarms),
        )
        sent, got = _run_pair(gateway, broker.port, count, args, timeout, rate, alarm_every)
    elapsed = got["last_done"] - sent["start"]
    expected_events = events_for(count, alarm_every)
    return {
        **got,
        "rate": rate,
        "events_expected": expected_events,
        "complete": got["frames_stored"] == count
        and got["events_stored"] == expected_events,
        "seconds": round(elapsed, 3),
        "frames_per_s": round(got["frames_stored"] / elapsed, 1),
        "events_per_s": round(got["events_stored"] / elapsed, 1),
        "frames_per_transaction": round(got["store_jobs"] / got["store_transactions"], 2)
        if got["store_transactions"] else 0.0,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    timeout = args.timeout or 60 + args.messages / 100  # generous; a stuck stage still ends
    figures: dict[str, Any] = {
        "config": {"messages": args.messages, "qos": args.qos, "sync": args.sync,
                   "store": store_kind(),
                   "inflight": args.inflight, "concurrency": args.concurrency,
                   "lone_frames": args.lone, "paced_load": args.paced_load,
                   "paced_seconds": args.paced_seconds, "alarm_every": args.alarm_every,
                   "python": sys.version.split()[0],
                   "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
    }
    with tempfile.TemporaryDirectory(prefix="navet-bench-") as tmp:
        workdir = Path(tmp)
        figures["baseline"] = baseline(args, workdir, timeout)
        figures["navet"] = navet(args, workdir, timeout, count=args.messages)
        # latency below saturation: half the rate Navet just sustained, for a few seconds
        rate = max(1.0, round(figures["navet"]["frames_per_s"] * args.paced_load, 1))
        paced = max(20, min(args.messages, int(rate * args.paced_seconds)))
        figures["paced"] = navet(args, workdir, timeout, count=paced, rate=rate,
                                 alarm_every=args.alarm_every)
    figures["burst"] = asyncio.run(asyncio.wait_for(
        burst(args.messages, args.concurrency, args.sync), timeout))
    figures["lone"] = asyncio.run(asyncio.wait_for(lone_frames(args.lone, args.sync), timeout))
    if args.behind_burst:
        bulk = min(args.messages, args.behind_burst)
        figures["behind_burst"] = {
            name: asyncio.run(asyncio.wait_for(alarms_behind_burst(
                bulk, args.concurrency, args.sync, lane=lane,
                alarms=max(1, min(20, bulk // 20))), timeout))
            for name, lane in (("lane", True), ("no_lane", False))}
    base = figures["baseline"]["msgs_per_s"]
    figures["ratio"] = {
        "navet_frames_vs_baseline": round(figures["navet"]["frames_per_s"] / base, 4),
        "burst_frames_vs_baseline": round(figures["burst"]["frames_per_s"] / base, 4),
    }
    return figures


def report(f: dict[str, Any]) -> str:
    c, b, n, u, lone = f["config"], f["baseline"], f["navet"], f["burst"], f["lone"]
    lat, llat, p = n["latency"], lone["latency"], f["paced"]
    plat = p["latency"]
    rows = [
        ("1 baseline relay (paho -> mosquitto -> paho)", f"{b['msgs_per_s']:,.0f} msg/s",
         f"{b['messages']:,} msgs in {b['seconds']} s" + ("" if b["complete"] else " INCOMPLETE")),
        ("2 navet over MQTT: frames stored durably", f"{n['frames_per_s']:,.0f} frames/s",
         f"{n['frames_stored']:,} frames in {n['seconds']} s"
         + ("" if n["complete"] else " INCOMPLETE")),
        ("  events stored durably", f"{n['events_per_s']:,.0f} events/s",
         f"{n['events_stored']:,} of {n['events_expected']:,} events"
         f" (+{n['events_derived']:,} derived by rules)"),
        ("  publish -> durable latency, flat out", f"p50 {lat['p50_ms']:,.1f} ms",
         f"p95 {lat['p95_ms']:,.1f}  p99 {lat['p99_ms']:,.1f}  max {lat['max_ms']:,.1f} ms"
         " (queueing)"),
        (f"  same, paced at {p['rate']:,.0f} frames/s", f"p50 {plat['p50_ms']:,.1f} ms",
         f"p95 {plat['p95_ms']:,.1f}  p99 {plat['p99_ms']:,.1f}  max {plat['max_ms']:,.1f} ms"
         f" over {p['frames_stored']:,} frames" + ("" if p["complete"] else " INCOMPLETE")),
        *([("  alarm frame -> operator stream, paced", f"p50 {a['p50_ms']:,.1f} ms",
            f"p95 {a['p95_ms']:,.1f}  p99 {a['p99_ms']:,.1f}  max {a['max_ms']:,.1f} ms"
            f" over {a['alarms']:,} alarms")] if (a := p.get("alarm_stream")) else []),
        ("  gateway CPU per frame (all threads)", f"{n['cpu_ms_per_frame']:.3f} ms",
         "process CPU time / frames; steadier than frames/s on a loaded machine"),
        ("  frames per store transaction", f"{n['frames_per_transaction']:.2f}",
         f"{n['store_transactions']:,} transactions (rules' included)"),
        ("  gateway process RSS", f"peak {n['rss_peak_mb']:.0f} MB",
         f"{n['rss_idle_mb']:.0f} MB when started; client {n['client']}"),
        ("3 in-process burst (no MQTT)", f"{u['frames_per_s']:,.0f} frames/s",
         f"{u['events_per_s']:,.0f} events/s, {u['concurrency']} tasks"),
        ("  CPU per frame (all threads)", f"{u['cpu_ms_per_frame']:.3f} ms",
         "rules drained"),
        ("  frames per store transaction", f"{u['frames_per_transaction']:.2f}",
         f"{u['transactions']:,} transactions"),
        ("4 lone frame -> durable (idle)", f"p50 {llat['p50_ms']:.2f} ms",
         f"p99 {llat['p99_ms']:.2f}  max {llat['max_ms']:.2f} ms over {lone['frames']} frames"),
        *([(f"5 alarm behind a burst ({bb['lane']['bulk_frames']:,} frames), lane",
             f"p50 {bb['lane']['durable']['p50_ms']:,.1f} ms",
             f"p99 {bb['lane']['durable']['p99_ms']:,.1f} ms to durable; alarm.raised p50 "
             f"{bb['lane']['raised']['p50_ms']:,.1f} p99 {bb['lane']['raised']['p99_ms']:,.1f} ms"
             f" over {bb['lane']['alarms']} alarms"),
           ("  same, without the priority lane",
            f"p50 {bb['no_lane']['durable']['p50_ms']:,.1f} ms",
            f"p99 {bb['no_lane']['durable']['p99_ms']:,.1f} ms to durable; alarm.raised p50 "
            f"{bb['no_lane']['raised']['p50_ms']:,.1f} p99 "
            f"{bb['no_lane']['raised']['p99_ms']:,.1f} ms")]
          if (bb := f.get("behind_burst")) else []),
        ("ratio navet over MQTT / baseline", f"{f['ratio']['navet_frames_vs_baseline']:.3f}", ""),
        ("ratio in-process burst / baseline", f"{f['ratio']['burst_frames_vs_baseline']:.3f}",
         ""),
    ]
    width = max(len(r[0]) for r in rows)
    head = (f"Navet pipeline throughput — {c['messages']:,} messages, QoS {c['qos']}, "
            + (f"SQLite synchronous={c['sync']}" if c.get("store", "sqlite") == "sqlite"
               else "PostgreSQL") + f", broker inflight {c['inflight']}")
    lines = [head, "=" * len(head)]
    lines += [f"{name:<{width}}  {value:>18}  {detail}".rstrip() for name, value, detail in rows]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=20_000, help="messages per stage (20000)")
    p.add_argument("--qos", type=int, choices=[0, 1], default=1, help="MQTT QoS (1)")
    p.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL",
                   help="SQLite synchronous for Navet's store (FULL)")
    p.add_argument("--postgres", action="store_true",
                   help="store in a throwaway local PostgreSQL server (needs the postgresql "
                   "package; started like the tests' one, tests/postgres.py)")
    p.add_argument("--json", action="store_true", help="print one JSON object, no table")
    p.add_argument("--inflight", type=int, default=100,
                   help="unacknowledged QoS 1 messages per client, broker and publisher (100)")
    p.add_argument("--concurrency", type=int, default=256,
                   help="concurrent ingest tasks in the in-process burst (256)")
    p.add_argument("--lone", type=int, default=200, help="lone frames timed (200)")
    p.add_argument("--paced-load", type=float, default=0.5,
                   help="paced latency run: fraction of the flat-out Navet rate (0.5)")
    p.add_argument("--paced-seconds", type=float, default=5.0,
                   help="paced latency run: how long to publish (5)")
    p.add_argument("--alarm-every", type=int, default=20,
                   help="paced run: every N-th frame is a water-leak alarm, timed from its "
                        "send to the operator stream (20; 0: none)")
    p.add_argument("--behind-burst", type=int, default=4000,
                   help="alarms ingested during an in-process burst of at most this many "
                        "frames, with and without the store's priority lane (4000; 0: skip)")
    p.add_argument("--timeout", type=float, default=0.0,
                   help="seconds each stage may take (default 60 + messages/100)")
    args = p.parse_args(argv)
    if args.messages < 1 or args.lone < 1 or args.concurrency < 1:
        p.error("--messages, --lone and --concurrency must be at least 1")
    if not 0 < args.paced_load <= 1 or args.paced_seconds <= 0:
        p.error("--paced-load must be in (0, 1] and --paced-seconds above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = None
    try:
        if args.postgres:
            from tests.postgres import start_server
            from tests.services import free_port

            server = start_server(free_port())
            os.environ["NAVET_DATABASE"] = server.url("bench")  # each stage: its own schema
        figures = measure(args)
    except (ChildError, TimeoutError, OSError, RuntimeError) as err:
        print(f"benchmark failed: {err}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.destroy()
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    complete = figures["baseline"]["complete"] and figures["navet"]["complete"] \
        and figures["paced"]["complete"] \
        and figures["burst"]["events_stored"] == figures["burst"]["events_expected"]
    if not complete:
        print("benchmark incomplete: some messages were not received or stored", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
