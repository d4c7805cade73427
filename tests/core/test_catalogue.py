"""The adapter catalogue: installed and installable adapters, signed and tested or not."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.core.catalogue import BUILTIN_INDEX, build_catalogue, read_index
from gateway.core.plugin_digest import plugin_digest
from gateway.core.plugin_trust import TrustPolicy, with_builtin
from gateway.core.plugins import build_plugin_manager
from gateway.core.security.signing import (
    TrustStore,
    load_private_key,
    new_key,
    sign_file,
)
from gateway.errors import ConfigError
from tests.core.test_plugin_trust import install_acme


def _report(directory: Path, adapter: str, *, outcome: str = "pass", digest: str = "",
            when: str = "2026-12-01T10:00:00+00:00") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{adapter}.json"
    path.write_text(json.dumps({
        "adapter": adapter, "plugin": "alarms", "plugin_version": "0.1.0", "contract": "1.2",
        "digest": digest, "generated_at": when, "outcome": outcome,
        "checks": [{"id": "manifest", "outcome": "pass", "message": "ok"},
                   {"id": "total-decoding", "outcome": "fail" if outcome == "fail" else "pass",
                    "message": "crashed on a truncated frame"}],
        "measurements": {}}, indent=2))
    return path


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[Path, TrustPolicy]:
    new_key(tmp_path / "keys", "kommun")
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "kommun.pub").write_bytes((tmp_path / "keys" / "kommun.pub")
                                                    .read_bytes())
    policy = TrustPolicy(TrustStore.from_dir(tmp_path / "trust"),
                         with_builtin([tmp_path / "signatures"]))
    return tmp_path, policy


def test_the_catalogue_lists_built_ins_with_signature_and_conformance_fields(
        keyed: tuple[Path, TrustPolicy]) -> None:
    where, policy = keyed
    reports = where / "reports"
    sign_file(_report(reports, "zigbee2mqtt", digest=plugin_digest("plugins.alarms")),
              load_private_key(where / "keys" / "kommun.key"))
    _report(reports, "scaip", outcome="fail", digest="sha256:old")  # unsigned, stale

    found = {e.adapter: e for e in build_catalogue(build_plugin_manager(), policy,
                                                   reports=[reports])}

    z2m = found["zigbee2mqtt"]
    assert z2m.installed and z2m.status == "loaded" and z2m.plugin == "alarms"
    assert z2m.device_kinds == ["passive_sensor"] and "mqtt" in z2m.protocol
    assert z2m.contract == ">=1.0,<2" and z2m.version == "0.1.0" and z2m.vendor
    assert z2m.signature.status == "untrusted"  # the built-ins' key is not in this store
    assert z2m.conformance is not None
    assert (z2m.conformance.outcome, z2m.conformance.date) == ("pass", "2026-12-01")
    assert z2m.conformance.current is True
    assert z2m.conformance.signature.status == "signed"
    scaip = found["scaip"].conformance
    assert scaip is not None and scaip.outcome == "fail" and scaip.current is False
    assert scaip.failed == ["total-decoding"]
    assert scaip.signature.status == "unsigned"
    assert found["lasbro"].conformance is None or found["lasbro"].conformance.report.startswith(
        "contracts/conformance/")  # the committed reports, once they exist


def test_with_the_development_key_trusted_the_built_ins_show_as_signed() -> None:
    policy = TrustPolicy.development()
    found = {e.adapter: e for e in build_catalogue(build_plugin_manager(), policy)}
    assert found["zigbee2mqtt"].signature.status == "signed"
    assert found["zigbee2mqtt"].signature.key_id == "ed25519:2080c9e4dc88ba24"


def test_the_latest_report_wins(keyed: tuple[Path, TrustPolicy]) -> None:
    where, policy = keyed
    _report(where / "old", "dc09", outcome="fail", when="2026-11-01T00:00:00+00:00")
    _report(where / "new", "dc09", outcome="pass", when="2026-12-02T00:00:00+00:00")

    found = {e.adapter: e for e in build_catalogue(build_plugin_manager(), policy,
                                                   reports=[where / "new", where / "old"])}

    dc09 = found["dc09"].conformance
    assert dc09 is not None and (dc09.outcome, dc09.date) == ("pass", "2026-12-02")


def test_installable_adapters_come_from_index_files(keyed: tuple[Path, TrustPolicy]) -> None:
    where, policy = keyed
    index = where / "index.json"
    index.write_text(json.dumps({"adapters": [
        {"adapter": "acme-lock", "plugin": "acme", "vendor": "Acme", "device_kinds":
         ["door_lock"], "protocol": ["webhook"], "contract": ">=1.0,<2", "version": "0.3.0",
         "install": "pip install acme-navet"},
        {"adapter": "zigbee2mqtt", "plugin": "other", "vendor": "Someone", "contract":
         ">=1.0,<2", "version": "9", "install": "pip install other"}]}))

    found = {e.adapter: e for e in build_catalogue(build_plugin_manager(), policy,
                                                   indexes=[index])}

    acme = found["acme-lock"]
    assert not acme.installed and acme.status == "available"
    assert acme.install == "pip install acme-navet" and acme.conformance is None
    assert found["zigbee2mqtt"].installed and found["zigbee2mqtt"].plugin == "alarms"
    assert [e.installed for e in found.values()].index(False) > 0  # installed ones first


def test_a_broken_index_entry_is_named(tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"adapters": [{"adapter": "x", "plugin": "x"}]}))
    with pytest.raises(ConfigError, match=r"index\.json, adapters\[0\]: \('vendor',\) Field "
                                          r"required"):
        read_index(index)


def test_the_built_in_index_parses() -> None:
    assert {e.adapter for e in read_index(BUILTIN_INDEX)} >= {"nyckelbo"}


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    package = install_acme(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield package
    sys.modules.pop("acme_navet", None)


def test_a_refused_plugin_is_listed_from_its_manifest_with_the_reason(
        acme: Path, keyed: tuple[Path, TrustPolicy]) -> None:
    _, policy = keyed
    policy.require = True

    found = {e.adapter: e for e in build_catalogue(build_plugin_manager(trust=policy), policy)}

    acme_lock = found["acme-lock"]
    assert acme_lock.status == "refused" and acme_lock.installed
    assert acme_lock.signature.status == "unsigned"
    assert acme_lock.device_kinds == ["door_lock"] and acme_lock.version == "0.3.0"
    assert "is not signed" in (acme_lock.reason or "")


def test_navet_catalogue_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue", "--json"]) == 0
    entries = {e["adapter"]: e for e in json.loads(capsys.readouterr().out)}
    scaip = entries["scaip"]
    assert set(scaip) >= {"vendor", "device_kinds", "protocol", "contract", "version",
                          "signature", "conformance", "installed", "status"}
    assert scaip["signature"]["status"] == "signed"
    assert "conformance" in scaip  # null until a report exists, else outcome and date
    assert entries["nyckelbo"]["status"] in ("available", "loaded")


def test_navet_catalogue_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue"]) == 0
    out = capsys.readouterr().out
    assert "zigbee2mqtt 0.1.0" in out and "signature: signed" in out
    assert "available: run examples/node-lock" in out
