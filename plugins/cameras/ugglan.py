"""Ugglan: a camera vendor's cloud. Sessions over REST, events back by signed webhook.

Navet asks ``POST <api_url>/sessions`` to open a supervision session on one
camera for one staff member and gets a short-lived, single-use viewing URL
back; it ends the session with ``POST <api_url>/sessions/<id>/end``. Ugglan
records nothing. What happens at the camera (session started and ended,
privacy mode, faults, heartbeats) comes back as JSON posted to Navet's
ingress, signed with HMAC-SHA256 over ``"<timestamp>.<body>"`` in the
``X-Ugglan-Signature: t=<unix seconds>,v1=<hex>`` header. The wire format is
in ``contracts/vendors/ugglan.md``.

A webhook with a missing or wrong signature, or a timestamp outside the
tolerance, is answered 401 and not stored: it did not come from Ugglan.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from gateway import (
    AdapterBase,
    AdapterHost,
    ContractError,
    DeviceKind,
    Event,
    Manifest,
    NavetError,
    OutboundPolicy,
    PayloadError,
    RawFrame,
    TransportError,
    WebhookRequest,
    WebhookResponse,
    device_id,
)

from . import normalise as n
from .const import (
    COMMANDS,
    START,
    STOP,
    UGGLAN,
    UGGLAN_DELIVERY_HEADER,
    UGGLAN_PROTOCOL,
    UGGLAN_SIGNATURE_HEADER,
    UGGLAN_VENDOR,
    UGGLAN_WEBHOOK_PATH,
)
from .models import CameraCommand, StartResult, UgglanSettings, command_arg, command_max_s

log = logging.getLogger(__name__)

END_REASONS = {"ended_by_api": "stopped", "max_duration": "max_length",
               "camera_offline": "camera_lost", "viewer_left": "stopped"}
"""Ugglan's ``end_reason`` -> Navet's, when Navet gave none with its stop."""

PRIVACY = {"standby": "off", "shutter_closed": "covered", "streaming": "live"}
"""Ugglan's camera ``mode`` -> Navet's privacy state."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 Ugglan puts in ``v1=``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, header: str | None, body: bytes, now: datetime,
                     tolerance_s: int) -> str | None:
    """Why ``header`` does not authenticate ``body`` (None when it does)."""
    if not header:
        return f"missing {UGGLAN_SIGNATURE_HEADER} header"
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        return "signature header has no valid t= timestamp"
    if abs(now.timestamp() - timestamp) > tolerance_s:
        return f"signature timestamp is more than {tolerance_s}s from now (replay or clock skew)"
    expected = sign(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        return "signature does not match the body"
    return None


class UgglanAdapter(AdapterBase):
    """Ugglan cloud cameras: start/stop sessions over REST, events by signed webhook."""

    manifest: ClassVar[Manifest] = Manifest(
        name=UGGLAN,
        vendor="Ugglan Omsorgsteknik AB (fictional vendor; cloud API)",
        description="Night supervision cameras via the Ugglan cloud (REST + signed webhooks)",
        device_kinds=(DeviceKind.CAMERA,),
        transports=("rest", "webhook"),
        contract=">=1.1,<2",
        commands=COMMANDS,
        version="0.1.0",
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = UgglanSettings.model_validate(self.settings)
        self.api_url = str(self.config.api_url).rstrip("/")
        """Where the Ugglan API is. The demo's simulated cloud, started on a free port,
        sets it once it listens."""
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = UGGLAN
        self._client: httpx.AsyncClient | None = None
        self._sessions: dict[str, str] = {}  # Navet session -> Ugglan session id
        self._register_task: asyncio.Task[None] | None = None
        self.registered = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def callback_url(self) -> str | None:
        """Navet's ingress URL Ugglan posts to (None until known)."""
        if self.config.callback_url is not None:
            return str(self.config.callback_url)
        base = getattr(self._host, "public_url", None)
        return f"{base}/ingress/{self._instance}/{UGGLAN_WEBHOOK_PATH}" if base else None

    @property
    def navet_url(self) -> str | None:
        """Navet's own HTTP base URL, as far as this adapter knows it (for simulators)."""
        return getattr(self._host, "public_url", None)

    async def start(self, host: AdapterHost) -> None:
        self._host = host
        self._tenant = getattr(host, "tenant", "")
        self._instance = getattr(host, "instance_id", "") or UGGLAN
        outbound = OutboundPolicy.of(host)
        outbound.check_url(self.api_url)  # a refused api_url stops the start
        # every call goes through the gateway's outbound policy (resolved and checked); a
        # refusal at a call is a TransportError naming the address and the reason
        self._client = outbound.http_client(
            timeout=self.config.timeout_s,
            headers={"authorization": f"Bearer {self.config.api_key}",
                     "user-agent": "navet-ugglan/0.1"},
        )
        host.add_webhook(UGGLAN_WEBHOOK_PATH, self._on_webhook)
        if self.config.register_webhook:
            self._register_task = asyncio.create_task(self._keep_registered(),
                                                      name=f"{self._instance}-register")

    async def stop(self) -> None:
        if self._register_task is not None:
            self._register_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._register_task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _keep_registered(self) -> None:
        """PUT the callback URL now and then; retry soon while Ugglan cannot be reached."""
        assert self._host is not None
        while True:
            url = self.callback_url
            wait = 30.0
            if url is not None:
                try:
                    await self._call("PUT", "/webhook", json={"url": url})
                    self.registered = True
                    wait = self.config.register_every_s
                except NavetError as err:
                    log.warning("%s: could not register the webhook at Ugglan: %s",
                                self._instance, err)
            await self._host.clock.sleep(wait)

    # ------------------------------------------------------------------ ingress

    async def _on_webhook(self, request: WebhookRequest) -> WebhookResponse | dict[str, Any]:
        assert self._host is not None
        body = request.body
        problem = verify_signature(
            self.config.webhook_secret, request.headers.get(UGGLAN_SIGNATURE_HEADER), body,
            self._host.clock.now(), self.config.webhook_tolerance_s)
        if problem is not None:
            log.warning("%s: refused a webhook: %s", self._instance, problem)
            return WebhookResponse({"error": "unauthenticated", "reason": problem},
                                status=401)
        delivery = request.headers.get(UGGLAN_DELIVERY_HEADER, "")
        frame = RawFrame(
            adapter=UGGLAN, tenant=self._tenant, transport="webhook",
            address=UGGLAN_WEBHOOK_PATH, payload=body, received=self._host.clock.now(),
            instance=self._instance, meta={"delivery": delivery[:128]},
        )
        result = await self._host.ingest(frame)  # raises if not stored: Ugglan retries
        return {"accepted": len(result.accepted), "duplicates": len(result.duplicates),
                "dead_letter": result.dead_letter is not None}

    # ------------------------------------------------------------------ commands

    async def execute(self, command: CameraCommand) -> StartResult | None:
        """Start or stop a session. The result of a start carries the viewing URL.

        :raises TransportError: Ugglan could not be reached or refused, with why.
        """
        if command.name == START:
            reply = await self._call("POST", "/sessions", json={
                "camera": command.address, "reference": command_arg(command, "session"),
                "viewer": command.requested_by.id, "max_duration_s": command_max_s(command),
            })
            try:
                result = StartResult(url=str(reply["view_url"]),
                                     expires=_aware(reply["expires_at"]),
                                     vendor_session=str(reply["id"]))
            except (KeyError, TypeError, ValueError) as err:
                raise TransportError(
                    f"{self._instance}: Ugglan answered a session start without a usable "
                    f"id/view_url/expires_at ({type(err).__name__})") from err
            self._sessions[command_arg(command, "session")] = result.vendor_session or ""
            return result
        if command.name == STOP:
            vendor = self._sessions.pop(command_arg(command, "session"), None)
            if vendor:
                await self._call("POST", f"/sessions/{vendor}/end",
                                 json={"reason": command_arg(command, "reason")})
            else:  # after a restart Navet knows only its own reference
                await self._call("POST", "/sessions/end",
                                 json={"reference": command_arg(command, "session"),
                                       "reason": command_arg(command, "reason")})
            return None
        raise TransportError(f"{self._instance}: unknown command {command.name!r}")

    async def _call(self, method: str, path: str, json: dict[str, Any]) -> dict[str, Any]:
        if self._client is None:
            raise TransportError(f"{self._instance}: the adapter is not started")
        try:
            resp = await self._client.request(method, self.api_url + path, json=json)
        except httpx.HTTPError as err:
            raise TransportError(
                f"{self._instance}: Ugglan API {method} {path} failed: {type(err).__name__}"
            ) from err
        if resp.status_code >= 400:
            try:
                detail = str(resp.json().get("error", ""))[:200]
            except (ValueError, AttributeError):
                detail = ""
            raise TransportError(
                f"{self._instance}: Ugglan API {method} {path} answered {resp.status_code}"
                + (f": {detail}" if detail else ""),
                permanent=resp.status_code < 500)
        if not resp.content:
            return {}
        try:
            data = resp.json()
        except ValueError as err:
            raise TransportError(f"{self._instance}: Ugglan API {method} {path} answered "
                                 "something that is not JSON") from err
        return data if isinstance(data, dict) else {}

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[Event]:
        try:
            body: Any = frame.json()
        except ValueError as err:
            raise PayloadError(f"webhook body is not JSON: {err}", adapter=UGGLAN) from err
        if not isinstance(body, dict):
            raise PayloadError("webhook body must be a JSON object", adapter=UGGLAN)
        kind = body.get("type")
        if kind == "ping":
            return []
        camera = body.get("camera")
        if not isinstance(camera, str) or not camera or len(camera) > 64:
            raise PayloadError("camera (the camera serial) is missing", adapter=UGGLAN)
        event_ref = body.get("id")
        if not isinstance(event_ref, str) or not event_ref:
            raise PayloadError("id (Ugglan's event id) is missing", adapter=UGGLAN,
                               device=camera)
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise PayloadError("data must be a JSON object", adapter=UGGLAN, device=camera)
        try:
            when = _aware(body.get("occurred_at"))
            c = n.Common(frame.tenant, when,
                         n.camera(device_id(UGGLAN, camera), UGGLAN_VENDOR, camera),
                         {"adapter": UGGLAN, "protocol": UGGLAN_PROTOCOL, "ref": event_ref})
            return self._events(kind, c, data, when)
        except (KeyError, TypeError, ValueError, OverflowError, ContractError) as err:
            raise PayloadError(f"{kind} event: {_why(err)}", adapter=UGGLAN,
                               device=camera) from err

    def _events(self, kind: Any, c: n.Common, data: dict[str, Any],
                when: datetime) -> list[Event]:
        if kind == "session.started":
            return [n.started(c, session=_session(data), viewer=_viewer(data),
                              max_s=_int(data, "max_duration_s", optional=True))]
        if kind == "session.ended":
            begun = _aware(data["started_at"])
            reason = n.end_reason(data.get("client_reason"), _text(data, "end_reason"),
                                  END_REASONS)
            return [n.ended(c, session=_session(data),
                            duration_s=(when - begun).total_seconds(), reason=reason)]
        if kind == "camera.mode":
            mode = _text(data, "mode")
            if mode not in PRIVACY:
                raise ValueError(f"mode {mode!r} is not one of {', '.join(PRIVACY)}")
            return [n.privacy(c, state=PRIVACY[mode],
                              session=data.get("reference"))]
        if kind == "camera.heartbeat":
            return [n.heartbeat(c, interval_s=_int(data, "interval_s", optional=True))]
        if kind == "camera.fault":
            return [n.fault(c, kind=str(data.get("category", "other")),
                            active=bool(data["active"]) if isinstance(data["active"], bool)
                            else _bad("active must be true or false"),
                            code=_opt_text(data, "code"), text=_opt_text(data, "description"))]
        raise ValueError(f"unknown event type {kind!r}")


def _session(data: dict[str, Any]) -> str:
    """Navet's session id as Ugglan echoes it; a session Navet did not start (someone used
    Ugglan's own portal) still gets reported, under Ugglan's id, so it cannot go unseen."""
    reference = data.get("reference")
    if isinstance(reference, str) and reference:
        return reference[:128]
    return f"{UGGLAN}:{_text(data, 'session')}"[:128]


def _viewer(data: dict[str, Any]) -> str:
    viewer = data.get("viewer")
    return viewer[:128] if isinstance(viewer, str) and viewer else "unknown"


def _aware(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"time must be ISO 8601 text, got {value!r}")
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return when.astimezone(UTC)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be non-empty text, got {value!r}")
    return value


def _opt_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)[:500]


def _int(data: dict[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 86_400:
        raise ValueError(f"{key} must be a whole number of seconds, got {value!r}")
    return value


def _bad(reason: str) -> Any:
    raise ValueError(reason)


def _why(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"{err.args[0]} is missing or unknown"
    return str(err)

