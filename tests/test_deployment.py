"""The deployment files (deploy/) and docs/deployment.md say what the code does.

The example settings load with the real settings loader and pass ``navet check``; the
production example starts a gateway on PostgreSQL (over its Unix socket) and Navet's
Mosquitto that answers ready; the systemd unit passes ``systemd-analyze verify``; nginx
accepts the site; every ``navet`` command the guide, the unit and the Containerfile show
parses with the real command line; the Containerfile copies files that exist, and every
directory Navet reads at run time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.cli import build_parser, main
from gateway.core.settings import Settings, load_settings
from tests.services import free_port, require_binary

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SETTINGS = DEPLOY / "etc" / "navet.yaml"
ENV_FILE = DEPLOY / "etc" / "navet.env"
UNIT = DEPLOY / "systemd" / "navet.service"
NGINX = DEPLOY / "nginx" / "navet.conf"
CONTAINERFILE = DEPLOY / "Containerfile"
GUIDE = ROOT / "docs" / "deployment.md"


@pytest.fixture(autouse=True)
def _only_the_examples_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """NAVET_* settings of the environment would override the example's (the PostgreSQL
    pass points NAVET_DATABASE at its own schema): the example's files alone count here."""
    for key in list(os.environ):
        if key.startswith("NAVET_") and key.lower()[6:].split("__")[0] in Settings.model_fields:
            monkeypatch.delenv(key)


def _env_assignments(*, commented: bool) -> dict[str, str]:
    """``KEY=value`` lines of the example environment file (those commented out too)."""
    found = {}
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if commented and line.startswith("#"):
            line = line[1:]
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            found[match[1]] = match[2]
    return found


def _unit() -> dict[str, list[str]]:
    """The unit's ``Key=value`` lines (a key may repeat, as systemd allows)."""
    keys: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


# --------------------------------------------------------------------------- settings


def test_the_production_example_loads_with_its_environment_file(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in _env_assignments(commented=False).items():
        monkeypatch.setenv(key, value)
    settings = load_settings(SETTINGS)
    assert settings.environment == "production"
    assert settings.database_is_url
    assert settings.auth.mode != "off"
    assert settings.http.host == "127.0.0.1"  # only nginx reaches the API
    assert settings.mqtt.mode == "embedded" and settings.mqtt.device_tls_port
    assert [p.name for p in settings.care_config] == ["kommun.yaml"]
    assert main(["check", "--config", str(SETTINGS)]) == 0
    assert "valid for production" in capsys.readouterr().out


@pytest.mark.parametrize("key", sorted(_env_assignments(commented=True)))
def test_every_variable_the_environment_file_shows_is_a_setting(
        key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commented examples included: uncommented, each still loads."""
    value = _env_assignments(commented=True)[key]
    monkeypatch.setenv(key, value)
    settings = load_settings(SETTINGS)
    if key == "NAVET_DATABASE":
        assert settings.database == value and settings.database_is_url
    elif key.startswith("NAVET_"):
        path = key[len("NAVET_"):].lower().split("__")
        got = settings.model_dump()
        for part in path:
            got = got[part]
        assert str(got) in (value, str(float(value)) if value.isdigit() else value)


def test_the_unit_lets_navet_write_where_the_settings_point() -> None:
    settings = load_settings(SETTINGS)
    unit = _unit()
    writable = [Path(p) for value in unit["ReadWritePaths"] for p in value.split()]
    assert Path("/var/lib") / unit["StateDirectory"][0] == settings.data_dir
    assert Path("/var/log") / unit["LogsDirectory"][0] == settings.audit_checkpoint_path.parent
    for path in (settings.data_dir, settings.audit_checkpoint_path):
        assert any(path == w or w in path.parents for w in writable), path
    config = [f"--config {SETTINGS.relative_to(DEPLOY / 'etc')}"]
    assert all(v.endswith(f"/etc/navet/{config[0].split()[1]}")
               for v in unit["ExecStart"] + unit["ExecStartPre"])


def test_nginx_proxies_to_where_navet_listens_and_streams_unbuffered() -> None:
    settings = load_settings(SETTINGS)
    text = NGINX.read_text(encoding="utf-8")
    upstream = re.search(r"upstream navet \{(.*?)\}", text, re.DOTALL)
    assert upstream and f"server {settings.http.host}:{settings.http.port};" in upstream[1]
    stream = re.search(r"location /api/v1/stream \{(.*?)\}", text, re.DOTALL)
    assert stream and "proxy_buffering off;" in stream[1]


def test_the_image_exposes_the_ports_the_example_listens_on() -> None:
    settings = load_settings(SETTINGS)
    exposed = set(" ".join(re.findall(r"^EXPOSE (.*)$", CONTAINERFILE.read_text("utf-8"),
                                      re.MULTILINE)).split())
    assert f"{settings.http.port}/tcp" in exposed
    assert f"{settings.mqtt.device_tls_port}/tcp" in exposed
    scaip = next(a.settings for a in settings.adapters if a.adapter == "scaip")
    assert {f"{scaip['port']}/udp", f"{scaip['port']}/tcp"} <= exposed


# --------------------------------------------------------------------------- a real start


def test_the_production_example_starts_on_postgresql_and_mosquitto(
        tmp_path: Path, pg_server: object) -> None:
    """deploy/etc/navet.yaml as given, but for the test's own ports, directories and server:
    PostgreSQL over its Unix socket with the URL form the guide shows, Mosquitto started by
    Navet with the device TLS listener, SCAIP and DC-09 listening, authentication on."""
    require_binary("mosquitto", "apt-get install mosquitto")
    shutil.copytree(DEPLOY / "etc" / "care", tmp_path / "care")
    data = yaml.safe_load(SETTINGS.read_text(encoding="utf-8"))
    socket_dir, port = pg_server.root, pg_server.port  # type: ignore[attr-defined]
    schema = f"deploy{os.getpid()}_{time.monotonic_ns()}"
    assert "host=/var/run/postgresql" in data["database"]
    data["database"] = (data["database"]
                        .replace("host=/var/run/postgresql", f"host={socket_dir}&port={port}")
                        .replace("schema=navet", f"schema={schema}"))
    http_port, tls_port = free_port(), free_port()
    data["data_dir"] = str(tmp_path / "data")
    data["audit"]["checkpoint_file"] = str(tmp_path / "navet-audit" / "checkpoints.jsonl")
    data["http"]["port"] = http_port
    name = _a_name_for_this_machine()
    assert data["mqtt"]["device_tls_names"]  # the example names what devices connect to
    data["mqtt"].update(port=free_port(), device_tls_port=tls_port,
                        device_tls_host="127.0.0.1", device_tls_names=[name])
    for inst in data["adapters"]:
        inst["settings"].update({"scaip": {"host": "127.0.0.1", "port": 0},
                                 "dc09": {"host": "127.0.0.1", "tcp_port": 0}}
                                .get(inst["adapter"], {}))
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    env = {**_clean_environment(), **_env_assignments(commented=False)}
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config",
                             str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=tmp_path)
    ready, proxied = None, {}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        bridge = _bridge_connects(tmp_path, name, tls_port) if ready is not None else None
        added = _admin_adds_a_resident(config, http_port) if ready is not None else None
        if ready is not None and ready.status_code == 200:
            proxied = _through_the_proxy(tmp_path / "nginx", http_port)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    log = err.decode(errors="replace")
    assert ready is not None and ready.status_code == 200, log[-4000:]
    body = ready.json()
    assert body["checks"] == {"store": "ok", "mqtt": "ok", "gateway": "ok"}
    assert body["api"] == "authenticated"
    assert added == 201, log[-4000:]  # a token from navet token create, an audited write
    assert bridge == "Success", log[-4000:]  # by name, verified, with its enrolled certificate
    broker = x509.load_pem_x509_certificate((tmp_path / "data" / "pki" / "mqtt-broker.pem")
                                            .read_bytes())
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert name in names.get_values_for_type(x509.DNSName)
    assert proc.returncode == 0, log[-4000:]
    assert (tmp_path / "navet-audit" / "checkpoints.jsonl").stat().st_size > 0
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    # behind nginx: ready over https, and the console knows it is on https (Navet trusts
    # X-Forwarded-Proto from loopback), so its cookies are Secure; straight to Navet they
    # are not, which is what makes the proxy's header the cause
    # the guide's backup: pg_dump of the schema, restored elsewhere, verifies with the keys
    # and checkpoints kept beside it (a dump that lost or changed entries would not)
    assert _restored_backup_verifies(pg_server, config, data["database"], schema) == 0, log[-2000:]
    assert proxied["readyz"] == 200
    assert proxied["redirect"] == (301, "https://127.0.0.1/signin")  # to 443, the real site's
    assert "secure" in proxied["cookie_via_proxy"].lower()
    assert "secure" not in proxied["cookie_direct"].lower()


def _through_the_proxy(where: Path, navet_port: int) -> dict[str, object]:
    where.mkdir()
    with _nginx_in_front(where, navet_port) as (http, https), \
            httpx.Client(verify=False, timeout=10) as client:
        ready = client.get(f"https://127.0.0.1:{https}/readyz")
        plain = client.get(f"http://127.0.0.1:{http}/signin")
        via = client.get(f"https://127.0.0.1:{https}/signin")
        direct = client.get(f"http://127.0.0.1:{navet_port}/signin")
        return {"readyz": ready.status_code,
                "redirect": (plain.status_code, plain.headers.get("location")),
                "cookie_via_proxy": via.headers.get("set-cookie", ""),
                "cookie_direct": direct.headers.get("set-cookie", "")}


def _clean_environment() -> dict[str, str]:
    """This process's environment without NAVET_* settings (the PostgreSQL pass points
    NAVET_DATABASE at its own schema; the example must use the database it names)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("NAVET_")}


def _admin_adds_a_resident(config: Path, http_port: int) -> int:
    """As the guide's first steps: a token from ``navet token create``, then an audited
    write over the API. The answer's status."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["token", "create", "--config", str(config), "--tenant", "kommun",
                     "--role", "admin", "--subject", "admin-1", "--ttl", "1h"]) == 0
    answer = httpx.post(f"http://127.0.0.1:{http_port}/api/v1/residents?tenant=kommun",
                        json={"id": "r-0002", "label": "Lgh 1102"}, timeout=30,
                        headers={"Authorization": f"Bearer {out.getvalue().strip()}"})
    return answer.status_code


def _restored_backup_verifies(pg: object, config: Path, url: str, schema: str) -> int:
    """pg_dump --format=custom --schema=SCHEMA, pg_restore into a new database, then
    ``navet audit verify`` on it: its exit code."""
    bindir, port, host = pg.bindir, pg.port, pg.root  # type: ignore[attr-defined]
    dump = config.parent / "navet.dump"
    where = [f"--host={host}", f"--port={port}", "--username=navet"]
    subprocess.run([str(bindir / "pg_dump"), *where, "--format=custom", f"--schema={schema}",
                    f"--file={dump}", "navet"], check=True, capture_output=True, timeout=120)
    restored = f"restored_{schema}"
    subprocess.run([str(bindir / "psql"), *where, "-d", "navet", "-q", "-c",
                    f'CREATE DATABASE "{restored}"'], check=True, capture_output=True,
                   timeout=60)
    try:
        subprocess.run([str(bindir / "pg_restore"), *where, f"--dbname={restored}", "--clean",
                        "--if-exists", str(dump)], check=True, capture_output=True, timeout=120)
        env = {**_clean_environment(), "NAVET_DATABASE": url.replace("/navet?", f"/{restored}?", 1)}
        verify = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify",
                                 "--config", str(config), "--json"], capture_output=True,
                                text=True, env=env, timeout=120)
        assert verify.returncode in (0, 3), verify.stderr
        result = json.loads(verify.stdout)
        assert restored in result["database"] and result["checked"] > 0, result
        return verify.returncode
    finally:
        subprocess.run([str(bindir / "psql"), *where, "-d", "navet", "-q", "-c",
                        f'DROP DATABASE IF EXISTS "{restored}"'], capture_output=True,
                       timeout=60)


def _a_name_for_this_machine() -> str:
    """A host name other than localhost that resolves to loopback (the machine's own name,
    usually): the broker's certificate names it only through device_tls_names, and a
    bridge connecting by it verifies it."""
    name = socket.gethostname()
    with contextlib.suppress(OSError):
        if name != "localhost" and socket.gethostbyname(name).startswith("127."):
            return name
    return "localhost"


def _bridge_connects(tmp_path: Path, host: str, port: int) -> str:
    """A bridge enrolled as the guide says connects to the device listener by the name in
    device_tls_host, verifying the broker's certificate against Navet's CA: the answer."""
    import threading

    import paho.mqtt.client as paho

    from gateway.core.security.ca import NavetCA

    ca = NavetCA(tmp_path / "data" / "pki")
    issued = ca.enroll("z2m-kommun", tenant="kommun", topics=["zigbee2mqtt/kommun/#"])
    files = tmp_path / "bridge"
    files.mkdir()
    for name, pem in (("ca.pem", issued.ca_pem), ("z2m.pem", issued.cert_pem),
                      ("z2m.key", issued.key_pem)):
        (files / name).write_bytes(pem)
    answered, said = threading.Event(), []

    def on_connect(client: object, userdata: object, flags: object, reason: object,
                   properties: object) -> None:
        said.append(str(reason))
        answered.set()

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="z2m-kommun")
    client.tls_set(ca_certs=str(files / "ca.pem"), certfile=str(files / "z2m.pem"),
                   keyfile=str(files / "z2m.key"))
    client.on_connect = on_connect
    try:
        client.connect(host, port)
    except OSError as err:
        return f"refused: {err}"
    client.loop_start()
    try:
        answered.wait(15)
    finally:
        client.disconnect()
        client.loop_stop()
    return said[0] if said else "no answer"


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 2):
        return True
    return False


def test_a_database_url_naming_two_servers_opens_on_the_one_that_answers(
        pg_server: object) -> None:
    """The guide's failover URL: libpq tries each host until one takes writes."""
    from gateway.core.store import make_store
    from gateway.core.store.base import with_schema
    from gateway.core.store.schema import MIGRATIONS

    down = free_port()  # nothing listens here: the first server is "down"
    url = with_schema(f"postgresql://navet@127.0.0.1:{down},127.0.0.1:"
                      f"{pg_server.port}/navet?target_session_attrs=read-write",  # type: ignore[attr-defined]
                      f"twohost{os.getpid()}_{time.monotonic_ns()}")
    store = make_store(url)
    store.open()
    try:
        assert store.schema_version == len(MIGRATIONS)
    finally:
        store.close()


# --------------------------------------------------------------------------- systemd, nginx


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = require_binary("systemd-analyze", "apt-get install systemd")
    # verify insists that ExecStart's program exists: stand one in for the installed navet
    navet = tmp_path / "bin" / "navet"
    navet.parent.mkdir()
    navet.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    navet.chmod(0o755)
    text = UNIT.read_text(encoding="utf-8")
    assert all(v.startswith("/opt/navet/current/venv/bin/navet ")
               for v in _unit()["ExecStart"] + _unit()["ExecStartPre"])
    unit = tmp_path / "navet.service"
    unit.write_text(text.replace("/opt/navet/current/venv/bin/navet", str(navet)), "utf-8")
    result = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True,
                            text=True, timeout=120)
    said = [line for line in (result.stdout + result.stderr).splitlines()
            if "navet.service" in line]  # an unknown key or a bad value is only a warning
    assert result.returncode == 0 and said == [], result.stdout + result.stderr


def test_the_systemd_unit_is_hardened() -> None:
    unit = _unit()
    want = {"User": "navet", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
            "Restart": "on-failure", "PrivateTmp": "yes", "ProtectHome": "yes",
            "CapabilityBoundingSet": "", "UMask": "0077"}
    assert {k: unit.get(k, [None])[-1] for k in want} == want
    assert unit["ReadWritePaths"]


def _nginx_conf(tmp_path: Path, *, upstream: int | None = None, http: int | None = None,
                https: int | None = None) -> Path:
    """nginx.conf including deploy/nginx/navet.conf with this test's certificate and, when
    given, its ports instead of 80, 443 and Navet's 8080."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "navet.example.se")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    site = NGINX.read_text(encoding="utf-8")
    swaps = [("/etc/nginx/tls/navet.example.se.fullchain.pem", str(tmp_path / "cert.pem")),
             ("/etc/nginx/tls/navet.example.se.key", str(tmp_path / "key.pem"))]
    if upstream is not None:
        swaps.append(("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream};"))
    if http is not None and https is not None:
        swaps += [("listen 80;", f"listen 127.0.0.1:{http};"), ("listen [::]:80;", ""),
                  ("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;"),
                  ("listen [::]:443 ssl;", "")]
    for old, mine in swaps:
        assert old in site, old
        site = site.replace(old, mine)
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n", "utf-8")
    return conf


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    nginx = require_binary("nginx", "apt-get install nginx-light", "/usr/sbin/nginx")
    conf = _nginx_conf(tmp_path)
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


@contextlib.contextmanager
def _nginx_in_front(tmp_path: Path, upstream: int) -> Iterator[tuple[int, int]]:
    """nginx with deploy/nginx/navet.conf in front of Navet on ``upstream``: (http, https)."""
    nginx = require_binary("nginx", "apt-get install nginx-light", "/usr/sbin/nginx")
    http, https = free_port(), free_port()
    conf = _nginx_conf(tmp_path, upstream=upstream, http=http, https=https)
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not _accepts(https) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _accepts(https), (tmp_path / "error.log").read_text(errors="replace")
        yield http, https
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------- commands


def _simple_commands(text: str) -> list[list[str]]:
    """Each simple command of a shell text (lines joined at ``\\``), as words."""
    commands: list[list[str]] = []
    for line in text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # not shell (a log line, a table)
            continue
        current: list[str] = []
        for token in tokens:
            if token and set(token) <= set("&|;()<>"):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [c for c in commands if c]


def _navet_argv(words: list[str]) -> list[str] | None:
    """The arguments after ``navet`` when the command runs navet (through sudo too)."""
    while words and (words[0] == "sudo" or re.fullmatch(r"[A-Z_]+=.*", words[0])):
        words = words[3:] if words[:2] == ["sudo", "-u"] else words[1:]
    if words and Path(words[0]).name == "navet":
        return words[1:]
    return None


def _parses(argv: list[str]) -> str | None:
    """None when the real command line accepts ``argv``, else what it said."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            return err.getvalue().strip() or f"exit {exit_.code}"
    return None


def _guide_commands() -> list[list[str]]:
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    found = [_navet_argv(words) for block in blocks for words in _simple_commands(block)]
    return [argv for argv in found if argv is not None]


def test_every_navet_command_in_the_guide_parses() -> None:
    commands = _guide_commands()
    refused = {shlex.join(argv): said for argv in commands if (said := _parses(argv))}
    assert refused == {}
    shown = {argv[0] for argv in commands}  # the guide shows these at least (not vacuous)
    assert {"check", "serve", "demo", "devices", "users", "token", "store"} <= shown


def test_every_navet_command_named_in_the_guides_text_exists() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    spans = re.findall(r"`(navet [^`]+)`", text)
    assert spans
    missing = []
    for span in spans:
        words = [w for w in span.split()[1:] if not w.startswith("-")]
        parser = build_parser()
        for word in words:
            sub = next((a for a in parser._actions if a.dest in ("command",) or
                        type(a).__name__ == "_SubParsersAction"), None)
            if sub is None:
                break
            if word not in sub.choices:  # type: ignore[union-attr]
                missing.append(span)
                break
            parser = sub.choices[word]  # type: ignore[union-attr,index]
    assert missing == []


def test_the_unit_and_the_image_run_navet_commands_that_parse() -> None:
    argvs = []
    for key in ("ExecStartPre", "ExecStart"):
        for value in _unit()[key]:
            argvs.append(_navet_argv(shlex.split(value.lstrip("-@+!"))))
    text = CONTAINERFILE.read_text(encoding="utf-8")
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.MULTILINE)[1])
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)[1])
    image = entry + cmd
    argvs.append(image[[Path(w).name for w in image].index("navet") + 1:])
    runs = " ".join(re.findall(r"^RUN (.*(?:\\\n.*)*)", text, re.MULTILINE))
    argvs += [argv for words in _simple_commands(runs) if (argv := _navet_argv(words))]
    assert all(argv is not None for argv in argvs)
    assert {shlex.join(a): s for a in argvs if (s := _parses(a))} == {}  # type: ignore[arg-type]
    assert ["serve", "--config", "/etc/navet/navet.yaml"] in argvs
    assert ["check", "--config", "/etc/navet/navet.yaml"] in argvs


# --------------------------------------------------------------------------- Containerfile


def _copies() -> list[list[str]]:
    """The build stage's COPY lines (from the build context; not ``--from`` a stage)."""
    text = CONTAINERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        if line.startswith(("COPY ", "ADD ")) and "--from=" not in line:
            words = [w for w in shlex.split(line)[1:] if not w.startswith("--")]
            out.append(words)
    return out


def test_the_containerfile_copies_files_that_exist() -> None:
    copies = _copies()
    assert copies
    missing = [src for words in copies for src in words[:-1] if not (ROOT / src).exists()]
    assert missing == []


def test_the_image_holds_every_package_and_what_navet_reads_beside_it() -> None:
    """pyproject's packages, setup.py (it puts contracts/ into the wheel) and the files the
    runtime reads from contracts/ (plugin signatures, catalogue): without them the image
    would run a Navet that refuses its own signed plugins or lists no catalogue."""
    import tomllib

    from gateway.contracts.tree import DEFAULT_DIR
    from gateway.core.catalogue import BUILTIN_INDEX, BUILTIN_REPORTS
    from gateway.core.plugin_trust import BUILTIN_SIGNATURES, DEV_PUBLIC_KEY

    copied = {Path(src).parts[0] for words in _copies() for src in words[:-1]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages | {"pyproject.toml", "setup.py", "MANIFEST.in"} <= copied
    for path in (DEFAULT_DIR, BUILTIN_INDEX, BUILTIN_REPORTS, BUILTIN_SIGNATURES,
                 DEV_PUBLIC_KEY):
        assert path.resolve().relative_to(ROOT).parts[0] in copied, path
    text = CONTAINERFILE.read_text(encoding="utf-8")
    assert "-e " not in text and "--editable" not in text  # the image installs the wheel
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and user[-1] not in ("root", "0")


@pytest.mark.slow
def test_a_wheel_built_from_what_the_image_copies_runs_navet_with_its_signed_plugins(
        tmp_path: Path) -> None:
    """What the Containerfile does, without a container engine: only the files its build
    stage copies, laid out as it copies them, built into a wheel (``pip wheel``); the
    wheel installed (not editable) into a fresh virtual environment; Navet run from there,
    away from any source tree. The built-in plugins load and verify against the signatures
    the wheel carries, and the catalogue finds their conformance reports. A file the
    runtime reads from outside its installed package would show here."""
    workdir = re.findall(r"^WORKDIR (\S+)", CONTAINERFILE.read_text("utf-8"), re.MULTILINE)
    assert workdir[0] == "/src"
    tree = tmp_path / "src"
    tree.mkdir(parents=True)
    for words in _copies():
        *sources, dest = words
        for src in sources:
            target = tree / dest / Path(src).name if dest.endswith("/") else tree / dest
            if (ROOT / src).is_dir():
                shutil.copytree(ROOT / src, target, ignore=shutil.ignore_patterns(
                    "__pycache__", "*.pyc"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / src, target)
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(dist), str(tree)], capture_output=True, text=True,
                           timeout=600, env=_clean_environment())
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("navet-*.whl")
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for must in ("gateway/contracts/published/keys/navet-dev.pub",
                 "gateway/contracts/published/signatures/alarms.json.sig",
                 "gateway/contracts/published/catalogue.json",
                 "gateway/contracts/published/events/alarm.raised.json"):
        assert must in names, must
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=300)
    python = str(venv / "bin" / "python3")
    # --force-reinstall: the venv sees the system's site-packages (its dependencies), where
    # this checkout may be installed editable as the same version, which pip would take as
    # "already satisfied" and install nothing (also through a PYTHONPATH naming a checkout)
    away = _clean_environment()
    away.pop("PYTHONPATH", None)
    done = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--force-reinstall",
                           "-q", str(wheel)], capture_output=True, text=True, timeout=600,
                          env=away)
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.rmtree(tree)  # nothing of the source tree is left to read
    env = _clean_environment()
    env.pop("PYTHONPATH", None)
    where = subprocess.run([python, "-c", "import gateway.core.published as p; "
                            "print(p.__file__); print(p.CONTRACTS)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120, check=True)
    assert all(line.startswith(str(venv)) for line in where.stdout.split()), where.stdout

    def navet(*args: str) -> object:
        done = subprocess.run([str(venv / "bin" / "navet"), *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    plugins = navet("plugins", "list", "--json")
    builtin = set(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
                  ["project"]["entry-points"]["navet"])
    seen = {p["name"]: p for p in plugins if p["name"] in builtin}  # type: ignore[attr-defined]
    assert set(seen) == builtin
    for plugin in seen.values():
        assert plugin["status"] == "loaded", plugin
        assert plugin["signature"]["status"] == "signed", plugin["signature"]
        assert plugin["module"].split(".")[0] in ("plugins", "gateway")
    assert all(str(venv) in p["signature"].get("statement", str(venv))
               for p in seen.values())  # the wheel's statements, not the repository's
    catalogue = navet("catalogue", "--json")
    builtin_adapters = [a for a in catalogue if a["installed"]]  # type: ignore[attr-defined]
    assert builtin_adapters
    assert all(a["conformance"] and a["conformance"]["outcome"] == "pass"
               for a in builtin_adapters), builtin_adapters
