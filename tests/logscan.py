"""Secrets must never reach the logs: every log record of a test run is kept and scanned.

The root conftest installs :class:`LogScan` for the whole session at INFO (what
production logs). At the end of the run the records are searched for things
that must never be logged: the passwords, keys and secrets the tests give
Navet, bearer tokens (JWTs), Authorization headers, private keys and passwords in
URLs (a database URL is logged only as ``user:***@host``). A hit
fails the run (exit status 1) and names the logger and the record.
"""

from __future__ import annotations

import logging
import re

KNOWN_SECRETS = (
    "s3cret", "upstream-secret", "short-secret", "s3cret-pw", "hunter2", "0123456789ABCDEF",
    "000102030405060708090a0b0c0d0e0f", "demo-1001", "demo-1002", "demo-1003",
    "old-pass", "new-pass", "wrong-pass",
)
"""Credentials the tests and the demo configure (passwords, AES and HMAC keys)."""

PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # a JWT
    re.compile(r"(?i)authorization:\s*(bearer|digest|basic)\s+\S{8,}"),
    re.compile(r"-----BEGIN (EC |RSA )?PRIVATE KEY-----"),
    re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:(?!\*\*\*@)[^@\s/]+@"),  # URL password
)


class LogScan(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[str, str]] = []
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot format is itself not a leak
            return
        self.records.append((record.name, text))

    def leaks(self, extra: tuple[str, ...] = ()) -> list[str]:
        found = []
        literals = [s for s in (*KNOWN_SECRETS, *extra) if s]
        for name, text in self.records:
            hit = next((s for s in literals if s in text), None)
            if hit is None:
                m = next((p.search(text) for p in PATTERNS if p.search(text)), None)
                hit = m.group(0)[:24] if m else None
            if hit is not None:
                found.append(f"{name}: {hit!r} in {text[:200]!r}")
        return found
