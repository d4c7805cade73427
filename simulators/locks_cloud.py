"""The Portvakt lock cloud, simulated: a real HTTP server with the vendor's API.

:class:`PortvaktCloud` serves what contracts/vendors/portvakt.md describes
(uvicorn + a small Starlette app on a port of its own):

- ``PUT /v1/webhook`` registers the account's webhook URL;
- ``POST /v1/locks/{lock}/commands`` takes ``unlock``/``lock`` (idempotent on the
  ``Idempotency-Key``), answers 202, and a moment later the lock reports it;
- ``GET /v1/events?after=<cursor>|since=<iso>&limit=`` is the event feed;
- every event is pushed to the webhook, signed (HMAC-SHA256 over
  ``<timestamp>.<body>``), retried with backoff, re-signed on each try.

``outage = True`` makes every API call answer 503 and pauses pushes, as a
vendor cloud in trouble does; events that happen meanwhile are kept and
delivered (pushed and in the feed) when it ends.

:class:`PortvaktSimulator` is the demo family: the cloud for the configured
doors, a day of door life (battery reports, a wrong code, a jam now and then)
and the morning home-care round (:mod:`simulators.locks_round`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway import Clock

from .runner import ScenarioRunner

FAMILY = "portvakt"
log = logging.getLogger(__name__)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The vendor's signature (our own implementation of the documented scheme)."""
    import hashlib
    import hmac

    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


@dataclass
class CloudLock:
    id: str
    locked: bool = True
    battery: int = 90
    jammed: bool = False
    model: str = "PV-Door 3"
    serial: str = ""


@dataclass
class _Push:
    body: bytes
    attempts: int = 0


@dataclass
class PortvaktCloud:
    """The vendor cloud. Start with :meth:`start`, stop with :meth:`stop`."""

    clock: Clock
    api_key: str
    secret: str
    locks: dict[str, CloudLock] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    webhook_url: str | None = None
    relock_s: float | None = None  # auto-relock after an unlock; None: never
    report_delay_s: float = 0.0  # between accepting a command and the lock's report
    push_retry_s: float = 0.5
    outage: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    pushed: int = 0
    push_failures: int = 0
    commands: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: asyncio.Queue[_Push] = asyncio.Queue()
        self._server: uvicorn.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pusher: asyncio.Task[None] | None = None
        self._serve: asyncio.Task[None] | None = None
        self._idempotent: dict[str, dict[str, Any]] = {}
        self._seq = 0
        self._http: httpx.AsyncClient | None = None

    # ------------------------------------------------------------------ server

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        if not self.port:
            import socket

            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = int(s.getsockname()[1])
        app = Starlette(routes=[
            Route("/v1/webhook", self._put_webhook, methods=["PUT"]),
            Route("/v1/locks/{lock}/commands", self._post_command, methods=["POST"]),
            Route("/v1/events", self._get_events, methods=["GET"]),
        ])

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):  # type: ignore[no-untyped-def]  # we own signals
                yield

        self._server = Server(uvicorn.Config(app, host=self.host, port=self.port,
                                             log_config=None, access_log=False,
                                             lifespan="off"))
        self._serve = asyncio.create_task(self._server.serve(), name="portvakt-cloud")
        for _ in range(500):
            if self._server.started or self._serve.done():
                break
            await asyncio.sleep(0.01)
        if not self._server.started:
            raise RuntimeError(f"Portvakt simulator could not listen on {self.url}")
        self._http = httpx.AsyncClient(timeout=5.0)
        self._pusher = asyncio.create_task(self._push_loop(), name="portvakt-push")

    async def stop(self) -> None:
        for task in [*self._tasks, self._pusher]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._server is not None and self._serve is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._serve, 10)
        if self._http is not None:
            await self._http.aclose()

    def _authorised(self, request: Request) -> JSONResponse | None:
        if self.outage:
            return JSONResponse({"error": "unavailable", "message": "maintenance"}, 503)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"error": "unauthorized", "message": "bad api key"}, 401)
        return None

    async def _put_webhook(self, request: Request) -> JSONResponse:
        if (refused := self._authorised(request)) is not None:
            return refused
        body = await request.json()
        self.webhook_url = str(body.get("url") or "") or None
        return JSONResponse({"url": self.webhook_url})

    async def _post_command(self, request: Request) -> JSONResponse:
        if (refused := self._authorised(request)) is not None:
            return refused
        key = request.headers.get("idempotency-key", "")
        if key and key in self._idempotent:
            return JSONResponse(self._idempotent[key], 202)
        body = await request.json()
        lock = self.locks.get(request.path_params["lock"])
        if lock is None:
            return JSONResponse({"error": "not_found", "message": "no such lock"}, 404)
        verb = body.get("command")
        if verb not in ("unlock", "lock"):
            return JSONResponse({"error": "bad_command", "message": f"{verb!r}"}, 422)
        if lock.jammed:
            return JSONResponse({"error": "jammed", "message": "the bolt is jammed"}, 409)
        self._seq += 1
        answer = {"command_id": f"cmd_{self._seq:06d}", "status": "accepted"}
        if key:
            self._idempotent[key] = answer
        self.commands.append({**body, "command_id": answer["command_id"]})
        self._later(self.report_delay_s, self._perform(lock, verb, body))
        return JSONResponse(answer, 202)

    async def _perform(self, lock: CloudLock, verb: str, body: dict[str, Any]) -> None:
        actor = {"type": "integration", "user_ref": body.get("requested_by"),
                 "command_ref": body.get("reference")}
        self.happen(lock.id, "access.unlocked" if verb == "unlock" else "access.locked",
                    actor=actor)
        if verb == "unlock" and self.relock_s is not None:
            self._later(self.relock_s, self._relock(lock))

    async def _relock(self, lock: CloudLock) -> None:
        if not lock.locked:
            self.happen(lock.id, "access.locked", actor={"type": "auto_relock"})

    async def _get_events(self, request: Request) -> JSONResponse:
        if (refused := self._authorised(request)) is not None:
            return refused
        limit = max(1, min(500, int(request.query_params.get("limit", "100"))))
        after = request.query_params.get("after")
        since = request.query_params.get("since")
        items = self.events
        if after is not None:
            items = [e for e in items if e["_cursor"] > int(after)]
        elif since is not None:
            t = datetime.fromisoformat(since)
            items = [e for e in items if datetime.fromisoformat(e["occurred_at"]) >= t]
        page = items[:limit]
        cursor = page[-1]["_cursor"] if page else (int(after) if after else None)
        return JSONResponse({
            "events": [{k: v for k, v in e.items() if k != "_cursor"} for e in page],
            "cursor": str(cursor) if cursor is not None else None,
            "more": len(items) > limit})

    # ------------------------------------------------------------------ happenings

    def happen(self, lock_id: str, event_type: str, **fields: Any) -> dict[str, Any]:
        """Something happens at a lock: record it, update the lock, push it."""
        lock = self.locks[lock_id]
        if event_type == "access.unlocked":
            lock.locked = False
        elif event_type == "access.locked":
            lock.locked = True
        elif event_type == "lock.jammed":
            lock.jammed = True
        elif event_type == "lock.battery":
            lock.battery = int(fields.get("battery", {}).get("percent", lock.battery))
        self._seq += 1
        event = {
            "event_id": f"evt_{self._seq:08d}",
            "type": event_type,
            "occurred_at": self.clock.now().isoformat(timespec="milliseconds"),
            "lock": {"id": lock.id, "model": lock.model, "serial": lock.serial or None},
            **fields,
            "_cursor": len(self.events) + 1,
        }
        self.events.append(event)
        body = json.dumps({k: v for k, v in event.items() if k != "_cursor"},
                          separators=(",", ":")).encode()
        self._queue.put_nowait(_Push(body))
        return event

    def _later(self, seconds: float, coro: Any) -> None:
        async def run() -> None:
            try:
                if seconds > 0:
                    await self.clock.sleep(seconds)
            except asyncio.CancelledError:
                coro.close()  # stopped before it was due: it never runs
                raise
            await coro

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push_loop(self) -> None:
        """Deliver webhooks in order; retry each with backoff until delivered."""
        while True:
            push = await self._queue.get()
            while True:
                if self.outage or not self.webhook_url or self._http is None:
                    await self.clock.sleep(self.push_retry_s)
                    continue
                ts = int(self.clock.now().timestamp())
                headers = {"X-Portvakt-Timestamp": str(ts),
                           "X-Portvakt-Signature": sign(self.secret, ts, push.body),
                           "Content-Type": "application/json"}
                push.attempts += 1
                try:
                    resp = await self._http.post(self.webhook_url, content=push.body,
                                                 headers=headers)
                    if resp.status_code < 300:
                        self.pushed += 1
                        break
                    if resp.status_code in (400, 401, 409):
                        log.warning("portvakt sim: webhook refused (%s): %s",
                                    resp.status_code, resp.text[:200])
                        break  # a refused delivery is not retried; the feed still has it
                except httpx.HTTPError:
                    pass
                self.push_failures += 1
                await self.clock.sleep(min(30.0, self.push_retry_s * 2 ** min(push.attempts, 6)))


# --------------------------------------------------------------------------- demo family


class PortvaktSimulator:
    """The demo's Portvakt cloud for one tenant, with a day of door life."""

    family = FAMILY

    def __init__(self, ctx: Any, devices: list[Any]) -> None:
        settings = ctx.settings
        api = urlsplit(str(settings.get("api_url", "http://127.0.0.1:18480")))
        self.name = f"{ctx.tenant}/portvakt"
        self.rng = random.Random(f"{ctx.seed}:{self.name}")
        locks = {d.address: CloudLock(d.address, battery=self.rng.randint(30, 100),
                                      serial=f"PV{self.rng.randint(100000, 999999)}")
                 for d in devices if d.kind == "door_lock"}
        self.cloud = PortvaktCloud(
            clock=ctx.clock, api_key=str(settings.get("api_key", "")),
            secret=str(settings.get("webhook_secret", "")), locks=locks,
            host=api.hostname or "127.0.0.1", port=api.port or 80, relock_s=60.0)
        self.ctx = ctx
        self.round: Any = None
        public = settings.get("public_url")
        if public:
            from .locks_round import HomeCareRound

            self.round = HomeCareRound(str(public), ctx.tenant, ctx.clock, seed=ctx.seed,
                                       name=f"{ctx.tenant}/round", headers=ctx.api_headers)

    @property
    def published(self) -> int:
        return len(self.cloud.events) + (self.round.requests if self.round else 0)

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        start = runner.now

        async def up() -> None:
            await self.cloud.start()

        runner.at(start, up, f"{self.name} cloud up")
        for day in range(days):
            t0 = start + day * 86_400.0
            for i, lock in enumerate(sorted(self.cloud.locks)):
                runner.at(t0 + 20 + 20 * i, self._battery(lock), f"{self.name} {lock} battery")
                if self.rng.random() < 0.5:
                    runner.at(t0 + 3 * 3600 + 120 * i, self._wrong_code(lock),
                              f"{self.name} {lock} wrong code")
        if self.round is not None:
            self.round.schedule(runner, days=days)

    def _battery(self, lock: str) -> Any:
        async def act() -> None:
            level = max(5, self.cloud.locks[lock].battery - self.rng.randint(0, 3))
            self.cloud.happen(lock, "lock.battery",
                              battery={"percent": level, "low": level <= 20})
        return act

    def _wrong_code(self, lock: str) -> Any:
        async def act() -> None:
            self.cloud.happen(lock, "access.denied", actor={"type": "keypad"},
                              reason="invalid_code")
        return act
