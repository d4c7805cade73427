"""Signing in to the console and out again: ``/signin``, ``/signout``, ``/language``.

``auth.mode: local``: a form posts the user name and password; the password is
checked against its Argon2id hash (gateway/core/accounts.py) and a
session opens. ``auth.mode: oidc``: ``/signin/oidc`` sends the person to the
municipality's identity provider (gateway/api/console/oidc.py). Either way the
browser gets the session cookie: HttpOnly (no script reads it), SameSite=Lax
(other sites' requests do not carry it), Secure when served over https, and
ending with the session.

The sign-in form carries a token that must match a cookie set with the form
(so another site cannot sign a browser in as someone else); sign-out carries
the session's CSRF token. Each sign-in and its refusal is in the audit log.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from gateway.core.accounts import check_password
from gateway.core.model import Actor, ActorKind
from gateway.core.security.tokens import Principal

from ..console import oidc
from ..console.i18n import COOKIE, COOKIE_MAX_AGE, LANGUAGES, Translator, language_of
from ..console.render import page, safe_next, viewer_of
from ..console.screens import home_for
from ..deps import AccountsDep, GatewayDep, get_accounts
from ..security import SESSION_COOKIE, find_session

router = APIRouter(include_in_schema=False)

FORM_COOKIE = "navet_signin"
MAX_FORM_BYTES = 8192


async def form_of(request: Request) -> dict[str, str]:
    """A small urlencoded form (the console's own forms; nothing else is accepted)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str, ttl_s: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=ttl_s, path="/", httponly=True,
                        samesite="lax", secure=_secure(request))


async def start_session(request: Request, gateway: GatewayDep, principal: Principal, *,
                        name: str, via: str, target: str | None) -> RedirectResponse:
    """Open a session for ``principal``; to ``target`` or their home, with the cookie."""
    ttl = gateway.settings.auth.session_ttl_s
    now = gateway.clock.now()
    token, _ = await get_accounts(gateway).open_session(
        principal, name=name, via=via, now=now, ttl_s=ttl)
    request.state.principal = principal  # the audit trail names who signed in, in their tenants
    for tenant in sorted(principal.tenants):
        await gateway.audit.append(
            tenant=tenant, actor=_actor(principal), action="sign-in", decision="done",
            reason=f"console session ({via})", detail={"roles": sorted(principal.roles)})
    response = RedirectResponse(safe_next(target) or home_for(principal.roles), status_code=303)
    set_session_cookie(response, request, token, ttl)
    response.delete_cookie(FORM_COOKIE, path="/signin")
    return response


def _actor(principal: Principal) -> Actor:
    staff = set(principal.roles) == {"staff"}
    return Actor(kind=ActorKind.STAFF if staff else ActorKind.OPERATOR, id=principal.subject)


def _signin_page(request: Request, gateway: GatewayDep, *, status_code: int = 200,
                 error: str | None = None, notice: str | None = None,
                 target: str | None = None, user: str | None = None) -> HTMLResponse:
    form_token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, "signin.html", None, status_code=status_code,
                    mode=gateway.settings.auth.mode, error=error, notice=notice,
                    next=safe_next(target), user=user, form_token=form_token)
    response.set_cookie(FORM_COOKIE, form_token, max_age=3600, path="/signin", httponly=True,
                        samesite="strict", secure=_secure(request))
    return response


@router.get("/signin")
async def signin_form(request: Request, gateway: GatewayDep,
                      next: Annotated[str | None, Query(max_length=2000)] = None,
                      why: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    viewer = await viewer_of(request)
    if viewer is not None and not viewer.development:
        return RedirectResponse(safe_next(next) or home_for(viewer.roles), status_code=303)
    t = Translator(language_of(request))
    notice = {"expired": t("signin.expired"), "signed_out": t("signin.signed_out")}.get(why or "")
    return _signin_page(request, gateway, notice=notice, target=next)


@router.post("/signin")
async def signin(request: Request, gateway: GatewayDep, accounts: AccountsDep) -> Response:
    t = Translator(language_of(request))
    form = await form_of(request)
    target = form.get("next")
    if gateway.settings.auth.mode != "local":
        return _signin_page(request, gateway, status_code=400, target=target)
    expected = request.cookies.get(FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get("form", ""), expected):
        return _signin_page(request, gateway, status_code=400, error=t("signin.stale_form"),
                            target=target)
    subject = form.get("user", "").strip()[:64]
    password = form.get("password", "")[:1024]
    found = await accounts.find_user(subject)
    # ~50 ms of Argon2id and 64 MiB: on a worker thread, neither on the event loop (streams,
    # intake) nor on the store's writer (alarms)
    user, rehash = await asyncio.to_thread(check_password, found, password)
    if user is None:
        for tenant in found[0].tenants if found else ():
            await gateway.audit.append(
                tenant=tenant, actor=Actor(kind=ActorKind.SYSTEM, id=subject or "-"),
                action="sign-in",
                decision="refused", reason="wrong password or disabled account", detail={})
        return _signin_page(request, gateway, status_code=401, error=t("signin.failed"),
                            target=target, user=subject)
    if rehash is not None:
        await accounts.set_password_hash(user.subject, rehash)
    return await start_session(request, gateway, user.principal(), name=user.name, via="local",
                               target=target)


@router.post("/signout")
async def signout(request: Request, gateway: GatewayDep, accounts: AccountsDep) -> Response:
    form = await form_of(request)
    session = await find_session(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    if session is not None:
        if not hmac.compare_digest(form.get("csrf", ""), session.csrf):
            return PlainTextResponse("sign-out needs the session's CSRF token: reload the page "
                                     "and sign out again", status_code=403)
        request.state.principal = session.principal()
        await accounts.end_session(token)
        for tenant in session.tenants:
            await gateway.audit.append(
                tenant=tenant, actor=_actor(session.principal()), action="sign-out",
                decision="done", reason="", detail={})
    response = RedirectResponse("/signin?why=signed_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
async def language(request: Request) -> Response:
    """The person's language, kept for a year (a preference, not a change of data)."""
    form = await form_of(request)
    lang = form.get("lang", "")
    response = RedirectResponse(safe_next(form.get("next")) or "/", status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, path="/", httponly=True,
                            samesite="lax", secure=_secure(request))
    return response


router.include_router(oidc.router)
