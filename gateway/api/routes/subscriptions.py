"""Subscriptions and their delivery: ``GET /api/v1/subscriptions`` and replay.

A subscription is one consumer's feed (a webhook, an MQTT topic tree, a
forwarder) through the durable outbox. The list shows each one's delivery
state: how many events wait (``depth``), how many became dead letters, when
the last one was delivered and the last error. ``POST .../{id}/replay`` queues
again every event Navet received since a point in time, with the same ids, so
a consumer that lost data can rebuild it (and deduplicate on the id).

Secrets, extra headers and URL queries in a subscription's settings never
leave the gateway: only what the sink's ``describe()`` returns is shown.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from gateway.core.gateway import Gateway
from gateway.core.model import Actor as ModelActor
from gateway.core.model import ActorKind
from gateway.core.store import Subscription

from ..deps import ActorDep, GatewayDep, TenantScope

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


class Replay(BaseModel):
    subscription: str
    since: datetime
    until: datetime | None
    queued: int = Field(description="Events queued again (or still waiting from before).")


def _view(gateway: Gateway, sub: Subscription, *, dead: bool = False) -> SubscriptionView:
    store = gateway.store
    sink = gateway.sinks.get(sub.id)
    describe = getattr(sink, "describe", None)
    return SubscriptionView(
        id=sub.id, tenant=sub.tenant, sink=sub.sink, types=list(sub.types), enabled=sub.enabled,
        running=sink is not None and sub.enabled,
        target=describe() if describe is not None else None,
        delivery=Delivery(**store.outbox_status(sub.id)),
        dead=[DeadDelivery(**d) for d in store.outbox_dead(sub.id)] if dead else [],
    )


def _find(gateway: Gateway, tenant: str, subscription_id: str) -> Subscription:
    for sub in gateway.store.subscriptions:
        if sub.id == subscription_id and sub.tenant == tenant:
            return sub
    raise HTTPException(status.HTTP_404_NOT_FOUND,
                        f"no subscription {subscription_id!r} in {tenant}")


@router.get("", response_model=list[SubscriptionView])
async def list_subscriptions(gateway: GatewayDep, tenant: TenantScope) -> list[SubscriptionView]:
    """The tenant's subscriptions with their delivery state."""
    subs = [s for s in gateway.store.subscriptions if s.tenant == tenant.id]
    return await gateway.store.read(
        lambda conn: [_view(gateway, s) for s in sorted(subs, key=lambda s: s.id)]
    )


@router.get("/{subscription_id}", response_model=SubscriptionView)
async def get_subscription(
    gateway: GatewayDep, tenant: TenantScope, subscription_id: str
) -> SubscriptionView:
    """One subscription, its delivery state and its newest dead letters."""
    sub = _find(gateway, tenant.id, subscription_id)
    return await gateway.store.read(lambda conn: _view(gateway, sub, dead=True))


@router.post("/{subscription_id}/replay", response_model=Replay,
             status_code=status.HTTP_202_ACCEPTED)
async def replay(
    gateway: GatewayDep,
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
    sub = _find(gateway, tenant.id, subscription_id)
    start = since.astimezone(UTC)
    end = until.astimezone(UTC) if until is not None else None
    if end is not None and end <= start:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"until ({end.isoformat()}) must be after since ({start.isoformat()})",
        )
    queued = await gateway.store.outbox_replay(sub, start, gateway.clock.now(), end)
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
