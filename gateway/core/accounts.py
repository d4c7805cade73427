"""People who sign in to the console: local accounts and their sessions.

Accounts sit above the store (their rows are in ``store/repos/users.py``) and
above ``security`` (roles, principals); ``security`` itself sits below the store,
which seals personal data with it, so accounts are a module of their own.

``auth.mode: local`` keeps user accounts in the store (table ``users``): a
subject (the id their actions are recorded under), a display name, roles,
tenants, a disabled flag and an Argon2id password hash (argon2-cffi, with its
current recommended parameters; a hash made with older parameters is
re-hashed at the next successful sign-in). ``navet users add|list|disable``
manages them (gateway/cli/users.py).

A sign-in, local or through the municipality's identity provider
(``auth.mode: oidc``), opens a server-side :class:`Session`: the browser's
cookie carries a random token and the store keeps only its SHA-256, so the
database alone signs nobody in. A session ends at sign-out (its row is
deleted), when it expires (``auth.session_ttl_s``), or when its user is
disabled (every session of the subject is deleted). Each session has its own
CSRF token, which every state-changing request made with the cookie must send.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.errors import NavetError

from .security.tokens import ROLES, Principal
from .store.records import Engine
from .store.repos import users as rows

SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 4
"""Short on purpose: the demo's accounts use ``demo``. Municipalities that keep local
accounts set their own rules; most sign in through their identity provider."""

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (argon2-cffi default)
# Verifying against this when the user does not exist takes as long as a real check, so
# the answer's timing does not tell which user names exist.
_DUMMY = _hasher.hash(secrets.token_hex(16))


class UserError(NavetError):
    """A user account cannot be made or changed as asked (the message says why)."""


@dataclass(frozen=True, slots=True)
class User:
    subject: str
    name: str
    roles: tuple[str, ...]
    tenants: tuple[str, ...]
    disabled: bool = False

    def principal(self) -> Principal:
        return Principal(self.subject, frozenset(self.tenants), frozenset(self.roles))


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # SHA-256 of the cookie's token
    subject: str
    name: str
    roles: tuple[str, ...]
    tenants: tuple[str, ...]
    csrf: str
    via: str  # "local" or "oidc"
    expires: datetime

    def principal(self) -> Principal:
        return Principal(self.subject, frozenset(self.tenants), frozenset(self.roles))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_user(subject: str, name: str, roles: list[str], tenants: list[str]) -> None:
    """:raises UserError: naming the first thing wrong with the account's fields."""
    if not SUBJECT.match(subject):
        raise UserError(f"user name {subject!r} must be 1-64 letters, digits or . _ @ - "
                        "(it is the id the user's actions are recorded under)")
    if not name.strip() or len(name) > 200:
        raise UserError("a display name is 1-200 characters")
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise UserError(f"unknown role(s) {', '.join(bad) or '(none given)'}; "
                        f"roles are {', '.join(ROLES)}")
    if not tenants:
        raise UserError("a user needs at least one tenant")


def _user(row: Any) -> User:
    return User(row["subject"], row["name"], tuple(json.loads(row["roles"])),
                tuple(json.loads(row["tenants"])), bool(row["disabled"]))


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ----------------------------------------------------------------------- accounts
# Functions of a connection, so a command line tool and the gateway's store jobs share them.


def add_user(conn: Any, *, subject: str, name: str, roles: list[str], tenants: list[str],
             password_hash: str | None, now: datetime, replace: bool = False) -> User:
    check_user(subject, name, roles, tenants)
    exists = rows.user_exists(conn, subject)
    if exists and not replace:
        raise UserError(f"user {subject!r} exists already")
    values = (name, password_hash, json.dumps(sorted(set(roles))),
              json.dumps(sorted(set(tenants))))
    if exists:
        rows.update_user(conn, subject, *values)
    else:
        rows.insert_user(conn, subject, *values, now.isoformat())
    return User(subject, name, tuple(sorted(set(roles))), tuple(sorted(set(tenants))))


def list_users(conn: Any) -> list[User]:
    return [_user(r) for r in rows.user_rows(conn)]


def disable_user(conn: Any, subject: str) -> int:
    """Disable ``subject`` and end its sessions; returns how many sessions ended."""
    if not rows.user_exists(conn, subject):
        raise UserError(f"no user {subject!r}")
    return rows.disable(conn, subject)


def find_user(conn: Any, subject: str) -> tuple[User, str | None] | None:
    """The user and their password hash, or None."""
    row = rows.user_row(conn, subject)
    return None if row is None else (_user(row), row["password"])


def check_password(found: tuple[User, str | None] | None,
                   password: str) -> tuple[User | None, str | None]:
    """``(the enabled user, a new hash if the old one's parameters are outdated)`` when
    ``password`` is theirs, else ``(None, None)``; the same work either way, so the time
    an answer takes does not tell which user names exist. Runs outside the store's
    writer: a hash takes tens of milliseconds that alarms must not wait behind."""
    user, stored = found if found is not None else (None, None)
    try:
        _hasher.verify(stored or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None, None
    if user is None or stored is None or user.disabled:
        return None, None
    return user, _hasher.hash(password) if _hasher.check_needs_rehash(stored) else None


def set_password_hash(conn: Any, subject: str, password_hash: str) -> None:
    rows.set_password(conn, subject, password_hash)


# ----------------------------------------------------------------------- sessions


def open_session(conn: Any, principal: Principal, *, name: str, via: str, now: datetime,
                 ttl_s: int) -> tuple[str, Session]:
    """A new session for ``principal``; returns the cookie's token (kept nowhere) and it."""
    token = secrets.token_urlsafe(32)
    session = Session(_token_id(token), principal.subject, name, tuple(sorted(principal.roles)),
                      tuple(sorted(principal.tenants)), secrets.token_urlsafe(24), via,
                      now + timedelta(seconds=ttl_s))
    rows.insert_session(conn, (session.id, session.subject, name, json.dumps(session.roles),
                               json.dumps(session.tenants), session.csrf, via, now.isoformat(),
                               session.expires.isoformat()), now.isoformat())
    return token, session


def find_session(conn: Any, token: str, now: datetime) -> Session | None:
    """The live session the cookie's ``token`` opens, or None (unknown, ended or expired)."""
    row = rows.session_row(conn, _token_id(token))
    if row is None:
        return None
    expires = datetime.fromisoformat(row["expires"])
    if expires <= now:
        return None
    return Session(row["id"], row["subject"], row["name"], tuple(json.loads(row["roles"])),
                   tuple(json.loads(row["tenants"])), row["csrf"], row["via"], expires)


def end_session(conn: Any, token: str) -> bool:
    return rows.delete_session(conn, _token_id(token))


# ----------------------------------------------------------------------- through the store


class Accounts:
    """Accounts and sessions in the store: each call one read or one write job."""

    def __init__(self, store: Engine) -> None:
        self.store = store

    async def find_user(self, subject: str) -> tuple[User, str | None] | None:
        return await self.store.read(lambda conn: find_user(conn, subject))

    async def set_password_hash(self, subject: str, password_hash: str) -> None:
        await self.store.write(lambda conn: set_password_hash(conn, subject, password_hash))

    async def open_session(self, principal: Principal, *, name: str, via: str, now: datetime,
                           ttl_s: int) -> tuple[str, Session]:
        return await self.store.write(lambda conn: open_session(
            conn, principal, name=name, via=via, now=now, ttl_s=ttl_s))

    async def find_session(self, token: str, now: datetime) -> Session | None:
        return await self.store.read(lambda conn: find_session(conn, token, now))

    async def end_session(self, token: str) -> bool:
        return await self.store.write(lambda conn: end_session(conn, token))
