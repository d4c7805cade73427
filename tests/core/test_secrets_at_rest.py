"""Subscription secrets are sealed in the store, on SQLite and on PostgreSQL alike.

Webhook signing secrets, extra headers (an ``Authorization`` for the consumer) and
FHIR rest-hook ``parameter`` headers live in a subscription's settings. The
``subscriptions`` table holds them only sealed with the data keys (the ones that
seal personal numbers); clear rows of an older database are sealed by migration 4;
``navet privacy rotate-key`` re-encrypts them while a gateway keeps running.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock
from gateway.cli.privacy import rotate_cmd
from gateway.core.gateway import Gateway
from gateway.core.security.pii import DataKeys, PiiCipher
from gateway.core.settings import Settings
from gateway.core.store import Store, Subscription, make_store
from gateway.core.store import base as store_base
from gateway.errors import ConfigError
from gateway.transports.memory import MemoryBroker

SECRET = "whsec-at-rest-0123456789abcdefghijklmn"
NEXT_SECRET = "whsec-at-rest-next-9876543210zyxwvuts"
AUTHORIZATION = "Bearer consumer-token-5e1f9c0a7d3b"
REST_HOOK_AUTH = "Basic cmVzdGhvb2s6c2VjcmV0LXZhbHVl"
WEBHOOK = {"url": "https://203.0.113.10/hook?token=query-token-77f2", "secret": SECRET,
           "next_secret": NEXT_SECRET, "headers": {"Authorization": AUTHORIZATION}}
FHIR = {"resource": {"resourceType": "Subscription", "id": "f-1",
                     "endpoint": "https://203.0.113.11/notify",
                     "parameter": [{"name": "Authorization", "value": REST_HOOK_AUTH}]},
        "topic": "alarm", "base": "http://navet.example/fhir/r5"}
CLEAR = (SECRET, NEXT_SECRET, AUTHORIZATION, REST_HOOK_AUTH, "query-token-77f2")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with the documentation network the consumers here live on
    allowed (the outbound policy refuses non-public addresses unless told)."""
    return settings.model_copy(update={"outbound": settings.outbound.model_copy(
        update={"allow": [ipaddress.ip_network("203.0.113.0/24")]})})


def raw_rows(store: Store) -> list[dict[str, Any]]:
    """The subscriptions table as anyone with the database sees it."""
    conn = store.connect()
    try:
        return [dict(zip(r.keys(), tuple(r), strict=True))
                for r in conn.execute("SELECT * FROM subscriptions ORDER BY id")]
    finally:
        conn.close()


def assert_nothing_clear(text: str) -> None:
    found = [s for s in CLEAR if s in text]
    assert found == [], f"in clear in the store: {found}"


def cipher_at(tmp_path: Path) -> PiiCipher:
    return PiiCipher(DataKeys(tmp_path / "keys" / "data-keys.json"))


async def test_webhook_and_rest_hook_secrets_are_sealed_in_the_store(gateway: Gateway) -> None:
    await gateway.add_subscription(Subscription("wh", "vasteras", "webhook", ("alarm.",),
                                                WEBHOOK))
    await gateway.store.put_subscription(Subscription("fhir-f-1", "vasteras", "fhir-rest-hook",
                                                      ("alarm.",), FHIR))
    rows = {r["id"]: r for r in raw_rows(gateway.store)}
    assert_nothing_clear(json.dumps(rows))
    assert rows["wh"]["settings"].startswith("pii1.")
    assert rows["nb"]["settings"] == "{}"  # nothing to hide, nothing sealed
    # the sink signs with the secrets all the same
    assert gateway.sinks["wh"].config.secrets == [SECRET, NEXT_SECRET]
    assert {s.id: s.settings for s in gateway.store.subscriptions}["fhir-f-1"] == FHIR


async def test_the_sqlite_file_and_its_wal_hold_no_secret(tmp_path: Path,
                                                          settings: Settings) -> None:
    if "NAVET_DATABASE" in os.environ:
        pytest.skip("the bytes of a SQLite file (the same test on PostgreSQL reads the rows)")
    gw = Gateway(settings, clock=FakeClock(), mqtt=MemoryBroker().client("navet"))
    await gw.start()
    try:
        await gw.add_subscription(Subscription("wh", "vasteras", "webhook", ("*",), WEBHOOK))
        files = [tmp_path / n for n in ("navet.db", "navet.db-wal")]
        assert_nothing_clear(b"".join(f.read_bytes() for f in files if f.exists())
                             .decode("latin-1"))
    finally:
        await gw.stop()
    assert_nothing_clear((tmp_path / "navet.db").read_bytes().decode("latin-1"))


async def test_a_restart_reads_the_sealed_settings_back(settings: Settings) -> None:
    first = Gateway(settings, clock=FakeClock(), mqtt=MemoryBroker().client("navet"))
    await first.start()
    await first.add_subscription(Subscription("wh", "vasteras", "webhook", ("*",), WEBHOOK))
    await first.stop()
    again = Gateway(settings, clock=FakeClock(), mqtt=MemoryBroker().client("navet"))
    await again.start()
    try:
        assert again.sinks["wh"].config.secrets == [SECRET, NEXT_SECRET]
    finally:
        await again.stop()


async def test_sealed_settings_moved_to_another_tenant_do_not_open(
    tmp_path: Path, database: str
) -> None:
    store = make_store(database, cipher=cipher_at(tmp_path))
    store.open()
    await store.put_subscription(Subscription("wh", "vasteras", "webhook", ("*",), WEBHOOK))
    conn = store.connect()
    conn.execute("UPDATE subscriptions SET tenant = 'sala' WHERE id = 'wh'")
    conn.close()
    store.close()
    again = make_store(database, cipher=cipher_at(tmp_path))
    again.open()
    try:
        with pytest.raises(ConfigError, match=r"subscription wh \(sala\): its settings do not "
                                              "decrypt"):
            again.subscriptions  # noqa: B018
    finally:
        again.close()


async def test_a_store_without_keys_refuses_to_keep_settings_and_says_why(
    database: str,
) -> None:
    store = make_store(database)
    store.open()
    try:
        await store.put_subscription(Subscription("nb", "vasteras", "mqtt", ("*",), {}))
        with pytest.raises(ConfigError, match=r"has no data keys.*privacy\.data_key_file"):
            await store.put_subscription(Subscription("wh", "vasteras", "webhook", ("*",),
                                                      WEBHOOK))
        assert [r["id"] for r in raw_rows(store)] == ["nb"]
    finally:
        store.close()


async def test_migration_4_seals_the_clear_rows_of_an_older_database(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:  # a database as Navet left it before schema 4
        m.setattr(store_base, "MIGRATIONS", store_base.MIGRATIONS[:3])
        old = make_store(database)
        old.open()
        conn = old.connect()
        conn.execute("INSERT INTO subscriptions (id, tenant, sink, types, settings, enabled)"
                     " VALUES ('wh', 'vasteras', 'webhook', '[\"*\"]', ?, 1)",
                     (json.dumps(WEBHOOK),))
        conn.close()
        old.close()

    keyless = make_store(database)
    with pytest.raises(ConfigError, match="subscription wh's settings are kept only "
                                          "encrypted"):
        keyless.open()  # the migration needs the keys, and says so
    keyless.close()

    store = make_store(database, cipher=cipher_at(tmp_path))
    store.open()
    try:
        assert store.schema_version == len(store_base.MIGRATIONS)
        assert_nothing_clear(json.dumps(raw_rows(store)))
        assert store.subscriptions[0].settings == WEBHOOK
    finally:
        store.close()


async def test_rotating_the_data_key_reseals_subscriptions_beside_a_running_gateway(
    gateway: Gateway, tmp_path: Path,
) -> None:
    await gateway.add_subscription(Subscription("wh", "vasteras", "webhook", ("*",), WEBHOOK))
    before = next(r for r in raw_rows(gateway.store) if r["id"] == "wh")["settings"]
    (tmp_path / "navet.yaml").write_text(f"data_dir: {tmp_path}\n")
    args = argparse.Namespace(config=str(tmp_path / "navet.yaml"))
    assert await asyncio.to_thread(rotate_cmd, args) == 0  # a command beside the gateway
    current = DataKeys.load_or_create(tmp_path / "keys" / "data-keys.json").current
    after = next(r for r in raw_rows(gateway.store) if r["id"] == "wh")["settings"]
    assert after != before and after.split(".")[1] == current
    # the running gateway reads the new key without a restart (its key file changed)
    await gateway.add_subscription(Subscription("wh2", "vasteras", "webhook", ("*",), WEBHOOK))
    assert {s.id: s.settings for s in gateway.store.subscriptions}["wh"] == WEBHOOK
    assert gateway.pii.keys.current == current
