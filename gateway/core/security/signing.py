"""Ed25519 signatures over files: conformance reports and plugin statements.

``navet sign FILE --key KEY`` writes ``FILE.sig``, a small JSON document::

    {"algorithm": "Ed25519", "key_id": "ed25519:3f1c…", "signed": "alarms.json",
     "digest": "sha256:…", "signature": "<base64>"}

The signature covers the other four fields (a canonical JSON text behind a fixed
prefix), so the file name, its SHA-256 and the signing key are bound together: a
changed file no longer has the digest, and an edited ``.sig`` no longer verifies.

A key's id is derived from its public key (``ed25519:`` and the first 16 hex digits
of the SHA-256 of its 32 raw bytes), never from a file name, so renaming a key file
changes nothing. A trust store is a directory of ``*.pub`` files (PEM); a signature
counts only if its key is in the trust store the verifier was given.

What a signature proves: that whoever holds the private key vouched for exactly
these bytes. It says nothing about whether the file is true; docs/signing.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.errors import ConfigError, NavetError

from .files import write_private

ALGORITHM: Final = "Ed25519"
SUFFIX: Final = ".sig"
_PREFIX: Final = b"navet-signature-v1\n"


class SignatureError(NavetError):
    """A file does not verify: unsigned, changed, signed by an unknown key, or forged.

    ``kind`` says which: ``unsigned``, ``untrusted``, ``invalid`` or ``modified``.
    """

    def __init__(self, message: str, *, kind: str, key_id: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.key_id = key_id


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of the file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def new_key(directory: Path, name: str) -> tuple[Path, Path, str]:
    """Make ``DIR/NAME.key`` (private, 0600) and ``DIR/NAME.pub``; refuse to overwrite.

    :returns: the private key file, the public key file and the key id.
    """
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"key name {name!r}: use letters, digits, '-' or '_'")
    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    for existing in (private, public):
        if existing.exists():
            raise ConfigError(f"{existing} exists; a key is never overwritten (choose "
                              f"another --name, or move the old key away first)")
    key = Ed25519PrivateKey.generate()
    write_private(private, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public, key_id_of(key.public_key())


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read signing key {path}: {err.strerror or err}") from err
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{path} is not an unencrypted PEM private key (make one with "
                          f"`navet keys new`): {err}") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read public key {path}: {err.strerror or err}") from err
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{path} is not a PEM public key: {err}") from err
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} is a {type(key).__name__}, not an Ed25519 key")
    return key


@dataclass(frozen=True)
class TrustStore:
    """The public keys a verifier accepts, by key id, with the file each came from."""

    keys: dict[str, tuple[Path, Ed25519PublicKey]]
    where: str

    @classmethod
    def from_dir(cls, directory: Path) -> TrustStore:
        """Every ``*.pub`` in ``directory``; a file that is no Ed25519 key is an error."""
        if not directory.is_dir():
            raise ConfigError(f"trust store {directory} is not a directory of *.pub keys")
        keys: dict[str, tuple[Path, Ed25519PublicKey]] = {}
        for path in sorted(directory.glob("*.pub")):
            key = load_public_key(path)
            keys[key_id_of(key)] = (path, key)
        return cls(keys, str(directory))

    @classmethod
    def from_keys(cls, *paths: Path) -> TrustStore:
        keys = {}
        for path in paths:
            key = load_public_key(path)
            keys[key_id_of(key)] = (path, key)
        return cls(keys, ", ".join(str(p) for p in paths))

    @classmethod
    def empty(cls) -> TrustStore:
        return cls({}, "no trust store")

    def describe(self) -> str:
        names = ", ".join(p.name for p, _ in self.keys.values()) or "no keys"
        return f"{self.where} ({names})"


# ---------------------------------------------------------------------------
# Signing and verifying
# ---------------------------------------------------------------------------


def _message(algorithm: str, key_id: str, signed: str, digest: str) -> bytes:
    body = {"algorithm": algorithm, "digest": digest, "key_id": key_id, "signed": signed}
    return _PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign_file(path: Path, key: Ed25519PrivateKey) -> Path:
    """Write ``path.sig`` for ``path`` as it is now; returns the ``.sig`` path."""
    if not path.is_file():
        raise ConfigError(f"cannot sign {path}: no such file")
    key_id = key_id_of(key.public_key())
    digest = file_digest(path)
    signature = key.sign(_message(ALGORITHM, key_id, path.name, digest))
    doc = {"algorithm": ALGORITHM, "key_id": key_id, "signed": path.name, "digest": digest,
           "signature": base64.b64encode(signature).decode("ascii")}
    out = signature_path(path)
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return out


@dataclass(frozen=True)
class Verified:
    path: Path
    key_id: str
    key_file: Path
    digest: str


def read_signature(path: Path) -> dict[str, Any]:
    """The ``.sig`` beside ``path`` as a dict (shape checked, signature not checked)."""
    sig = signature_path(path)
    if not sig.exists():
        raise SignatureError(f"{path} is not signed: there is no {sig.name} beside it",
                             kind="unsigned")
    try:
        doc = json.loads(sig.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:
        raise SignatureError(f"{sig} is not a Navet signature (not JSON: {err})",
                             kind="invalid") from err
    fields = ("algorithm", "key_id", "signed", "digest", "signature")
    if not isinstance(doc, dict) or any(not isinstance(doc.get(f), str) for f in fields):
        raise SignatureError(f"{sig} is not a Navet signature (it needs the text fields "
                             f"{', '.join(fields)})", kind="invalid")
    if doc["algorithm"] != ALGORITHM:
        raise SignatureError(f"{sig} uses algorithm {doc['algorithm']!r}; Navet verifies "
                             f"{ALGORITHM} only", kind="invalid")
    return doc


def verify_file(path: Path, trust: TrustStore) -> Verified:
    """Check ``path`` against ``path.sig`` and ``trust``.

    :raises SignatureError: naming the file and what is wrong: no ``.sig``; a key not
        in the trust store; a signature that does not verify (the ``.sig`` was edited
        or forged); or a file that changed since it was signed (both digests named).
    :raises ConfigError: ``path`` does not exist.
    """
    if not path.is_file():
        raise ConfigError(f"cannot verify {path}: no such file")
    doc = read_signature(path)
    sig = signature_path(path)
    key_id = doc["key_id"]
    if doc["signed"] != path.name:
        raise SignatureError(f"{sig} was made for {doc['signed']!r}, not for {path.name!r}",
                             kind="invalid", key_id=key_id)
    if key_id not in trust.keys:
        raise SignatureError(f"{path} is signed by key {key_id}, which is not in the trust "
                             f"store {trust.describe()}", kind="untrusted", key_id=key_id)
    key_file, public = trust.keys[key_id]
    try:
        public.verify(base64.b64decode(doc["signature"], validate=True),
                      _message(doc["algorithm"], key_id, doc["signed"], doc["digest"]))
    except (InvalidSignature, ValueError) as err:
        raise SignatureError(f"{sig}: the signature does not verify with key {key_id} "
                             f"({key_file}); the .sig was altered or forged",
                             kind="invalid", key_id=key_id) from err
    now = file_digest(path)
    if now != doc["digest"]:
        raise SignatureError(f"{path} changed after it was signed by key {key_id}: its "
                             f"content is {now}, the signature is for {doc['digest']}",
                             kind="modified", key_id=key_id)
    return Verified(path, key_id, key_file, now)
