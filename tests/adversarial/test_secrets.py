"""Attacks on a real ``navet serve`` by someone who gets the database or the data directory.

Everything here goes through what a deployed gateway offers: its config file, its HTTP
API with tokens from ``navet token create``, SIGTERM, then the files and database it
left behind, and ``navet audit verify --config`` as an operator runs it.

- Secrets given to Navet (a webhook's signing secret and ``Authorization`` header in the
  config, a FHIR rest-hook's ``Authorization`` parameter through the API) are nowhere in
  the database in clear.
- The data directory is 0700; the database, its WAL and shared memory, the key files and
  the audit checkpoints are 0600.
- Someone who rewrites the whole audit chain consistently, or cuts its end, without the
  audit key, is found by ``navet audit verify --config FILE`` alone.
- Production refuses a DC-09 account without a key unless it says ``allow_clear: true``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from gateway.core.audit import GENESIS, entry_hash
from gateway.core.store import make_store
from tests.adversarial.served import ServedGateway, served
from tests.services import free_port

WEBHOOK_SECRET = "whsec-adversary-4d0c1b7f29e8a6530c1e"
WEBHOOK_AUTH = "Bearer consumer-gateway-token-81ac4e"
REST_HOOK_AUTH = "Bearer ehr-endpoint-token-3f9b2a77c1"
SECRETS = (WEBHOOK_SECRET, WEBHOOK_AUTH, REST_HOOK_AUTH)
REST_HOOK = {"system": "http://terminology.hl7.org/CodeSystem/subscription-channel-type",
             "code": "rest-hook"}
ALARM_TOPIC = "urn:navet:fhir:SubscriptionTopic:alarm-lifecycle"


def database_of(gw: ServedGateway) -> str:
    return os.environ.get("NAVET_DATABASE") or str(gw.dir / "data" / "navet.db")


def everything_stored(gw: ServedGateway) -> str:
    """Every byte the database holds, as text: the SQLite files, or every row of every
    table of the PostgreSQL schema."""
    database = database_of(gw)
    if not database.startswith("postgresql"):
        files = [Path(database + suffix) for suffix in ("", "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists()).decode("latin-1")
    conn = make_store(database).connect()
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")]
        return "\n".join(str(r[0]) for t in tables
                         for r in conn.execute(f'SELECT t::text FROM "{t}" t'))  # known names
    finally:
        conn.close()


def verify(gw: ServedGateway) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify", "--config",
                           str(gw.config)], capture_output=True, text=True, timeout=60,
                          env=gw.env)


def audit_rows(conn: Any) -> list[dict[str, Any]]:
    return [dict(zip(r.keys(), tuple(r), strict=True))
            for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]


def test_secrets_files_and_the_audit_chain_of_a_served_gateway(tmp_path: Path) -> None:
    closed = free_port()  # nobody listens: deliveries fail, which is not the point here
    settings = {"outbound": {"allow_loopback": True}, "subscriptions": [{
        "id": "wh-centre", "tenant": "vasteras", "sink": "webhook", "types": ["alarm."],
        "settings": {"url": f"http://127.0.0.1:{closed}/hook", "secret": WEBHOOK_SECRET,
                     "headers": {"Authorization": WEBHOOK_AUTH}}}]}
    with served(tmp_path / "gw", settings) as gw:
        token = gw.token("vasteras", "admin", "adm-1")
        with gw.client(token) as http:
            created = http.post("/fhir/r5/Subscription", params={"tenant": "vasteras"}, json={
                "resourceType": "Subscription", "status": "requested", "topic": ALARM_TOPIC,
                "channelType": REST_HOOK, "endpoint": f"http://127.0.0.1:{closed}/fhir",
                "parameter": [{"name": "Authorization", "value": REST_HOOK_AUTH}]})
            assert created.status_code == 201, created.text
            for _ in range(3):  # audited calls: more entries in the chain
                assert http.post("/api/v1/subscriptions/wh-centre/replay", params={
                    "tenant": "vasteras", "since": "2026-01-01T00:00:00Z"}).status_code == 202
    assert "checkpoint (stop)" in gw.log_tail(20000)

    # -- the database holds no secret in clear
    stored = everything_stored(gw)
    assert "pii1." in stored  # the sealed settings are there ...
    assert [s for s in SECRETS if s in stored] == []  # ... and nothing in clear

    # -- modes of what the gateway left on disk
    data = gw.dir / "data"
    private = {data: 0o700, data / "keys": 0o700, data / "audit": 0o700,
               data / "keys" / "data-keys.json": 0o600,
               data / "keys" / "audit-keys.json": 0o600,
               data / "keys" / "token-signing.pem": 0o600,
               data / "audit" / "checkpoints.jsonl": 0o600}
    if "NAVET_DATABASE" not in os.environ:
        private |= {data / "navet.db": 0o600}
    found = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in private}
    assert found == {str(p): oct(m) for p, m in private.items()}

    # -- the audit chain, tampered with offline
    ok = verify(gw)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "audit log intact" in ok.stdout
    conn = make_store(database_of(gw)).connect()
    try:
        entries = audit_rows(conn)
        assert len(entries) >= 5
        prev = GENESIS  # rewrite every entry's reason, recompute the chain end to end
        for row in entries:
            row.update(reason=f"{row['reason']} (nothing to see)", prev=prev, kid=None)
            row["hash"] = entry_hash(row)
            conn.execute("UPDATE audit_log SET reason = ?, prev = ?, hash = ?, kid = NULL "
                         "WHERE seq = ?", (row["reason"], row["prev"], row["hash"], row["seq"]))
            prev = row["hash"]
    finally:
        conn.close()
    rewritten = verify(gw)
    assert rewritten.returncode == 3, rewritten.stdout + rewritten.stderr
    assert "audit log BROKEN" in rewritten.stdout
    assert f"entry {entries[-1]['seq']}: is not the entry the checkpoint of" in rewritten.stdout
    assert "(the chain was rewritten)" in rewritten.stdout

    conn = make_store(database_of(gw)).connect()
    try:
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (len(entries) - 2,))
    finally:
        conn.close()
    cut = verify(gw)
    assert cut.returncode == 3
    assert (f"but the log ends at entry {len(entries) - 2}: entries {len(entries) - 1}.."
            f"{len(entries)} were removed") in cut.stdout


def test_production_refuses_a_clear_dc09_account_unless_allowed(tmp_path: Path) -> None:
    def settings(allow: bool) -> dict[str, Any]:
        account: dict[str, Any] = {"account": "1234", **({"allow_clear": True} if allow else {})}
        return {"environment": "production",
                "mqtt": {"mode": "embedded", "port": free_port()},
                "adapters": [{"adapter": "dc09", "tenant": "vasteras", "settings": {
                    "host": "127.0.0.1", "tcp_port": free_port(), "accounts": [account]}}]}

    refused = ServedGateway(tmp_path / "refused", settings(allow=False))
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config",
                           str(refused.config)], capture_output=True, text=True, timeout=60,
                          env=refused.env)
    assert done.returncode == 1
    assert "production refuses account(s) 1234 without an AES key" in done.stderr
    assert "allow_clear: true" in done.stderr

    with served(tmp_path / "allowed", settings(allow=True)) as gw:
        assert gw.client().get("/healthz").status_code == 200
    log = gw.log_tail(50000)
    assert "account 1234 has no AES key" in log and "allowed by allow_clear" in log
    assert yaml.safe_load(gw.config.read_text())["environment"] == "production"
