"""Creating and reading R5 Subscriptions, and websocket binding tokens.

``create`` checks a client's Subscription against what Navet supports (a
known topic, rest-hook or websocket, filters the topic offers) and a rest-hook
endpoint against the outbound policy (resolved through DNS: a metadata,
link-local, loopback or private address, or one of Navet's own ports, is
refused unless the deployment allows it), gives it an id, stores it as a Navet
outbox subscription within the tenant's quota and, for rest-hook, sends the R5
handshake at once: the answer says ``active`` or ``error``. Each problem is
reported by name; nothing is silently dropped.
"""

from __future__ import annotations

import re
import secrets
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.errors import OutboundRefused
from gateway.sdk.sinks import Subscription as CoreSubscription

from . import state
from .checks import Issue, structural_issues, validate
from .codes import CHANNEL_TYPE
from .host import FhirSubscriptionHost
from .mapping.common import ts
from .topics import TOPICS, topic_by_url

SUPPORTED = {"resourceType", "id", "meta", "name", "status", "topic", "contact", "end",
             "reason", "filterBy", "channelType", "endpoint", "parameter", "heartbeatPeriod",
             "timeout", "contentType", "content", "maxCount"}
CORE_PREFIX = "fhir-"
TOKEN_LIFETIME = timedelta(minutes=5)
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class SubscriptionRefused(ValueError):
    """The Subscription cannot be accepted; ``issues`` say why."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


@dataclass
class Binding:
    tenant: str
    subscription: str
    expires: datetime


class FhirSubscriptions:
    """The FHIR subscriptions of one running gateway."""

    def __init__(self, gateway: FhirSubscriptionHost) -> None:
        self.gw = gateway
        self.tokens: dict[str, Binding] = {}

    # ------------------------------------------------------------------ create

    def check(self, body: Any) -> list[Issue]:
        if not isinstance(body, dict) or body.get("resourceType") != "Subscription":
            return [Issue("resourceType", "the body must be a Subscription resource",
                          "structure")]
        issues = structural_issues(body)
        if issues:
            return issues
        for key in sorted(set(body) - SUPPORTED):
            issues.append(Issue(f"Subscription.{key}", "not supported by Navet", "not-supported"))
        topic = topic_by_url(str(body.get("topic")))
        if topic is None:
            known = ", ".join(t.url for t in TOPICS.values())
            issues.append(Issue("Subscription.topic", f"unknown topic {body.get('topic')!r} "
                                                      f"(known: {known})", "not-supported"))
        channel = body.get("channelType") or {}
        kind = channel.get("code")
        if channel.get("system") != CHANNEL_TYPE or kind not in ("rest-hook", "websocket"):
            issues.append(Issue("Subscription.channelType", "Navet offers "
                                f"{CHANNEL_TYPE}#rest-hook and #websocket", "not-supported"))
        if kind == "rest-hook":
            endpoint = str(body.get("endpoint") or "")
            production = self.gw.settings.environment == "production"
            if not endpoint.startswith(("https://", "http://")):
                issues.append(Issue("Subscription.endpoint", "a rest-hook needs an http(s) "
                                                             "endpoint", "required"))
            elif production and not endpoint.startswith("https://"):
                issues.append(Issue("Subscription.endpoint", "production accepts only https "
                                                             "endpoints", "security"))
            else:
                try:  # what can be judged without DNS; create() resolves and checks again
                    self.gw.outbound.check_url(endpoint)
                except OutboundRefused as err:
                    issues.append(Issue("Subscription.endpoint", str(err), "security"))
        for p in body.get("parameter", []):
            if not _HEADER.match(str(p.get("name"))) or "\n" in str(p.get("value")):
                issues.append(Issue("Subscription.parameter", f"{p.get('name')!r} is not a "
                                                              "usable HTTP header", "value"))
        if body.get("contentType", "application/fhir+json") != "application/fhir+json":
            issues.append(Issue("Subscription.contentType", "only application/fhir+json",
                                "not-supported"))
        if body.get("content") == "full-resource" and kind == "rest-hook" \
                and not str(body.get("endpoint", "")).startswith("https://") \
                and self.gw.settings.environment == "production":
            issues.append(Issue("Subscription.content", "full-resource needs https", "security"))
        if topic is not None:
            offered = {name for name, _ in topic.filters}
            for f in body.get("filterBy", []):
                name = f.get("filterParameter")
                if name not in offered:
                    issues.append(Issue("Subscription.filterBy", f"topic {topic.id} cannot "
                                        f"filter by {name!r} (it can by: "
                                        f"{', '.join(sorted(offered))})", "not-supported"))
                if f.get("comparator", "eq") != "eq" or f.get("modifier"):
                    issues.append(Issue("Subscription.filterBy", "only plain equality "
                                        "(no comparator or modifier) is supported",
                                        "not-supported"))
        return issues

    async def create(self, tenant: str, body: Any, base: str) -> dict[str, Any]:
        """Accept a Subscription; returns it as stored (status active, error or requested)."""
        issues = self.check(body)
        if issues:
            raise SubscriptionRefused(issues)
        fid = str(uuid.uuid4())
        topic = topic_by_url(body["topic"])
        assert topic is not None
        kind = body["channelType"]["code"]
        resource = {k: v for k, v in body.items() if k not in ("id", "meta", "status")}
        resource = {"resourceType": "Subscription", "id": fid,
                    "meta": {"lastUpdated": ts(self.gw.clock.now())},
                    "status": "requested", **{k: v for k, v in resource.items()
                                              if k != "resourceType"}}
        resource.setdefault("content", "id-only")
        validate(resource)
        core = CoreSubscription(
            CORE_PREFIX + fid, tenant, f"fhir-{kind}", topic.event_types,
            {"resource": resource, "topic": topic.id, "base": base},
        )
        try:  # quota (SubscriptionLimitError goes to the caller) and the endpoint, via DNS
            await self.gw.add_subscription(core)
        except OutboundRefused as err:
            raise SubscriptionRefused([Issue("Subscription.endpoint", str(err),
                                             "security")]) from err
        await state.set_status(self.gw.store, fid, "requested" if kind == "rest-hook"
                               else "active", None, tenant)
        sink = self.gw.sinks[core.id]
        if kind == "rest-hook":
            await sink.handshake()
        found = self.read(tenant, fid)
        assert found is not None
        return found

    # ------------------------------------------------------------------ read

    def _core(self, tenant: str) -> list[CoreSubscription]:
        return [s for s in self.gw.store.subscriptions
                if s.tenant == tenant and s.id.startswith(CORE_PREFIX)]

    def read(self, tenant: str, fid: str) -> dict[str, Any] | None:
        for sub in self._core(tenant):
            if sub.id == CORE_PREFIX + fid:
                return self._current(sub)
        return None

    def all(self, tenant: str) -> list[dict[str, Any]]:
        return [self._current(s) for s in self._core(tenant)]

    def _current(self, sub: CoreSubscription) -> dict[str, Any]:
        resource = dict(sub.settings["resource"])
        status, error = state.status_sync(self.gw.store, resource["id"])
        resource["status"] = status or "requested"
        if not sub.enabled:
            resource["status"] = "off"
        if error and resource["status"] in ("error", "off"):
            resource["reason"] = f"{resource.get('reason', '')} [last error: {error}]".strip()
        return validate(resource)

    # ------------------------------------------------------------------ websocket

    def issue_token(self, tenant: str, fid: str, ws_url: str) -> dict[str, Any]:
        """The ``$get-ws-binding-token`` answer (a Parameters resource)."""
        token = secrets.token_urlsafe(24)
        expires = self.gw.clock.now() + TOKEN_LIFETIME
        now = self.gw.clock.now()
        self.tokens = {k: b for k, b in self.tokens.items() if b.expires > now}
        self.tokens[token] = Binding(tenant, fid, expires)
        return validate({"resourceType": "Parameters", "parameter": [
            {"name": "token", "valueString": token},
            {"name": "expiration", "valueDateTime": ts(expires)},
            {"name": "subscription", "valueString": fid},
            {"name": "websocket-url", "valueUrl": ws_url},
        ]})

    def redeem(self, token: str) -> Binding | None:
        binding = self.tokens.get(token)
        if binding is None or binding.expires <= self.gw.clock.now():
            return None
        return binding

    def sink(self, fid: str) -> Any:
        return self.gw.sinks.get(CORE_PREFIX + fid)


_MANAGERS: weakref.WeakKeyDictionary[Any, FhirSubscriptions] = weakref.WeakKeyDictionary()


def subscriptions_for(gateway: FhirSubscriptionHost) -> FhirSubscriptions:
    """The one manager of ``gateway``'s FHIR subscriptions."""
    manager = _MANAGERS.get(gateway)
    if manager is None:
        manager = _MANAGERS[gateway] = FhirSubscriptions(gateway)
    return manager
