"""What the outbound policy costs: judging a host, and a connection through it vs. without.

Prints figures, asserts nothing. Usage::

    python -m bench.outbound_policy [--n 2000]

``check_host`` is what a subscription's creation and every connection start with;
``open_connection`` compares a TCP connect to a local listener through the policy (resolve
``localhost`` once, check, connect to the checked address, check the peer) with a plain
``asyncio.open_connection``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time

from gateway.core.security.outbound import OutboundPolicy, OutboundRefused, OutboundSettings


async def main(n: int) -> None:
    policy = OutboundPolicy(OutboundSettings(allow_loopback=True))
    for _ in range(3):
        policy.add_listener("0.0.0.0", 1, "placeholder")  # a few listeners, as in a gateway
    hosts = ["93.184.215.14", "2852039166", "[::ffff:10.0.0.1]", "larm.example.se", "127.0.0.1"]
    start = time.perf_counter()
    for i in range(n):
        with contextlib.suppress(OutboundRefused):
            policy.check_host(hosts[i % len(hosts)], 443)
    per = (time.perf_counter() - start) / n * 1e6
    print(f"check_host: {per:.1f} µs per host ({n} hosts, mixed allowed and refused)")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for label, connect in (
        ("plain asyncio.open_connection('127.0.0.1')",
         lambda: asyncio.open_connection("127.0.0.1", port)),
        ("plain asyncio.open_connection('localhost')",
         lambda: asyncio.open_connection("localhost", port)),
        ("policy.open_connection('localhost')",
         lambda: policy.open_connection("localhost", port, timeout=5)),
    ):
        start = time.perf_counter()
        for _ in range(n // 4):
            _, writer = await connect()
            writer.close()
        per = (time.perf_counter() - start) / (n // 4) * 1e6
        print(f"{label}: {per:.0f} µs per connection ({n // 4} connections)")
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
