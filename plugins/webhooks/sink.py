"""POSTs each event to the subscriber as a signed CloudEvents 1.0 structured JSON body.

The outbox calls :meth:`WebhookSink.deliver` for one event at a time per lane
(resident, or device without one), so the consumer sees each resident's events
in order. A 2xx answer is delivery; a network error, 408, 425, 429 or 5xx is
retried with backoff (never sooner than ``Retry-After``); any other status is
the consumer refusing the event, which becomes a dead letter at once.

Every connection goes through the gateway's outbound policy
(``services.outbound``): the URL's host is resolved, each address checked, and
the connection made to a checked address. A failure to connect reads the same
whatever its cause (refused, reset, timed out), so what the subscriptions API
shows cannot be used to scan ports; the cause is in the gateway's log.
"""

from __future__ import annotations

import json
import logging
import ssl
import uuid
from collections.abc import Mapping
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from gateway import (
    Clock,
    Event,
    OutboundPolicy,
    OutboundRefused,
    TransportError,
    __version__,
    to_cloudevent,
)

from .const import (
    CONTENT_TYPE,
    DELIVERY_HEADER,
    RETRY_STATUSES,
    SIGNATURE_HEADER,
    SINK_KIND,
    SUBSCRIPTION_HEADER,
)
from .models import WebhookSettings
from .signing import signature_header, standard_headers

log = logging.getLogger(__name__)


class WebhookSink:
    kind: ClassVar[str] = SINK_KIND

    def __init__(self, settings: Mapping[str, Any], services: Any) -> None:
        self.subscription: str = services.subscription.id
        try:
            self.config = WebhookSettings.model_validate(dict(settings))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
                for e in err.errors()
            )
            raise ValueError(f"webhook settings: {problems}") from None  # no secret in a trace
        self.clock: Clock = services.clock
        self.outbound = OutboundPolicy.of(services)
        self.residents = frozenset(self.config.residents) if self.config.residents else None
        # The outbox reads its retry policy for this subscription from these.
        self.horizon: timedelta = self.config.horizon
        self.base_backoff = self.config.backoff_base_s
        self.max_backoff = self.config.backoff_max_s
        self.concurrency = self.config.concurrency
        try:  # read certificates now, so a bad file stops the start, not each delivery
            self._verify = self._tls()
        except (OSError, ssl.SSLError) as err:
            raise ValueError(f"webhook settings: cannot load TLS files: {err}") from err
        self._client: httpx.AsyncClient | None = None

    def describe(self) -> dict[str, Any]:
        """What the subscriptions API may show: never a secret, a header value or a query."""
        return {
            "url": self.config.display_url,
            "signing_secrets": len(self.config.secrets),
            "residents": sorted(self.residents) if self.residents is not None else None,
            "horizon_s": int(self.horizon.total_seconds()),
        }

    def destinations(self) -> list[tuple[str, int]]:
        """Where this sink connects: the URL's host and port (checked by the gateway when
        the subscription is created, and again at every connection)."""
        url = self.config.url
        return [(url.host or "", url.port or (443 if url.scheme == "https" else 80))]

    def wants(self, event: Event) -> bool:
        return self.residents is None or event.resident in self.residents

    def request(self, event: Event) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one delivery attempt, signed at the clock's now."""
        body = json.dumps(to_cloudevent(event), separators=(",", ":"), ensure_ascii=False)
        raw = body.encode("utf-8")
        timestamp = int(self.clock.now().timestamp())
        headers = {
            **self.config.headers,
            "Content-Type": CONTENT_TYPE,
            "User-Agent": f"Navet/{__version__} webhooks",
            # the event id: the same on every attempt and replay, what consumers dedup on
            **standard_headers(raw, event.id, timestamp, self.config.secrets),
            SUBSCRIPTION_HEADER: self.subscription,
            DELIVERY_HEADER: str(uuid.uuid4()),
        }
        if self.config.legacy_signature:
            headers[SIGNATURE_HEADER] = signature_header(raw, timestamp, self.config.secrets)
        return raw, headers

    async def deliver(self, event: Event) -> None:
        if not self.wants(event):
            return  # filtered out: acknowledged without a request
        body, headers = self.request(event)
        where = f"webhook {self.subscription} ({self.config.display_url})"
        try:
            response = await self._http().post(str(self.config.url), content=body,
                                               headers=headers)
        except OutboundRefused as err:
            raise TransportError(f"{where}: {err}") from err
        except httpx.TransportError as err:
            log.info("%s: event %s not delivered: %s: %s", where, event.id,
                     type(err).__name__, err)
            if _certificate_refused(err):  # the operator must see this one to fix it
                raise TransportError(f"{where}: the server's TLS certificate did not verify "
                                     f"({err}) for event {event.id}") from err
            # One message for refused, reset, timed out: an open port must not show.
            raise TransportError(f"{where}: no answer (connection refused, reset or timed "
                                 f"out; the gateway log has the cause) for event {event.id}"
                                 ) from err
        except httpx.HTTPError as err:
            raise TransportError(f"{where}: {type(err).__name__}: {err or 'failed'}") from err
        status = response.status_code
        if 200 <= status < 300:
            return
        answer = f"{where} answered {status} {response.reason_phrase}".rstrip()
        if status in RETRY_STATUSES or status >= 500:
            raise TransportError(
                f"{answer} for event {event.id}",
                retry_after=self.retry_after(response.headers.get("Retry-After")),
            )
        why = ("redirects are not followed, configure the final URL" if 300 <= status < 400
               else f"the consumer refused event {event.id}")
        raise TransportError(f"{answer}: {why}; not retried", permanent=True)

    def retry_after(self, value: str | None) -> float | None:
        """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), capped at the
        horizon; ``None`` when absent or unreadable."""
        if not value:
            return None
        value = value.strip()
        seconds: float
        if value.isdigit():
            seconds = float(value)
        else:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - self.clock.now().astimezone(UTC)).total_seconds()
        return max(0.0, min(seconds, self.horizon.total_seconds()))

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # created on first use, inside the gateway's event loop
            self._client = self.outbound.http_client(timeout=self.config.timeout_s,
                                                     verify=self._verify)
        return self._client

    def _tls(self) -> ssl.SSLContext | bool:
        """Default trust, or the configured CA and client certificate (mutual TLS)."""
        cfg = self.config
        if cfg.tls_ca is None and cfg.tls_cert is None:
            return True
        context = ssl.create_default_context(cafile=cfg.tls_ca)
        if cfg.tls_cert is not None:
            context.load_cert_chain(cfg.tls_cert, cfg.tls_key)
        return context

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _certificate_refused(err: BaseException) -> bool:
    """True when a failure is the server's certificate not verifying."""
    seen: BaseException | None = err
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or \
                "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
