"""Personal identifiers encrypted at rest (AES-256-GCM), with rotatable data keys.

Navet works on pseudonyms; a resident's personal number (personnummer) is
needed only to match a resident with the municipality's care record system,
so it is stored encrypted and never returned by the API, never put in an event
and never logged. Each ciphertext names the key that made it
(``pii1.<key id>.<base64 nonce+ciphertext>``) and is bound to what it belongs
to (AES-GCM associated data, e.g. ``resident:vasteras:r-1001``), so a value
copied onto another resident does not decrypt.

Keys live in a JSON key file (``privacy.data_key_file``; by default
``<data_dir>/keys/data-keys.json``, created 0600 on first use): one current key
for new values, older keys kept for reading. ``navet privacy rotate-key`` adds
a key and re-encrypts every stored value with it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import ConfigError, NavetError

PREFIX = "pii1"


class DecryptionError(NavetError):
    """A stored value does not decrypt: unknown key, wrong owner, or tampered."""


@dataclass
class DataKeys:
    path: Path
    current: str = ""
    keys: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def load_or_create(cls, path: Path) -> DataKeys:
        if path.exists():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                keys = {kid: base64.b64decode(k) for kid, k in raw["keys"].items()}
                current = str(raw["current"])
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise ConfigError(f"data key file {path} is unreadable: {err}") from err
            if current not in keys or any(len(k) != 32 for k in keys.values()):
                raise ConfigError(f"data key file {path}: the current key must exist and "
                                  "every key must be 32 bytes (AES-256)")
            return cls(path, current, keys)
        made = cls(path)
        made.rotate()
        return made

    def rotate(self) -> str:
        kid = secrets.token_hex(4)
        self.keys[kid] = AESGCM.generate_key(bit_length=256)
        self.current = kid
        self._save()
        return kid

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"current": self.current,
                       "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}},
                      fh)
        os.replace(tmp, self.path)


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
        key = self.keys.keys.get(kid)
        if key is None:
            raise DecryptionError(f"data key {kid} is not in the key file")
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise DecryptionError("value does not belong here or was altered") from None

    def is_current(self, token: str) -> bool:
        return token.split(".", 2)[1:2] == [self.keys.current]


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
