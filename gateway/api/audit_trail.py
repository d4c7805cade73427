"""Every state-changing API call leaves an audit entry: who, which route, the outcome.

An ASGI middleware around the app: after a POST/PUT/PATCH/DELETE (vendor
webhook ingress excepted: that is devices talking, not people acting), or a
read of a resident's personal data (the export), it appends to the
hash-chained audit log the caller (the token's subject and token id, or the
development actor header), the route, the tenant and the HTTP status. The
first use of each token id is recorded too ("token use"). What the call did
to the domain (an unlock and its reason, a camera viewing) is audited by the
core service that decided it; this is the record that the call was made.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from gateway.core.model import Actor

log = logging.getLogger(__name__)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _actor(principal: Any, headers: dict[bytes, bytes]) -> Actor:
    roles = set(getattr(principal, "roles", ()) or ())
    subject = getattr(principal, "subject", None)
    if subject in (None, "developer", "anonymous"):
        named = headers.get(b"x-navet-actor", b"").decode("latin-1")[:64]
        return Actor(kind="system", id=named or str(subject or "anonymous"))
    kind = "staff" if roles == {"staff"} else "operator" if roles & {
        "operator", "admin", "auditor"} else "system"
    return Actor(kind=kind, id=str(subject))


class AuditTrail:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._tokens_seen: set[tuple[str, str]] = set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 0))
            await send(message)

        scope.setdefault("state", {})  # shared with the routes' copies of the scope
        await self.app(scope, receive, capture)
        try:
            await self._record(scope, status)
        except Exception:  # the call is done; a failed audit write must be loud, not fatal
            log.exception("could not write the audit entry for %s %s",
                          scope.get("method"), scope.get("path"))

    async def _record(self, scope: dict[str, Any], status: int) -> None:
        method = scope.get("method", "GET")
        path = scope.get("path", "")
        state = scope.get("state") or {}
        route = state.get("route_path") or getattr(scope.get("route"), "path", path)
        export = method == "GET" and route.endswith("/export")
        if path.startswith("/ingress/") or (method not in WRITES and not export):
            return
        gateway = getattr(scope["app"].state, "gateway", None)
        audit = getattr(gateway, "audit", None)
        if audit is None:
            return
        principal = state.get("principal")
        headers = dict(scope.get("headers") or [])
        query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
        named = query.get("tenant")
        changed = state.get("audit_tenants")  # set by a route whose body names its tenants
        # otherwise a call without ?tenant= (a refused configuration) is recorded in each of
        # the token's tenants, never in a tenant only the request body names
        tenants = [named[-1][:64]] if named else [str(t)[:64] for t in changed] if changed \
            else sorted(getattr(principal, "tenants", ()) or ()) or ["-"]
        actor = _actor(principal, headers)
        token = getattr(principal, "token_id", None)
        resident = (state.get("path_params") or {}).get("resident")
        for tenant in tenants:
            if token and (token, tenant) not in self._tokens_seen:
                self._tokens_seen.add((token, tenant))
                await audit.append(tenant=tenant, actor=actor, action="token use",
                                   decision="seen", reason="first use of this token here",
                                   detail={"token_id": token})
            await audit.append(
                tenant=tenant, actor=actor, action=f"api {method} {route}",
                decision="done" if 200 <= status < 400 else f"refused {status}",
                reason="personal data read (export)" if export else "",
                resident=resident, detail={"path": path, "status": status, "token_id": token})
