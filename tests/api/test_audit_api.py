"""API calls that change something leave audit entries; auditors read and verify the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.gateway import Gateway
from gateway.core.security.tokens import LocalKeys, issue_token
from gateway.core.settings import Settings

from .conftest import CARE


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                    adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
                    care_config=[care])


def _token(settings: Settings, role: str, subject: str) -> dict[str, str]:
    tok = issue_token(LocalKeys(settings.data_dir / "keys"), subject=subject,
                      tenants=["vasteras"], roles=[role], ttl_s=600, issuer="navet",
                      audience="navet-api")
    return {"Authorization": f"Bearer {tok}"}


async def test_changes_are_audited_and_auditors_read_and_verify(
    client: httpx.AsyncClient, gw: Gateway, api_settings: Settings
) -> None:
    admin = _token(api_settings, "admin", "adm-1")
    config = {"tenants": [{"id": "vasteras", "name": "Västerås stad"}]}
    assert (await client.post("/api/v1/config", json=config, headers=admin)).status_code == 200
    refused = await client.post("/api/v1/config", json=config,
                                headers=_token(api_settings, "operator", "op-2"))
    assert refused.status_code == 403
    auditor = _token(api_settings, "auditor", "aud-1")
    entries: list[dict[str, Any]] = (await client.get(
        "/api/v1/audit", params={"tenant": "vasteras"}, headers=auditor)).json()
    actions = [(e["actor"]["id"], e["action"], e["decision"]) for e in entries]
    assert ("adm-1", "api POST /api/v1/config", "done") in actions
    assert ("adm-1", "token use", "seen") in actions
    # a refused call is recorded too, with the refusal
    assert ("op-2", "api POST /api/v1/config", "refused 403") in actions
    verify = (await client.get("/api/v1/audit/verify", params={"tenant": "vasteras"},
                               headers=auditor)).json()
    assert verify["ok"] is True and verify["checked"] >= 2
    # operators do not read the audit log
    assert (await client.get("/api/v1/audit", params={"tenant": "vasteras"},
                             headers=_token(api_settings, "operator", "op-3"))
            ).status_code == 403
