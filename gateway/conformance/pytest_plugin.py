"""Pytest plugin of the conformance kit (``pytest11`` entry point ``navet-conformance``).

``navet_conformance(adapter)`` runs the kit on an installed adapter, exactly as
``navet conformance ADAPTER`` does, and returns the :class:`gateway.conformance.Report`::

    def test_conformance(navet_conformance):
        report = navet_conformance("acme-lock")
        assert report.passed, report.summary()

It lives beside the kit, not in the SDK's ``gateway.testing``: the kit runs the
adapter inside Navet's runtime, which the SDK never imports.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.conformance import Report, run_adapter
from gateway.core.plugins import build_plugin_manager


@pytest.fixture
def navet_conformance() -> Callable[[str], Report]:
    """Run the conformance kit on an installed adapter and return its report."""

    def run(adapter: str) -> Report:
        return run_adapter(adapter, build_plugin_manager())

    return run
