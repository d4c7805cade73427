"""The schema version a database holds, against the migrations this Navet knows.

Migrations only go forward: a newer Navet migrates the database at its first start, and
an older one started on that database afterwards (a rollback of the software without a
restore of the data) would read and write tables whose meaning it does not know. The
store refuses to open such a database (:meth:`Store.open <.base.Store.open>`), and
``navet check`` says so before a start (:func:`.peek.check_database`), both with
:class:`SchemaTooNewError`, which names both versions and the two ways out.
"""

from __future__ import annotations

from gateway.errors import StoreError

from .schema import MIGRATIONS


class SchemaTooNewError(StoreError):
    """The database's schema is newer than the migrations this Navet knows."""

    def __init__(self, label: str, found: int, known: int) -> None:
        from gateway import __version__

        self.found, self.known = found, known
        super().__init__(
            f"database {label} has schema version {found}, newer than this Navet "
            f"{__version__} knows (schema {known}): a newer Navet has migrated it. Run "
            f"that newer Navet (or a later one), or restore the backup taken before the "
            f"upgrade to go back to this version (docs/deployment.md, \"Upgrades\")")


def refuse_newer(found: int | None, label: str, known: int | None = None) -> None:
    """Raise :class:`SchemaTooNewError` if ``found`` (the database's schema version) is
    beyond ``known``, the migrations this Navet knows (default: all of them)."""
    known = len(MIGRATIONS) if known is None else known
    if found is not None and int(found) > known:
        raise SchemaTooNewError(label, int(found), known)
