"""PostgreSQL URLs as libpq reads them, edited as text.

A libpq URL is ``postgresql://[user[:password]@][host][:port][,host[:port]...][/dbname]
[?param=value&...]``: the host may be empty (the default Unix socket), the socket
directory or a list of hosts may be in the query (``?host=/var/run/postgresql``,
``?host=db1,db2&port=5432,5433``), and a host list may be in the authority
(``db1:5432,db2:5432``). :mod:`urllib.parse` reads none of that reliably and
``urlunsplit`` drops the ``//`` of an empty authority, so Navet never takes such a URL
apart and puts it together again: it edits the query string (Navet's own ``schema``
parameter) and the password, and leaves the rest exactly as written for libpq.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote_plus

_SCHEMES = {"postgresql+psycopg://": "postgresql://"}


def _params(query: str) -> list[tuple[str, str]]:
    """The query's ``(name, raw item)`` pairs in order; the raw item is kept as written."""
    return [(unquote_plus(item.partition("=")[0]), item) for item in query.split("&") if item]


def schema_of(url: str) -> str:
    """The schema a PostgreSQL URL's Navet tables live in (``?schema=``, default public)."""
    found = [unquote_plus(item.partition("=")[2])
             for name, item in _params(url.partition("?")[2]) if name == "schema"]
    return found[0] if found and found[0] else "public"


def with_schema(url: str, schema: str) -> str:
    """``url`` with its ``schema`` parameter set to ``schema`` (replaced, never doubled)."""
    head, _, query = url.partition("?")
    items = [item for name, item in _params(query) if name != "schema"]
    return head + "?" + "&".join([*items, "schema=" + quote(schema, safe="")])


def libpq_url(url: str, *, connect_timeout_s: int | None = None) -> str:
    """``url`` as libpq takes it: without Navet's ``schema``, a scheme libpq knows, and a
    ``connect_timeout`` unless the URL sets one."""
    for scheme, plain in _SCHEMES.items():
        if url.startswith(scheme):
            url = plain + url[len(scheme):]
    head, _, query = url.partition("?")
    params = [(name, item) for name, item in _params(query) if name != "schema"]
    items = [item for _, item in params]
    if connect_timeout_s is not None and all(n != "connect_timeout" for n, _ in params):
        items.append(f"connect_timeout={connect_timeout_s}")
    return head + ("?" + "&".join(items) if items else "")


def redact(url: str) -> str:
    """``url`` without its password (in the authority or a ``password`` parameter), for
    logs and error messages. Anything that is not a URL comes back as it is."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    userinfo, at, hosts = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = userinfo.partition(":")[0] + ":***@" + hosts
    head, mark, query = tail.partition("?")
    if mark:
        query = "&".join("password=***" if name == "password" else item
                         for name, item in _params(query))
        tail = head + "?" + query
    return scheme + sep + authority + tail


_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
SQLITE_URL = "sqlite:///"


def is_postgres(database: str | Path) -> bool:
    """Whether ``database`` (a setting, a CLI argument) names a PostgreSQL store."""
    return str(database).startswith(_PG_SCHEMES)
