"""Local console accounts (``users``) and sign-in sessions (``sessions``).

Rules about accounts (names, roles, password hashing) live in
:mod:`gateway.core.accounts`; these are its rows.
"""

from __future__ import annotations

from typing import Any

from ..records import DbConnection

USER_COLUMNS = "subject, name, roles, tenants, disabled"


def user_exists(conn: DbConnection, subject: str) -> bool:
    return conn.execute("SELECT 1 FROM users WHERE subject = ?",
                        (subject,)).fetchone() is not None


def update_user(conn: DbConnection, subject: str, name: str, password: str | None, roles: str,
                tenants: str) -> None:
    """Replace an account's fields, enable it, and end its sessions."""
    conn.execute("UPDATE users SET name = ?, password = ?, roles = ?, tenants = ?, "
                 "disabled = 0 WHERE subject = ?", (name, password, roles, tenants, subject))
    conn.execute("DELETE FROM sessions WHERE subject = ?", (subject,))


def insert_user(conn: DbConnection, subject: str, name: str, password: str | None, roles: str,
                tenants: str, created: str) -> None:
    conn.execute("INSERT INTO users (subject, name, password, roles, tenants, disabled, "
                 "created) VALUES (?, ?, ?, ?, ?, 0, ?)",
                 (subject, name, password, roles, tenants, created))


def user_rows(conn: DbConnection) -> list[Any]:
    return list(conn.execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY subject"))


def disable(conn: DbConnection, subject: str) -> int:
    """Disable ``subject`` and end its sessions; how many sessions ended."""
    conn.execute("UPDATE users SET disabled = 1 WHERE subject = ?", (subject,))
    cur = conn.execute("DELETE FROM sessions WHERE subject = ? RETURNING id", (subject,))
    return len(cur.fetchall())


def user_row(conn: DbConnection, subject: str) -> Any:
    """The account's row with its password hash, or None."""
    return conn.execute(f"SELECT {USER_COLUMNS}, password FROM users WHERE subject = ?",
                        (subject,)).fetchone()


def set_password(conn: DbConnection, subject: str, password_hash: str) -> None:
    conn.execute("UPDATE users SET password = ? WHERE subject = ?", (password_hash, subject))


# ----------------------------------------------------------------------- sessions


def insert_session(conn: DbConnection, values: tuple[Any, ...], now: str) -> None:
    """Remove expired sessions, then add one (id, subject, name, roles, tenants, csrf, via,
    created, expires)."""
    conn.execute("DELETE FROM sessions WHERE expires < ?", (now,))
    conn.execute(
        "INSERT INTO sessions (id, subject, name, roles, tenants, csrf, via, created, expires) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)


def session_row(conn: DbConnection, session_id: str) -> Any:
    return conn.execute("SELECT id, subject, name, roles, tenants, csrf, via, expires "
                        "FROM sessions WHERE id = ?", (session_id,)).fetchone()


def delete_session(conn: DbConnection, session_id: str) -> bool:
    cur = conn.execute("DELETE FROM sessions WHERE id = ? RETURNING id", (session_id,))
    return bool(cur.fetchall())
