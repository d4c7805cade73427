"""A genuine DC-09 alarm's ACK latency with and without a flood on the listener.

Starts ``navet serve`` (the same subprocess the attack tests use, SQLite, auth local) with
one DC-09 receiver on TCP and UDP, then measures from 127.0.0.1, as a panel would:

1. **TCP, quiet**: ``--alarms`` alarms, each on a new connection (a dialler connects per
   event): connect + frame + ACK, in milliseconds.
2. **TCP, under attack**: the same while ``--idle`` connections from 127.0.0.2 sit idle
   after a few bytes, each re-opened ``--reconnect-s`` (1 s) after the receiver closed it,
   from a process of its own (the attack that used to fill the 256-connection limit, with
   30 times the reconnect rate of the one observed).
3. **UDP, quiet** and **UDP, flood**: ``--alarms`` alarms over UDP, quiet, then while a
   thread sends ``--flood`` datagrams (well-formed frames of an unknown account, and
   garbage) from 127.0.0.2 as fast as it can. A panel repeats an unanswered frame
   (``--udp-timeout`` s, 3 repeats); reported: how many alarms were taken at all, how many
   on the first transmission, and the latency including repeats.

Latency ratios are attack ÷ quiet, measured minutes apart on the same machine. The
refusal counters come from ``/metrics`` (``navet_listener_refused_total``). Nothing here
asserts a speed; the exit status is 0 when every genuine alarm was ACKed, 2 when some were
not, 1 when a stage failed.

    python bench/listener_flood.py
    python bench/listener_flood.py --alarms 200 --idle 300 --flood 200000 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stats import latency_ms  # noqa: E402
from gateway import SystemClock  # noqa: E402
from simulators.dc09 import Dc09Transmitter  # noqa: E402
from tests.adversarial.served import served  # noqa: E402
from tests.services import free_port  # noqa: E402

ATTACKER = "127.0.0.2"


# --------------------------------------------------------------------------- genuine panel


async def alarms_over_tcp(port: int, count: int, zone0: int) -> dict[str, Any]:
    latencies, failed = [], 0
    for n in range(count):
        started = time.perf_counter()
        async with Dc09Transmitter("127.0.0.1", port, account="1234", clock=SystemClock(),
                                   ack_timeout=10.0, retries=0, first_seq=n + 1) as panel:
            answer = await panel.send_sia("MA", str(zone0 + n))
        if answer.kind == "ACK":
            latencies.append(time.perf_counter() - started)
        else:
            failed += 1
    return {"alarms": count, "acked": count - failed, "latency": latency_ms(latencies)}


async def alarms_over_udp(port: int, count: int, zone0: int, timeout: float) -> dict[str, Any]:
    latencies, first, failed = [], 0, 0
    async with Dc09Transmitter("127.0.0.1", port, transport="udp", account="1234",
                               clock=SystemClock(), ack_timeout=timeout, retries=3,
                               retry_delay_s=0) as panel:
        for n in range(count):
            started = time.perf_counter()
            answer = await panel.send_sia("MA", str(zone0 + n))
            if answer.kind == "ACK":
                latencies.append(time.perf_counter() - started)
                first += answer.attempts == 1
            else:
                failed += 1
    return {"alarms": count, "acked": count - failed, "first_attempt": first,
            "latency": latency_ms(latencies)}


# --------------------------------------------------------------------------- attackers


class IdleFlood:
    """``count`` idle connections from the attacker, each re-opened ``reconnect_s`` after the
    receiver closed it, in a process of its own (so the measuring loop is not the one busy)."""

    def __init__(self, port: int, count: int, reconnect_s: float) -> None:
        self.args = (port, count, reconnect_s)
        self.ready = multiprocessing.Event()
        self.stop = multiprocessing.Event()
        self.opened = multiprocessing.Value("l", 0)
        self.closed = multiprocessing.Value("l", 0)
        self.proc: multiprocessing.Process | None = None

    def __enter__(self) -> IdleFlood:
        self.proc = multiprocessing.Process(
            target=_hold_all, args=(*self.args, self.ready, self.stop, self.opened, self.closed),
            daemon=True)
        self.proc.start()
        if not self.ready.wait(60):
            raise RuntimeError("the attacker could not open its connections in 60 s")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.proc is not None
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(10)


def _hold_all(port: int, count: int, reconnect_s: float, ready: Any, stop: Any,
              opened: Any, closed: Any) -> None:
    async def hold() -> None:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(ATTACKER, 0))
            except OSError:
                await asyncio.sleep(reconnect_s)
                continue
            with opened.get_lock():
                opened.value += 1
            if opened.value >= count:
                ready.set()
            try:
                writer.write(b"\n00")  # a few bytes, never a frame
                while await reader.read(4096):
                    pass
            except OSError:
                pass
            finally:
                writer.close()
            with closed.get_lock():
                closed.value += 1
            await asyncio.sleep(reconnect_s)

    async def run() -> None:
        tasks = [asyncio.create_task(hold()) for _ in range(count)]
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def udp_flood(port: int, total: int, stop: threading.Event, sent: list[int]) -> None:
    stranger = Dc09Transmitter("127.0.0.1", port, transport="udp", account="9999",
                               clock=SystemClock())
    junk = [stranger.frame("SIA-DCS", "#9999|NMA1", n) for n in range(1, 100)]
    junk += [b"\n0000000Bgarbage\r", b"\x00" * 40]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ATTACKER, 0))
    count = 0
    try:
        while count < total and not stop.is_set():
            for datagram in junk:
                with contextlib.suppress(OSError):
                    sock.sendto(datagram, ("127.0.0.1", port))
                count += 1
    finally:
        sock.close()
        sent.append(count)


def refusals(url: str) -> dict[str, dict[str, float]]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    out: dict[str, dict[str, float]] = {}
    for m in re.finditer(r'navet_listener_refused_total\{listener="([^"]+)",reason="([^"]+)"\}'
                         r" ([0-9.e+]+)", text):
        out.setdefault(m[1], {})[m[2]] = float(m[3])
    return out


# --------------------------------------------------------------------------- run


async def measure(url: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"config": {"alarms": args.alarms, "idle": args.idle,
                                          "reconnect_s": args.reconnect_s,
                                          "flood": args.flood}}
    figures["tcp_quiet"] = await alarms_over_tcp(port, args.alarms, 100)
    with IdleFlood(port, args.idle, args.reconnect_s) as flood:
        figures["tcp_attack"] = await alarms_over_tcp(port, args.alarms, 300)
        figures["tcp_attack"]["idle_opened"] = flood.opened.value
        figures["tcp_attack"]["idle_closed_by_receiver"] = flood.closed.value
    figures["udp_quiet"] = await alarms_over_udp(port, args.alarms, 500, args.udp_timeout)
    stop, sent = threading.Event(), list[int]()
    loop = asyncio.get_running_loop()
    flooding = loop.run_in_executor(None, udp_flood, port, args.flood, stop, sent)
    try:
        figures["udp_flood"] = await alarms_over_udp(port, args.alarms, 700, args.udp_timeout)
    finally:
        stop.set()
        await flooding
    figures["udp_flood"]["flood_sent"] = sent[0] if sent else 0
    figures["refused"] = refusals(url)
    for stage in ("tcp", "udp"):
        quiet, attack = figures[f"{stage}_quiet"]["latency"], \
            figures[f"{stage}_attack" if stage == "tcp" else "udp_flood"]["latency"]
        figures[f"{stage}_ratio"] = {k: round(attack[k] / quiet[k], 2) if quiet[k] else None
                                     for k in ("p50_ms", "p95_ms", "p99_ms")}
    return figures


def table(f: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [("stage", "acked", "p50 ms", "p95 ms", "p99 ms", "max ms")]
    for name in ("tcp_quiet", "tcp_attack", "udp_quiet", "udp_flood"):
        s = f[name]
        rows.append((name, f"{s['acked']}/{s['alarms']}", *(str(s["latency"][k]) for k in
                                                            ("p50_ms", "p95_ms", "p99_ms",
                                                             "max_ms"))))
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)) for r in rows]
    for stage in ("tcp", "udp"):
        r = f[f"{stage}_ratio"]
        lines.append(f"{stage} attack/quiet latency ratio: p50 {r['p50_ms']}  "
                     f"p95 {r['p95_ms']}  p99 {r['p99_ms']}")
    a = f["tcp_attack"]
    lines.append(f"tcp attack: {f['config']['idle']} idle connections from {ATTACKER} "
                 f"re-opened {f['config']['reconnect_s']} s after each close, "
                 f"{a['idle_opened']} opened in all, {a['idle_closed_by_receiver']} closed "
                 "by the receiver")
    u = f["udp_flood"]
    lines.append(f"udp flood: {u['flood_sent']} datagrams from {ATTACKER}; genuine taken "
                 f"{u['acked']}/{u['alarms']} ({u['acked'] / u['alarms']:.0%}), "
                 f"{u['first_attempt']} on the first transmission")
    for listener, counts in sorted(f["refused"].items()):
        lines.append(f"refused {listener}: " + ", ".join(
            f"{k} {v:.0f}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--alarms", type=int, default=100, help="genuine alarms per stage")
    p.add_argument("--idle", type=int, default=300, help="idle attacker connections (TCP)")
    p.add_argument("--reconnect-s", type=float, default=1.0,
                   help="an attacker connection is re-opened this long after it was closed")
    p.add_argument("--flood", type=int, default=200_000, help="attacker datagrams at most")
    p.add_argument("--udp-timeout", type=float, default=2.0,
                   help="seconds a panel waits for an ACK before repeating (UDP)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = p.parse_args(argv)
    port = free_port()
    settings = {"adapters": [{"adapter": "dc09", "tenant": "vasteras", "settings": {
        "host": "127.0.0.1", "tcp_port": port, "udp_port": port,
        "accounts": [{"account": "1234"}]}}], "log_level": "WARNING"}
    try:
        with tempfile.TemporaryDirectory(prefix="navet-flood-") as tmp, \
                served(Path(tmp), settings) as gw:
            figures = asyncio.run(measure(gw.url, port, args))
    except Exception as err:
        print(f"listener_flood: a stage failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(figures, indent=2) if args.json else table(figures))
    complete = all(figures[s]["acked"] == figures[s]["alarms"]
                   for s in ("tcp_quiet", "tcp_attack", "udp_quiet", "udp_flood"))
    return 0 if complete else 2


if __name__ == "__main__":
    sys.exit(main())
