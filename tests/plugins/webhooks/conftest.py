"""A real HTTP consumer (uvicorn on a free port) and a gateway that delivers to it.

The gateway runs on a :class:`FakeClock` with no rules, and its background
outbox workers are stopped right after start: tests drive delivery with
:meth:`Rig.pump`, which calls the dispatcher and moves fake time, so a consumer
outage of hours runs in milliseconds and every step is deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway import Event, FakeClock, make_event
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.core.store import Subscription
from gateway.transports.memory import MemoryBroker
from tests.services import free_port

TENANT = "vasteras"
SUB = "larmcentral"
SECRET = "s3cret-for-tests-0123456789abcdef"
NEXT_SECRET = "n3xt-secret-for-tests-fedcba9876543210"
T0 = datetime.fromisoformat("2026-01-01T21:00:00+00:00")
DOC = Path(__file__).resolve().parents[3] / "contracts" / "webhooks.md"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


Responder = Callable[[Received], tuple[int, dict[str, str]]]


def ok(_: Received) -> tuple[int, dict[str, str]]:
    return 200, {}


@dataclass
class Consumer:
    """An HTTP endpoint that records every request and answers as ``respond`` says."""

    port: int
    respond: Responder = ok
    requests: list[Received] = field(default_factory=list)
    tls: dict[str, Any] = field(default_factory=dict)  # uvicorn ssl_* options: https
    gate: Callable[[Consumer], Awaitable[None]] | None = None  # awaited before each answer
    in_flight: int = 0
    max_in_flight: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/navet/events"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def accepted_ids(self) -> list[str]:
        return [r.event["id"] for r in self.accepted]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request = Received(headers, body, 0)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate(self)
        finally:
            self.in_flight -= 1
        status, extra = self.respond(request)
        request.status = status
        self.requests.append(request)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in extra.items()]})
        await send({"type": "http.response.body", "body": b""})

    async def start(self) -> None:
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, lifespan="off",
                                log_level="warning", timeout_graceful_shutdown=1, **self.tls)
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(10):
            while not self._server.started:
                assert not self._task.done(), "consumer could not start"
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Go away entirely: from now on connections are refused."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            async with asyncio.timeout(15):
                await self._task
        self._server = self._task = None


class _Server(uvicorn.Server):
    """uvicorn that leaves the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Rig:
    gateway: Gateway
    clock: FakeClock
    consumer: Consumer
    api: httpx.AsyncClient
    counter: int = 0

    @property
    def sub(self) -> Subscription:
        return next(s for s in self.gateway.store.subscriptions if s.id == SUB)

    async def emit(self, event_type: str = "alarm.raised", *, resident: str | None = "r-1",
                   device: str = "unit-1") -> Event:
        """Store one event (received = the clock's now), as the pipeline would."""
        self.counter += 1
        data: dict[str, Any] = {
            "alarm.raised": {"kind": "personal_button", "text": f"press {self.counter}"},
            "device.battery": {"level_pct": 50, "low": False},
            "alarm.closed": {"by": {"kind": "staff", "id": "s-1"}, "outcome": "assistance_given"},
        }[event_type]
        event = make_event(
            event_type, tenant=TENANT, time=self.clock.now(), resident=resident,
            device={"id": f"scaip:{device}", "kind": "social_alarm"},
            source={"adapter": "scaip", "protocol": "scaip", "ref": f"m-{self.counter}"},
            data=data,
        )
        await self.gateway.emit([event])
        stored = self.gateway.store.get_event(TENANT, event.id)
        assert stored is not None
        return stored.event

    async def deliver_now(self) -> int:
        """Deliver what is due now until nothing more succeeds; how many succeeded."""
        assert self.gateway.outbox is not None
        total = 0
        while delivered := await self.gateway.outbox.deliver_due(self.sub):
            total += delivered
        return total

    async def pump(self, seconds: float, *, step: float = 1.0) -> None:
        """Run the outbox for ``seconds`` of fake time, ``step`` at a time."""
        elapsed = 0.0
        while True:
            await self.deliver_now()
            if elapsed >= seconds:
                return
            await self.clock.advance(step)
            elapsed += step

    async def drain(self, *, limit: float = 3600.0, step: float = 5.0) -> None:
        """Pump until nothing is waiting (fails after ``limit`` seconds of fake time)."""
        elapsed = 0.0
        while self.depth():
            assert elapsed <= limit, f"still {self.depth()} waiting after {limit} s"
            await self.deliver_now()
            if self.depth():
                await self.clock.advance(step)
                elapsed += step

    def depth(self) -> int:
        return self.gateway.store.outbox_depth().get(SUB, 0)

    def rows(self) -> list[dict[str, Any]]:
        """The subscription's outbox rows, as the store keeps them."""
        return self.gateway.store.read_sync(lambda conn: [dict(r) for r in conn.execute(
            "SELECT * FROM outbox WHERE subscription = ? ORDER BY seq", (SUB,))])


def doc_verifier() -> Callable[..., bool]:
    """The Python verification code published in contracts/webhooks.md, executed as is."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    code = next(b for b in blocks if "def verify_navet_signature" in b)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # our own published doc, run as written
    verifier: Callable[..., bool] = namespace["verify_navet_signature"]
    return verifier


@pytest.fixture
async def consumer() -> AsyncIterator[Consumer]:
    c = Consumer(free_port())
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


@pytest.fixture
def webhook_settings(request: pytest.FixtureRequest, consumer: Consumer) -> dict[str, Any]:
    """The subscription's sink settings; ``parametrize(..., indirect=True)`` adds to them."""
    return {"url": consumer.url, "secret": SECRET, **getattr(request, "param", {})}


@pytest.fixture
def sub_types(request: pytest.FixtureRequest) -> list[str]:
    """The subscription's types; ``parametrize(..., indirect=True)`` replaces them."""
    return list(getattr(request, "param", ["*"]))


@pytest.fixture
def clock_start() -> datetime:
    """Where the rig's fake clock starts; a module overrides it to verify signatures with a
    library that checks timestamps against the real clock."""
    return T0


@pytest.fixture
async def rig(tmp_path: Path, consumer: Consumer, webhook_settings: dict[str, Any],
              sub_types: list[str], clock_start: datetime) -> AsyncIterator[Rig]:
    clock = FakeClock(clock_start)
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        outbound={"allow_loopback": True},  # the consumer runs on this machine
        subscriptions=[{"id": SUB, "tenant": TENANT, "sink": "webhook", "types": sub_types,
                        "settings": webhook_settings}],
    )
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"), rules=[])
    app = create_app(gateway=gw)
    async with app.router.lifespan_context(app):
        assert gw.outbox is not None
        await gw.outbox.stop()  # the test drives delivery itself, on fake time
        gw.outbox.rng = random.Random(20260101)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://navet") as api:
            yield Rig(gw, clock, consumer, api)


def seconds_until(row: dict[str, Any], now: datetime) -> float:
    return (datetime.fromisoformat(row["next_attempt"]) - now) / timedelta(seconds=1)
