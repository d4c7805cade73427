"""Subscriptions and their delivery: ``GET /api/v1/subscriptions``, create, replay.

A subscription is one consumer's feed (a webhook, an MQTT topic tree, a
forwarder) through the durable outbox. The list shows each one's delivery
state: how many events wait (``depth``), how many became dead letters, when
the last one was delivered and the last error. ``POST .../{id}/replay`` queues
again every event Navet received since a point in time, with the same ids, so
a consumer that lost data can rebuild it (and deduplicate on the id).

``POST /api/v1/subscriptions`` (admins only) creates a webhook subscription at
run time. Its URL is checked against the outbound policy through DNS before
anything is stored (422 naming what was refused and why), within the tenant's
quota (409).

Secrets, extra headers and URL queries in a subscription's settings never
leave the gateway: only what the sink's ``describe()`` returns is shown.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.core.gateway import Gateway
from gateway.core.model import Actor as ModelActor
from gateway.core.model import ActorKind
from gateway.core.store import Store, Subscription
from gateway.core.store.repos.outbox import OutboxRepository
from gateway.errors import ConfigError, OutboundRefused, SubscriptionLimitError

from ..deps import ActorDep, GatewayDep, OutboxDep, StoreDep, TenantScope, resolve_types

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/subscriptions", tags=["subscriptions"])


class DeadDelivery(BaseModel):
    id: str = Field(description="Event id (the CloudEvents id the consumer deduplicates on).")
    type: str
    received: str
    attempts: int
    last_error: str | None


class Delivery(BaseModel):
    depth: int = Field(description="Events waiting to be delivered.")
    dead_letters: int = Field(description="Events given up on (horizon passed or refused); "
                              "replay brings them back.")
    oldest_pending: str | None = Field(description="When the oldest waiting event was received.")
    delivered: int = Field(description="Events delivered since the store was created.")
    last_delivered: str | None = Field(description="When the last delivery succeeded.")
    last_event: str | None = Field(description="Id of the last event delivered.")
    last_error: str | None = Field(description="The last failed attempt, in words.")
    last_error_at: str | None


class SubscriptionView(BaseModel):
    id: str
    tenant: str
    sink: str
    types: list[str]
    enabled: bool
    running: bool = Field(description="A sink is configured and delivering for it.")
    target: dict[str, Any] | None = Field(
        description="What the sink says about its destination (never a secret)."
    )
    delivery: Delivery
    dead: list[DeadDelivery] = Field(
        default_factory=list, description="The newest dead letters (single subscription only)."
    )


CREATABLE = ("webhook",)
"""Sink kinds the API creates; FHIR Subscriptions are created through the FHIR facade,
forwarders to alarm receiving centres in the gateway's configuration file."""


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="The subscription's id (sent as Navet-Subscription); default: generated.")
    sink: str = Field(default="webhook", description=f"One of: {', '.join(CREATABLE)}.")
    types: list[str] = Field(
        default_factory=lambda: ["*"], min_length=1,
        description="Event types or families ('alarm.') to deliver; '*' for all.")
    settings: dict[str, Any] = Field(
        description="The sink's settings (webhook: url, secret, ...; contracts/webhooks.md).")


class Replay(BaseModel):
    subscription: str
    since: datetime
    until: datetime | None
    queued: int = Field(description="Events queued again (or still waiting from before).")


def _view(gateway: Gateway, outbox: OutboxRepository, sub: Subscription, *,
          dead: bool = False) -> SubscriptionView:
    sink = gateway.sinks.get(sub.id)
    describe = getattr(sink, "describe", None)
    return SubscriptionView(
        id=sub.id, tenant=sub.tenant, sink=sub.sink, types=list(sub.types), enabled=sub.enabled,
        running=sink is not None and sub.enabled,
        target=describe() if describe is not None else None,
        delivery=Delivery(**outbox.status(sub.id)),
        dead=[DeadDelivery(**d) for d in outbox.dead(sub.id)] if dead else [],
    )


def _find(store: Store, tenant: str, subscription_id: str) -> Subscription:
    for sub in store.subscriptions:
        if sub.id == subscription_id and sub.tenant == tenant:
            return sub
    raise HTTPException(status.HTTP_404_NOT_FOUND,
                        f"no subscription {subscription_id!r} in {tenant}")


@router.get("", response_model=list[SubscriptionView])
async def list_subscriptions(gateway: GatewayDep, store: StoreDep, outbox: OutboxDep,
                             tenant: TenantScope) -> list[SubscriptionView]:
    """The tenant's subscriptions with their delivery state."""
    subs = [s for s in store.subscriptions if s.tenant == tenant.id]
    return await asyncio.to_thread(
        lambda: [_view(gateway, outbox, s) for s in sorted(subs, key=lambda s: s.id)])


@router.post("", response_model=SubscriptionView, status_code=status.HTTP_201_CREATED)
async def create_subscription(
    gateway: GatewayDep, store: StoreDep, outbox: OutboxDep, tenant: TenantScope,
    actor: ActorDep, body: NewSubscription, response: Response,
) -> SubscriptionView:
    """Create a webhook subscription for the tenant (administrators only).

    The URL is resolved and every address checked against the outbound policy: cloud
    metadata, link-local, Navet's own ports, and loopback or private addresses the
    deployment does not allow are refused with 422 naming the address and the reason.
    A tenant at its ``subscription_limits.per_tenant`` gets 409.
    """
    if body.sink not in CREATABLE:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"sink {body.sink!r} cannot be created over the API (only: "
                            f"{', '.join(CREATABLE)}; FHIR Subscriptions: POST "
                            "/fhir/r5/Subscription)")
    for pattern in body.types:
        if pattern != "*":
            resolve_types([pattern])  # 422 naming an unknown type
    sub_id = body.id or f"{body.sink}-{uuid.uuid4().hex[:12]}"
    if any(s.id == sub_id for s in store.subscriptions):
        raise HTTPException(status.HTTP_409_CONFLICT, f"subscription {sub_id!r} exists")
    sub = Subscription(sub_id, tenant.id, body.sink, tuple(body.types), dict(body.settings))
    try:
        await gateway.add_subscription(sub)
    except OutboundRefused as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"settings.url: {err}") from None
    except SubscriptionLimitError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    except ConfigError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None
    log.info("subscription %s (%s) created by %s", sub.id, sub.sink, actor.id,
             extra={"subscription": sub.id, "tenant": tenant.id})
    response.headers["Location"] = f"/api/v1/subscriptions/{sub.id}?tenant={tenant.id}"
    return await asyncio.to_thread(_view, gateway, outbox, sub)


@router.get("/{subscription_id}", response_model=SubscriptionView)
async def get_subscription(
    gateway: GatewayDep, store: StoreDep, outbox: OutboxDep, tenant: TenantScope,
    subscription_id: str,
) -> SubscriptionView:
    """One subscription, its delivery state and its newest dead letters."""
    sub = _find(store, tenant.id, subscription_id)
    return await asyncio.to_thread(lambda: _view(gateway, outbox, sub, dead=True))


@router.post("/{subscription_id}/replay", response_model=Replay,
             status_code=status.HTTP_202_ACCEPTED)
async def replay(
    gateway: GatewayDep,
    store: StoreDep,
    outbox: OutboxDep,
    tenant: TenantScope,
    actor: ActorDep,
    subscription_id: str,
    since: Annotated[AwareDatetime, Query(
        description="Replay events Navet received at or after this time (RFC 3339 with offset)."
    )],
    until: Annotated[AwareDatetime | None, Query(
        description="Only events received before this time; default: up to now."
    )] = None,
) -> Replay:
    """Deliver again, in order per resident and with the same ids, what was received since.

    Events still waiting are not doubled; dead letters in the range are revived.
    Delivery is asynchronous: watch ``depth`` fall in the subscription list.
    """
    sub = _find(store, tenant.id, subscription_id)
    start = since.astimezone(UTC)
    end = until.astimezone(UTC) if until is not None else None
    if end is not None and end <= start:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"until ({end.isoformat()}) must be after since ({start.isoformat()})",
        )
    queued = await outbox.replay(sub, start, gateway.clock.now(), end)
    audit = getattr(gateway, "audit", None)
    if audit is not None:  # what was replayed; the audit trail has only the call itself
        await audit.append(
            tenant=tenant.id, actor=ModelActor(kind=ActorKind.OPERATOR, id=actor.id),
            action="subscription replay", decision="queued",
            reason=f"{queued} event(s) received since {start.isoformat()}"
            + (f" until {end.isoformat()}" if end is not None else ""),
            detail={"subscription": sub.id, "since": start.isoformat(),
                    "until": end.isoformat() if end is not None else None, "queued": queued},
        )
    log.info("replay of subscription %s since %s requested by %s: %d event(s) queued",
             sub.id, start.isoformat(), actor.id, queued,
             extra={"subscription": sub.id, "tenant": tenant.id})
    return Replay(subscription=sub.id, since=start, until=end, queued=queued)
