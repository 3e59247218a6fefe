"""Migrations create the schema, mirror the models, and land in the test's schema."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from facesearch.errors import StoreError
from facesearch.store import Store
from facesearch.store.engine import alembic_config
from facesearch.store.tables import Base

TABLES = {
    "galleries",
    "subjects",
    "images",
    "faces",
    "face_rejections",
    "face_deletions",
    "users",
    "api_keys",
    "audit_events",
    "erasure_requests",
    "suppressions",
    "gallery_grants",
    "review_judgements",
    "user_groups",
    "group_members",
    "group_grants",
    "name_collisions",
    "index_watermarks",
}


def test_migrations_create_every_table(database: Any, store: Any) -> None:
    inspector = inspect(database.engine())
    names = set(inspector.get_table_names())
    assert names >= TABLES | {"alembic_version"}
    faces = {c["name"] for c in inspector.get_columns("faces")}
    assert {"embedding", "embedding_dim", "model_id", "thumbnail", "landmarks"} <= faces
    indexes = {i["name"] for i in inspector.get_indexes("faces")}
    assert {"ix_faces_image_id", "ix_faces_subject_id", "ix_faces_model_id_id"} <= indexes
    fks = {fk["referred_table"]: fk for fk in inspector.get_foreign_keys("faces")}
    assert fks["images"]["options"].get("ondelete") == "CASCADE"
    assert fks["subjects"]["options"].get("ondelete") == "SET NULL"
    assert inspector.get_pk_constraint("face_deletions")["constrained_columns"] == ["seq"]
    assert inspector.get_pk_constraint("audit_events")["constrained_columns"] == ["seq"]
    keys = {c["name"] for c in inspector.get_columns("api_keys")}
    assert {"prefix", "key_hash", "expires_at", "revoked_at", "last_used_at"} <= keys
    assert "key" not in keys and "secret" not in keys


def test_upgrade_from_0001_keeps_the_catalog(database: Any) -> None:
    from facesearch.store.engine import migrate

    engine = database.engine()
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO galleries (name, legal_basis) VALUES ('old', 'test')"))
    store = database.open_store()  # upgrades to head
    assert [g.name for g in store.catalog.list_galleries()] == ["old"]
    assert store.accounts.list_users() == [] and store.audit.audit_head() is None


def test_version_table_is_in_the_test_schema(database: Any, store: Any) -> None:
    engine = database.engine()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0010"
    if database.kind == "postgresql":
        names = inspect(engine).get_table_names(schema=database.schema)
        assert set(names) >= TABLES | {"alembic_version"}


def test_migration_mirrors_the_models(database: Any, store: Any) -> None:
    with database.engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_reopening_does_not_migrate_again(database: Any, store: Any) -> None:
    store.catalog.create_gallery("kept", legal_basis="test")
    again = database.open_store()
    assert [g.name for g in again.catalog.list_galleries()] == ["kept"]


def test_downgrade_to_base_drops_the_tables(database: Any, store: Any) -> None:
    store.close()
    engine = database.engine()
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert not set(inspect(engine).get_table_names()) & TABLES


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sqlite_file_uses_wal_and_foreign_keys(database: Any, store: Any) -> None:
    raw = sqlite3.connect(database.sqlite_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sqlite_writers_begin_immediate(database: Any, store: Any) -> None:
    """A write transaction holds SQLite's write lock from its start, not its first write."""
    other = sqlite3.connect(database.sqlite_path, timeout=0, isolation_level=None)
    try:
        with store.database.transaction("probe", write=True) as session:
            session.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_from_engine_keeps_the_callers_engine(database: Any) -> None:

    engine = database.engine()
    store = Store.from_engine(engine)
    store.catalog.create_gallery("g", legal_basis="test")
    store.close()
    with engine.connect() as conn:  # still usable: the store did not dispose it
        assert conn.execute(text("SELECT COUNT(*) FROM galleries")).scalar_one() == 1


def test_database_of_an_unknown_newer_revision_is_store_error(database: Any, store: Any) -> None:

    with database.engine().begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="migrate"):
        database.open_store()


def test_sqlite_store_creates_its_folder(tmp_path: Any) -> None:
    store = Store(f"sqlite:///{tmp_path}/new/folder/facesearch.db")
    try:
        assert store.catalog.list_galleries() == []
        assert (tmp_path / "new" / "folder" / "facesearch.db").is_file()
    finally:
        store.close()
