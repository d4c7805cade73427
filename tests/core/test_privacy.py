"""Personal data: personal numbers only encrypted at rest, export, retention, key rotation."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gateway import FakeClock, RawFrame, make_event
from gateway.api import create_app
from gateway.core.care import CareConfig, apply_care_config, tenant_care
from gateway.core.gateway import Gateway
from gateway.core.privacy import export_resident, purge
from gateway.core.security.pii import DecryptionError, normalise_personal_number
from gateway.testing import wait_until
from tests.postgres import stored_bytes

PNR = "19121212-1212"  # the Swedish tax agency's well-known test number


def _care(pnr: str | None = PNR) -> CareConfig:
    resident: dict[str, object] = {"id": "r-1", "label": "Lgh 1"}
    if pnr is not None:
        resident["personal_number"] = pnr
    return CareConfig.model_validate({"tenants": [{
        "id": "vasteras", "name": "Västerås",
        "residents": [resident, {"id": "r-2", "label": "Lgh 2"}],
        "devices": [{"adapter": "zigbee2mqtt", "address": "bed", "kind": "passive_sensor",
                     "resident": "r-1"}]}]})


def test_personal_numbers_are_checked_and_normalised() -> None:
    assert normalise_personal_number("191212121212") == PNR
    assert normalise_personal_number(" 19121212-1212 ") == PNR
    for bad in ("19121212-1213", "121212-1212", "abc", "1912121212"):
        with pytest.raises(ValueError):
            normalise_personal_number(bad)


async def test_personal_number_is_stored_only_encrypted_and_exported_decrypted(
    gateway: Gateway, tmp_path: Path
) -> None:
    await apply_care_config(_care(), gateway.store, gateway.directory, gateway.pii)
    db = stored_bytes(gateway.store)
    assert PNR.encode() not in db and b"191212121212" not in db
    row = next(r for r in gateway.store.rows("residents", "vasteras") if r["id"] == "r-1")
    sealed = json.loads(row["body"])["personal_number_enc"]
    assert sealed.startswith("pii1.")
    care = tenant_care(gateway.store, "vasteras")
    assert care is not None and all(r.personal_number is None for r in care.residents)

    # applying the configuration again without the number keeps the stored one
    await apply_care_config(_care(pnr=None), gateway.store, gateway.directory, gateway.pii)
    export = export_resident(gateway.store, gateway.pii, "vasteras", "r-1")
    assert export is not None and export["resident"]["personal_number"] == PNR
    assert [d["id"] for d in export["devices"]] == ["zigbee2mqtt:bed"]
    # a sealed value copied onto another resident does not decrypt
    with pytest.raises(DecryptionError):
        gateway.pii.decrypt(sealed, context="resident:vasteras:r-2")


async def test_api_never_shows_the_number_and_export_is_admin_only(gateway: Gateway) -> None:
    await apply_care_config(_care(), gateway.store, gateway.directory, gateway.pii)
    app = create_app(gateway=gateway)
    transport = httpx.ASGITransport(app=app)
    app.state.gateway = gateway
    async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
        listed = await client.get("/api/v1/residents", params={"tenant": "vasteras"})
        assert listed.status_code == 200 and PNR not in listed.text
        exported = await client.get("/api/v1/residents/r-1/export",
                                    params={"tenant": "vasteras"})
        assert exported.status_code == 200
        assert exported.json()["resident"]["personal_number"] == PNR
    from gateway.api.security import roles_for

    assert roles_for("GET", "/api/v1/residents/{resident}/export") == frozenset({"admin"})


async def test_retention_deletes_old_events_but_keeps_pending_and_open_alarms(
    gateway: Gateway, clock: FakeClock
) -> None:
    old = clock.now()
    await gateway.ingest(RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/bed",
                                  b'{"occupancy": true}', old))
    src = {"adapter": "navet", "protocol": "test", "ref": "a"}
    open_alarm = make_event("alarm.raised", tenant="vasteras", time=old, source=src,
                            alarm="a-open", resident="r-1", data={"kind": "fall"})
    closed = [make_event("alarm.raised", tenant="vasteras", time=old,
                         source={**src, "ref": "b"}, alarm="a-done", data={"kind": "fall"}),
              make_event("alarm.cancelled", tenant="vasteras", time=old,
                         source={**src, "ref": "c"}, alarm="a-done",
                         data={"reason": "resident"})]
    await gateway.emit([open_alarm, *closed])
    if gateway.rules is not None:
        await gateway.rules.drain()
    # the root fixture's northbound subscription delivers meanwhile
    await wait_until(lambda: not gateway.store.outbox_depth(), "the outbox to drain")
    before = gateway.store.count_events("vasteras")
    counts = await purge(gateway.store, clock.now() + timedelta(days=40), retention_days=30,
                         frames_retention_days=0)
    after = gateway.store.count_events("vasteras")
    kept = [s.event.alarm for s in gateway.store.query_events("vasteras")
            if s.event.type == "alarm.raised"]
    assert "a-open" in kept and "a-done" not in kept  # the open alarm's history stays
    assert counts["events"] > 0 and sum(after.values()) == sum(before.values()) - counts["events"]
    assert "sensor.reported" not in after  # the old reading went
    rows = gateway.store.read_sync(lambda conn: {
        r[0]: r[1] for r in conn.execute("SELECT id, state FROM alarms WHERE tenant = ?",
                                         ("vasteras",))})
    assert rows.get("a-open") == "raised" and "a-done" not in rows  # the projection follows


def test_rotating_the_data_key_re_encrypts_what_is_stored(tmp_path: Path, database: str) -> None:
    import asyncio

    from gateway.cli.privacy import rotate_cmd
    from gateway.core.directory import DeviceDirectory
    from gateway.core.security.pii import DataKeys, PiiCipher
    from gateway.core.store import make_store

    (tmp_path / "navet.yaml").write_text(f"data_dir: {tmp_path}\n")
    keys = DataKeys.load_or_create(tmp_path / "keys" / "data-keys.json")
    store = make_store(database)
    store.open()

    async def seed() -> None:
        await apply_care_config(_care(), store, DeviceDirectory(), PiiCipher(keys))

    asyncio.run(seed())
    store.close()
    first = keys.current
    assert rotate_cmd(argparse.Namespace(config=str(tmp_path / "navet.yaml"))) == 0
    keys = DataKeys.load_or_create(tmp_path / "keys" / "data-keys.json")
    assert keys.current != first and first in keys.keys  # the old key stays for reading
    store = make_store(database)
    store.open()
    try:
        row = next(r for r in store.rows("residents", "vasteras") if r["id"] == "r-1")
        sealed = json.loads(row["body"])["personal_number_enc"]
        assert sealed.split(".")[1] == keys.current
        assert PiiCipher(keys).decrypt(sealed, context="resident:vasteras:r-1") == PNR
    finally:
        store.close()
