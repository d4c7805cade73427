"""Wakes live streams and workers when new events are committed."""

from __future__ import annotations

import asyncio


class Notifier:
    """A monotonically rising sequence number that waiters can wait past."""

    def __init__(self, start: int = 0) -> None:
        self.seq = start
        self._event = asyncio.Event()

    def advance(self, seq: int) -> None:
        if seq > self.seq:
            self.seq = seq
            self._event.set()
            self._event = asyncio.Event()

    async def wait_past(self, seq: int, timeout: float | None = None) -> bool:
        """Wait until something newer than ``seq`` is committed. False on timeout."""
        if self.seq > seq:
            return True
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        return self.seq > seq
