"""Test helpers for adapter authors, and the pytest plugin that ships them.

Registered as the ``pytest11`` entry point ``navet``, so every project that
installs Navet gets the fixtures:

- ``navet_clock``: a :class:`gateway.FakeClock` at 2026-01-01T00:00Z.
- ``navet_decode``: ``navet_decode(adapter, address, payload, tenant="test")``
  runs one raw frame through a registered adapter, exactly as ``navet decode``
  does, and returns the events (or raises the adapter's ``PayloadError``).

and the helpers :func:`wait_until` (awaitable) and :func:`wait_until_sync`
(for threads and subprocesses): poll a condition until it holds, and fail with
a message saying what was awaited. Prefer a :class:`FakeClock` wherever the
code under test takes a clock; poll only for what really happens elsewhere
(a socket, a broker, another process).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any, TypeVar

import pluggy
import pytest

from . import hookspecs
from .adapters import AdapterRegistry, RawFrame
from .clock import FakeClock
from .model import CONTRACT_VERSION, EventBase

T = TypeVar("T")

WAIT_S = 10.0
"""How long :func:`wait_until` waits unless told otherwise."""


async def wait_until(
    condition: Callable[[], T | Awaitable[T]], what: str = "condition", *,
    timeout: float = WAIT_S, interval: float = 0.01,
) -> T:
    """Poll ``condition`` (sync or async) until it returns something true; return that.

    Raises ``AssertionError`` naming ``what`` when ``timeout`` seconds pass first.
    Time here is the wall clock on purpose: this waits for real I/O.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)


def wait_until_sync(
    condition: Callable[[], T], what: str = "condition", *,
    timeout: float = WAIT_S, interval: float = 0.01,
) -> T:
    """:func:`wait_until` for code without an event loop (threads, subprocesses)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def registered_adapters() -> AdapterRegistry:
    """Every adapter the installed plugins (entry-point group ``navet``) register."""
    pm = pluggy.PluginManager("navet")
    pm.add_hookspecs(hookspecs)
    registry = AdapterRegistry(CONTRACT_VERSION)
    for ep in metadata.entry_points(group="navet"):
        registry.current_plugin = ep.name
        hook = getattr(ep.load(), "navet_register_adapters", None)
        if hook is not None:
            hook(registry=registry)
    return registry


@pytest.fixture
def navet_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def navet_decode(navet_clock: FakeClock) -> Callable[..., list[EventBase]]:
    adapters = registered_adapters()

    def decode(
        adapter: str,
        address: str,
        payload: bytes | str,
        tenant: str = "test",
        settings: dict[str, Any] | None = None,
        transport: str = "test",
    ) -> list[EventBase]:
        cls = adapters.get(adapter)
        instance = cls(settings or {})  # type: ignore[call-arg]
        data = payload.encode() if isinstance(payload, str) else payload
        frame = RawFrame(adapter, tenant, transport, address, data, navet_clock.now())
        return instance.decode(frame)

    return decode
