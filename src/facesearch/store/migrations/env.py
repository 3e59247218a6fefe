"""Alembic environment of the store, run programmatically by :func:`facesearch.store.migrate`.

The caller passes an open :class:`sqlalchemy.engine.Connection` in
``config.attributes["connection"]``; there is no ``alembic.ini`` and no URL here. The
version table is created unqualified, so on PostgreSQL it lands in the first schema of
the connection's ``search_path``, beside the tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from facesearch.store.tables import Base


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "facesearch migrations run from facesearch.store.migrate(), "
            "which passes a connection in config.attributes['connection']"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("facesearch migrations run online only")
run_migrations_online()
