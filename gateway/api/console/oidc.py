"""Signing in through the municipality's identity provider (``auth.mode: oidc``).

The OpenID Connect authorization-code flow with PKCE (RFC 7636, S256):

1. ``GET /signin/oidc`` makes a ``state``, a ``nonce`` and a code verifier,
   keeps them server-side for ten minutes under the state, binds the browser to
   them with a short HttpOnly cookie, and sends the browser to the provider's
   authorization endpoint with the verifier's S256 challenge.
2. The provider sends the browser back to ``GET /signin/oidc/callback`` with a
   code and the state. The state must be the one this browser was given; the
   code is exchanged at the token endpoint with the verifier (and the client
   secret, for a confidential client); the ID token's signature is verified
   against the provider's JWKS, its issuer, audience (the client id), expiry
   and nonce checked. Roles and tenants come from the configured claims
   (``auth.roles_claim``, ``auth.tenants_claim``), the display name from
   ``auth.name_claim``; a person without a known role or a tenant is not let in.
3. A console session opens, as for a local account.

The provider's endpoints come from its discovery document
(``auth.discovery_url``, default ``<issuer>/.well-known/openid-configuration``),
fetched through the outbound policy like every connection Navet makes.
Pending sign-ins are kept in this process: behind a load balancer, route
``/signin/oidc*`` of one browser to one instance (sticky sessions) or sign in
with a short ``auth.session_ttl_s`` retry.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import jwt
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from gateway.core.security.outbound import OutboundPolicy
from gateway.core.security.tokens import AuthError, NoRoleError, TokenVerifier
from gateway.core.settings import Settings
from gateway.errors import OutboundRefused

from ..deps import GatewayDep
from .i18n import Translator, language_of
from .render import page, safe_next

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

STATE_COOKIE = "navet_oidc"
PENDING_S = 600
MAX_PENDING = 10_000


@dataclass(frozen=True, slots=True)
class Pending:
    nonce: str
    verifier: str
    target: str | None
    redirect_uri: str
    started: float


class OidcClient:
    """The console's client at the provider; one per app, made on first use."""

    def __init__(self, settings: Settings) -> None:
        auth = settings.auth
        if not auth.client_id:
            raise AuthError("auth.mode oidc needs auth.client_id for people to sign in to the "
                            "console")
        self.auth = auth
        self.outbound = OutboundPolicy.from_settings(settings)
        self.discovery_url = auth.discovery_url or \
            auth.issuer.rstrip("/") + "/.well-known/openid-configuration"
        self.metadata: dict[str, Any] | None = None
        self.pending: dict[str, Pending] = {}
        self.verifier: TokenVerifier | None = None

    async def endpoints(self) -> dict[str, Any]:
        if self.metadata is None:
            async with self.outbound.http_client(timeout=5.0) as client:
                resp = await client.get(self.discovery_url)
                resp.raise_for_status()
                meta = resp.json()
            for key in ("authorization_endpoint", "token_endpoint", "issuer"):
                if not isinstance(meta.get(key), str):
                    raise AuthError(f"the provider's discovery document {self.discovery_url} "
                                    f"has no {key}")
            if meta["issuer"] != self.auth.issuer:
                raise AuthError(f"the provider says its issuer is {meta['issuer']!r}, the "
                                f"settings say {self.auth.issuer!r}")
            self.metadata = meta
            jwks = self.auth.jwks_url or meta.get("jwks_uri")
            self.verifier = TokenVerifier(
                issuer=self.auth.issuer, audience=str(self.auth.client_id), jwks_url=jwks,
                tenants_claim=self.auth.tenants_claim, roles_claim=self.auth.roles_claim,
                algorithms=tuple(self.auth.algorithms), outbound=self.outbound)
        return self.metadata

    def begin(self, redirect_uri: str, target: str | None, now: float) -> tuple[str, str]:
        """``(state, authorization URL)`` for a new sign-in."""
        assert self.metadata is not None
        for key in [k for k, p in self.pending.items() if now - p.started > PENDING_S]:
            del self.pending[key]
        if len(self.pending) >= MAX_PENDING:  # a flood of unfinished sign-ins
            self.pending.pop(next(iter(self.pending)))
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        self.pending[state] = Pending(nonce, verifier, target, redirect_uri, now)
        query = urlencode({
            "response_type": "code", "client_id": self.auth.client_id,
            "redirect_uri": redirect_uri, "scope": " ".join(self.auth.scopes),
            "state": state, "nonce": nonce, "code_challenge": challenge,
            "code_challenge_method": "S256"})
        return state, f"{self.metadata['authorization_endpoint']}?{query}"

    async def finish(self, pending: Pending, code: str) -> tuple[Any, str]:
        """Exchange ``code``; verify the ID token. Returns ``(principal, display name)``."""
        meta = await self.endpoints()
        assert self.verifier is not None
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": pending.redirect_uri, "code_verifier": pending.verifier,
                "client_id": str(self.auth.client_id)}
        secret = self.auth.client_secret.get_secret_value() if self.auth.client_secret else None
        basic = httpx.BasicAuth(str(self.auth.client_id), secret) if secret else None
        try:
            async with self.outbound.http_client(timeout=10.0) as client:
                resp = await client.post(meta["token_endpoint"], data=form,
                                         auth=basic or httpx.USE_CLIENT_DEFAULT)
        except (httpx.HTTPError, OutboundRefused) as err:
            raise AuthError(f"cannot reach the provider's token endpoint: {err}") from err
        if resp.status_code != 200:
            detail = resp.text[:200]
            raise AuthError(f"the provider refused the code ({resp.status_code}): {detail}")
        id_token = resp.json().get("id_token")
        if not isinstance(id_token, str):
            raise AuthError("the provider's answer has no ID token")
        principal = await self.verifier.verify(id_token)  # signature, iss, aud, exp, claims
        claims = jwt.decode(id_token, options={"verify_signature": False})  # verified above
        if not secrets.compare_digest(str(claims.get("nonce", "")), pending.nonce):
            raise AuthError("the ID token's nonce is not the one this sign-in sent")
        name = claims.get(self.auth.name_claim)
        return principal, str(name) if isinstance(name, str) and name else principal.subject


def client_of(request: Request, settings: Settings) -> OidcClient:
    client = getattr(request.app.state, "oidc_client", None)
    if client is None:
        client = request.app.state.oidc_client = OidcClient(settings)
    return client


def _failed(request: Request, reason: str, status_code: int = 401) -> Response:
    t = Translator(language_of(request))
    return page(request, "signin.html", None, status_code=status_code, mode="oidc",
                error=t("signin.oidc_failed", reason=reason), next=None)


@router.get("/signin/oidc")
async def oidc_start(request: Request, gateway: GatewayDep,
                     next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    if gateway.settings.auth.mode != "oidc":
        return RedirectResponse("/signin", status_code=303)
    try:
        client = client_of(request, gateway.settings)
        await client.endpoints()
    except (AuthError, httpx.HTTPError, OutboundRefused, ValueError) as err:
        log.error("OIDC sign-in cannot start: %s", err)
        return _failed(request, str(err), 503)
    redirect_uri = str(request.url_for("oidc_callback"))
    state, url = client.begin(redirect_uri, safe_next(next), time.monotonic())
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(STATE_COOKIE, state, max_age=PENDING_S, path="/signin/oidc",
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/signin/oidc/callback", name="oidc_callback")
async def oidc_callback(
    request: Request, gateway: GatewayDep,
    state: Annotated[str | None, Query(max_length=200)] = None,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    from ..routes.signin import start_session

    if gateway.settings.auth.mode != "oidc":
        return RedirectResponse("/signin", status_code=303)
    client = client_of(request, gateway.settings)
    if error:
        return _failed(request, f"{error}: {error_description or ''}".strip(": "))
    cookie = request.cookies.get(STATE_COOKIE, "")
    if not state or not cookie or not secrets.compare_digest(state, cookie):
        return _failed(request, "the answer does not belong to a sign-in this browser began",
                       400)
    pending = client.pending.pop(state, None)
    if pending is None or time.monotonic() - pending.started > PENDING_S or not code:
        return _failed(request, "the sign-in took too long or was already used; start again",
                       400)
    try:
        principal, name = await client.finish(pending, code)
    except NoRoleError as err:  # a person the IdP knows but Navet has no work for
        log.warning("OIDC sign-in refused: %s", err)
        t = Translator(language_of(request))
        return page(request, "signin.html", None, status_code=403, mode="oidc",
                    error=t("signin.no_roles"), next=None)
    except AuthError as err:
        log.warning("OIDC sign-in refused: %s", err)
        return _failed(request, str(err))
    response = await start_session(request, gateway, principal, name=name, via="oidc",
                                   target=pending.target)
    response.delete_cookie(STATE_COOKIE, path="/signin/oidc")
    return response
