"""Helpers for tests that need a system service (Mosquitto, chromium, SIPp, PostgreSQL).

On a developer's machine without the service such a test skips with a message
saying how to enable it. In CI (``NAVET_REQUIRE_SERVICES=1``, set by
``.ci/run``) the same situation is a failure, so a missing install can never
turn into a green run that tested nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator
from typing import Any

import pytest

REQUIRE_ENV = "NAVET_REQUIRE_SERVICES"


def services_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false", "no")


def unavailable(what: str, how: str) -> None:
    """Skip (or, in CI, fail) because ``what`` is missing; ``how`` says how to get it."""
    message = f"{what} is not available: {how}"
    if services_required():
        pytest.fail(f"{message} ({REQUIRE_ENV} is set, so this is a failure)", pytrace=False)
    pytest.skip(message)


def require_binary(name: str, how: str, *candidates: str) -> str:
    """Path of executable ``name`` (or one of ``candidates``), or skip/fail saying ``how``."""
    for candidate in (name, *candidates):
        path = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
        if path:
            return path
    unavailable(name, how)
    raise AssertionError("unreachable")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback_outbound() -> Any:
    """An outbound policy that, as tests need, lets sinks reach peers on this machine.

    Loopback is refused by default (gateway/core/security/outbound); a test that sends to
    127.0.0.1 says so explicitly, with this or ``outbound={"allow_loopback": True}``.
    """
    from gateway.core.security.outbound import OutboundPolicy, OutboundSettings

    return OutboundPolicy(OutboundSettings(allow_loopback=True))


CHROMIUM_ARGS = [  # headless Debian chromium on a machine with a closed network
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@contextlib.contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """Debian's chromium driven by Playwright (skips, or fails in CI, when either is missing)."""
    binary = require_binary("chromium", "apt-get install chromium", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright", "pip install playwright")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=binary,
                                     args=[*CHROMIUM_ARGS, *extra_args], timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()
