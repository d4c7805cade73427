"""Subscription settings are sealed at rest: the ``settings`` column is never clear.

A subscription's settings are where a consumer's credentials live: a webhook's
signing ``secret`` and ``next_secret``, its extra ``headers`` (an ``Authorization``
for the consumer's API gateway), a FHIR rest-hook's ``parameter`` headers, a URL
whose query carries a token. Which of them is secret depends on the sink, so the
store seals the whole settings document, with the data keys that seal personal
numbers (:mod:`gateway.core.security.pii`), bound to the subscription's tenant and
id: a sealed value copied onto another subscription does not open. Sinks get their
settings in clear from :attr:`Store.subscriptions`, as before; nothing else reads
the column.

Rows written before schema 4 were clear; migration 4 (:func:`seal_clear_rows`) seals
them, and :func:`reseal_rows` re-encrypts every row with the current key after a
rotation (``navet privacy rotate-key``). An empty settings document (``{}``) holds
nothing and is stored as it is, so a store without keys can still hold subscriptions
that need none.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import ConfigError

from ..security.pii import DecryptionError, PiiCipher

EMPTY = "{}"


def context(tenant: str, subscription: str) -> str:
    """What a subscription's sealed settings are bound to (AES-GCM associated data)."""
    return f"subscription:{tenant}:{subscription}"


def seal(cipher: PiiCipher | None, tenant: str, subscription: str,
         settings: dict[str, Any], *, store: str) -> str:
    """The ``settings`` column for a subscription's settings.

    :raises ConfigError: there are settings to keep but no data keys to seal them with.
    """
    text = json.dumps(settings, sort_keys=True)
    if text == EMPTY:
        return EMPTY
    if cipher is None:
        raise ConfigError(f"store {store} has no data keys, and subscription {subscription}'s "
                          "settings are kept only encrypted; open the store with its settings "
                          "(--config), which name privacy.data_key_file")
    return cipher.encrypt(text, context=context(tenant, subscription))


def unseal(cipher: PiiCipher | None, tenant: str, subscription: str, column: str, *,
           store: str) -> dict[str, Any]:
    """A subscription's settings from its ``settings`` column (sealed or, before schema 4
    or for ``{}``, clear).

    :raises ConfigError: the column is sealed and there are no keys, or it does not open
        (a key missing from the key file, or the row was altered or moved).
    """
    if not PiiCipher.is_sealed(column):
        return dict(json.loads(column))
    if cipher is None:
        raise ConfigError(f"store {store}: subscription {subscription}'s settings are "
                          "encrypted; open the store with its settings (--config), which name "
                          "privacy.data_key_file")
    try:
        return dict(json.loads(cipher.decrypt(column, context=context(tenant, subscription))))
    except DecryptionError as err:
        raise ConfigError(f"store {store}: subscription {subscription} ({tenant}): its "
                          f"settings do not decrypt: {err}") from err


def _rewrite(conn: Any, cipher: PiiCipher | None, store: str, *, all_old: bool) -> int:
    changed = 0
    for row in conn.execute("SELECT id, tenant, settings FROM subscriptions ORDER BY id"
                            ).fetchall():
        sub, tenant, column = str(row[0]), str(row[1]), str(row[2])
        sealed = PiiCipher.is_sealed(column)
        if column == EMPTY or (sealed and not all_old):
            continue
        if sealed and cipher is not None and cipher.is_current(column):
            continue
        settings = unseal(cipher, tenant, sub, column, store=store)
        # Compare-and-set: a gateway running beside this may have changed the row meanwhile.
        conn.execute("UPDATE subscriptions SET settings = ? WHERE id = ? AND settings = ?",
                     (seal(cipher, tenant, sub, settings, store=store), sub, column))
        changed += 1
    return changed


def seal_clear_rows(conn: Any, cipher: PiiCipher | None, store: str) -> int:
    """Seal every subscription whose settings are still clear (schema migration 4)."""
    return _rewrite(conn, cipher, store, all_old=False)


def reseal_rows(conn: Any, cipher: PiiCipher, store: str) -> int:
    """Re-encrypt every sealed or clear subscription settings with the current key."""
    return _rewrite(conn, cipher, store, all_old=True)
