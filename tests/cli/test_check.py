"""``navet check --config``: what ``navet serve`` judges before it writes anything, without
starting, and nothing made on the way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from gateway.cli import main

CARE = {"tenants": [{"id": "kommun", "name": "Exempelkommun", "devices": [
    {"adapter": "dc09", "address": "1234", "kind": "alarm_panel"}]}]}


def _write(tmp_path: Path, settings: dict, care: dict | None = CARE) -> Path:
    if care is not None:
        (tmp_path / "care.yaml").write_text(yaml.safe_dump(care), encoding="utf-8")
        settings = {"care_config": ["care.yaml"], **settings}
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config


def _settings(tmp_path: Path, **extra: object) -> dict:
    return {"environment": "production", "data_dir": str(tmp_path / "data"),
            "auth": {"mode": "local"}, "mqtt": {"mode": "embedded"},
            "adapters": [{"adapter": "dc09", "tenant": "kommun",
                          "settings": {"tcp_port": 9000}}],
            "subscriptions": [{"id": "nb", "tenant": "kommun", "sink": "mqtt"}], **extra}


def test_a_valid_file_passes_and_says_what_was_checked(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path, _settings(tmp_path))
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"{config}: valid for production" in out
    assert "1 adapter instance(s), 1 subscription(s)" in out
    assert "1 care configuration file(s) with 1 tenant(s) and 1 device(s)" in out
    assert not (tmp_path / "data").exists()  # nothing made: no data directory, no database


@pytest.mark.parametrize(("change", "care", "says"), [
    ({"auth": {"mode": "off"}}, CARE, "production refuses an API without authentication"),
    ({"adapters": [{"adapter": "dc09", "tenant": "kommun"}]}, CARE,
     "adapter instance dc09-kommun: bad settings: set tcp_port and/or udp_port"),
    ({"adapters": [{"adapter": "nosuch", "tenant": "kommun"}]}, CARE,
     "adapter instance nosuch-kommun: no adapter named 'nosuch'"),
    ({"subscriptions": [{"id": "x", "tenant": "kommun", "sink": "nosuch"}]}, CARE,
     "subscription x: "),
    ({"disabled_plugins": ["alarms"]}, CARE, "adapter instance dc09-kommun: no adapter named"),
    ({}, {"tenants": [{"id": "kommun"}]}, "care.yaml is invalid: tenants[0].name: field required"),
])
def test_what_serve_would_refuse_is_refused_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict, care: dict,
        says: str) -> None:
    config = _write(tmp_path, _settings(tmp_path, **change), care)
    assert main(["check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("navet: error: "), err
    assert says in err
    assert not (tmp_path / "data").exists()


def test_environment_variables_are_checked_over_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = _write(tmp_path, _settings(tmp_path))
    monkeypatch.setenv("NAVET_AUTH__MODE", "off")
    assert main(["check", "--config", str(config)]) == 1
    assert "production refuses an API without authentication" in capsys.readouterr().err


def test_production_refuses_a_data_directory_others_may_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True)
    os.chmod(data, 0o700)
    os.chmod(data / "keys", 0o755)
    config = _write(tmp_path, _settings(tmp_path))
    assert main(["check", "--config", str(config)]) == 1
    assert f"chmod 700 {data / 'keys'}" in capsys.readouterr().err
    os.chmod(data / "keys", 0o700)
    assert main(["check", "--config", str(config)]) == 0
