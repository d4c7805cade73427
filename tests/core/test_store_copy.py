"""``navet store copy``: a municipality moves from the embedded SQLite to PostgreSQL.

Everything comes over unchanged (every row of every table, the audit chain and its
anchor, sealed subscription settings, the outbox), the copy goes on where the
original stopped, and a target that already holds data is refused. Copied there
and back again, the store is the same; a SQLite target is created 0600.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock, RawFrame, make_event
from gateway.cli import main
from gateway.core.audit import AuditKeys, AuditLog, verify_database
from gateway.core.model import Actor, EventBase
from gateway.core.security.pii import DataKeys, PiiCipher
from gateway.core.store import Store, Subscription, make_store
from gateway.core.store.copy import TABLES
from gateway.core.store.records import RUNTIME_TABLES
from gateway.fhir import state as fhir_state
from tests.postgres import PgServer

T0 = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


@pytest.fixture
def cipher(tmp_path: Path) -> PiiCipher:
    return PiiCipher(DataKeys(tmp_path / "keys" / "data-keys.json"))


@pytest.fixture
def audit_keys(tmp_path: Path) -> AuditKeys:
    return AuditKeys.at(tmp_path / "keys" / "audit-keys.json")


def event(n: int) -> EventBase:
    at = T0 + timedelta(seconds=n)
    return make_event(
        "alarm.raised", tenant="vasteras", resident="r-1", time=at,
        source={"adapter": "scaip", "protocol": "scaip", "ref": f"m-{n}"},
        device={"id": "scaip:unit7", "kind": "social_alarm"},
        data={"kind": "fall"}, id=f"ev-{n}").model_copy(update={"received": at})


async def seed(store: Store, keys: AuditKeys) -> None:
    await store.put_row("tenants", {"id": "vasteras"}, {"name": "Västerås", "body": "{}"})
    await store.put_row("devices", {"id": "scaip:unit7"}, {
        "tenant": "vasteras", "adapter": "scaip", "address": "unit7", "kind": "social_alarm",
        "resident": "r-1", "heartbeat_s": 300, "body": "{}"})
    await store.put_row("residents", {"tenant": "vasteras", "id": "r-1"}, {"body": "{}"})
    await store.put_row("plans", {"tenant": "vasteras", "id": "p-1"},
                        {"resident": "r-1", "body": "{}"})
    await store.put_subscription(Subscription("nb", "vasteras", "webhook", ("alarm.",),
                                              {"url": "https://centre.example/hook"}))
    frame = RawFrame("scaip", "vasteras", "sip-udp", "unit7", b"<mrq><ref>1</ref></mrq>", T0)
    first = await store.append([event(1), event(2)], frame=frame)
    await store.append([event(3)])
    await store.dead_letter(RawFrame("scaip", "vasteras", "sip-udp", "unit7",
                                     b"\xff\x00 not XML", T0), "not XML: byte 0xff")
    await store.outbox_done("nb", [first.seqs[0]], at=T0, last_event="ev-1")
    audit = AuditLog(store, FakeClock(T0), keys=keys)
    for n in range(4):
        await audit.append(tenant="vasteras", actor=Actor(kind="staff", id=f"s-{n}"),
                           action="lock.unlock", decision="allowed", reason="planned visit",
                           resident="r-1", device="portvakt:door-1", detail={"visit": n},
                           time=T0 + timedelta(days=n))
    assert await audit.prune(T0 + timedelta(hours=1)) == 1  # an anchor row to copy
    await fhir_state.set_status(store, "fhir-1", "active", None, tenant="vasteras")
    await fhir_state.number(store, "fhir-1", "ev-1")
    from gateway.core.accounts import add_user, open_session
    from gateway.core.security.tokens import Principal

    await store.write(lambda conn: add_user(
        conn, subject="anna", name="Anna", roles=["operator"], tenants=["vasteras"],
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", now=T0))
    await store.write(lambda conn: open_session(
        conn, Principal("anna", frozenset({"vasteras"}), frozenset({"operator"})), name="Anna",
        via="local", now=T0, ttl_s=3600))


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    conn = store.connect()
    try:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY {order}")]
                for t, order in TABLES}
    finally:
        conn.close()


def test_the_copy_knows_every_table_of_the_schema(tmp_path: Path) -> None:
    store = make_store(tmp_path / "navet.db")
    store.open()
    conn = store.connect()
    tables = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    conn.close()
    store.close()
    assert tables - {"schema_version", *RUNTIME_TABLES} == {t for t, _ in TABLES}


async def test_sqlite_to_postgresql_and_back_keeps_everything(
    tmp_path: Path, pg_server: PgServer, capsys: pytest.CaptureFixture[str],
    cipher: PiiCipher, audit_keys: AuditKeys,
) -> None:
    original = make_store(tmp_path / "navet.db", cipher=cipher)
    original.open()
    await seed(original, audit_keys)
    before = dump(original)
    assert [t for t, rows in before.items() if not rows] == []  # a row in every table
    original.close()

    pg = pg_server.fresh_url()
    assert main(["store", "copy", "--from", str(tmp_path / "navet.db"), "--to", pg]) == 0
    moved = make_store(pg, cipher=cipher)
    moved.open()
    try:
        assert dump(moved) == before
        result = verify_database(pg, keys=audit_keys)
        assert result.ok and (result.start, result.checked) == (1, 3)  # from the anchor on
        assert moved.subscriptions[0].settings == {"url": "https://centre.example/hook"}
        assert [s.event.id for s in moved.outbox_due("nb", T0 + timedelta(days=1))] == ["ev-2"]
        nxt = await moved.append([event(4)])  # the copy goes on where the original stopped
        assert nxt.seqs[0] > max(r[0] for r in before["events"])
        row = moved.read_sync(lambda c: c.execute(
            "SELECT max(id) FROM dead_letters").fetchone())
        await moved.dead_letter(RawFrame("scaip", "vasteras", "sip-udp", "unit7", b"?", T0),
                                "again")
        assert moved.read_sync(lambda c: c.execute(
            "SELECT max(id) FROM dead_letters").fetchone())[0] == row[0] + 1
        on_postgresql = dump(moved)
    finally:
        moved.close()

    assert main(["store", "copy", "--from", str(tmp_path / "navet.db"), "--to", pg]) == 1
    assert "is not empty" in capsys.readouterr().err  # nothing is mixed into a used target

    assert main(["store", "copy", "--from", pg, "--to", str(tmp_path / "back.db")]) == 0
    assert (tmp_path / "back.db").stat().st_mode & 0o777 == 0o600
    back = make_store(tmp_path / "back.db", cipher=cipher)
    back.open()
    try:
        again = dump(back)
        assert again == on_postgresql  # the original, and what was added on PostgreSQL
        assert again["events"][:3] == before["events"]
    finally:
        back.close()

    assert main(["store", "info", "--database", pg, "--json"]) == 0
    assert '"events": 4' in capsys.readouterr().out
