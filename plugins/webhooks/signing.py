"""The ``Navet-Signature`` header: HMAC-SHA256 over ``<t>.<body>`` with each secret.

``t`` is the Unix time of the attempt (every retry is signed afresh). During a
secret rotation the header carries one ``v1=`` entry per secret, current first.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from .const import SIGNATURE_SCHEME


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed with UTF-8 ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(body: bytes, timestamp: int, secrets: Sequence[str]) -> str:
    """``t=<timestamp>,v1=<hex>[,v1=<hex>]``: one ``v1`` per secret, in the given order."""
    if not secrets:
        raise ValueError("a webhook needs at least one signing secret")
    parts = [f"t={timestamp}"]
    parts += [f"{SIGNATURE_SCHEME}={sign(s, timestamp, body)}" for s in secrets]
    return ",".join(parts)
