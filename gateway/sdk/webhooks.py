"""Framework-neutral webhook types: what an adapter's ingress handler gets and returns.

An adapter mounts a handler with ``host.add_webhook(path, handler)``. The HTTP
layer reads the body (under a size limit and a deadline) before the handler
runs, so the handler gets a :class:`WebhookRequest` whole and answers with a
:class:`WebhookResponse`, something JSON-able (answered ``200``) or ``None``
(answered ``204``). No web framework leaks into adapters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Headers(Mapping[str, str]):
    """HTTP headers, looked up case-insensitively (the last value of a repeated name)."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, str] = {k.lower(): v for k, v in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One request a vendor cloud sent to ``/ingress/<instance>/<path>``, body read."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    """Looked up case-insensitively (given as any mapping, kept as :class:`Headers`)."""
    method: str = "POST"
    path: str = ""
    """The handler's path (what it was mounted at)."""
    query: Mapping[str, str] = field(default_factory=dict)
    client: str | None = None
    """The sender's address as the HTTP server saw it."""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """An answer with a status of the handler's choosing; ``body`` is sent as JSON."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


WebhookHandler = Callable[[WebhookRequest], Awaitable["WebhookResponse | Any"]]
