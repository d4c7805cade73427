"""Out-of-process adapter throughput: the Node.js example -> Mosquitto -> Navet -> ack.

One run: a fresh Mosquitto on a free port, a Navet gateway in this process
(``mqtt.mode: external``, SQLite with ``synchronous=FULL`` in a temporary directory, the
example's manifest declared in ``remote_adapters``), and the example adapter
(``node examples/node-lock/main.js --send N --exit-when-acked``) as a child process.
``acked events/s`` = N / (the adapter's exit - its start): every event journaled by the
adapter, published, stored by Navet and acknowledged back, which is the only moment the
adapter may forget it. The run counts only if the store then holds exactly N lock events.

    python bench/remote_adapter.py                 # 2,000 events
    python bench/remote_adapter.py --events 500 --json

Needs Mosquitto and Node.js with the npm ``mqtt`` package (``.ci/run`` installs it into
``.cache/node-adapter``; ``NODE_PATH`` is set here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.core.gateway import Gateway  # noqa: E402
from gateway.core.settings import Settings  # noqa: E402
from gateway.transports.mosquitto import MosquittoProcess  # noqa: E402

EXAMPLE = ROOT / "examples" / "node-lock"
MODULES = ROOT / ".cache" / "node-adapter" / "node_modules"


async def run(events: int, timeout: float) -> dict[str, object]:
    node = shutil.which("node")
    if node is None or not (MODULES / "mqtt").exists():
        raise SystemExit("needs node and the npm mqtt package in .cache/node-adapter "
                         "(npm install --prefix .cache/node-adapter mqtt@5.16.0)")
    with tempfile.TemporaryDirectory(prefix="navet-bench-remote-") as tmp:
        work = Path(tmp)
        broker = MosquittoProcess(data_dir=work / "mosquitto")
        await broker.start()
        gw = Gateway(Settings(
            data_dir=work / "data", db_synchronous="FULL",
            mqtt={"mode": "external", "host": "127.0.0.1", "port": broker.port,
                  "client_id": "navet-bench-remote"},
            remote_adapters=[str(EXAMPLE / "navet-adapter.json")],
            adapters=[{"adapter": "nyckelbo", "tenant": "vasteras"}]))
        await gw.start()
        try:
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                node, str(EXAMPLE / "main.js"), "--url", f"mqtt://127.0.0.1:{broker.port}",
                "--tenant", "vasteras", "--state", str(work / "state"), "--send", str(events),
                "--exit-when-acked", env={**os.environ, "NODE_PATH": str(MODULES)},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                _, err = await asyncio.wait_for(proc.communicate(), timeout)
            except TimeoutError:
                proc.kill()
                raise SystemExit(f"the adapter was not acknowledged within {timeout:g} s") \
                    from None
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                raise SystemExit(f"the adapter exited {proc.returncode}: {err.decode()[-500:]}")
            stored = sum(n for t, n in gw.store.count_events("vasteras").items()
                         if t.startswith("lock."))
        finally:
            await gw.stop()
            await broker.stop()
            broker.cleanup()
    return {"events": events, "stored": stored, "seconds": round(elapsed, 2),
            "acked_events_per_s": round(events / elapsed), "db_synchronous": "FULL"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds for the whole run (default 60 + events/50)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.events < 1:
        parser.error("--events must be at least 1")
    result = asyncio.run(run(args.events, args.timeout or 60 + args.events / 50))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"events sent by the Node adapter   {result['events']}")
        print(f"lock events stored                {result['stored']}")
        print(f"seconds, start to last ack        {result['seconds']}")
        print(f"acked events/s (journal->store->ack) {result['acked_events_per_s']}")
    return 0 if result["stored"] == result["events"] else 2


if __name__ == "__main__":
    sys.exit(main())
