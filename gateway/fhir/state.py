"""What the FHIR facade keeps in the store: subscription status and event numbers.

The Subscription resource itself lives in the core ``subscriptions`` table (it
is an outbox subscription); what changes while it runs (status, the last
error, the number given to each event) lives in two tables of its own (store
schema 3). The store reaches them for the facade as ``store.fhir_state``
(:class:`.host.FhirStateStore`); their SQL is the core's, not the plugin's.
"""

from __future__ import annotations

from .host import FhirStateStore, HasFhirState


def _state(store: HasFhirState) -> FhirStateStore:
    return store.fhir_state


async def set_status(store: HasFhirState, sub: str, status: str, error: str | None,
                     tenant: str | None = None) -> None:
    await _state(store).set_status(sub, tenant or "", status, (error or "")[:500] or None)


async def status(store: HasFhirState, sub: str) -> str | None:
    return (await _state(store).status(sub))[0]


def status_sync(store: HasFhirState, sub: str) -> tuple[str | None, str | None]:
    return _state(store).status_sync(sub)


async def number(store: HasFhirState, sub: str, event: str) -> int:
    """The event's number in this subscription; the same number on every retry."""
    return await _state(store).number(sub, event)


async def count(store: HasFhirState, sub: str) -> int:
    return await _state(store).count(sub)


async def numbered(store: HasFhirState, sub: str, since: int | None,
                   until: int | None) -> list[tuple[str, int]]:
    """(event id, number) of the numbered events ``since`` .. ``until`` (inclusive)."""
    return await _state(store).numbered(sub, since if since is not None else 1,
                                        until if until is not None else 2 ** 62)
