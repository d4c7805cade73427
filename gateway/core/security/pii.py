"""Personal identifiers and stored secrets encrypted at rest (AES-256-GCM), with rotatable keys.

Navet works on pseudonyms; a resident's personal number (personnummer) is
needed only to match a resident with the municipality's care record system,
so it is stored encrypted and never returned by the API, never put in an event
and never logged. The same keys seal the settings of subscriptions in the store
(webhook signing secrets, extra headers, FHIR rest-hook ``parameter`` headers
such as ``Authorization``): see :mod:`gateway.core.store.sealed`.

Each ciphertext names the key that made it (``pii1.<key id>.<base64
nonce+ciphertext>``) and is bound to what it belongs to (AES-GCM associated
data, e.g. ``resident:vasteras:r-1001``), so a value copied onto another
resident or subscription does not decrypt.

Keys live in a JSON key file (``privacy.data_key_file``; by default
``<data_dir>/keys/data-keys.json``, created 0600 in a 0700 directory on first
use): one current key for new values, older keys kept for reading. ``navet
privacy rotate-key`` adds a key and re-encrypts every stored value with it. A
key file only ever grows, so a running gateway that meets a key id it does not
know, or sees the file changed, reads it again: a rotation beside a running
gateway needs no restart. The audit log's HMAC keys use the same file format
(:mod:`gateway.core.audit_anchor`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import ConfigError, NavetError

from .files import write_private

PREFIX = "pii1"


class DecryptionError(NavetError):
    """A stored value does not decrypt: unknown key, wrong owner, or tampered."""


class DataKeys:
    """A key file: named 256-bit keys, one of them current.

    Read on first use (created with a first key if missing) and read again whenever
    the file changed on disk since, so another process's rotation is seen at once.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._current = ""
        self._keys: dict[str, bytes] = {}
        self._stamp: tuple[int, int, int] | None = None

    @classmethod
    def load_or_create(cls, path: Path) -> DataKeys:
        """The key file at ``path``, read now (created with a first key if missing)."""
        keys = cls(path)
        keys._fresh()
        return keys

    @property
    def current(self) -> str:
        """Id of the key new values are sealed with."""
        self._fresh()
        return self._current

    @property
    def keys(self) -> dict[str, bytes]:
        """Every key, current and older, by id (a copy)."""
        self._fresh()
        return dict(self._keys)

    def key(self, kid: str) -> bytes | None:
        """The key ``kid``, or None when the key file does not hold it."""
        self._fresh()
        return self._keys.get(kid)

    def rotate(self) -> str:
        """Add a new key and make it current; returns its id."""
        self._fresh()
        kid = _new_kid(self._keys)
        keys = {**self._keys, kid: AESGCM.generate_key(bit_length=256)}
        write_private(self.path, _dump(kid, keys))
        self._stamp = None
        self._fresh()
        return kid

    def _fresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            if self._keys:
                raise ConfigError(f"key file {self.path} has disappeared; restore it from the "
                                  "backup (what was sealed with it cannot be read)") from None
            self._create()
            st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            self._load()
            self._stamp = stamp

    def _create(self) -> None:
        """Write the file with a first key, unless another process made it meanwhile."""
        kid = _new_kid({})
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.new")
        write_private(tmp, _dump(kid, {kid: AESGCM.generate_key(bit_length=256)}))
        try:
            os.link(tmp, self.path)  # atomic create-if-absent: never replace someone's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def _load(self) -> None:
        path = self.path
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            keys = {kid: base64.b64decode(k) for kid, k in raw["keys"].items()}
            current = str(raw["current"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ConfigError(f"key file {path} is unreadable: {err}") from err
        if current not in keys or any(len(k) != 32 for k in keys.values()):
            raise ConfigError(f"key file {path}: the current key must exist and "
                              "every key must be 32 bytes (AES-256)")
        missing = sorted(set(self._keys) - set(keys))
        if missing:
            raise ConfigError(f"key file {path} no longer holds key(s) {', '.join(missing)}; "
                              "a key file only grows: restore it from the backup")
        self._keys, self._current = keys, current


def _new_kid(taken: dict[str, bytes]) -> str:
    kid = secrets.token_hex(4)
    while kid in taken:
        kid = secrets.token_hex(4)
    return kid


def _dump(current: str, keys: dict[str, bytes]) -> str:
    return json.dumps({"current": current,
                       "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()}})


class PiiCipher:
    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys

    def encrypt(self, plaintext: str, *, context: str) -> str:
        kid = self.keys.current
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys.keys[kid]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}.{kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        try:
            prefix, kid, body = token.split(".", 2)
            raw = base64.urlsafe_b64decode(body)
        except ValueError as err:
            raise DecryptionError("not an encrypted value") from err
        if prefix != PREFIX:
            raise DecryptionError(f"unknown format {prefix!r}")
        key = self.keys.key(kid)
        if key is None:
            raise DecryptionError(f"data key {kid} is not in the key file")
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise DecryptionError("value does not belong here or was altered") from None

    def is_current(self, token: str) -> bool:
        return token.split(".", 2)[1:2] == [self.keys.current]

    @staticmethod
    def is_sealed(text: str) -> bool:
        """Whether ``text`` is a value this cipher made (not a clear one)."""
        return text.startswith(PREFIX + ".")


_PNR = re.compile(r"^(\d{2})?(\d{6})[-+]?(\d{4})$")


def normalise_personal_number(text: str) -> str:
    """``YYYYMMDD-NNNN`` from the usual spellings; checks the Luhn digit. Raises ValueError."""
    m = _PNR.match(text.strip().replace(" ", ""))
    if m is None:
        raise ValueError("a personal number is YYYYMMDD-NNNN (or YYMMDD-NNNN)")
    century, short, last = m.group(1), m.group(2), m.group(3)
    digits = short + last
    total = 0
    for i, ch in enumerate(digits[:9]):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    if (10 - total % 10) % 10 != int(digits[9]):
        raise ValueError("the personal number's check digit is wrong")
    if century is None:
        raise ValueError("write the personal number with the century: YYYYMMDD-NNNN")
    return f"{century}{short}-{last}"
