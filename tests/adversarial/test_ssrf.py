"""Server-side request forgery against a running ``navet serve``, over its HTTP API.

The finding: an operator could create a FHIR rest-hook Subscription to the cloud metadata
service (201), Navet then POSTed there on every alarm, and its errors told open ports on
loopback from closed ones. Here, with tokens from ``navet token create``, an admin and an
operator try every spelling of a forbidden destination on both kinds of URL-bearing
subscription (webhooks, FHIR rest-hooks). The gateway allows exactly one extra network,
127.0.0.2/32, where the test's own consumer listens: the control showing that an allowed
destination still works.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from gateway.testing import wait_until_sync
from simulators.dc09 import Dc09Transmitter
from tests.services import free_port

from .served import ServedGateway, served

ALLOWED_HOST = "127.0.0.2"  # on this machine's loopback, allowed by outbound.allow only
QUOTA = 10  # vasteras uses 8 across these tests; sala fills its quota
WHSEC = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
ALARM_TOPIC = "urn:navet:fhir:SubscriptionTopic:alarm-lifecycle"
CHANNEL = "http://terminology.hl7.org/CodeSystem/subscription-channel-type"
WAIT_S = 30.0


class Receiver:
    """An HTTP server in a thread that records requests and answers as ``answer`` says."""

    def __init__(self, host: str,
                 answer: Callable[[str], tuple[int, dict[str, str]]] = lambda p: (200, {})):
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.path, dict(self.headers), body))
                status, headers = answer(self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def navet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedGateway]:
    dc09_port = free_port()
    settings = {
        "outbound": {"allow": [f"{ALLOWED_HOST}/32"]},
        "subscription_limits": {"per_tenant": QUOTA},
        "adapters": [{"adapter": "dc09", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "tcp_port": dc09_port, "accounts": [{"account": "1234"}]}}],
    }
    with served(tmp_path_factory.mktemp("ssrf"), settings) as gateway:
        gateway.dc09_port = dc09_port  # type: ignore[attr-defined]
        yield gateway


@pytest.fixture(scope="module")
def admin(navet: ServedGateway) -> Iterator[httpx.Client]:
    with navet.client(navet.token(["vasteras", "sala"], "admin", "admin-1")) as client:
        yield client


@pytest.fixture(scope="module")
def operator(navet: ServedGateway) -> Iterator[httpx.Client]:
    with navet.client(navet.token("vasteras", "operator", "op-1")) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(ALLOWED_HOST)
    yield r
    r.close()


def webhook(client: httpx.Client, url: str, tenant: str = "vasteras",
            **settings: Any) -> httpx.Response:
    return client.post("/api/v1/subscriptions", params={"tenant": tenant},
                       json={"types": ["alarm."], "settings": {"url": url, "secret": WHSEC,
                                                               **settings}})


def rest_hook(client: httpx.Client, endpoint: str, tenant: str = "vasteras",
              **fields: Any) -> httpx.Response:
    return client.post("/fhir/r5/Subscription", params={"tenant": tenant}, json={
        "resourceType": "Subscription", "status": "requested", "topic": ALARM_TOPIC,
        "channelType": {"system": CHANNEL, "code": "rest-hook"}, "endpoint": endpoint,
        "content": "id-only", **fields})


def forbidden(navet: ServedGateway) -> list[tuple[str, str]]:
    """(URL, what the refusal must say) for every spelling of a forbidden destination."""
    http, dc09 = navet.http_port, navet.dc09_port  # type: ignore[attr-defined]
    return [
        ("https://169.254.169.254/latest/meta-data/iam/security-credentials/", "metadata"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("https://100.100.100.200/latest/meta-data/", "metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://169.254.10.20/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://2852039166/latest/meta-data/", "169.254.169.254"),          # decimal
        ("https://0251.0376.0251.0376/latest/meta-data/", "169.254.169.254"),  # octal
        ("https://0xa9fea9fe/latest/meta-data/", "169.254.169.254"),           # hexadecimal
        ("https://[::ffff:169.254.169.254]/latest/meta-data/", "169.254.169.254"),
        (f"https://127.0.0.1:{http}/api/v1/events", "own listener"),  # Navet's own HTTP API
        (f"https://{ALLOWED_HOST}:{http}/api/v1/events", "own listener"),  # inside the allow
        (f"https://127.0.0.1:{dc09}/", "own listener"),                # its DC-09 receiver
        (f"https://0.0.0.0:{http}/", "unspecified"),
        ("https://127.0.0.1:6379/", "loopback"),
        ("https://[::1]:5432/", "loopback"),
        ("https://[::ffff:127.0.0.1]:6379/", "loopback"),
        ("https://localhost:6379/", "loopback"),  # a host name that resolves to loopback
        ("https://10.0.0.1/", "private"),
        ("https://192.168.1.1/admin", "private"),
    ]


def test_every_forbidden_destination_is_refused_for_an_admin(
        navet: ServedGateway, admin: httpx.Client) -> None:
    for url, why in forbidden(navet):
        r = webhook(admin, url)
        assert r.status_code == 422, (url, r.text)
        assert "outbound policy refuses" in r.text and why in r.text, (url, r.text)
        f = rest_hook(admin, url)
        assert f.status_code == 422, (url, f.text)
        (issue,) = f.json()["issue"]
        assert issue["code"] == "security" and why in issue["diagnostics"], (url, issue)
    # nothing of it was stored, nothing is being delivered
    assert admin.get("/api/v1/subscriptions", params={"tenant": "vasteras"}).json() == []
    assert admin.get("/fhir/r5/Subscription", params={"tenant": "vasteras"}).json()["total"] == 0


def test_an_operator_cannot_create_a_subscription_that_reaches_outside(
        navet: ServedGateway, operator: httpx.Client, receiver: Receiver) -> None:
    r = rest_hook(operator, receiver.url + "/fhir")  # even to an allowed destination
    assert r.status_code == 403 and "only an admin" in r.text
    assert webhook(operator, receiver.url + "/hook", allow_http=True).status_code == 403
    assert receiver.requests == []  # no handshake was sent on the operator's behalf
    ws = operator.post("/fhir/r5/Subscription", params={"tenant": "vasteras"}, json={
        "resourceType": "Subscription", "status": "requested", "topic": ALARM_TOPIC,
        "channelType": {"system": CHANNEL, "code": "websocket"}, "content": "id-only"})
    assert ws.status_code == 201, ws.text  # a websocket only answers clients: operators may


def test_redirects_to_a_blocked_address_are_not_followed(
        navet: ServedGateway, admin: httpx.Client) -> None:
    canary = Receiver("127.0.0.1")  # stands for anything refused: loopback is not allowed
    redirector = Receiver(ALLOWED_HOST, lambda path: (
        307, {"Location": f"{canary.url}/latest/meta-data/"}))
    try:
        f = rest_hook(admin, redirector.url + "/fhir")
        assert f.status_code == 201, f.text
        assert f.json()["status"] == "error" and "answered 307" in f.json()["reason"]
        w = webhook(admin, redirector.url + "/hook", allow_http=True)
        assert w.status_code == 201, w.text
        raise_alarm(navet)
        error = wait_until_sync(lambda: admin.get(f"/api/v1/subscriptions/{w.json()['id']}",
                                                  params={"tenant": "vasteras"}).json()
                                ["delivery"]["last_error"], "the delivery error", interval=0.1)
        assert "redirects are not followed" in error
        assert len(redirector.requests) >= 2
        assert canary.requests == []  # nothing ever reached the address behind the redirect
    finally:
        canary.close()
        redirector.close()


def test_errors_do_not_tell_a_closed_port_from_an_open_one(
        navet: ServedGateway, admin: httpx.Client) -> None:
    """Closed, open but closing at once, and open but silent: the same words come back."""
    closer = socket.create_server((ALLOWED_HOST, 0))  # accepts, then hangs up
    silent = socket.create_server((ALLOWED_HOST, 0))  # accepts, never answers
    stop = threading.Event()

    def hang_up() -> None:
        closer.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = closer.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        closed_port = free_port()
        reasons = []
        for port in (closed_port, closer.getsockname()[1], silent.getsockname()[1]):
            f = rest_hook(admin, f"http://{ALLOWED_HOST}:{port}/fhir", timeout=2)
            assert f.status_code == 201, f.text
            assert f.json()["status"] == "error"
            reasons.append(re.sub(r"[0-9a-f-]{36}", "<id>", f.json()["reason"]).replace(
                str(port), "<port>"))
        assert reasons[0] == reasons[1] == reasons[2], reasons
        assert "refused, unreachable or no answer in time" in reasons[0]
    finally:
        stop.set()
        thread.join(5)
        closer.close()
        silent.close()


def test_an_allowed_destination_works_and_verifies_as_standard_webhooks(
        navet: ServedGateway, admin: httpx.Client, receiver: Receiver) -> None:
    f = rest_hook(admin, receiver.url + "/fhir")
    assert f.status_code == 201 and f.json()["status"] == "active", f.text
    assert receiver.requests[0][0] == "/fhir"  # the R5 handshake arrived
    w = webhook(admin, receiver.url + "/hook", allow_http=True)
    assert w.status_code == 201, w.text
    raise_alarm(navet)
    wait_until_sync(lambda: [r for r in receiver.requests if r[0] == "/hook"],
                    "the hook's request")
    _, headers, body = next(r for r in receiver.requests if r[0] == "/hook")
    standardwebhooks = pytest.importorskip("standardwebhooks")
    event = standardwebhooks.Webhook(WHSEC).verify(body, headers)
    assert event["type"] == "alarm.raised" and headers["webhook-id"] == event["id"]


def test_a_tenant_past_its_quota_is_refused(navet: ServedGateway, admin: httpx.Client,
                                            receiver: Receiver) -> None:
    sala = {"tenant": "sala"}
    have = len(admin.get("/api/v1/subscriptions", params=sala).json())
    for _ in range(QUOTA - have):
        assert webhook(admin, receiver.url + "/q", tenant="sala",
                       allow_http=True).status_code == 201
    over = webhook(admin, receiver.url + "/q", tenant="sala", allow_http=True)
    assert over.status_code == 409 and f"limit is {QUOTA}" in over.text
    fhir = rest_hook(admin, receiver.url + "/q", tenant="sala")
    assert fhir.status_code == 409 and fhir.json()["issue"][0]["code"] == "too-costly"


# --------------------------------------------------------------------------- helpers


def raise_alarm(navet: ServedGateway) -> None:
    """A medical alarm from a DC-09 panel, over TCP, as a real panel would send it."""
    async def send() -> None:
        async with Dc09Transmitter("127.0.0.1", navet.dc09_port,  # type: ignore[attr-defined]
                                   account="1234", ack_timeout=10, retries=1) as panel:
            answer = await panel.send_sia("MA", "001")
            assert answer.kind == "ACK", answer

    asyncio.run(send())
