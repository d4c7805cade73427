"""``navet keys new``, ``navet sign``, ``navet verify`` and ``navet plugins list --config``
as an operator runs them: exit codes and what the messages say."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gateway.cli import main
from tests.core.test_plugin_trust import install_acme

REPORT = {"adapter": "acme-lock", "plugin": "acme", "plugin_version": "0.3.0",
          "contract": "1.2", "digest": "sha256:00", "generated_at": "2026-12-01T10:00:00Z",
          "outcome": "pass", "checks": [{"id": "manifest", "outcome": "pass", "message": ""}],
          "measurements": {}}


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    package = install_acme(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield package
    sys.modules.pop("acme_navet", None)


def _keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new", "--out", str(tmp_path / "keys"), "--name", "kommun"]) == 0
    assert main(["keys", "new", "--out", str(tmp_path / "vendor"), "--name", "acme"]) == 0
    out = capsys.readouterr().out
    assert "key ed25519:" in out and "kommun.key" in out
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "kommun.pub").write_bytes((tmp_path / "keys" / "kommun.pub")
                                                    .read_bytes())


def test_sign_then_verify_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _keys(tmp_path, capsys)
    report = tmp_path / "acme-lock.json"
    report.write_text(json.dumps(REPORT, indent=2))

    assert main(["sign", str(report), "--key", str(tmp_path / "keys" / "kommun.key")]) == 0
    assert (tmp_path / "acme-lock.json.sig").exists()
    capsys.readouterr()

    assert main(["verify", str(report), "--trust", str(tmp_path / "trust")]) == 0
    assert capsys.readouterr().out.startswith(f"ok    {report}: signed by key ed25519:")
    assert main(["verify", str(report), "--key", str(tmp_path / "keys" / "kommun.pub")]) == 0


def test_verify_a_tampered_report_exits_3_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _keys(tmp_path, capsys)
    report = tmp_path / "acme-lock.json"
    report.write_text(json.dumps(REPORT, indent=2))
    main(["sign", str(report), "--key", str(tmp_path / "keys" / "kommun.key")])
    report.write_text(json.dumps({**REPORT, "outcome": "fail"}, indent=2))
    capsys.readouterr()

    assert main(["verify", str(report), "--trust", str(tmp_path / "trust"), "--json"]) == 3

    [result] = json.loads(capsys.readouterr().out)
    assert result["status"] == "modified"
    assert result["message"].startswith(f"{report} changed after it was signed by key")


def test_verify_with_the_wrong_key_exits_3(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _keys(tmp_path, capsys)
    report = tmp_path / "acme-lock.json"
    report.write_text(json.dumps(REPORT))
    main(["sign", str(report), "--key", str(tmp_path / "vendor" / "acme.key")])
    capsys.readouterr()

    assert main(["verify", str(report), "--trust", str(tmp_path / "trust")]) == 3

    out = capsys.readouterr().out
    assert out.startswith("FAIL  ")
    assert "which is not in the trust store" in out and "kommun.pub" in out


def test_verify_without_trusted_keys_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    report.write_text("{}")
    assert main(["verify", str(report)]) == 1
    assert "navet verify needs the keys you trust: --trust DIR, --key PUB" in \
        capsys.readouterr().err


def test_sign_a_plugin_into_the_configured_directory_and_require_it(
        acme: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _keys(tmp_path, capsys)
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "plugins": {
        "require_signed": True, "trust": str(tmp_path / "trust"),
        "signatures": [str(tmp_path / "signatures")]}}))

    assert main(["plugins", "list", "--json", "--config", str(config)]) == 0
    before = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert before["acme"]["status"] == "refused"
    assert "is not signed: no acme.json statement" in before["acme"]["reason"]
    assert before["acme"]["signature"]["status"] == "unsigned"

    assert main(["sign", "--plugin", "acme", "--key", str(tmp_path / "keys" / "kommun.key"),
                 "--config", str(config)]) == 0
    assert (tmp_path / "signatures" / "acme.json.sig").exists()
    capsys.readouterr()

    assert main(["plugins", "list", "--json", "--config", str(config)]) == 0
    after = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert after["acme"]["status"] == "loaded"
    assert after["acme"]["signature"]["status"] == "signed"
    assert [a["name"] for a in after["acme"]["adapters"]] == ["acme-lock"]
    assert main(["verify", "--plugin", "acme", "--config", str(config)]) == 0
    capsys.readouterr()

    (acme / "models.py").write_text("# added after signing\n")
    assert main(["verify", "--plugin", "acme", "--config", str(config)]) == 3
    out = capsys.readouterr().out
    assert out.startswith("FAIL  plugin acme (acme_navet) is not what key ed25519:")
    assert "(added models.py)" in out


def test_sign_a_plugin_needs_somewhere_to_write(
        acme: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _keys(tmp_path, capsys)
    assert main(["sign", "--plugin", "acme", "--key", str(tmp_path / "keys" / "kommun.key")]) \
        == 1
    assert "needs --out DIR, or --config FILE with plugins.signatures" in capsys.readouterr().err
    assert main(["sign", "--plugin", "nope", "--key", str(tmp_path / "keys" / "kommun.key"),
                 "--out", str(tmp_path)]) == 1
    assert "no installed plugin named nope (installed: " in capsys.readouterr().err


def test_serve_refuses_to_start_when_a_configured_adapter_is_in_a_refused_plugin(
        tmp_path: Path) -> None:
    """The built-ins are signed with the development key only; a deployment that trusts its
    own key and has not signed them cannot run their adapters, and says so in one line."""
    import subprocess

    assert main(["keys", "new", "--out", str(tmp_path / "trust"), "--name", "kommun"]) == 0
    (tmp_path / "trust" / "kommun.key").unlink()  # the gateway needs only the public key
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"), "mqtt": {"mode": "memory"}, "log_format": "text",
        "http": {"port": 0},
        "plugins": {"require_signed": True, "trust": str(tmp_path / "trust")},
        "adapters": [{"adapter": "zigbee2mqtt", "tenant": "vasteras"}]}))

    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVET_")}
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config",
                           str(config)], capture_output=True, text=True, timeout=60, env=env)

    assert proc.returncode == 1, proc.stderr[-2000:]
    last = [line for line in proc.stderr.splitlines() if "could not start" in line]
    assert len(last) == 1, proc.stderr[-2000:]
    assert "adapter instance zigbee2mqtt-vasteras: no adapter named 'zigbee2mqtt'" in last[0]
    assert "alarms (refused: plugins.require_signed: plugin alarms: " in last[0]
    assert "is signed by key ed25519:2080c9e4dc88ba24, which is not in the trust store" \
        in last[0]
