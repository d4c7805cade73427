"""Repositories: all of Navet's SQL, one module per concept.

The engine (:class:`~gateway.core.store.base.Store`: connections, the writer
thread and its batches, migrations, dialect) runs SQL; the repositories here
say what it is. Each module holds functions of a connection, so a caller can
put several of them in one write job (one transaction), and where useful a
small repository class that runs them through the engine. No module outside
``gateway/core/store`` writes SQL (``tests/core/test_sql_home.py``).
"""
