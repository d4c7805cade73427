"""What a new user meets first: every mistake of theirs is one line saying what to fix.

Each test runs the command as a user would (a subprocess, or ``main(argv)`` where the
output is all that matters) and checks the exit code and that no Python traceback shows.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gateway import CONTRACT_VERSION, __version__
from gateway.cli import main

FRAME = b'{"contact": false, "battery": 12}'


def navet(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], input=stdin.decode(),
                          capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**_env(), **(env or {})})


def _env() -> dict[str, str]:
    """This checkout first on the path (the subprocess may run from another directory)."""
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVET_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return env


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout, proc.stdout[-3000:]


# --------------------------------------------------------------------------- navet --version


def test_version_option_prints_version_and_contract() -> None:
    proc = navet("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"navet {__version__} (contract {CONTRACT_VERSION})"


# --------------------------------------------------------------------------- option order


@pytest.mark.parametrize("order", [
    ["zigbee2mqtt", "FILE", "--address", "zigbee2mqtt/hall_door"],
    ["zigbee2mqtt", "--address", "zigbee2mqtt/hall_door", "FILE"],
    ["--address", "zigbee2mqtt/hall_door", "zigbee2mqtt", "FILE"],
])
def test_decode_takes_options_before_or_after_positionals(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], order: list[str]) -> None:
    frame = tmp_path / "frame.json"
    frame.write_bytes(FRAME)
    argv = ["decode", *[str(frame) if a == "FILE" else a for a in order]]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert '"sensor.reported"' in out and '"zigbee2mqtt:hall_door"' in out


# --------------------------------------------------------------------------- bad options


@pytest.mark.parametrize(("args", "says"), [
    (["demo", "--speed", "0"], "--speed: '0': must be a number above 0"),
    (["demo", "--speed", "fast"], "--speed: 'fast' is not a number"),
    (["demo", "--log-level", "verbose"], "--log-level: 'verbose' is not a log level"),
    (["demo", "--duration", "20 minutes"], "--duration: '20 minutes' is not a duration"),
    (["demo", "--port", "80808"], "--port: '80808': a port is 0 to 65535"),
])
def test_bad_options_are_one_line_not_a_traceback(args: list[str], says: str) -> None:
    proc = navet(*args)
    no_traceback(proc)
    assert proc.returncode == 2
    assert says in proc.stderr.strip().splitlines()[-1], proc.stderr


def test_log_level_any_case(tmp_path: Path) -> None:
    proc = navet("demo", "--log-level", "warning", "--duration", "0.1", "--json",
                 "--data-dir", str(tmp_path / "demo"), "--port", "0")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-3000:]


# --------------------------------------------------------------------------- | head


def test_a_closed_pipe_ends_quietly() -> None:
    """``navet plugins list --json | head -1``, with the reader gone before the first write."""
    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE, however small the output
    try:
        proc = subprocess.run([sys.executable, "-m", "gateway.cli", "plugins", "list", "--json"],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                              env=_env())
    finally:
        os.close(write)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141, proc.stderr


# --------------------------------------------------------------------------- settings errors


def test_settings_errors_name_the_field_not_pydantic(tmp_path: Path) -> None:
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "htp": {"port": 1},
                                      "auth": {"token_ttl_s": "8 hours"}}))
    proc = navet("serve", "--config", str(config))
    no_traceback(proc)
    assert proc.returncode == 1
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"navet: error: invalid settings in {config}: "), line
    assert "htp: extra inputs are not permitted" in line
    assert "auth.token_ttl_s: '8 hours' is not a duration" in line
    for internal in ("_FileFirstSettings", "errors.pydantic.dev", "input_value", "type="):
        assert internal not in proc.stderr
    assert not (tmp_path / "data").exists()


def test_a_bad_log_level_in_settings_is_a_settings_error(tmp_path: Path) -> None:
    proc = navet("serve", env={"NAVET_LOG_LEVEL": "verbose",
                               "NAVET_DATA_DIR": str(tmp_path / "data")})
    no_traceback(proc)
    assert proc.returncode == 1
    assert "log_level: 'verbose' is not a log level" in proc.stderr


# --------------------------------------------------------------------------- serve's failures


def _serve_config(tmp_path: Path, port: int, **extra: object) -> Path:
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"), "mqtt": {"mode": "memory"},
        "http": {"host": "127.0.0.1", "port": port}, "log_format": "text", **extra}))
    return config


def test_serve_names_a_bad_care_file_last_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "care.yaml").write_text(yaml.safe_dump({"tenants": [{"id": "x", "bogus": 1}]}))
    config = _serve_config(tmp_path, 0, care_config=["care.yaml"])
    proc = navet("serve", "--config", str(config))
    no_traceback(proc)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "navet could not start: care configuration" in last, proc.stderr
    assert "tenants[0].name: field required" in last
    assert "tenants[0].bogus: extra inputs are not permitted" in last
    assert not (tmp_path / "data").exists(), "a database was made before the config was valid"


def test_serve_names_an_unknown_adapter_and_creates_nothing(tmp_path: Path) -> None:
    config = _serve_config(tmp_path, 0, adapters=[{"adapter": "zigbee2mqt", "tenant": "x"}])
    proc = navet("serve", "--config", str(config))
    no_traceback(proc)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "adapter instance zigbee2mqt-x: no adapter named 'zigbee2mqt'" in last, proc.stderr
    assert not (tmp_path / "data").exists()


def test_serve_names_a_taken_port_and_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = navet("serve", "--config", str(_serve_config(tmp_path, port)))
    no_traceback(proc)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert f"HTTP cannot listen on 127.0.0.1:{port}: Address already in use" in last, \
        proc.stderr
    assert not (tmp_path / "data").exists()


# --------------------------------------------------------------------------- token create


@pytest.mark.parametrize("command", [
    ["token", "create", "--tenant", "vasteras", "--role", "operator", "--subject", "op-1"],
    ["token", "jwks"],
    ["devices", "enroll", "--id", "bridge-1", "--tenant", "vasteras", "--out", "certs"],
])
def test_key_commands_refuse_to_guess_the_data_dir(tmp_path: Path, command: list[str]) -> None:
    proc = navet(*command, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1
    assert "needs the gateway's settings: pass --config FILE" in proc.stderr
    assert list(tmp_path.iterdir()) == [], "it made keys nobody asked for"


def test_token_create_with_config_and_a_ttl_with_units(tmp_path: Path) -> None:
    import jwt

    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"),
                                      "auth": {"mode": "local", "token_ttl_s": "8h"}}))
    proc = navet("token", "create", "--config", str(config), "--tenant", "vasteras",
                 "--role", "operator", "--subject", "op-1", "--ttl", "1h30m")
    assert proc.returncode == 0, proc.stderr
    claims = jwt.decode(proc.stdout.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 5400
    proc = navet("token", "create", "--config", str(config), "--tenant", "vasteras",
                 "--role", "operator", "--subject", "op-1")
    claims = jwt.decode(proc.stdout.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 8 * 3600


# --------------------------------------------------------------------------- more mistakes


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = navet("demo", "--data-dir", str(blocker / "data"), "--duration", "1", "--port", "0")
    no_traceback(proc)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        f"navet: error: {blocker / 'data'}: Not a directory"


def test_bad_adapter_settings_name_the_field(tmp_path: Path) -> None:
    proc = navet("decode", "zigbee2mqtt", "--settings", '{"base_topc": "z"}', stdin=FRAME)
    no_traceback(proc)
    assert proc.returncode == 1
    assert proc.stderr.strip() == \
        "navet: error: adapter zigbee2mqtt: bad settings: base_topc: extra inputs are not permitted"


def test_tools_without_config_say_how_to_find_the_database(tmp_path: Path) -> None:
    proc = navet("store", "info", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1
    assert "no database at navet-data/navet.db (give the gateway's settings file with --config" \
        in proc.stderr
