"""``GET /api/v1/catalogue``: administrators and vendors see the adapters, signed and tested."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gateway.core.plugin_trust import DEV_PUBLIC_KEY
from gateway.core.security.tokens import LocalKeys, issue_token
from gateway.core.settings import Settings

from .conftest import CARE

# A deployment's own report, a day newer than any committed one, so it is the one shown.
_COMMITTED = Path(__file__).resolve().parents[2] / "contracts" / "conformance"
NEWER = (max(datetime.fromisoformat(json.loads(p.read_text())["generated_at"])
             for p in _COMMITTED.glob("*.json")) + timedelta(days=1)).isoformat()


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "navet-dev.pub").write_bytes(DEV_PUBLIC_KEY.read_bytes())
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "zigbee2mqtt.json").write_text(json.dumps({
        "adapter": "zigbee2mqtt", "plugin": "alarms", "plugin_version": "0.1.0",
        "contract": "1.2", "digest": "sha256:not-these-files", "outcome": "fail",
        "generated_at": NEWER,
        "checks": [{"id": "vectors", "outcome": "fail", "message": "vector x differs"}]}))
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                    adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
                    care_config=[care], plugins={"trust": trust, "reports": reports})


def _token(settings: Settings, role: str) -> dict[str, str]:
    tok = issue_token(LocalKeys(settings.data_dir / "keys"), subject=f"{role}-1",
                      tenants=["vasteras"], roles=[role], ttl_s=600, issuer="navet",
                      audience="navet-api")
    return {"Authorization": f"Bearer {tok}"}


async def test_admins_and_vendors_read_the_catalogue_others_do_not(
        client: httpx.AsyncClient, api_settings: Settings) -> None:
    for role in ("operator", "staff", "auditor"):
        refused = await client.get("/api/v1/catalogue", headers=_token(api_settings, role))
        assert refused.status_code == 403, role
    assert (await client.get("/api/v1/catalogue", headers=_token(api_settings, "vendor"))
            ).status_code == 200

    response = await client.get("/api/v1/catalogue", headers=_token(api_settings, "admin"))

    assert response.status_code == 200
    entries = {e["adapter"]: e for e in response.json()}
    z2m = entries["zigbee2mqtt"]
    assert (z2m["plugin"], z2m["installed"], z2m["status"]) == ("alarms", True, "loaded")
    assert z2m["device_kinds"] == ["passive_sensor"] and z2m["contract"] == ">=1.0,<2"
    assert z2m["signature"]["status"] == "signed"  # the development key is trusted here
    assert z2m["conformance"]["outcome"] == "fail"
    assert z2m["conformance"]["date"] == NEWER[:10]
    assert z2m["conformance"]["current"] is False
    assert z2m["conformance"]["failed"] == ["vectors"]
    assert z2m["conformance"]["signature"]["status"] == "unsigned"
    assert entries["nyckelbo"]["installed"] is False or entries["nyckelbo"]["plugin"] == "remote"
