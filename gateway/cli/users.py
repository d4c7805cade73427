"""``navet users add|list|disable``: people who sign in to the console (auth.mode local).

The password is read from a prompt (twice, not echoed) or, for scripts, from the
first line of stdin with ``--password-stdin``; never from the command line, where
other users of the machine and the shell's history would see it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

from gateway.core.accounts import (
    UserError,
    add_user,
    check_user,
    disable_user,
    hash_password,
    list_users,
)
from gateway.core.clock import SystemClock
from gateway.core.security.tokens import ROLES
from gateway.core.settings import Settings, load_settings
from gateway.core.store import Store, make_store
from gateway.errors import ConfigError

from .context import data_cipher


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = sub.add_parser("users", help="console users who sign in (auth.mode local)")
    usub = users.add_subparsers(dest="users_command", metavar="SUBCOMMAND")
    usub.required = True
    add = usub.add_parser("add", help="add a user (or replace one with --replace)")
    add.add_argument("subject", help="user name: the id their actions are recorded under")
    add.add_argument("--config", default=None, metavar="FILE", help="settings file")
    add.add_argument("--name", default=None, help="display name (default: the user name)")
    add.add_argument("--role", action="append", required=True, choices=ROLES,
                     help="role (repeatable)")
    add.add_argument("--tenant", action="append", required=True,
                     help="tenant (municipality) the user works in (repeatable)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin instead of a prompt")
    add.add_argument("--replace", action="store_true",
                     help="replace an existing user (new password, roles, tenants; enabled "
                     "again; their sessions end)")
    add.set_defaults(func=add_cmd)
    lst = usub.add_parser("list", help="list users")
    lst.add_argument("--config", default=None, metavar="FILE", help="settings file")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=list_cmd)
    dis = usub.add_parser("disable", help="disable a user and end their sessions")
    dis.add_argument("subject")
    dis.add_argument("--config", default=None, metavar="FILE", help="settings file")
    dis.set_defaults(func=disable_cmd)


def _settings(config: str | None) -> Settings:
    settings = load_settings(config)
    if settings.auth.mode == "oidc":
        raise ConfigError("auth.mode is oidc: people sign in with the identity provider; "
                          "their accounts live there, not in navet users")
    return settings


def _run(settings: Settings, job: Any, *, create: bool = False) -> Any:
    """Run ``job(conn)`` in one write transaction of the settings' store."""
    database = settings.database_target if create else settings.existing_database()

    async def run() -> Any:
        store: Store = make_store(database, cipher=data_cipher(settings))
        store.open(exclusive=False)
        try:
            return await store.write(job)
        finally:
            store.close()

    return asyncio.run(run())


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin: stdin held no password")
        return password
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise UserError("the two passwords differ")
    return first


def add_cmd(args: argparse.Namespace) -> int:
    settings = _settings(args.config)
    name = args.name or args.subject
    check_user(args.subject, name, args.role, args.tenant)  # before asking for a password
    digest = hash_password(_password(args.password_stdin))
    now = SystemClock().now()
    user = _run(settings, lambda conn: add_user(
        conn, subject=args.subject, name=name, roles=args.role, tenants=args.tenant,
        password_hash=digest, now=now, replace=args.replace), create=True)
    print(f"user {user.subject} ({user.name}): roles {', '.join(user.roles)}; "
          f"tenants {', '.join(user.tenants)}")
    if settings.auth.mode == "off":
        print("note: auth.mode is off, so nobody signs in yet; set auth.mode: local",
              file=sys.stderr)
    return 0


def list_cmd(args: argparse.Namespace) -> int:
    users = _run(_settings(args.config), list_users)
    if args.json:
        print(json.dumps([{"subject": u.subject, "name": u.name, "roles": list(u.roles),
                           "tenants": list(u.tenants), "disabled": u.disabled} for u in users],
                         indent=2))
        return 0
    for u in users:
        flag = "  (disabled)" if u.disabled else ""
        print(f"{u.subject:<20} {u.name:<28} {','.join(u.roles):<18} "
              f"{','.join(u.tenants)}{flag}")
    return 0


def disable_cmd(args: argparse.Namespace) -> int:
    ended = _run(_settings(args.config), lambda conn: disable_user(conn, args.subject))
    print(f"user {args.subject} disabled; {ended} session(s) ended")
    return 0
