"""Engine set-up and migrations of the store.

SQLite connections get WAL journaling, ``foreign_keys=ON``, ``busy_timeout=30000`` and
``secure_delete=ON`` (deleted rows, such as erased thumbnails and embeddings, are
overwritten with zeros rather than left in free pages) on connect, and explicit
transactions: ``BEGIN`` for reads and ``BEGIN IMMEDIATE`` for writes (a connection run
with the execution option ``facesearch_write=True``), so that a read-then-write
transaction never fails to upgrade its lock under concurrent writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
WRITE_OPTION = "facesearch_write"
"""Execution option that marks a connection's transaction as a writer (SQLite: IMMEDIATE)."""


def make_engine(url: str, engine_kwargs: dict[str, Any] | None = None) -> Engine:
    """An engine for ``url`` (an SQLAlchemy URL), configured for the store.

    For an SQLite file, its parent folder is created when missing.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **(engine_kwargs or {}))
    configure_engine(engine)
    return engine


def configure_engine(engine: Engine) -> None:
    """Install the SQLite connection settings on ``engine`` (idempotent; no-op elsewhere).

    Connections the engine already pooled are not changed: call this before first use.
    """
    if engine.dialect.name != "sqlite":
        return
    if not event.contains(engine, "connect", _sqlite_on_connect):
        event.listen(engine, "connect", _sqlite_on_connect)
    if not event.contains(engine, "begin", _sqlite_on_begin):
        event.listen(engine, "begin", _sqlite_on_begin)


def _sqlite_on_connect(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is
    # deferred until the first write, which breaks transaction isolation).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = bool(conn.get_execution_options().get(WRITE_OPTION, False))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the store's migrations, without any ``alembic.ini``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database of ``engine`` to ``revision``, in one transaction.

    On PostgreSQL the tables and ``alembic_version`` go to the first schema of the
    connection's ``search_path``.
    """
    with engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            command.upgrade(alembic_config(connection), revision)
