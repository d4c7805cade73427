"""Request authentication: HMAC-SHA256 over timestamp and body, with a replay window.

The Stigfinnare cloud signs ``"<timestamp>." + body`` (timestamp in Unix seconds, as
sent in the timestamp header) with the organisation's shared secret and sends
``v1=<hex digest>`` (several comma-separated while the vendor rotates secrets). Navet
recomputes it with each secret it holds for that organisation and compares in constant
time. Why not an API key: a key travels with every request (proxies and logs see it),
proves nothing about the body, and a captured request can be replayed forever. The
signature never travels, covers the exact bytes, and the timestamp bounds a replay to
the window; within it a replay is harmless because event ids are deterministic.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from .const import HEADER_ORGANISATION, HEADER_SIGNATURE, HEADER_TIMESTAMP, SIGNATURE_SCHEME


class SignatureError(Exception):
    """The request is not provably from the organisation's vendor account (answer 401)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, *, organisation: str,
           secrets: Sequence[str], now: datetime, tolerance_s: int) -> None:
    """Check organisation, timestamp window and signature. :raises SignatureError:"""
    org = headers.get(HEADER_ORGANISATION)
    if org is None:
        raise SignatureError(f"missing header {HEADER_ORGANISATION}")
    if org != organisation:
        raise SignatureError(f"organisation {org[:64]!r} is not the one this endpoint serves")
    raw_ts = headers.get(HEADER_TIMESTAMP)
    if raw_ts is None:
        raise SignatureError(f"missing header {HEADER_TIMESTAMP}")
    if not raw_ts.isdigit() or len(raw_ts) > 12:
        raise SignatureError(f"{HEADER_TIMESTAMP} must be Unix seconds, got {raw_ts[:20]!r}")
    timestamp = int(raw_ts)
    skew = now.timestamp() - timestamp
    if abs(skew) > tolerance_s:
        direction = "old" if skew > 0 else "in the future"
        raise SignatureError(f"timestamp {timestamp} is {abs(skew):.0f} s {direction}; "
                             f"the window is ±{tolerance_s} s (replayed, or a clock is wrong)")
    raw_sig = headers.get(HEADER_SIGNATURE)
    if raw_sig is None:
        raise SignatureError(f"missing header {HEADER_SIGNATURE}")
    offered = [part.strip()[len(SIGNATURE_SCHEME) + 1:] for part in raw_sig.split(",")
               if part.strip().startswith(f"{SIGNATURE_SCHEME}=")]
    if not offered:
        raise SignatureError(f"{HEADER_SIGNATURE} has no {SIGNATURE_SCHEME}= signature")
    for secret in secrets:
        expected = sign(secret, timestamp, body)
        if any(hmac.compare_digest(expected.encode(), o.encode()) for o in offered):
            return
    raise SignatureError("signature does not match the body and timestamp")
