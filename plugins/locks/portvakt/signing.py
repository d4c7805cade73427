"""Portvakt webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>``.

Header ``X-Portvakt-Timestamp: <unix seconds>`` and
``X-Portvakt-Signature: v1=<hex>`` (several ``v1=`` values, comma-separated,
while the vendor rotates secrets). A webhook is accepted only when one
signature matches, the timestamp is within the tolerance of our clock, and
the same signature was not accepted before (a replay within the tolerance).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict

from .const import SIGNATURE_SCHEME


class SignatureError(Exception):
    """The webhook is not authentic, or is stale or replayed. ``status`` is the HTTP answer."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value a sender puts in ``X-Portvakt-Signature``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_SCHEME}={mac.hexdigest()}"


class Verifier:
    """Checks signature, freshness and replay. Keeps recent signatures for the tolerance."""

    def __init__(self, secret: str, tolerance_s: int, max_remembered: int = 10_000) -> None:
        self._secret = secret
        self.tolerance_s = tolerance_s
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._max = max_remembered

    def verify(self, timestamp: str | None, signature: str | None, body: bytes,
               now: float) -> tuple[str, int]:
        """Raise :class:`SignatureError` unless authentic, fresh and new; return the key to
        :meth:`remember` once the webhook is stored (a delivery that failed to store may
        come again with the same signature)."""
        if not timestamp or not signature:
            raise SignatureError("missing X-Portvakt-Timestamp or X-Portvakt-Signature")
        try:
            ts = int(timestamp)
        except ValueError:
            raise SignatureError(f"timestamp {timestamp[:40]!r} is not unix seconds") from None
        expected = sign(self._secret, ts, body)
        offered = [s.strip() for s in signature.split(",")]
        if not any(hmac.compare_digest(expected, s) for s in offered):
            raise SignatureError("signature does not match the body and timestamp")
        if abs(now - ts) > self.tolerance_s:
            raise SignatureError(f"timestamp is {int(now - ts)} s from our clock (tolerance "
                                 f"{self.tolerance_s} s): stale or replayed")
        self._forget(now)
        if expected in self._seen:
            raise SignatureError("this webhook was already delivered (replay)", status=409)
        return expected, ts

    def remember(self, key: tuple[str, int]) -> None:
        self._seen[key[0]] = key[1]

    def _forget(self, now: float) -> None:
        while self._seen:
            _, ts = next(iter(self._seen.items()))
            if now - ts <= self.tolerance_s and len(self._seen) < self._max:
                break
            self._seen.popitem(last=False)
