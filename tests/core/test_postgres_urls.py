"""Every URL form libpq reads opens the PostgreSQL store, on a real server (``pg_server``).

libpq takes an empty host (its default Unix socket), the socket directory or a host
list in the query, a host list in the authority and a list of ports. Navet passes the
URL on as written (gateway/core/store/pgurl.py); these tests connect each form to the
test server, over TCP and over its Unix socket, and ask the server which route came in.
"""

from __future__ import annotations

import os
import time
from urllib.parse import quote

import pytest

from gateway.core.store import make_store, redact, schema_of, with_schema
from gateway.core.store.pgurl import libpq_url
from gateway.core.store.postgres import PostgresStore
from gateway.core.store.schema import MIGRATIONS
from tests.postgres import PgServer
from tests.services import free_port


def _schema() -> str:
    return f"url{os.getpid()}_{time.monotonic_ns()}"


def _route(url: str) -> tuple[str, str | None]:
    """Open the store at ``url`` (migrating it), and say which schema it wrote and how the
    server saw the connection come in: its address, None over a Unix socket."""
    store = make_store(url)
    assert isinstance(store, PostgresStore)
    store.open()
    try:
        assert store.schema_version == len(MIGRATIONS)
        conn = store.connect()
        try:
            schema, addr = conn.execute(
                "SELECT current_schema(), host(inet_server_addr())").fetchone()
        finally:
            conn.close()
    finally:
        store.close()
    return schema, addr


def _forms(server: PgServer) -> dict[str, tuple[str, bool]]:
    """name -> (URL without schema, whether it arrives over the Unix socket)."""
    sock, port, down = str(server.root), server.port, free_port()
    return {
        "empty host, socket directory in the query":
            (f"postgresql:///navet?host={sock}&port={port}&user=navet", True),
        "user, empty host, socket in the query":
            (f"postgresql://navet@/navet?host={sock}&port={port}", True),
        "percent-encoded socket directory as the host":
            (f"postgresql://navet@{quote(sock, safe='')}:{port}/navet", True),
        "everything in the query":
            (f"postgresql://?dbname=navet&user=navet&host={sock}&port={port}", True),
        "two hosts in the authority, the first down":
            (f"postgresql://navet@127.0.0.1:{down},127.0.0.1:{port}/navet", False),
        "two hosts and a port list":
            (f"postgresql://navet@127.0.0.1,127.0.0.1/navet?port={down},{port}", False),
        "a host list in the query, TCP down then the socket":
            (f"postgresql:///navet?host=127.0.0.1,{sock}&port={down},{port}&user=navet",
             True),
        "postgres scheme":
            (f"postgres://navet@127.0.0.1:{port}/navet", False),
        "SQLAlchemy's scheme":
            (f"postgresql+psycopg://navet@127.0.0.1:{port}/navet?application_name=navet", False),
    }


@pytest.mark.parametrize("form", [
    "empty host, socket directory in the query",
    "user, empty host, socket in the query",
    "percent-encoded socket directory as the host",
    "everything in the query",
    "two hosts in the authority, the first down",
    "two hosts and a port list",
    "a host list in the query, TCP down then the socket",
    "postgres scheme",
    "SQLAlchemy's scheme",
])
def test_each_libpq_url_form_opens_the_store_in_its_schema(
        pg_server: PgServer, form: str) -> None:
    url, over_socket = _forms(pg_server)[form]
    schema = _schema()
    got_schema, addr = _route(with_schema(url, schema))
    assert got_schema == schema
    assert (addr is None) == over_socket, addr


def test_the_deployment_guides_socket_url_opens(pg_server: PgServer) -> None:
    """deploy/etc/navet.yaml's form, the socket directory and port swapped for the test's."""
    url = (f"postgresql:///navet?host={pg_server.root}&port={pg_server.port}&user=navet"
           f"&schema={_schema()}&application_name=navet")
    schema, addr = _route(url)
    assert schema == schema_of(url) and addr is None


# --------------------------------------------------------------------------- the text


def test_the_url_reaches_libpq_as_written_without_navets_schema() -> None:
    assert libpq_url("postgresql:///navet?host=/var/run/postgresql&schema=s") == (
        "postgresql:///navet?host=/var/run/postgresql")
    assert libpq_url("postgresql+psycopg://u@a:1,b:2/db?schema=s&sslmode=require",
                     connect_timeout_s=5) == (
        "postgresql://u@a:1,b:2/db?sslmode=require&connect_timeout=5")
    assert libpq_url("postgresql:///db?connect_timeout=2", connect_timeout_s=5) == (
        "postgresql:///db?connect_timeout=2")
    assert libpq_url("postgresql://", connect_timeout_s=5) == (
        "postgresql://?connect_timeout=5")


def test_with_schema_keeps_every_other_part_as_written() -> None:
    assert with_schema("postgresql:///navet?host=/var/run/postgresql", "a b") == (
        "postgresql:///navet?host=/var/run/postgresql&schema=a%20b")
    assert schema_of(with_schema("postgresql:///navet?host=/x", "a b")) == "a b"
    twice = with_schema(with_schema("postgresql://h1,h2/db?port=1,2&schema=x", "y"), "z")
    assert twice == "postgresql://h1,h2/db?port=1,2&schema=z"
    assert schema_of("postgresql:///navet") == "public"
    assert schema_of("postgresql:///navet?schema=") == "public"


def test_passwords_are_redacted_wherever_libpq_takes_them() -> None:
    assert redact("postgresql://navet:hunter2@db1:5432,db2:5432/navet?schema=s") == (
        "postgresql://navet:***@db1:5432,db2:5432/navet?schema=s")
    assert redact("postgresql://navet:hunter2@[::1]:5432/navet") == (
        "postgresql://navet:***@[::1]:5432/navet")
    assert redact("postgresql:///navet?host=/run/pg&password=hunter2&sslmode=require") == (
        "postgresql:///navet?host=/run/pg&password=***&sslmode=require")
    assert redact("postgresql:///navet?host=/var/run/postgresql") == (
        "postgresql:///navet?host=/var/run/postgresql")
    assert redact("/var/lib/navet/navet.db") == "/var/lib/navet/navet.db"


def test_a_password_in_the_query_never_reaches_messages(pg_server: PgServer) -> None:
    url = f"postgresql:///navet?host=127.0.0.1&port={free_port()}&password=hunter2"
    store = make_store(url)
    assert "hunter2" not in store.label
    with pytest.raises(Exception) as err:
        store.open()
    assert "hunter2" not in str(err.value)
