"""Webhook subscriptions: events POSTed to a consumer's URL as signed CloudEvents.

The delivery contract (headers, signature, retries, ordering) is
``contracts/webhooks.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .sink import WebhookSink

if TYPE_CHECKING:
    from gateway import SinkRegistry


@hookimpl
def navet_register_sinks(registry: SinkRegistry) -> None:
    registry.add(WebhookSink)
