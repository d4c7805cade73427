"""Pytest plugin for adapter authors (registered as ``pytest11`` entry point ``navet``).

Fixtures:

- ``navet_clock``: a :class:`gateway.FakeClock` at 2026-01-01T00:00Z.
- ``navet_decode``: ``navet_decode(adapter, address, payload, tenant="test")``
  runs one raw frame through a registered adapter, exactly as ``navet decode``
  does, and returns the events (or raises the adapter's ``PayloadError``).
- ``navet_conformance``: ``navet_conformance(adapter)`` runs the conformance kit
  on an installed adapter (as ``navet conformance ADAPTER``) and returns the
  :class:`gateway.conformance.Report`; ``assert report.passed, report.summary()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.core.adapters import RawFrame
from gateway.core.clock import FakeClock
from gateway.core.model import EventBase


@pytest.fixture
def navet_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def navet_decode(navet_clock: FakeClock) -> Callable[..., list[EventBase]]:
    from gateway.core.plugins import build_plugin_manager

    plugins = build_plugin_manager()

    def decode(
        adapter: str,
        address: str,
        payload: bytes | str,
        tenant: str = "test",
        settings: dict[str, Any] | None = None,
        transport: str = "test",
    ) -> list[EventBase]:
        cls = plugins.adapters.get(adapter)
        instance = cls(settings or {})  # type: ignore[call-arg]
        data = payload.encode() if isinstance(payload, str) else payload
        frame = RawFrame(adapter, tenant, transport, address, data, navet_clock.now())
        return instance.decode(frame)

    return decode


@pytest.fixture
def navet_conformance() -> Callable[[str], Any]:
    """Run the conformance kit on an installed adapter and return its report."""
    from gateway.conformance import Report, run_adapter
    from gateway.core.plugins import build_plugin_manager

    def run(adapter: str) -> Report:
        return run_adapter(adapter, build_plugin_manager())

    return run
