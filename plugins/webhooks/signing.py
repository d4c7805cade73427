"""Webhook signatures: Standard Webhooks, and the legacy ``Navet-Signature``.

Standard Webhooks (https://www.standardwebhooks.com/), what consumers verify
with the maintained ``standardwebhooks`` libraries::

    webhook-id:        <the event id>                    (the same on every attempt)
    webhook-timestamp: <Unix seconds of this attempt>    (every attempt signed afresh)
    webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")> [v1,<...>]

one ``v1,`` entry per secret (current first, then the one being rotated in),
separated by spaces. The key is the base64-decoded part of a ``whsec_``
secret, or the UTF-8 bytes of an older free-form secret.

``Navet-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>]``, HMAC-SHA256 over
``<timestamp>.<body>`` keyed with the secret's UTF-8 bytes, is sent beside it
during the transition (contracts/webhooks.md, section 2.2).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from .const import SIGNATURE_SCHEME, WHSEC_PREFIX


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: base64-decoded after ``whsec_``, else its UTF-8 bytes.

    :raises ValueError: a ``whsec_`` secret whose rest is not base64.
    """
    if secret.startswith(WHSEC_PREFIX):
        body = secret[len(WHSEC_PREFIX):]
        try:
            return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    return secret.encode("utf-8")


def standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "<msg_id>.<timestamp>.<body>">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_SCHEME},{base64.b64encode(digest).decode('ascii')}"


def standard_headers(body: bytes, msg_id: str, timestamp: int,
                     secrets: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per secret in the given order."""
    if not secrets:
        raise ValueError("a webhook needs at least one signing secret")
    signatures = " ".join(standard_signature(secret_key(s), msg_id, timestamp, body)
                          for s in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Legacy: lower-case hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed with UTF-8
    ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(body: bytes, timestamp: int, secrets: Sequence[str]) -> str:
    """Legacy ``Navet-Signature``: ``t=<timestamp>,v1=<hex>[,v1=<hex>]``, one ``v1`` per
    secret, in the given order."""
    if not secrets:
        raise ValueError("a webhook needs at least one signing secret")
    parts = [f"t={timestamp}"]
    parts += [f"{SIGNATURE_SCHEME}={sign(s, timestamp, body)}" for s in secrets]
    return ",".join(parts)
