"""The log scan that fails a run when a secret is logged can itself find one."""

from __future__ import annotations

import logging

from tests.logscan import LogScan


def test_scan_finds_a_logged_password_token_and_key() -> None:
    scan = LogScan()
    log = logging.getLogger("navet.test.logscan")
    log.addHandler(scan)
    log.propagate = False  # keep these planted secrets out of the session-wide scan
    try:
        log.warning("unit %s registered", "unit7")  # clean
        log.warning("login with password %s", "hunter2")
        log.warning("header Authorization: Bearer abcdefghijklmnop")
        log.warning("token eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJvcC0xIn0.c2lnbmF0dXJlMTIz")
        log.warning("store postgresql://navet:***@db:5432/navet?schema=x migrated")  # clean
        log.warning("store postgresql://navet:Tr0ub4dor@db:5432/navet migrated")
    finally:
        log.removeHandler(scan)
        log.propagate = True
    leaks = scan.leaks()
    assert len(leaks) == 4
    assert "hunter2" in leaks[0] and "Bearer" in leaks[1] and "eyJ" in leaks[2]
    assert "Tr0ub4dor" in leaks[3]
