"""The UDP endpoint: drained in batches, and what the kernel dropped is reported."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from gateway.core.intake import DatagramEndpoint


async def test_every_datagram_is_delivered_or_reported_as_dropped_by_the_kernel() -> None:
    got: list[tuple[bytes, Any]] = []
    dropped: list[int] = []
    endpoint = DatagramEndpoint.open("127.0.0.1", 0, lambda d, a: got.append((d, a)),
                                     dropped.append, receive_buffer=4096)
    target = endpoint.get_extra_info("sockname")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.2", 0))
    try:
        for n in range(2000):  # all at once, before the loop may read: the buffer overflows
            sender.sendto(b"%d" % n, target)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while len(got) + sum(dropped) < 2000:
            sender.sendto(b"last", target)  # the drop count rides on the next datagram
            assert loop.time() < deadline, (len(got), dropped)
            await asyncio.sleep(0.01)
    finally:
        sender.close()
        endpoint.close()
    assert sum(dropped) > 0
    assert got[0][0] == b"0"  # what fitted arrived, in order
    assert all(addr[0] == "127.0.0.2" for _, addr in got)
