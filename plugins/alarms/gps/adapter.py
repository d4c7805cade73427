"""Stigfinnare GPS alarms: the vendor cloud posts one signed JSON message per request.

``start`` mounts the webhook (``/ingress/<instance id>/<path>``). The handler checks
the signature and replay window (:mod:`.signature`) before anything is stored: a request
that is not provably from the organisation's account is answered 401 and not kept, so
nobody can fill the dead-letter store from the internet. A signed request is stored
(events, or the frame as a dead letter with the reason) and only then answered.

``decode`` is pure and reads only the body, so a stored frame replays to the same events:

- ``position`` -> ``position.reported``;
- ``sos`` -> ``position.reported`` (reason ``alarm``, when the message has a fix) and
  ``alarm.raised`` ``personal_button``, priority critical, with the point. Whether the
  press was outside the resident's home fence is Navet's knowledge, not the watch's: the
  core geofence rule turns it into ``gps.panic_outside`` (gateway/core/rules/geofence.py);
- ``fall`` -> the same with kind ``fall``;
- ``battery`` -> ``device.battery``; ``heartbeat`` -> ``device.heartbeat`` (with the
  announced interval, which the supervision rule watches);
- a ``battery`` object or a ``position`` on any message adds its event too.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any, ClassVar

from pydantic import ValidationError

from gateway import (
    AdapterBase,
    AdapterHost,
    AlarmKind,
    ContractError,
    DeviceKind,
    Event,
    Manifest,
    PayloadError,
    Priority,
    RawFrame,
    WebhookRequest,
    WebhookResponse,
    device_id,
    make_event,
)

from .const import ADAPTER, LOW_BATTERY_PCT, PROTOCOL, VENDOR
from .models import StigfinnareSettings, WireMessage
from .signature import SignatureError, verify

log = logging.getLogger(__name__)

ALARMS = {"sos": (AlarmKind.PERSONAL_BUTTON, "SOS button pressed"),
          "fall": (AlarmKind.FALL, "fall detected by the device")}


class StigfinnareAdapter(AdapterBase):
    """GPS alarms (watch, pendant) reported by the Stigfinnare cloud over a signed webhook."""

    manifest: ClassVar[Manifest] = Manifest(
        name=ADAPTER,
        vendor="Stigfinnare AB (GPS alarm watches and pendants; Stigfinnare cloud)",
        description="GPS alarms: positions, SOS, fall, battery and heartbeats via a "
        "signed HTTPS webhook from the Stigfinnare cloud",
        device_kinds=(DeviceKind.GPS_ALARM,),
        transports=("webhook",),
        contract=">=1.0,<2",
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        # No settings: decode only (``navet decode``, golden vectors); start() needs them.
        self.config = (StigfinnareSettings.model_validate(self.settings)
                       if self.settings else None)
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = ""

    # ------------------------------------------------------------------ I/O

    async def start(self, host: AdapterHost) -> None:
        if self.config is None:
            raise ValueError(f"{ADAPTER}: an instance needs settings 'organisation' and "
                             "'secret' (see contracts/vendors/stigfinnare.md)")
        self._host = host
        self._tenant = getattr(host, "tenant", "")
        self._instance = getattr(host, "instance_id", "")
        host.add_webhook(self.config.path, self.handle)

    async def handle(self, request: WebhookRequest) -> WebhookResponse:
        """One POST from the vendor cloud. 2xx only once the message is durably stored."""
        assert self._host is not None and self.config is not None
        body = request.body
        try:
            verify(request.headers, body, organisation=self.config.organisation,
                   secrets=self.config.secrets, now=self._host.clock.now(),
                   tolerance_s=self.config.tolerance_s)
        except SignatureError as err:
            log.warning("%s: refused an unauthenticated request on %s: %s",
                        self._instance, self.config.path, err)
            return WebhookResponse({"error": "unauthorized", "detail": str(err)},
                                status=401)
        frame = RawFrame(
            adapter=ADAPTER, tenant=self._tenant, transport="webhook",
            address=f"/{self.config.path}", payload=body, received=self._host.clock.now(),
            meta={"organisation": self.config.organisation}, instance=self._instance,
        )
        result = await self._host.ingest(frame)  # StoreUnavailableError -> 503: vendor retries
        if result.dead_letter is not None:
            return WebhookResponse({"error": "unprocessable", "detail": result.reason,
                                 "dead_letter": result.dead_letter}, status=422)
        return WebhookResponse({"accepted": len(result.accepted),
                             "duplicates": len(result.duplicates)})

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[Event]:
        try:
            body = frame.json()
        except (ValueError, UnicodeDecodeError) as err:
            raise PayloadError(f"body is not JSON: {err}", adapter=ADAPTER) from err
        if not isinstance(body, dict):
            raise PayloadError(f"body must be a JSON object, got {type(body).__name__}",
                               adapter=ADAPTER)
        imei = _imei_hint(body)
        try:
            msg = WireMessage.model_validate(body)
        except ValidationError as err:
            raise PayloadError(_describe(err), adapter=ADAPTER, device=imei) from err
        try:
            return self._events(frame, msg)
        except (ContractError, ValueError, OverflowError) as err:
            raise PayloadError(str(err), adapter=ADAPTER, device=msg.device.imei) from err

    def _events(self, frame: RawFrame, msg: WireMessage) -> list[Event]:
        device = {"id": device_id(ADAPTER, msg.device.imei), "kind": DeviceKind.GPS_ALARM,
                  "vendor": VENDOR, "model": msg.device.model, "serial": msg.device.imei}
        common: dict[str, Any] = {
            "tenant": frame.tenant, "device": device,
            "source": {"adapter": ADAPTER, "protocol": PROTOCOL, "ref": msg.id},
        }
        when = msg.time.astimezone(UTC)
        events: list[Event] = []
        point: dict[str, Any] | None = None
        if msg.position is not None:
            pos = msg.position
            point = {"lat": pos.lat, "lon": pos.lon, "accuracy_m": pos.accuracy_m}
            reason = ("alarm" if msg.type in ALARMS else msg.trigger or "periodic")
            fixed = pos.time.astimezone(UTC) if pos.time is not None else when
            events.append(make_event("position.reported", **common, time=fixed,
                                     data={"point": point, "reason": reason,
                                           "speed_mps": pos.speed_mps}))
        if msg.type in ALARMS:
            kind, text = ALARMS[msg.type]
            if point is None:
                text += " (no position fix with the alarm)"
            events.append(make_event(
                "alarm.raised", **common, time=when, priority=Priority.CRITICAL,
                location={"point": point} if point else None,
                data={"kind": kind, "text": text, "code": f"{ADAPTER}:{msg.type}"}))
        if msg.battery is not None:
            bat = msg.battery
            low = bat.low if bat.low is not None else bat.level_pct <= LOW_BATTERY_PCT
            events.append(make_event("device.battery", **common, time=when,
                                     data={"level_pct": bat.level_pct, "low": low}))
        if msg.type == "heartbeat":
            events.append(make_event("device.heartbeat", **common, time=when,
                                     data={"interval_s": msg.interval_s}))
        return events


def _imei_hint(body: dict[str, Any]) -> str | None:
    """The device named in a body, for the error message, if it looks like an IMEI."""
    dev = body.get("device")
    imei = dev.get("imei") if isinstance(dev, dict) else None
    return imei if isinstance(imei, str) and imei.isdigit() and len(imei) == 15 else None


def _describe(err: ValidationError) -> str:
    """One line naming each wrong field, e.g. ``position.lat: Input should be ...``."""
    parts = []
    for e in err.errors()[:5]:
        where = ".".join(str(p) for p in e["loc"]) or "message"
        parts.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
    more = f" (and {len(err.errors()) - 5} more)" if len(err.errors()) > 5 else ""
    return "; ".join(parts) + more
