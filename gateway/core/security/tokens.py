"""Bearer tokens for the API: issued by Navet itself, or by the municipality's identity provider.

Two ways to know who calls, chosen by ``auth.mode`` in the settings:

- ``local`` (the embedded default when auth is on): Navet signs JWTs with an
  Ed25519 key kept in ``<data_dir>/keys/`` (created on first use, mode 0600).
  ``navet token create --tenant vasteras --role operator --subject op-1``
  issues one. Rotation without downtime: ``navet token rotate-key`` makes a
  new signing key and keeps the old public keys, so tokens signed before the
  rotation stay valid until they expire.
- ``oidc``: tokens come from an external identity provider; Navet verifies
  them against its JWKS (``auth.jwks_url``, fetched and cached, refreshed when
  an unknown key id appears), issuer and audience. Which claims carry the
  tenants and roles is configurable (``auth.tenants_claim``, ``roles_claim``).

A verified token becomes a :class:`Principal`: who (``sub``), which tenants
and which roles. Every API route then checks tenant and role (see
``gateway.api.security``). With ``auth.mode: off`` (development only; refused
when ``environment: production``) every caller is the development principal.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.errors import NavetError, OutboundRefused

from .outbound import OutboundPolicy

log = logging.getLogger(__name__)

ROLES = ("operator", "staff", "admin", "vendor", "auditor", "analyst", "region")
"""What a principal may be: alarm-centre operator, home-care staff, municipality admin,
device vendor (its adapters' ingress and conformance), auditor (reads the audit log),
analyst (one municipality's follow-up figures) and region (several municipalities' figures
side by side, never personal data)."""

LEEWAY_S = 30  # clock skew tolerated on exp/nbf/iat


class AuthError(NavetError):
    """A token is missing, malformed, expired, not ours, or not for this request."""


class NoRoleError(AuthError):
    """A valid token (or ID token) that gives no known role or no tenant in Navet."""


class TenantForbiddenError(AuthError):
    """A request would read or change a tenant its caller's token is not valid for (403).

    Raised wherever the tenant comes from somewhere other than the ``?tenant=`` that
    ``gateway.api.security.authenticate`` checks: a configuration document names its
    tenants in the body, a device id may already belong to another tenant.
    """


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    tenants: frozenset[str]
    roles: frozenset[str]
    token_id: str | None = None
    all_tenants: bool = False  # the development principal (auth off) only

    def may_see(self, tenant: str) -> bool:
        return self.all_tenants or tenant in self.tenants

    def require_tenant(self, tenant: str, why: str = "") -> None:
        """:raises TenantForbiddenError: the principal may not act for ``tenant``."""
        if not self.may_see(tenant):
            raise TenantForbiddenError(why or f"the token is not valid for tenant {tenant!r}")

    def has_any(self, roles: frozenset[str] | set[str]) -> bool:
        return bool(self.roles & roles)


DEVELOPMENT = Principal("developer", frozenset(), frozenset(ROLES), all_tenants=True)
"""Who calls when ``auth.mode`` is ``off``: everyone, for everything (never in production)."""


def _kid(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    import hashlib

    return hashlib.sha256(raw).hexdigest()[:16]


class LocalKeys:
    """Navet's own signing keys in ``<data_dir>/keys``: one current private key, and the
    public keys of earlier ones (so their tokens verify until they expire)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def _current(self) -> Path:
        return self.directory / "token-signing.pem"

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        if not self._current.exists():
            self.rotate()
        key = serialization.load_pem_private_key(self._current.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise AuthError(f"{self._current} is not an Ed25519 private key")
        return _kid(key.public_key()), key

    def rotate(self) -> str:
        """Make a new signing key; keep the old one's public half. Returns the new key id."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if self._current.exists():
            old = serialization.load_pem_private_key(self._current.read_bytes(), password=None)
            assert isinstance(old, Ed25519PrivateKey)
            pub = old.public_key()
            (self.directory / f"token-verify-{_kid(pub)}.pem").write_bytes(pub.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        key = Ed25519PrivateKey.generate()
        tmp = self._current.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        os.replace(tmp, self._current)
        kid = _kid(key.public_key())
        log.info("new token signing key %s", kid)
        return kid

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        keys: dict[str, Ed25519PublicKey] = {}
        if self._current.exists():
            kid, key = self.signing_key()
            keys[kid] = key.public_key()
        for path in sorted(self.directory.glob("token-verify-*.pem")):
            pub = serialization.load_pem_public_key(path.read_bytes())
            if isinstance(pub, Ed25519PublicKey):
                keys[_kid(pub)] = pub
        return keys


def issue_token(keys: LocalKeys, *, subject: str, tenants: list[str], roles: list[str],
                ttl_s: int = 3600, issuer: str = "navet", audience: str = "navet-api",
                now: float | None = None) -> str:
    """A signed JWT for ``subject`` in ``tenants`` with ``roles`` (each checked)."""
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise AuthError(f"unknown role(s) {bad or roles}; roles are {', '.join(ROLES)}")
    if not tenants:
        raise AuthError("a token needs at least one tenant")
    if ttl_s <= 0 or ttl_s > 366 * 24 * 3600:
        raise AuthError(f"token lifetime {ttl_s}s must be between 1s and a year")
    kid, key = keys.signing_key()
    issued = int(now if now is not None else time.time())
    claims = {"iss": issuer, "aud": audience, "sub": subject, "iat": issued, "nbf": issued,
              "exp": issued + ttl_s, "jti": secrets.token_hex(8),
              "navet_tenants": sorted(set(tenants)), "navet_roles": sorted(set(roles))}
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


class TokenVerifier:
    """Turns a bearer token into a :class:`Principal`, or raises :class:`AuthError`."""

    def __init__(self, *, issuer: str, audience: str, keys: LocalKeys | None = None,
                 jwks_url: str | None = None, tenants_claim: str = "navet_tenants",
                 roles_claim: str = "navet_roles", algorithms: tuple[str, ...] = ("EdDSA",),
                 jwks_refresh_s: float = 300.0, outbound: OutboundPolicy | None = None) -> None:
        if (keys is None) == (jwks_url is None):
            raise ValueError("a verifier needs exactly one of local keys or a JWKS URL")
        self.issuer, self.audience = issuer, audience
        self.keys = keys
        self.jwks_url = jwks_url
        self.tenants_claim, self.roles_claim = tenants_claim, roles_claim
        self.algorithms = list(algorithms)
        self.jwks_refresh_s = jwks_refresh_s
        # the JWKS is fetched through the outbound policy like every other connection
        self.outbound = outbound or OutboundPolicy()
        self._jwks: dict[str, Any] = {}
        self._jwks_at = 0.0
        self._local: dict[str, Ed25519PublicKey] = {}

    def _local_key(self, kid: str) -> Any:
        assert self.keys is not None
        if kid not in self._local:
            self._local = self.keys.public_keys()  # picks up a rotation
        return self._local.get(kid)

    async def _jwks_key(self, kid: str) -> Any:
        now = time.monotonic()
        stale = now - self._jwks_at > self.jwks_refresh_s
        unknown = kid not in self._jwks
        # an unknown key id (a rotation at the provider) refetches, at most every 5 s, so
        # tokens with made-up key ids cannot make Navet hammer the identity provider
        if stale or (unknown and now - self._jwks_at > 5):
            await self._fetch_jwks()
        return self._jwks.get(kid)

    async def _fetch_jwks(self) -> None:
        import httpx

        assert self.jwks_url is not None
        try:
            async with self.outbound.http_client(timeout=5.0) as client:
                resp = await client.get(self.jwks_url)
                resp.raise_for_status()
                body = resp.json()
        except (httpx.HTTPError, ValueError, OutboundRefused) as err:
            # the caller of the API gets no detail of Navet's network; the log has it
            log.error("cannot read the identity provider's keys at %s: %s: %s",
                      self.jwks_url, type(err).__name__, err)
            raise AuthError("cannot read the identity provider's keys (the gateway log has "
                            "the cause)") from err
        keys: dict[str, Any] = {}
        for jwk in body.get("keys", []):
            try:
                keys[jwk.get("kid", "")] = jwt.PyJWK(jwk).key
            except (jwt.PyJWKError, jwt.InvalidKeyError) as err:
                log.warning("ignoring a JWKS key the provider sent: %s", err)
        self._jwks, self._jwks_at = keys, time.monotonic()

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as err:
            raise AuthError(f"malformed token: {err}") from err
        kid = str(header.get("kid", ""))
        key = self._local_key(kid) if self.keys is not None else await self._jwks_key(kid)
        if key is None:
            raise AuthError("token signed with an unknown key")
        try:
            claims = jwt.decode(token, key, algorithms=self.algorithms, audience=self.audience,
                                issuer=self.issuer, leeway=LEEWAY_S,
                                options={"require": ["exp", "iat", "sub", "aud", "iss"]})
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.InvalidTokenError as err:
            raise AuthError(f"token refused: {err}") from None
        tenants = _strings(claims.get(self.tenants_claim))
        roles = _strings(claims.get(self.roles_claim)) & frozenset(ROLES)
        if not tenants or not roles:
            raise NoRoleError(f"token carries no tenant ({self.tenants_claim}) or no known role "
                            f"({self.roles_claim})")
        return Principal(str(claims["sub"]), tenants, roles, claims.get("jti"))


def _strings(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(v for v in value.replace(",", " ").split() if v)
    if isinstance(value, list):
        return frozenset(str(v) for v in value if isinstance(v, str) and v)
    return frozenset()


def jwks_of(keys: LocalKeys) -> dict[str, Any]:
    """The public keys as a JWKS document (for consumers that verify Navet's tokens)."""
    out = []
    for kid, pub in keys.public_keys().items():
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(pub))
        out.append({**jwk, "kid": kid, "use": "sig", "alg": "EdDSA"})
    return {"keys": out}
