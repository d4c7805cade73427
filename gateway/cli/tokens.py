"""``navet token create|rotate-key|jwks``: API tokens signed by Navet itself (auth.mode local)."""

from __future__ import annotations

import argparse
import json

from gateway.core.security.tokens import ROLES, LocalKeys, issue_token, jwks_of
from gateway.core.settings import Settings
from gateway.errors import ConfigError

from . import duration
from .context import keyed_settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = keyed_settings(args.config, f"navet token {args.token_command}")
    if settings.auth.mode == "oidc":
        raise ConfigError("auth.mode is oidc: tokens come from the identity provider, "
                          "not from navet token create")
    return settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    token = sub.add_parser("token", help="API tokens Navet signs itself (auth.mode local)")
    tsub = token.add_subparsers(dest="token_command", metavar="SUBCOMMAND")
    tsub.required = True
    create = tsub.add_parser("create", help="issue a bearer token")
    create.add_argument("--config", default=None, metavar="FILE",
                        help="settings file (its data_dir holds the signing key)")
    create.add_argument("--tenant", action="append", required=True,
                        help="tenant the token is valid for (repeatable)")
    create.add_argument("--role", action="append", required=True, choices=ROLES,
                        help="role (repeatable)")
    create.add_argument("--subject", required=True,
                        help="who: the staff, operator or system id the token speaks for")
    create.add_argument("--ttl", type=duration, default=None,
                        help="lifetime, e.g. 8h or 30d (default: auth.token_ttl_s)")
    create.set_defaults(func=create_token)
    rotate = tsub.add_parser("rotate-key",
                             help="new signing key; tokens signed with the old one stay valid")
    rotate.add_argument("--config", default=None, metavar="FILE")
    rotate.set_defaults(func=rotate_key)
    jwks = tsub.add_parser("jwks", help="print the public keys as JWKS")
    jwks.add_argument("--config", default=None, metavar="FILE")
    jwks.set_defaults(func=print_jwks)


def create_token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    ttl = int(args.ttl) if args.ttl else settings.auth.token_ttl_s
    token = issue_token(LocalKeys(settings.data_dir / "keys"), subject=args.subject,
                        tenants=args.tenant, roles=args.role, ttl_s=ttl,
                        issuer=settings.auth.issuer, audience=settings.auth.audience)
    print(token)
    return 0


def rotate_key(args: argparse.Namespace) -> int:
    settings = _settings(args)
    kid = LocalKeys(settings.data_dir / "keys").rotate()
    print(f"new signing key {kid}; earlier keys still verify their tokens until they expire")
    return 0


def print_jwks(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(json.dumps(jwks_of(LocalKeys(settings.data_dir / "keys")), indent=2))
    return 0
