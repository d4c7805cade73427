"""Who may call what: bearer tokens, roles per route, tenant per request. One place.

Every HTTP and WebSocket route passes :func:`authenticate` (an app-wide
dependency), which

1. turns the bearer token (``Authorization: Bearer …``, or ``access_token=…``
   in the query for browsers' EventSource and WebSocket, which cannot set
   headers) into a :class:`~gateway.core.security.tokens.Principal`; without
   a token, the console's session cookie (gateway/core/accounts.py):
   a request it authenticates that changes anything must carry the session's
   CSRF token in ``X-CSRF-Token``, and a WebSocket it authenticates must come
   from this origin;
2. checks the route against :data:`POLICY`, a table of path patterns and the
   roles that may use them. A route the table does not know is admin-only:
   a new endpoint is closed until someone decides who may use it;
3. checks the ``tenant`` the request names (every tenant-scoped route takes
   ``?tenant=``) against the tenants in the token, so a token for one
   municipality reads nothing of another, on any route.

Public routes are probes, metrics, the API documentation, the console's pages
(each sends whoever has no session to the sign-in page itself), their static
files, the FHIR CapabilityStatement, vendor ingress (which vendors sign with
their own HMAC keys) and the FHIR websocket (bound by its own token).
With ``auth.mode: off`` (development; refused in production) everyone is the
development principal.
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass

from fastapi import HTTPException, WebSocketException, status
from starlette.requests import HTTPConnection

from gateway.core.accounts import Accounts, Session
from gateway.core.security.outbound import OutboundPolicy
from gateway.core.security.tokens import (
    DEVELOPMENT,
    AuthError,
    LocalKeys,
    Principal,
    TokenVerifier,
)
from gateway.core.settings import Settings
from gateway.errors import ConfigError, OutboundRefused

log = logging.getLogger(__name__)

READERS = frozenset({"operator", "staff", "admin", "auditor"})
ANYONE = frozenset({"operator", "staff", "admin", "auditor", "vendor"})
FOLLOWUP_READERS = frozenset({"analyst", "region", "admin", "auditor"})


@dataclass(frozen=True, slots=True)
class Rule:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    roles: frozenset[str] | None  # None: public


def _rule(methods: str, pattern: str, roles: frozenset[str] | set[str] | None) -> Rule:
    return Rule(frozenset(methods.split(",")), re.compile(f"^(?:{pattern})$"),
                frozenset(roles) if roles is not None else None)


POLICY: tuple[Rule, ...] = (
    # public
    _rule("GET,HEAD", r"/(healthz|readyz|metrics|docs|docs/oauth2-redirect|openapi\.json|redoc)?",
          None),
    _rule("GET,HEAD", r"/static/.*", None),
    _rule("POST", r"/ingress/.*", None),           # vendors sign their webhooks (HMAC)
    _rule("GET", r"/fhir/r5/metadata", None),      # the CapabilityStatement is public
    _rule("WS", r"/fhir/r5/ws", None),             # bound by a $get-ws-binding-token token
    # anyone with a token
    _rule("GET", r"/api/v1/(tenants|event-types)", ANYONE | FOLLOWUP_READERS),
    # alarm handling: operators at the centre, staff in the field
    _rule("GET", r"/api/v1/alarms(/.*)?", READERS),
    _rule("POST", r"/api/v1/alarms/[^/]+/(acknowledge|dispatch|attend|close|notes)",
          {"operator", "staff", "admin"}),
    # the audit log: auditors (and administrators) read it, nobody writes it over HTTP
    _rule("GET", r"/api/v1/audit(/verify)?", {"auditor", "admin"}),
    # a data subject's request for access: everything held about one resident
    _rule("GET", r"/api/v1/residents/[^/]+/export", {"admin"}),
    # events, streams, directory, reports
    _rule("GET", r"/api/v1/(events|events/[^/]+|stream|devices|residents|summary)", READERS),
    _rule("WS", r"/api/v1/stream/ws", READERS),
    _rule("GET", r"/api/v1/dead-letters", {"admin", "vendor"}),
    _rule("GET", r"/api/v1/catalogue", {"admin", "vendor"}),  # adapters, signed and tested
    # the care configuration item by item (routes/care.py): administrators; before the
    # staff rules, whose /staff/... and /supervision/... paths it shares
    _rule("GET", r"/api/v1/residents/[^/]+", READERS),
    _rule("POST", r"/api/v1/(residents|devices|plans|staff|consents|relatives|geofences|"
          r"supervision|passive)", {"admin"}),
    _rule("GET,PATCH,DELETE", r"/api/v1/((residents|plans|staff|consents|relatives|geofences|"
          r"supervision|passive)/[^/]+|devices/.+)", {"admin"}),
    _rule("GET", r"/api/v1/(plans|consents|relatives|geofences|supervision|passive)",
          {"admin"}),
    _rule("GET", r"/api/v1/teams", {"operator", "admin"}),
    _rule("PUT,DELETE", r"/api/v1/teams/[^/]+", {"admin"}),
    # home-care staff: their visits, doors, camera checks
    _rule("GET", r"/api/v1/staff", {"operator", "admin"}),
    _rule("GET,POST", r"/api/v1/staff/.*", {"staff"}),
    _rule("GET,POST", r"/api/v1/supervision/.*", {"staff"}),
    # configuration and consumers: the municipality's administrators
    _rule("POST", r"/api/v1/config", {"admin"}),
    _rule("GET,POST", r"/api/v1/subscriptions(/.*)?", {"admin"}),
    _rule("GET", r"/api/v1/(adapters|routing)", {"admin"}),  # adapters' state, routing
    # follow-up: figures without personal data for the municipality's analysts, regions
    # comparing municipalities, administrators and auditors; the settings are the admin's
    _rule("GET", r"/api/v1/followup/(indicators|report|breakdown|survey|compare)",
          FOLLOWUP_READERS),
    _rule("POST", r"/api/v1/followup/settings", {"admin"}),
    # FHIR facade
    _rule("GET", r"/fhir/r5/.*", {"operator", "admin", "auditor"}),
    _rule("POST", r"/fhir/r5/Subscription(/.*)?", {"operator", "admin"}),
    # the console's pages are public here: each one sends a visitor without a session to
    # the sign-in page (gateway/api/routes/console.py); their data comes through the rules
    # above. Sign-in, sign-out and the language choice check their own form tokens.
    _rule("GET,HEAD", r"/|/live|/console(/.*)?|/signin(/oidc|/oidc/callback)?", None),
    _rule("POST", r"/signin|/signout|/language", None),
)

ADMIN_ONLY = frozenset({"admin"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "navet_session"
CSRF_HEADER = "x-csrf-token"
ANONYMOUS = Principal("anonymous", frozenset(), frozenset())


def roles_for(method: str, path: str) -> frozenset[str] | None:
    """The roles that may call ``method path`` (None: public). Unknown routes: admin only."""
    for rule in POLICY:
        if method in rule.methods and rule.pattern.match(path):
            return rule.roles
    return ADMIN_ONLY


def open_api_warning(settings: Settings) -> str | None:
    """What to tell whoever may see it while the API is open (``auth.mode: off``), else None.

    ``off`` is the development default, so a gateway can run open without anyone having
    chosen it: the start log, ``/healthz``, ``/readyz`` and the live view all say so.
    """
    if settings.auth.mode != "off":
        return None
    where = f"http://{settings.http.host}:{settings.http.port}"
    return (f"the API is open: auth.mode is off, so anyone who can reach {where} may read "
            "every tenant's data and change its configuration, alarms and doors. This is for "
            "development only. Turn authentication on with 'auth: {mode: local}' in the "
            "settings file (or NAVET_AUTH__MODE=local) and make tokens with 'navet token "
            "create' (docs/security.md)")


def build_verifier(settings: Settings) -> TokenVerifier | None:
    auth = settings.auth
    if auth.mode == "off":
        return None
    if auth.mode == "local":
        return TokenVerifier(issuer=auth.issuer, audience=auth.audience,
                             keys=LocalKeys(settings.data_dir / "keys"),
                             tenants_claim=auth.tenants_claim, roles_claim=auth.roles_claim)
    outbound = OutboundPolicy.from_settings(settings)
    try:  # a JWKS URL the outbound policy refuses stops the start, not every login
        outbound.check_url(str(auth.jwks_url))
    except OutboundRefused as err:
        raise ConfigError(f"auth.jwks_url: {err}") from err
    return TokenVerifier(issuer=auth.issuer, audience=auth.audience, jwks_url=auth.jwks_url,
                         tenants_claim=auth.tenants_claim, roles_claim=auth.roles_claim,
                         algorithms=tuple(auth.algorithms), outbound=outbound)


def _refuse(conn: HTTPConnection, code: int, detail: str) -> Exception:
    if conn.scope.get("type") == "websocket":
        return WebSocketException(status.WS_1008_POLICY_VIOLATION, detail[:120])
    headers = {"WWW-Authenticate": 'Bearer realm="navet"'} if code == 401 else None
    return HTTPException(code, detail, headers=headers)


def _token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return conn.query_params.get("access_token") or None


async def authenticate(conn: HTTPConnection) -> Principal:
    """The app-wide dependency: who calls, may they call this route, for this tenant."""
    route = conn.scope.get("route")
    path = getattr(route, "path", None) or conn.url.path
    method = "WS" if conn.scope.get("type") == "websocket" else conn.scope.get("method", "GET")
    needed = roles_for(method, path)
    conn.state.route_path = path  # for the audit trail (gateway/api/audit_trail.py)
    conn.state.path_params = dict(conn.path_params)
    verifier: TokenVerifier | None = getattr(conn.app.state, "verifier", None)
    if verifier is None:  # auth off: development only
        conn.state.principal = DEVELOPMENT
        return DEVELOPMENT
    if needed is None:  # public route: no token needed, and none is trusted here
        conn.state.principal = ANONYMOUS
        return ANONYMOUS
    token = _token(conn)
    if token is None:
        principal = await _session_principal(conn, method)
    else:
        try:
            principal = await verifier.verify(token)
        except AuthError as err:
            raise _refuse(conn, 401, str(err)) from None
    conn.state.principal = principal  # known even if refused below: the audit names them
    if not principal.has_any(needed):
        raise _refuse(conn, 403, f"{method} {path} needs one of the roles "
                      f"{', '.join(sorted(needed))}; the token has "
                      f"{', '.join(sorted(principal.roles)) or 'none'}")
    tenant = conn.query_params.get("tenant")
    if tenant is not None and not principal.may_see(tenant):
        raise _refuse(conn, 403, f"the token is not valid for tenant {tenant!r}")
    conn.state.principal = principal
    return principal


async def find_session(conn: HTTPConnection) -> Session | None:
    """The live console session the request's cookie names, or None."""
    token = conn.cookies.get(SESSION_COOKIE)
    gateway = getattr(conn.app.state, "gateway", None)
    if not token or gateway is None:
        return None
    now = gateway.clock.now()
    return await Accounts(gateway.store).find_session(token, now)


async def _session_principal(conn: HTTPConnection, method: str) -> Principal:
    session = await find_session(conn)
    if session is None:
        if conn.cookies.get(SESSION_COOKIE):
            raise _refuse(conn, 401, "the console session has ended (signed out or expired): "
                          "sign in again")
        raise _refuse(conn, 401, "this call needs a bearer token (Authorization: Bearer …) "
                      "or a console session")
    principal = session.principal()
    conn.state.principal = principal
    conn.state.session = session
    if method == "WS":
        # a browser sends cookies with a WebSocket from any page: only ours may use them
        origin = conn.headers.get("origin", "")
        host = conn.headers.get("host", "")
        if not origin or origin.split("://", 1)[-1] != host:
            raise _refuse(conn, 403, "a WebSocket signed in with the console's cookie must "
                          "come from the console's own origin")
    elif method not in SAFE_METHODS:
        sent = conn.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, session.csrf):
            raise _refuse(conn, 403, "this change needs the session's CSRF token in the "
                          "X-CSRF-Token header (the console sends it; reload the page)")
    return principal


def principal_of(conn: HTTPConnection) -> Principal:
    """The caller, as :func:`authenticate` established it (anonymous if it did not run)."""
    found = getattr(conn.state, "principal", None)
    return found if isinstance(found, Principal) else ANONYMOUS
