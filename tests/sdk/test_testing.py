"""The shared polling helpers of gateway.testing."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.testing import wait_until, wait_until_sync


async def test_wait_until_returns_what_the_condition_gave() -> None:
    box: list[int] = []
    asyncio.get_running_loop().call_later(0.05, box.append, 7)
    assert await wait_until(lambda: box, "a value", timeout=2) == [7]


async def test_wait_until_awaits_an_async_condition() -> None:
    calls = 0

    async def ready() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 3

    assert await wait_until(ready, "three calls", timeout=2) is True
    assert calls == 3


async def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="waiting for the door to open"):
        await wait_until(lambda: False, "the door to open", timeout=0.05)


def test_wait_until_sync_sees_another_thread() -> None:
    done = threading.Event()
    threading.Timer(0.05, done.set).start()
    assert wait_until_sync(done.is_set, "the timer", timeout=2)
    with pytest.raises(AssertionError, match="never"):
        wait_until_sync(lambda: 0, "never", timeout=0.05)
