"""Cross-tenant writes against a real ``navet serve``: every write route, with its control.

Each attack is made with a Västerås token (from ``navet token create``) on something of
Sala's, and must be refused (403, or 404 where Sala's object does not exist for Västerås)
and change nothing: the proof is read back with a Sala token. Each has a control: the
same write to Västerås' own data goes through, so a refusal means the boundary, not a
broken route.

The write routes (every POST, PATCH and DELETE of gateway/api/routes/): care
configuration, as a document and item by item (residents, devices, staff, consents, plans,
camera schedules); alarm
acknowledge/dispatch/attend/close/notes; door unlock/lock; camera check start/end/
observations; subscription replay; FHIR Subscription create and $get-ws-binding-token;
vendor webhook ingress. The tenant comes from ``?tenant=`` on all but two: the care
configuration (tenants in the body) and ingress (the adapter instance's tenant, signed
by the vendor).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from .served import ServedGateway, served

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SECRETS = {"vasteras": "vasteras-gps-secret-0123456789abcdef",
           "sala": "sala-gps-secret-0123456789abcdef-xyz"}
IMEI = {"vasteras": "356938035643801", "sala": "356938035643802"}
FHIR_ALARMS = "urn:navet:fhir:SubscriptionTopic:alarm-lifecycle"
WEBSOCKET = {"system": "http://terminology.hl7.org/CodeSystem/subscription-channel-type",
             "code": "websocket"}


def _tenant(tid: str, name: str, p: str, label: str) -> dict[str, Any]:
    """A municipality with a resident who has a GPS watch, a door lock and a camera, a
    member of staff with an all-day visit, and consent and a schedule for camera checks."""
    resident, staff = f"{p}-1", f"{p}-staff-1"
    return {
        "id": tid, "name": name,
        "residents": [{"id": resident, "label": label}],
        "staff": [{"id": staff, "label": "Anna", "roles": ["home_care", "night_supervision"],
                   "teams": [f"{p}-team"]}],
        "devices": [
            {"adapter": "stigfinnare", "address": IMEI[tid], "kind": "gps_alarm",
             "resident": resident},
            {"adapter": "lasbro", "address": f"{p}-door", "kind": "door_lock",
             "resident": resident},
            {"adapter": "vaktaren", "address": f"{p}-cam", "kind": "camera",
             "resident": resident},
        ],
        "plans": [{"id": f"{p}-plan", "resident": resident, "visits": [
            {"days": ALL_DAYS, "start": "00:00", "end": "23:59", "staff": staff}]}],
        "supervision": [{"resident": resident, "windows": [
            {"days": ALL_DAYS, "start": "00:00", "end": "00:00"}]}],
        "consents": [{"id": f"{p}-consent", "resident": resident,
                      "purpose": "camera_supervision", "valid_from": "2020-01-01T00:00:00Z",
                      "legal_basis": "samtycke, beslut 1"}],
    }


CARE = {"tenants": [_tenant("vasteras", "Västerås stad", "v", "Lgh 1102"),
                    _tenant("sala", "Sala kommun", "s", "Storgatan 4")]}


def _instances(tid: str) -> list[dict[str, Any]]:
    return [
        {"adapter": "stigfinnare", "tenant": tid, "id": f"gps-{tid}",
         "settings": {"organisation": f"org-{tid}", "secret": SECRETS[tid]}},
        {"adapter": "lasbro", "tenant": tid,  # no bridge answers: a command fails after 1 s
         "settings": {"base_topic": f"lasbro-{tid}", "command_timeout_s": 1}},
        {"adapter": "vaktaren", "tenant": tid,
         "settings": {"base_topic": f"vaktaren-{tid}", "ack_timeout_s": 1,
                      "relay_url": "https://relay.vaktaren.example/v"}},
    ]


SETTINGS = {
    "adapters": _instances("vasteras") + _instances("sala"),
    "subscriptions": [{"id": f"feed-{t}", "tenant": t, "sink": "mqtt", "types": ["alarm."]}
                      for t in ("vasteras", "sala")],
}


class Attack:
    """The served gateway, tokens, and the alarm raised in each tenant."""

    def __init__(self, gw: ServedGateway) -> None:
        self.gw = gw
        self.v_admin = gw.client(gw.token("vasteras", ["admin", "operator"], "v-admin"))
        self.v_staff = gw.client(gw.token("vasteras", "staff", "v-staff-1"))
        self.s_admin = gw.client(gw.token("sala", ["admin", "operator"], "s-admin"))
        self.alarm = {t: self.raise_alarm(t) for t in ("vasteras", "sala")}

    def close(self) -> None:
        for c in (self.v_admin, self.v_staff, self.s_admin):
            c.close()

    def raise_alarm(self, tenant: str) -> str:
        """An SOS press on the tenant's GPS watch, signed as its vendor cloud signs it."""
        resp = self.post_gps(tenant, SECRETS[tenant], f"sos-{tenant}")
        assert resp.status_code == 200, resp.text
        reader = self.v_admin if tenant == "vasteras" else self.s_admin
        [alarm] = reader.get("/api/v1/alarms", params={"tenant": tenant}).json()["items"]
        return str(alarm["id"])

    def post_gps(self, tenant: str, secret: str, ref: str) -> httpx.Response:
        body = json.dumps({"v": 1, "id": ref, "type": "sos",
                           "time": datetime.now(UTC).isoformat(),
                           "device": {"imei": IMEI[tenant], "model": "S2"}}).encode()
        ts = int(time.time())
        sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return httpx.post(f"{self.gw.url}/ingress/gps-{tenant}/v1/messages", content=body,
                          headers={"X-Stigfinnare-Organisation": f"org-{tenant}",
                                   "X-Stigfinnare-Timestamp": str(ts),
                                   "X-Stigfinnare-Signature": f"v1={sig}",
                                   "Content-Type": "application/json"}, timeout=10)

    def sala(self) -> dict[str, Any]:
        """Everything of Sala that a write could change, read with a Sala token."""
        c, q = self.s_admin, {"tenant": "sala"}
        alarm = c.get(f"/api/v1/alarms/{self.alarm['sala']}", params=q).json()
        return {
            "tenants": c.get("/api/v1/tenants").json(),
            "residents": c.get("/api/v1/residents", params=q).json(),
            "devices": sorted((d["id"], d["resident"]) for d in
                              c.get("/api/v1/devices", params=q).json()),
            "staff": c.get("/api/v1/staff", params=q).json(),
            "events": [e["id"] for e in c.get("/api/v1/events", params={
                **q, "exclude": "device.heartbeat", "limit": 1000}).json()["items"]],
            "alarm": (alarm["state"], len(alarm["history"])),
            "fhir_subscriptions": c.get("/fhir/r5/Subscription", params=q).json().get(
                "total"),
        }


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Attack]:
    directory: Path = tmp_path_factory.mktemp("tenant-writes")
    with served(directory, SETTINGS, CARE) as gw:
        found = Attack(gw)
        try:
            yield found
        finally:
            found.close()


V = {"tenant": "vasteras"}
S = {"tenant": "sala"}


# --------------------------------------------------------------------------- configuration


def test_configuration_of_another_tenant_is_refused_and_changes_nothing(
    attack: Attack,
) -> None:
    before = attack.sala()
    hijack = {"tenants": [{"id": "sala", "name": "Hijacked",
                           "residents": [{"id": "s-1", "label": "rewritten"}]}]}
    for doc in (
        hijack,
        # mixed with its own tenant
        {"tenants": [{"id": "vasteras", "name": "Västerås stad"}, *hijack["tenants"]]},
        # emptying Sala's staff, explicitly
        {"tenants": [{"id": "sala", "name": "Sala kommun", "replace": ["staff"]}]},
        # taking over Sala's door lock by naming its (global) device id in Västerås
        {"tenants": [{"id": "vasteras", "name": "Västerås stad", "devices": [
            {"adapter": "lasbro", "address": "s-door", "kind": "door_lock",
             "resident": "v-1"}]}]},
    ):
        resp = attack.v_admin.post("/api/v1/config", json=doc)
        assert resp.status_code == 403, (doc, resp.text)
    assert attack.sala() == before
    # a tenant the token does not have cannot be created either
    new = {"tenants": [{"id": "uppsala", "name": "Uppsala kommun"}]}
    assert attack.v_admin.post("/api/v1/config", json=new).status_code == 403

    # control: the same writes to Västerås' own configuration go through
    own = {"tenants": [{"id": "vasteras", "name": "Västerås stad",
                        "residents": [{"id": "v-1", "label": "Lgh 1102 (ny)"}],
                        "staff": [{"id": "v-staff-2", "label": "Cecilia"}]}]}
    resp = attack.v_admin.post("/api/v1/config", json=own)
    assert resp.status_code == 200, resp.text
    residents = attack.v_admin.get("/api/v1/residents", params=V).json()
    assert [r["label"] for r in residents] == ["Lgh 1102 (ny)"]
    staff = attack.v_admin.get("/api/v1/staff", params=V).json()
    assert [s["id"] for s in staff] == ["v-staff-1", "v-staff-2"]  # merged, none lost
    assert attack.sala() == before


# The resource routes of the care configuration (routes/care.py): every verb on every list
# of Sala's, in Sala's scope (403) and named in Västerås' scope (404: not Västerås'; 403 for
# registering Sala's device, whose id is global).
CARE_WRITES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/residents", {"id": "x-1"}),
    ("PATCH", "/api/v1/residents/s-1", {"label": "rewritten"}),
    ("DELETE", "/api/v1/residents/s-1?cascade=true", None),
    ("PATCH", "/api/v1/devices/lasbro:s-door", {"resident": None}),
    ("DELETE", "/api/v1/devices/lasbro:s-door", None),
    ("POST", "/api/v1/staff", {"id": "x-staff"}),
    ("PATCH", "/api/v1/staff/s-staff-1", {"teams": []}),
    ("DELETE", "/api/v1/staff/s-staff-1", None),
    ("PATCH", "/api/v1/consents/s-consent", {"withdrawn": "2020-01-02T00:00:00Z"}),
    ("DELETE", "/api/v1/consents/s-consent", None),
    ("PATCH", "/api/v1/plans/s-plan", {"visits": []}),
    ("DELETE", "/api/v1/plans/s-plan", None),
    ("PATCH", "/api/v1/supervision/s-1", {"windows": []}),
    ("DELETE", "/api/v1/supervision/s-1", None),
    ("DELETE", "/api/v1/teams/s-team", None),
]


def _split(path: str, scope: dict[str, str]) -> dict[str, Any]:
    """``url`` and ``params``: ``path`` without its query, and the query with ``scope``
    (httpx's ``params`` replaces a query in the path)."""
    url, _, query = path.partition("?")
    return {"url": url, "params": {**dict(httpx.QueryParams(query)), **scope}}


def _sala_care(attack: Attack) -> dict[str, Any]:
    """Sala's care configuration item by item, read with a Sala token."""
    return {**attack.sala(), **{name: attack.s_admin.get(f"/api/v1/{name}", params=S).json()
                                for name in ("plans", "consents", "supervision", "teams")}}


def test_care_resources_of_another_tenant_are_refused_and_change_nothing(
    attack: Attack,
) -> None:
    before = _sala_care(attack)
    assert before["consents"] and before["plans"] and before["supervision"]
    for method, path, body in CARE_WRITES:
        resp = attack.v_admin.request(method, **_split(path, S), json=body)
        assert resp.status_code == 403, (method, path, resp.text)
        if method != "POST":  # Sala's item named in Västerås' own scope
            resp = attack.v_admin.request(method, **_split(path, V), json=body)
            assert resp.status_code == 404, (method, path, resp.text)
    assert attack.v_admin.put("/api/v1/teams/s-team", params=S,
                              json={"members": []}).status_code == 403
    # Sala's staff put in a Västerås team: not Västerås' staff
    resp = attack.v_admin.put("/api/v1/teams/v-team", params=V,
                              json={"members": ["v-staff-1", "s-staff-1"]})
    assert resp.status_code == 422 and "s-staff-1" in resp.text, resp.text
    door = {"adapter": "lasbro", "address": "s-door", "kind": "door_lock", "resident": "v-1"}
    assert attack.v_admin.post("/api/v1/devices", params=V, json=door).status_code == 403
    assert _sala_care(attack) == before

    # control: the same verbs on Västerås' own configuration go through
    own = [
        ("POST", "/api/v1/residents", {"id": "v-9", "label": "Lgh 9"}),
        ("POST", "/api/v1/consents", {"id": "v-9-c", "resident": "v-9",
                                      "purpose": "notify_relatives",
                                      "valid_from": "2020-01-01T00:00:00Z",
                                      "legal_basis": "samtycke"}),
        ("PATCH", "/api/v1/consents/v-9-c", {"valid_to": "2030-01-01T00:00:00Z"}),
        ("POST", "/api/v1/devices", {"adapter": "lasbro", "address": "v-door-2",
                                     "kind": "door_lock", "resident": "v-9"}),
        ("PATCH", "/api/v1/devices/lasbro:v-door-2", {"resident": None}),
        ("DELETE", "/api/v1/devices/lasbro:v-door-2", None),
        ("PATCH", "/api/v1/staff/v-staff-1", {"label": "Anna N"}),
        ("PUT", "/api/v1/teams/v-team", {"members": ["v-staff-1"]}),
        ("DELETE", "/api/v1/residents/v-9?cascade=true", None),
    ]
    for method, path, body in own:
        resp = attack.v_admin.request(method, **_split(path, V), json=body)
        assert resp.status_code in (200, 201), (method, path, resp.text)
    assert "v-9" not in [r["id"] for r in attack.v_admin.get("/api/v1/residents",
                                                             params=V).json()]
    assert attack.v_admin.get("/api/v1/consents/v-9-c", params=V).status_code == 404
    assert _sala_care(attack) == before


# --------------------------------------------------------------------------- alarms


ALARM_COMMANDS: list[tuple[str, dict[str, Any] | None]] = [
    ("acknowledge", None), ("notes", {"text": "on my way"}),
    ("dispatch", {"staff": "v-staff-1"}), ("attend", None),
    ("close", {"outcome": "assistance_given"}),
]


def test_alarm_commands_on_another_tenants_alarm_are_refused(attack: Attack) -> None:
    before = attack.sala()
    sala_alarm = attack.alarm["sala"]
    for command, body in ALARM_COMMANDS:
        path = f"/api/v1/alarms/{sala_alarm}/{command}"
        # in Västerås' scope Sala's alarm does not exist
        assert attack.v_admin.post(path, params=V, json=body).status_code == 404, command
        # in Sala's scope the token is not valid
        assert attack.v_admin.post(path, params=S, json=body).status_code == 403, command
        # nor by naming both: the tenant the route uses is checked
        both = httpx.QueryParams([("tenant", "vasteras"), ("tenant", "sala")])
        assert attack.v_admin.post(path, params=both, json=body).status_code == 403, command
    assert attack.sala() == before
    assert before["alarm"][0] == "raised"

    # control: the whole lifecycle on Västerås' own alarm
    own = attack.alarm["vasteras"]
    for command, body in ALARM_COMMANDS:
        resp = attack.v_admin.post(f"/api/v1/alarms/{own}/{command}", params=V, json=body)
        assert resp.status_code == 200, (command, resp.text)
    assert attack.v_admin.get(f"/api/v1/alarms/{own}", params=V).json()["state"] == "closed"
    assert attack.sala() == before


def test_an_alarm_cannot_be_dispatched_to_another_tenants_staff(attack: Attack) -> None:
    known = {a["id"] for a in attack.v_admin.get("/api/v1/alarms", params=V).json()["items"]}
    sent = attack.post_gps("vasteras", SECRETS["vasteras"], "sos-vasteras-2")
    assert sent.status_code == 200, sent.text
    items = attack.v_admin.get("/api/v1/alarms", params=V).json()["items"]
    [alarm] = [a["id"] for a in items if a["id"] not in known]
    ack = attack.v_admin.post(f"/api/v1/alarms/{alarm}/acknowledge", params=V)
    assert ack.status_code == 200, ack.text
    # the target comes from the body: it must be the tenant's own staff or team
    refused = attack.v_admin.post(f"/api/v1/alarms/{alarm}/dispatch", params=V,
                                  json={"staff": "s-staff-1"})
    assert refused.status_code == 422 and "s-staff-1" in refused.text
    refused = attack.v_admin.post(f"/api/v1/alarms/{alarm}/dispatch", params=V,
                                  json={"team": "s-team"})
    assert refused.status_code == 422 and "s-team" in refused.text
    ok = attack.v_admin.post(f"/api/v1/alarms/{alarm}/dispatch", params=V,
                             json={"team": "v-team"})
    assert ok.status_code == 200, ok.text


# --------------------------------------------------------------------------- doors, cameras


def test_doors_of_another_tenant_stay_shut(attack: Attack) -> None:
    before = attack.sala()
    for op in ("unlock", "lock"):
        path = f"/api/v1/staff/doors/lasbro:s-door/{op}"
        assert attack.v_staff.post(path, params=S).status_code == 403, op
        refused = attack.v_staff.post(path, params=V)  # Sala's door named in Västerås
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"]["decision"]["allowed"] is False
    assert attack.sala() == before

    # control: Västerås' own door, during the staff member's visit, is allowed by the
    # policy and sent to the bridge (which no one runs here: 503, "not reachable")
    for op in ("unlock", "lock"):
        own = attack.v_staff.post(f"/api/v1/staff/doors/lasbro:v-door/{op}", params=V)
        assert own.status_code == 503, own.text
        assert own.json()["decision"]["allowed"] is True
    assert attack.sala() == before


def test_camera_checks_of_another_tenants_resident_are_refused(attack: Attack) -> None:
    before = attack.sala()
    assert attack.v_staff.post("/api/v1/supervision/checks", params=S,
                               json={"resident": "s-1"}).status_code == 403
    refused = attack.v_staff.post("/api/v1/supervision/checks", params=V,
                                  json={"resident": "s-1"})
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == \
        "unknown_resident"
    for path in ("/api/v1/supervision/checks/any-session/end",
                 "/api/v1/supervision/checks/any-session/observations"):
        body = {"finding": "asleep"} if path.endswith("observations") else None
        assert attack.v_staff.post(path, params=S, json=body).status_code == 403, path
    assert attack.sala() == before

    # control: Västerås' own resident, in the window with consent, is allowed and sent to
    # the camera (which no one runs here: 503)
    own = attack.v_staff.post("/api/v1/supervision/checks", params=V,
                              json={"resident": "v-1"})
    assert own.status_code == 503, own.text
    assert attack.sala() == before


# --------------------------------------------------------------------------- consumers


def test_another_tenants_subscriptions_cannot_be_replayed_or_created(attack: Attack) -> None:
    before = attack.sala()
    since = {"since": "2020-01-01T00:00:00+00:00"}
    assert attack.v_admin.post("/api/v1/subscriptions/feed-sala/replay",
                               params={**V, **since}).status_code == 404
    assert attack.v_admin.post("/api/v1/subscriptions/feed-sala/replay",
                               params={**S, **since}).status_code == 403
    fhir = {"resourceType": "Subscription", "status": "requested", "topic": FHIR_ALARMS,
            "channelType": WEBSOCKET, "content": "id-only"}
    assert attack.v_admin.post("/fhir/r5/Subscription", params=S, json=fhir
                               ).status_code == 403
    sala_sub = attack.s_admin.post("/fhir/r5/Subscription", params=S, json=fhir)
    assert sala_sub.status_code == 201, sala_sub.text
    token_path = f"/fhir/r5/Subscription/{sala_sub.json()['id']}/$get-ws-binding-token"
    assert attack.v_admin.post(token_path, params=V).status_code == 404
    assert attack.v_admin.post(token_path, params=S).status_code == 403
    after = attack.sala()
    assert after == {**before, "fhir_subscriptions": (before["fhir_subscriptions"] or 0) + 1}

    # control: Västerås' own
    replay = attack.v_admin.post("/api/v1/subscriptions/feed-vasteras/replay",
                                 params={**V, **since})
    assert replay.status_code == 202, replay.text
    own = attack.v_admin.post("/fhir/r5/Subscription", params=V, json=fhir)
    assert own.status_code == 201, own.text
    token = attack.v_admin.post(f"/fhir/r5/Subscription/{own.json()['id']}"
                                "/$get-ws-binding-token", params=V)
    assert token.status_code == 200, token.text
    assert attack.sala() == after


def test_ingress_for_another_tenant_needs_that_tenants_vendor_secret(attack: Attack) -> None:
    before = attack.sala()
    # Västerås' vendor secret on Sala's endpoint: refused, nothing kept
    forged = attack.post_gps("sala", SECRETS["vasteras"], "forged-1")
    assert forged.status_code == 401, forged.text
    assert attack.sala() == before
    dead = attack.s_admin.get("/api/v1/dead-letters", params=S).json()
    assert dead == []
    # control: Västerås' own endpoint with its own secret
    own = attack.post_gps("vasteras", SECRETS["vasteras"], "own-1")
    assert own.status_code == 200, own.text


# --------------------------------------------------------------------------- an open API says so


def test_a_gateway_served_without_auth_says_it_is_open(tmp_path: Path) -> None:
    with served(tmp_path / "open", {"auth": {"mode": "off"}}) as gw:
        health = httpx.get(f"{gw.url}/healthz", timeout=10).json()
        ready = httpx.get(f"{gw.url}/readyz", timeout=10).json()
        page = httpx.get(f"{gw.url}/", timeout=10, follow_redirects=True).text  # no sign-in
        log = gw.log_tail(200_000)
    assert health["api"] == ready["api"] == "open"
    assert "auth.mode is off" in health["warnings"][0]
    assert '<p id="open-api" class="open-api" role="alert">' in page  # shown, not hidden
    warnings = [json.loads(line) for line in log.splitlines()
                if line.startswith("{") and "auth.mode is off" in line]
    assert warnings and warnings[0]["level"] == "warning", log[-2000:]
    assert f"http://127.0.0.1:{gw.http_port}" in warnings[0]["message"]
    assert "navet token create" in warnings[0]["message"]


def test_with_auth_on_nothing_says_open(attack: Attack) -> None:
    assert httpx.get(f"{attack.gw.url}/healthz", timeout=10).json()["api"] == "authenticated"
    page = httpx.get(f"{attack.gw.url}/", timeout=10, follow_redirects=True).text
    assert 'id="password"' in page  # the sign-in page, and no banner on it
    assert 'id="open-api"' not in page
    assert "auth.mode is off" not in attack.gw.log_tail(200_000)


# --------------------------------------------------------------------------- sessions and tokens


def test_bearer_tokens_keep_working_beside_a_console_session(attack: Attack) -> None:
    """A person signs in to the console of the running gateway (an account made with
    ``navet users add``) while machines use tokens from ``navet token create``: each is
    judged by what it is, a cookie never widens a token and a token never needs a CSRF
    header; a write on the cookie without its CSRF token changes nothing."""
    gw = attack.gw
    made = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "users", "add", "vera", "--role", "operator",
         "--tenant", "vasteras", "--password-stdin", "--config", str(gw.config)],
        input="vera-lösen-1\n", capture_output=True, text=True, timeout=60, env=gw.env)
    assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=gw.url, timeout=10) as person:
        form = person.get("/signin")
        token = re.search(r'name="form" value="([^"]+)"', form.text)
        assert token is not None, form.text[:300]
        done = person.post("/signin", data={"form": token[1], "user": "vera",
                                            "password": "vera-lösen-1", "next": ""})
        assert done.status_code == 303 and "navet_session" in person.cookies
        # the session reads its own tenant, not the other's
        assert person.get("/api/v1/alarms", params=V).status_code == 200
        assert person.get("/api/v1/alarms", params=S).status_code == 403
        # a write on the cookie alone, without the CSRF token: refused, nothing changes
        before = attack.sala()
        pressed = attack.post_gps("vasteras", SECRETS["vasteras"], "sos-vera")
        assert pressed.status_code == 200, pressed.text
        items = attack.v_admin.get("/api/v1/alarms", params=V).json()["items"]
        mine = next(a["id"] for a in items if a["state"] != "closed")  # open: notes allowed
        forged = person.post(f"/api/v1/alarms/{mine}/notes", params=V,
                             json={"text": "forged by another site"})
        assert forged.status_code == 403, forged.text
        history = person.get(f"/api/v1/alarms/{mine}", params=V).json()["history"]
        assert "forged by another site" not in json.dumps(history)
        # control: the console's own write, with the session's CSRF token, is taken
        queue = person.get("/console/alarms")
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', queue.text)
        assert csrf is not None
        noted = person.post(f"/api/v1/alarms/{mine}/notes", params=V,
                            json={"text": "vera was here"}, headers={"X-CSRF-Token": csrf[1]})
        assert noted.status_code == 200, noted.text
        history = person.get(f"/api/v1/alarms/{mine}", params=V).json()["history"]
        assert "vera was here" in json.dumps(history)
        # a machine's token for Sala works at the same time, on the same client: the token
        # decides, the cookie adds nothing to it and takes nothing from it
        machine = gw.token("sala", "operator", "sala-centre")
        header = {"Authorization": f"Bearer {machine}"}
        assert person.get("/api/v1/alarms", params=S, headers=header).status_code == 200
        assert person.get("/api/v1/alarms", params=V, headers=header).status_code == 403
        # and after sign-out the cookie is dead while the token still works
        out = person.post("/signout", data={"csrf": csrf[1]},
                          headers={"X-CSRF-Token": csrf[1]})
        assert out.status_code in (200, 303), out.text
        assert person.get("/api/v1/alarms", params=V).status_code == 401
        assert httpx.get(f"{gw.url}/api/v1/alarms", params=S, headers=header,
                         timeout=10).status_code == 200
        assert attack.sala() == before
