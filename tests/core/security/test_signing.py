"""Ed25519 file signatures: what ``navet verify`` accepts and what it refuses, and why."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.core.security.signing import (
    SignatureError,
    TrustStore,
    file_digest,
    key_id_of,
    load_private_key,
    load_public_key,
    new_key,
    sign_file,
    verify_file,
)
from gateway.errors import ConfigError

REPORT = {"adapter": "acme-lock", "outcome": "pass", "contract": "1.2",
          "generated_at": "2026-12-01T10:00:00Z", "checks": []}


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """A trust store with the 'kommun' key; 'other' is made outside it."""
    new_key(tmp_path / "keys", "kommun")
    new_key(tmp_path / "elsewhere", "other")
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "kommun.pub").write_bytes((tmp_path / "keys" / "kommun.pub").read_bytes())
    return tmp_path


def _report(where: Path) -> Path:
    path = where / "acme-lock.json"
    path.write_text(json.dumps(REPORT, indent=2) + "\n", encoding="utf-8")
    return path


def test_sign_and_verify_round_trip(keys: Path) -> None:
    report = _report(keys)
    sig = sign_file(report, load_private_key(keys / "keys" / "kommun.key"))

    verified = verify_file(report, TrustStore.from_dir(keys / "trust"))

    doc = json.loads(sig.read_text())
    assert sig.name == "acme-lock.json.sig"
    assert doc["algorithm"] == "Ed25519"
    assert doc["signed"] == "acme-lock.json"
    assert doc["digest"] == file_digest(report)
    assert verified.key_id == doc["key_id"] == key_id_of(
        load_public_key(keys / "trust" / "kommun.pub"))
    assert verified.key_file == keys / "trust" / "kommun.pub"


def test_new_key_is_private_and_never_overwritten(tmp_path: Path) -> None:
    private, public, key_id = new_key(tmp_path, "kommun")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert isinstance(load_public_key(public), Ed25519PublicKey)
    assert key_id.startswith("ed25519:") and len(key_id) == len("ed25519:") + 16
    with pytest.raises(ConfigError, match="exists; a key is never overwritten"):
        new_key(tmp_path, "kommun")


def test_a_changed_report_fails_naming_the_file_and_both_digests(keys: Path) -> None:
    report = _report(keys)
    sign_file(report, load_private_key(keys / "keys" / "kommun.key"))
    signed_digest = file_digest(report)
    report.write_text(report.read_text().replace('"pass"', '"fail"'))

    with pytest.raises(SignatureError) as err:
        verify_file(report, TrustStore.from_dir(keys / "trust"))

    assert err.value.kind == "modified"
    assert str(report) in str(err.value)
    assert "changed after it was signed" in str(err.value)
    assert signed_digest in str(err.value) and file_digest(report) in str(err.value)


def test_a_key_outside_the_trust_store_is_refused_by_id(keys: Path) -> None:
    report = _report(keys)
    sign_file(report, load_private_key(keys / "elsewhere" / "other.key"))
    other = key_id_of(load_public_key(keys / "elsewhere" / "other.pub"))

    with pytest.raises(SignatureError) as err:
        verify_file(report, TrustStore.from_dir(keys / "trust"))

    assert err.value.kind == "untrusted"
    assert f"signed by key {other}, which is not in the trust store" in str(err.value)
    assert "kommun.pub" in str(err.value)  # what the store does hold


def test_a_sig_whose_digest_was_edited_to_match_does_not_verify(keys: Path) -> None:
    """Whoever changes the file and writes its new digest into the .sig still lacks the key."""
    report = _report(keys)
    sig = sign_file(report, load_private_key(keys / "keys" / "kommun.key"))
    report.write_text(report.read_text().replace('"pass"', '"fail"'))
    doc = json.loads(sig.read_text())
    doc["digest"] = file_digest(report)
    sig.write_text(json.dumps(doc))

    with pytest.raises(SignatureError) as err:
        verify_file(report, TrustStore.from_dir(keys / "trust"))

    assert err.value.kind == "invalid"
    assert "the signature does not verify" in str(err.value)
    assert str(sig) in str(err.value)


def test_a_sig_moved_to_another_file_is_refused(keys: Path) -> None:
    report = _report(keys)
    sig = sign_file(report, load_private_key(keys / "keys" / "kommun.key"))
    other = keys / "other.json"
    other.write_bytes(report.read_bytes())
    (keys / "other.json.sig").write_bytes(sig.read_bytes())

    with pytest.raises(SignatureError, match=r"was made for 'acme-lock\.json'"):
        verify_file(other, TrustStore.from_dir(keys / "trust"))


def test_an_unsigned_file_says_there_is_no_sig(keys: Path) -> None:
    report = _report(keys)
    with pytest.raises(SignatureError, match=r"is not signed: there is no acme-lock\.json\.sig"):
        verify_file(report, TrustStore.from_dir(keys / "trust"))


def test_a_private_key_that_is_not_ed25519_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "junk.key"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match=r"junk\.key is not an unencrypted PEM private key"):
        load_private_key(bad)
