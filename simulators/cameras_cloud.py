"""The Ugglan camera cloud, as a real HTTP server, with its cameras.

It speaks the API in ``contracts/vendors/ugglan.md``: ``PUT /v1/webhook``
(where to post events), ``POST /v1/sessions`` (open a session, answer a
single-use viewing URL), ``POST /v1/sessions/{id}/end`` and
``POST /v1/sessions/end`` (by Navet's reference), and ``GET /view/{token}``
(the viewer; a token opens once, within its time). Events go to the
registered URL as JSON signed with HMAC-SHA256 (``X-Ugglan-Signature:
t=<unix>,v1=<hex>``), one at a time and in order, retried until answered 2xx.

The cameras' night: privacy ``shutter_closed`` at the start, a heartbeat every
``heartbeat_s``, and the night script of :mod:`simulators.cameras_night`
(the same script the Vaktaren units run). Nothing is recorded: the simulator
keeps no frames because it has none.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from gateway import Clock

from .cameras_night import CameraNight
from .runner import ScenarioRunner

log = logging.getLogger(__name__)

FAMILY = "ugglan"
TOKEN_TTL_S = 30


@dataclass
class _Session:
    id: str
    camera: str
    reference: str
    viewer: str
    max_s: int
    started: datetime
    token: str
    token_expires: datetime
    timer: asyncio.Task[None] | None = None


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the host process owns the signals
        yield


class UgglanCloud:
    """One Ugglan account with its cameras, served over HTTP on ``host:port``."""

    family = FAMILY

    def __init__(
        self,
        clock: Clock,
        cameras: list[str],
        *,
        api_key: str,
        webhook_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        callback_url: str | None = None,
        push_client: httpx.AsyncClient | None = None,
        name: str = "ugglan",
        seed: int = 0,
        heartbeat_s: float = 600.0,
        enforce_max: bool = True,
    ) -> None:
        self.clock = clock
        self.cameras = list(cameras)
        self.api_key = api_key
        self.secret = webhook_secret
        self.host = host
        self.port = port
        self.callback_url = callback_url
        self.name = name
        self.seed = seed
        self.heartbeat_s = heartbeat_s
        self.enforce_max = enforce_max
        self.published = 0  # webhooks delivered (answered 2xx)
        self.refused = 0  # webhooks answered 4xx (e.g. a bad signature)
        self.sessions: dict[str, _Session] = {}
        self.offline: set[str] = set()
        self.opened_views = 0
        self._tokens: dict[str, str] = {}  # token -> session id
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._server: _QuietServer | None = None
        self._serve: asyncio.Task[None] | None = None
        self._push = push_client
        self._own_push = push_client is None
        self._seq = 0
        self.app = Starlette(routes=[
            Route("/v1/webhook", self._put_webhook, methods=["PUT"]),
            Route("/v1/sessions", self._start_session, methods=["POST"]),
            Route("/v1/sessions/end", self._end_by_reference, methods=["POST"]),
            Route("/v1/sessions/{sid}/end", self._end_session, methods=["POST"]),
            Route("/view/{token}", self._view, methods=["GET"]),
        ])

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    async def start(self) -> None:
        """Listen (``port`` 0 picks a free one) and start delivering webhooks."""
        if self._server is not None:
            return
        config = uvicorn.Config(self.app, host=self.host, port=self.port, lifespan="off",
                                log_config=None, access_log=False)
        self._server = _QuietServer(config)
        self._serve = asyncio.create_task(self._server.serve(), name=f"{self.name}-http")
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._serve.done():
                    raise RuntimeError(f"{self.name}: could not listen on {self.host}:{self.port}")
                await asyncio.sleep(0.01)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        if self._push is None:
            self._push = httpx.AsyncClient(timeout=10)
        self._sender = asyncio.create_task(self._deliver(), name=f"{self.name}-webhooks")

    async def stop(self) -> None:
        for s in self.sessions.values():
            if s.timer is not None:
                s.timer.cancel()
        if self._sender is not None:
            with contextlib.suppress(TimeoutError):  # let a delivery in flight finish
                async with asyncio.timeout(2):
                    await self._queue.join()
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._server is not None and self._serve is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await self._serve
            self._server = None
        if self._push is not None and self._own_push:
            await self._push.aclose()
            self._push = None

    async def push_with(self, client: httpx.AsyncClient) -> None:
        """Deliver webhooks with ``client`` from now on (tests: into an app in-process).
        The caller closes it."""
        if self._push is not None and self._own_push:
            await self._push.aclose()
        self._push, self._own_push = client, False

    async def drain(self) -> None:
        """Wait until every queued webhook was delivered (tests)."""
        await self._queue.join()

    # ------------------------------------------------------------------ the API

    def _authorised(self, request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("authorization", ""),
                                   f"Bearer {self.api_key}")

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    async def _put_webhook(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"error": "bad api key"}, status_code=401)
        url = (await self._json(request)).get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            return JSONResponse({"error": "url must be an http(s) URL"}, status_code=422)
        self.callback_url = url
        return Response(status_code=204)

    async def _start_session(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"error": "bad api key"}, status_code=401)
        body = await self._json(request)
        camera, reference = body.get("camera"), body.get("reference")
        viewer, max_s = body.get("viewer"), body.get("max_duration_s")
        if not (isinstance(camera, str) and isinstance(reference, str)
                and isinstance(viewer, str) and isinstance(max_s, int) and 0 < max_s <= 3600):
            return JSONResponse({"error": "camera, reference, viewer and max_duration_s "
                                 "(1..3600) are required"}, status_code=422)
        if camera not in self.cameras:
            return JSONResponse({"error": f"no camera {camera}"}, status_code=404)
        if camera in self.offline:
            return JSONResponse({"error": f"camera {camera} is offline"}, status_code=503)
        if any(s.camera == camera for s in self.sessions.values()):
            return JSONResponse({"error": f"camera {camera} is busy"}, status_code=409)
        now = self.clock.now()
        s = _Session(id=f"ses_{uuid.uuid4().hex[:12]}", camera=camera, reference=reference,
                     viewer=viewer, max_s=max_s, started=now,
                     token=secrets.token_urlsafe(24),
                     token_expires=now + timedelta(seconds=TOKEN_TTL_S))
        self.sessions[s.id] = s
        self._tokens[s.token] = s.id
        self._emit("session.started", camera, {"session": s.id, "reference": reference,
                                               "viewer": viewer, "max_duration_s": max_s})
        self._emit("camera.mode", camera, {"mode": "streaming", "reference": reference})
        if self.enforce_max:
            s.timer = asyncio.create_task(self._max_timer(s), name=f"{self.name}-{s.id}")
        return JSONResponse({"id": s.id, "camera": camera, "reference": reference,
                             "view_url": f"{self.url}/view/{s.token}",
                             "expires_at": s.token_expires.isoformat()}, status_code=201)

    async def _end_session(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"error": "bad api key"}, status_code=401)
        s = self.sessions.get(request.path_params["sid"])
        if s is None:
            return JSONResponse({"error": "no such open session"}, status_code=404)
        reason = (await self._json(request)).get("reason")
        self._end(s, "ended_by_api", reason if isinstance(reason, str) else None)
        return JSONResponse({"id": s.id, "ended_at": self.clock.now().isoformat()})

    async def _end_by_reference(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"error": "bad api key"}, status_code=401)
        body = await self._json(request)
        s = next((x for x in self.sessions.values() if x.reference == body.get("reference")),
                 None)
        if s is None:
            return JSONResponse({"error": "no such open session"}, status_code=404)
        reason = body.get("reason")
        self._end(s, "ended_by_api", reason if isinstance(reason, str) else None)
        return JSONResponse({"id": s.id, "ended_at": self.clock.now().isoformat()})

    async def _view(self, request: Request) -> Response:
        sid = self._tokens.pop(request.path_params["token"], None)  # single use
        s = self.sessions.get(sid or "")
        if s is None or self.clock.now() > s.token_expires:
            return PlainTextResponse("this viewing link is used, expired or unknown",
                                     status_code=410)
        self.opened_views += 1
        return PlainTextResponse(f"live view of {s.camera} (simulated; nothing is recorded)",
                                 headers={"cache-control": "no-store"})

    # ------------------------------------------------------------------ sessions

    async def _max_timer(self, s: _Session) -> None:
        await self.clock.sleep(s.max_s)
        if s.id in self.sessions:
            self._end(s, "max_duration", None)

    def _end(self, s: _Session, why: str, client_reason: str | None) -> None:
        self.sessions.pop(s.id, None)
        self._tokens.pop(s.token, None)
        if s.timer is not None and s.timer is not asyncio.current_task():
            s.timer.cancel()
        data: dict[str, Any] = {"session": s.id, "reference": s.reference, "viewer": s.viewer,
                                "started_at": s.started.isoformat(), "end_reason": why}
        if client_reason:
            data["client_reason"] = client_reason
        self._emit("session.ended", s.camera, data)
        self._emit("camera.mode", s.camera, {"mode": "shutter_closed"})

    # ------------------------------------------------------------------ camera life

    async def heartbeat(self, camera: str) -> None:
        if camera not in self.offline:
            self._emit("camera.heartbeat", camera, {"interval_s": int(self.heartbeat_s)})

    async def privacy_idle(self, camera: str) -> None:
        self._emit("camera.mode", camera, {"mode": "shutter_closed"})

    async def fault(self, camera: str, active: bool) -> None:
        if active:
            self.offline.add(camera)
            for s in [x for x in self.sessions.values() if x.camera == camera]:
                self._end(s, "camera_offline", None)
        else:
            self.offline.discard(camera)
        self._emit("camera.fault", camera, {"category": "link_lost", "active": active,
                                            "code": "NET-04",
                                            "description": "camera lost its network link"})

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        CameraNight(self, self.cameras, seed=self.seed, heartbeat_s=self.heartbeat_s,
                    name=self.name).schedule(runner, days=days)

    # ------------------------------------------------------------------ webhooks

    def _emit(self, kind: str, camera: str, data: dict[str, Any]) -> None:
        self._seq += 1
        self._queue.put_nowait({
            "id": f"evt_{self.name}_{self._seq:06d}_{uuid.uuid4().hex[:6]}", "type": kind,
            "occurred_at": self.clock.now().isoformat(timespec="milliseconds"),
            "camera": camera, "data": data,
        })

    def signed(self, body: bytes, at: datetime | None = None) -> dict[str, str]:
        """Headers for ``body`` as Ugglan signs it."""
        t = int((at or self.clock.now()).timestamp())
        mac = hmac.new(self.secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
        return {"content-type": "application/json", "x-ugglan-signature":
                f"t={t},v1={mac.hexdigest()}", "x-ugglan-delivery": uuid.uuid4().hex}

    async def _deliver(self) -> None:
        """Post queued events in order; retry each until the receiver answers 2xx."""
        while True:
            event = await self._queue.get()
            body = json.dumps(event).encode()
            delay = 1.0
            try:
                while True:
                    if self.callback_url and self._push is not None:
                        try:
                            resp = await self._push.post(self.callback_url, content=body,
                                                         headers=self.signed(body))
                            if resp.status_code < 300:
                                self.published += 1
                                break
                            if 400 <= resp.status_code < 500:
                                self.refused += 1
                                log.warning("%s: webhook %s refused: %s", self.name,
                                            event["type"], resp.status_code)
                                break
                        except httpx.HTTPError as err:
                            log.info("%s: webhook delivery failed (%s); retrying", self.name,
                                     type(err).__name__)
                    await self.clock.sleep(delay)
                    delay = min(delay * 2, 60.0)
            finally:
                self._queue.task_done()


# ---------------------------------------------------------------------- the demo family

DEMO_STAFF = "natt-1"
"""The demo municipality's night patrol (staff with the night_supervision role)."""


class _DemoCloud(UgglanCloud):
    """The cloud as the demo runs it: started by the runner, telling the adapter its address."""

    def __init__(self, adapter: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adapter = adapter

    async def _start_and_announce(self) -> None:
        await self.start()
        if self.adapter is not None and hasattr(self.adapter, "api_url"):
            self.adapter.api_url = self.api_url  # the demo listens on a free port
        if not self.callback_url and self.adapter is not None:
            self.callback_url = getattr(self.adapter, "callback_url", None)

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        runner.at(runner.now, self._start_and_announce, f"{self.name} listen")
        super().schedule(runner, days=days)


def ugglan_family(ctx: Any, devices: list[Any]) -> list[Any]:
    """Simulators for the ``ugglan`` adapter instance: the cloud and a night patrol."""
    from .cameras_patrol import NightPatrol

    settings = ctx.settings
    api = urlsplit(str(settings.get("api_url", "http://127.0.0.1:0/v1")))
    cloud = _DemoCloud(
        ctx.adapter, ctx.clock, sorted(d.address for d in devices),
        api_key=str(settings.get("api_key", "")), webhook_secret=str(
            settings.get("webhook_secret", "")),
        host=api.hostname or "127.0.0.1", port=api.port or 0,
        callback_url=settings.get("callback_url"), name=f"ugglan/{ctx.tenant}", seed=ctx.seed)
    residents = sorted({d.resident for d in devices if d.resident})
    patrol = NightPatrol(
        ctx.clock, lambda: settings.get("navet_url") or getattr(ctx.adapter, "navet_url", None),
        tenant=ctx.tenant, staff=DEMO_STAFF, residents=residents, seed=ctx.seed,
        headers=ctx.api_headers, name=f"patrol/{ctx.tenant}/ugglan")
    return [cloud, patrol]
