"""Signed plugins: with ``plugins.require_signed`` only what a trusted key signed loads.

The plugin under test is installed the way a vendor's package is: a package directory
and a ``.dist-info`` with its ``navet`` entry point on ``sys.path``, found by
``importlib.metadata`` exactly as pip would leave it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.core.gateway import Gateway
from gateway.core.plugin_trust import BUILTIN_SIGNATURES, TrustPolicy, statement
from gateway.core.plugins import build_plugin_manager
from gateway.core.security.signing import TrustStore, load_private_key, new_key, sign_file
from gateway.core.settings import Settings, load_settings
from gateway.errors import ConfigError

ACME = '''"""Acme's door lock adapter (a test plugin)."""
from typing import Any, ClassVar

from gateway import AdapterBase, DeviceKind, Manifest, RawFrame, hookimpl


class AcmeLock(AdapterBase):
    manifest: ClassVar[Manifest] = Manifest(
        name="acme-lock", vendor="Acme", description="a test lock",
        device_kinds=(DeviceKind.DOOR_LOCK,), transports=("webhook",), contract=">=1.0,<2")

    def decode(self, frame: RawFrame) -> list[Any]:
        return []


@hookimpl
def navet_register_adapters(registry: Any) -> None:
    registry.add(AcmeLock)
'''
MANIFEST = ('{"domain": "acme_navet", "name": "Acme", "adapters": ["acme-lock"], '
            '"contract": ">=1.0,<2", "device_kinds": ["door_lock"], "transports": ["webhook"], '
            '"version": "0.3.0"}\n')


def install_acme(site: Path) -> Path:
    """Install the Acme plugin into ``site`` (put it on sys.path); returns the package."""
    package = site / "acme_navet"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(ACME)
    (package / "manifest.json").write_text(MANIFEST)
    dist = site / "acme_navet-0.3.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-navet\nVersion: 0.3.0\n")
    (dist / "entry_points.txt").write_text("[navet]\nacme = acme_navet\n")
    return package


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    package = install_acme(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield package
    sys.modules.pop("acme_navet", None)


@pytest.fixture
def kommun(tmp_path: Path) -> Path:
    """The municipality's key: ``keys/kommun.key``, its public half in ``trust/``."""
    new_key(tmp_path / "keys", "kommun")
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "kommun.pub").write_bytes((tmp_path / "keys" / "kommun.pub")
                                                    .read_bytes())
    return tmp_path


def _sign_acme(kommun: Path, key: str = "keys/kommun.key") -> Path:
    from gateway.core.plugin_trust import write_statement

    path = write_statement("acme", "acme_navet", kommun / "signatures")
    sign_file(path, load_private_key(kommun / key))
    return path


def _required(kommun: Path) -> TrustPolicy:
    return TrustPolicy(TrustStore.from_dir(kommun / "trust"), [kommun / "signatures"], True)


def test_an_unsigned_plugin_is_refused_when_signing_is_required(
        acme: Path, kommun: Path) -> None:
    plugins = build_plugin_manager(trust=_required(kommun))

    info = plugins.infos["acme"]
    assert info.status == "refused"
    assert info.reason is not None
    assert info.reason.startswith("plugins.require_signed: plugin acme (acme_navet) is not "
                                  "signed: no acme.json statement in")
    assert "acme-lock" not in plugins.adapters
    assert info.version == "0.3.0"  # read from its manifest, not by importing it
    assert "acme_navet" not in sys.modules  # refused before any of its code ran


def test_an_unsigned_plugin_loads_when_signing_is_not_required(acme: Path) -> None:
    plugins = build_plugin_manager()

    assert plugins.infos["acme"].status == "loaded"
    assert plugins.adapters.owner("acme-lock") == "acme"


def test_a_signed_plugin_loads_when_signing_is_required(acme: Path, kommun: Path) -> None:
    _sign_acme(kommun)

    plugins = build_plugin_manager(trust=_required(kommun))

    info = plugins.infos["acme"]
    assert info.status == "loaded", info.reason
    assert info.signature is not None and info.signature["status"] == "signed"
    assert info.version == "0.3.0"
    assert "acme-lock" in plugins.adapters


def test_a_plugin_changed_after_signing_is_refused_naming_the_files(
        acme: Path, kommun: Path) -> None:
    _sign_acme(kommun)
    (acme / "__init__.py").write_text(ACME + "\nBACKDOOR = True\n")
    (acme / "extra.py").write_text("x = 1\n")

    plugins = build_plugin_manager(trust=_required(kommun))

    info = plugins.infos["acme"]
    assert info.status == "refused"
    assert info.signature is not None and info.signature["status"] == "modified"
    assert "is not what key ed25519:" in (info.reason or "")
    assert "(changed __init__.py; added extra.py)" in (info.reason or "")


def test_a_plugin_signed_by_a_key_outside_the_trust_store_is_refused(
        acme: Path, kommun: Path) -> None:
    new_key(kommun / "vendor", "acme")
    _sign_acme(kommun, key="vendor/acme.key")

    info = build_plugin_manager(trust=_required(kommun)).infos["acme"]

    assert info.status == "refused"
    assert info.signature is not None and info.signature["status"] == "untrusted"
    assert "which is not in the trust store" in (info.reason or "")


def test_a_statement_for_another_plugin_does_not_count(acme: Path, kommun: Path) -> None:
    """Renaming a signed statement of one plugin to another's name does not sign it."""
    path = _sign_acme(kommun)
    text = path.read_text().replace('"plugin": "acme"', '"plugin": "other"')
    path.write_text(text)
    sign_file(path, load_private_key(kommun / "keys" / "kommun.key"))

    info = build_plugin_manager(trust=_required(kommun)).infos["acme"]

    assert info.status == "refused"
    assert "is a statement about 'other', not plugin acme" in (info.reason or "")


def test_the_statement_names_version_digest_and_every_file(acme: Path) -> None:
    from gateway.core.plugin_digest import plugin_digest

    doc = statement("acme", "acme_navet")

    assert doc["plugin"] == "acme" and doc["version"] == "0.3.0"
    assert doc["digest"] == plugin_digest("acme_navet")
    assert sorted(doc["files"]) == ["__init__.py", "manifest.json"]


def _settings(kommun: Path, *, require_signed: bool, **more: object) -> Settings:
    return load_settings(data_dir=str(kommun / "data"), mqtt={"mode": "memory"},
                         plugins={"trust": str(kommun / "trust"), "require_signed": require_signed,
                                  "signatures": [str(kommun / "signatures")]}, **more)


def test_the_gateway_refuses_to_start_when_a_configured_adapter_is_in_a_refused_plugin(
        acme: Path, kommun: Path) -> None:
    """An unsigned plugin nobody configured is only refused; one the configuration needs
    stops the start, with the reason, rather than running without the vendor's devices."""
    settings = _settings(kommun, require_signed=True,
                         adapters=[{"adapter": "acme-lock", "tenant": "vasteras"}])
    gateway = Gateway(settings)

    with pytest.raises(ConfigError) as err:
        gateway.check_config()

    assert "adapter instance acme-lock-vasteras: no adapter named 'acme-lock'" in str(err.value)
    assert "plugins not loaded: acme (refused: plugins.require_signed: plugin acme " \
           "(acme_navet) is not signed" in str(err.value)


def test_require_signed_without_a_trust_store_is_refused_in_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"plugins\.require_signed needs plugins\.trust"):
        load_settings(data_dir=str(tmp_path), plugins={"require_signed": True})


def test_require_signed_with_an_empty_trust_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "trust").mkdir()
    settings = load_settings(data_dir=str(tmp_path), plugins={
        "require_signed": True, "trust": str(tmp_path / "trust")})
    with pytest.raises(ConfigError, match=r"holds no \*\.pub key: no plugin could load"):
        TrustPolicy.from_settings(settings)


def test_the_built_in_plugins_are_signed_with_the_development_key() -> None:
    """The committed statements name the built-in plugins as they are now. When this fails
    a built-in plugin changed: run ``navet sign --all-plugins --key
    contracts/keys/navet-dev.key --out contracts/signatures`` and commit the result."""
    plugins = build_plugin_manager().check_signatures(TrustPolicy.development())

    builtin = [i for i in plugins if i.module.startswith(("plugins.", "gateway."))]
    assert {"alarms", "locks", "fhir"} <= {i.name for i in builtin}
    stale = {i.name: i.signature["message"] for i in builtin  # type: ignore[index]
             if i.signature["status"] != "signed"}  # type: ignore[index]
    assert stale == {}, (
        "re-sign the built-in plugins: navet sign --all-plugins --key "
        "contracts/keys/navet-dev.key --out contracts/signatures")
    assert BUILTIN_SIGNATURES.joinpath("alarms.json.sig").exists()


COMMITTED_REPORTS = sorted((BUILTIN_SIGNATURES.parent / "conformance").glob("*.json"))


@pytest.mark.parametrize("report", COMMITTED_REPORTS, ids=[p.stem for p in COMMITTED_REPORTS])
def test_the_committed_conformance_reports_are_signed_with_the_development_key(
        report: Path) -> None:
    """Each committed report verifies as it is. When this fails the reports were
    regenerated: run ``navet sign contracts/conformance/*.json --key
    contracts/keys/navet-dev.key`` and commit the ``.sig`` files."""
    from gateway.core.plugin_trust import DEV_PUBLIC_KEY
    from gateway.core.security.signing import SignatureError, verify_file

    try:
        verify_file(report, TrustStore.from_keys(DEV_PUBLIC_KEY))
    except SignatureError as err:
        pytest.fail(f"{err} (re-sign: navet sign contracts/conformance/*.json --key "
                    f"contracts/keys/navet-dev.key)")
