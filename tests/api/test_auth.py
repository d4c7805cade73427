"""Authentication and authorisation: bearer tokens, roles per route, tenant per request.

A token for one municipality must get nothing of another anywhere: REST,
the SSE stream, the WebSocket stream, FHIR. A role must not reach routes that
are not its job. Tokens are checked for signature, issuer, audience and
expiry, from Navet's own keys (with rotation) or an identity provider's JWKS.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.api import create_app
from gateway.api.security import ADMIN_ONLY, POLICY, roles_for
from gateway.core.gateway import Gateway
from gateway.core.security.tokens import LocalKeys, issue_token
from gateway.core.settings import Settings
from tests.services import free_port

from .conftest import CARE, frame


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"},
                  {"adapter": "zigbee2mqtt", "tenant": "orebro",
                   "settings": {"base_topic": "z2m-orebro"}}],
        care_config=[care],
    )


@pytest.fixture
def token(api_settings: Settings) -> Any:
    keys = LocalKeys(api_settings.data_dir / "keys")

    def make(tenant: str = "vasteras", role: str = "operator", *, subject: str = "op-1",
             ttl_s: int = 3600, now: float | None = None) -> str:
        return issue_token(keys, subject=subject, tenants=[tenant], roles=[role], ttl_s=ttl_s,
                           issuer="navet", audience="navet-api", now=now)

    return make


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


async def _seed(gw: Gateway) -> None:
    result = await gw.ingest(frame("vasteras", "bed", {"occupancy": True}))
    assert result.accepted


async def test_no_token_is_401_and_probes_stay_public(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    resp = await client.get("/api/v1/events", params={"tenant": "vasteras"})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/fhir/r5/metadata")).status_code == 200


async def test_a_token_for_one_tenant_reads_nothing_of_another(
    client: httpx.AsyncClient, gw: Gateway, token: Any
) -> None:
    await _seed(gw)
    mine = bearer(token("vasteras"))
    own = await client.get("/api/v1/events", params={"tenant": "vasteras"}, headers=mine)
    assert own.status_code == 200 and own.json()["items"]
    for path in ("/api/v1/events", "/api/v1/devices", "/api/v1/residents", "/api/v1/alarms",
                 "/api/v1/summary", "/fhir/r5/Device", "/fhir/r5/Patient"):
        resp = await client.get(path, params={"tenant": "orebro"}, headers=mine)
        assert resp.status_code == 403, path
        assert "orebro" in resp.text
    tenants = await client.get("/api/v1/tenants", headers=mine)
    assert [t["id"] for t in tenants.json()] == ["vasteras"]


async def test_roles_reach_only_their_routes(
    client: httpx.AsyncClient, gw: Gateway, token: Any
) -> None:
    config = {"tenants": [{"id": "vasteras", "name": "Västerås stad"}]}
    for role in ("operator", "staff", "auditor", "vendor"):
        resp = await client.post("/api/v1/config", json=config,
                                 headers=bearer(token(role=role)))
        assert resp.status_code == 403, role
        assert "admin" in resp.json()["detail"]
    ok = await client.post("/api/v1/config", json=config, headers=bearer(token(role="admin")))
    assert ok.status_code == 200
    # a vendor debugs dead letters but reads no events
    vendor = bearer(token(role="vendor"))
    assert (await client.get("/api/v1/events", params={"tenant": "vasteras"},
                             headers=vendor)).status_code == 403
    assert (await client.get("/api/v1/dead-letters", params={"tenant": "vasteras"},
                             headers=vendor)).status_code == 200


async def test_actor_is_the_token_subject_not_a_header(
    client: httpx.AsyncClient, gw: Gateway, token: Any
) -> None:
    resp = await client.get("/api/v1/staff/me/visits", params={"tenant": "vasteras"},
                            headers={**bearer(token(role="staff", subject="st-7")),
                                     "X-Navet-Actor": "someone-else"})
    # the staff route answers for st-7 (unknown staff in this tenant), never for the header
    assert "someone-else" not in resp.text
    assert resp.status_code in (200, 403, 404)


async def test_expired_tampered_and_foreign_tokens_are_refused(
    client: httpx.AsyncClient, gw: Gateway, token: Any, tmp_path: Path
) -> None:
    expired = token(ttl_s=60, now=time.time() - 3600)
    tampered = token()[:-4] + ("AAAA" if not token().endswith("AAAA") else "BBBB")
    foreign = issue_token(LocalKeys(tmp_path / "other-keys"), subject="x", tenants=["vasteras"],
                          roles=["admin"], ttl_s=600, issuer="navet", audience="navet-api")
    wrong_audience = issue_token(LocalKeys(tmp_path / "keys"), subject="x",
                                 tenants=["vasteras"], roles=["admin"], ttl_s=600,
                                 issuer="navet", audience="someone-else")
    for tok, why in ((expired, "expired"), (tampered, "refused"), (foreign, "unknown key"),
                     (wrong_audience, "audience")):
        resp = await client.get("/api/v1/events", params={"tenant": "vasteras"},
                                headers=bearer(tok))
        assert resp.status_code == 401, why
        assert why in resp.json()["detail"].lower(), resp.json()


async def test_key_rotation_keeps_earlier_tokens_valid(
    client: httpx.AsyncClient, gw: Gateway, token: Any, api_settings: Settings
) -> None:
    before = token()
    LocalKeys(api_settings.data_dir / "keys").rotate()
    after = token()
    assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
    for tok in (before, after):
        resp = await client.get("/api/v1/events", params={"tenant": "vasteras"},
                                headers=bearer(tok))
        assert resp.status_code == 200


async def test_streams_refuse_another_tenant(server: str, gw: Gateway, token: Any) -> None:
    mine = token("vasteras")
    async with httpx.AsyncClient(base_url=server, timeout=5) as http:
        sse = await http.get("/api/v1/stream", params={"tenant": "orebro"},
                             headers=bearer(mine))
        assert sse.status_code == 403
        anonymous = await http.get("/api/v1/stream", params={"tenant": "vasteras"})
        assert anonymous.status_code == 401
    ws_base = server.replace("http://", "ws://") + "/api/v1/stream/ws"
    refused = False
    try:
        async with connect(f"{ws_base}?tenant=orebro&access_token={mine}",
                           open_timeout=5) as ws:
            await asyncio.wait_for(ws.recv(), 5)
    except (ConnectionClosed, InvalidStatus) as err:
        refused = True
        code = getattr(getattr(err, "rcvd", None), "code", None)
        status = getattr(getattr(err, "response", None), "status_code", None)
        assert code == 1008 or status == 403, err
    assert refused
    # the same token on its own tenant is accepted
    async with connect(f"{ws_base}?tenant=vasteras&access_token={mine}", open_timeout=5):
        pass


async def test_tokens_from_an_identity_provider_via_jwks(tmp_path: Path) -> None:
    """oidc mode: an RS256 token from a (local) identity provider, verified by its JWKS."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": "idp-1", "alg": "RS256", "use": "sig"}]}

    async def idp(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps(jwks).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(idp, host="127.0.0.1", port=port, log_level="warning"))
    srv.install_signal_handlers = lambda: None  # type: ignore[attr-defined,method-assign]
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        await asyncio.sleep(0.01)
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                        outbound={"allow_loopback": True},  # the identity provider runs here
                        auth={
        "mode": "oidc", "jwks_url": f"http://127.0.0.1:{port}/jwks", "issuer": "https://idp",
        "audience": "navet", "algorithms": ["RS256"], "tenants_claim": "municipalities",
        "roles_claim": "navet_roles"},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}])
    now = int(time.time())

    def idp_token(**over: Any) -> str:
        claims = {"iss": "https://idp", "aud": "navet", "sub": "op-9", "iat": now,
                  "exp": now + 600, "municipalities": ["vasteras"], "navet_roles": ["operator"]}
        return jwt.encode({**claims, **over}, key, algorithm="RS256", headers={"kid": "idp-1"})

    app: FastAPI = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
                ok = await client.get("/api/v1/events", params={"tenant": "vasteras"},
                                      headers=bearer(idp_token()))
                assert ok.status_code == 200
                for bad in (idp_token(iss="https://evil"), idp_token(aud="other"),
                            idp_token(municipalities=[])):
                    resp = await client.get("/api/v1/events", params={"tenant": "vasteras"},
                                            headers=bearer(bad))
                    assert resp.status_code == 401
    finally:
        srv.should_exit = True
        await task


def test_production_refuses_an_api_without_authentication(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without authentication"):
        Settings(environment="production", data_dir=tmp_path, mqtt={"mode": "embedded"})


def test_every_route_has_an_explicit_decision(app: FastAPI) -> None:
    """A new endpoint must be placed in POLICY deliberately; falling to the admin-only
    default is safe but is a decision nobody made."""
    undecided = []
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            if not any(method.upper() in r.methods and r.pattern.match(path) for r in POLICY):
                undecided.append(f"{method.upper()} {path}")
    assert undecided == []
    assert roles_for("GET", "/api/v1/some-new-thing") == ADMIN_ONLY


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://navet") as c:
        yield c
