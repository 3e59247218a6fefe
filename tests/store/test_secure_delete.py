"""Erased data does not linger in the SQLite file: connections run with secure_delete."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from facesearch.store import Store
from facesearch.store.engine import _sqlite_on_connect

from .conftest import Make

# SQLite only (secure_delete is an SQLite setting; PostgreSQL's VACUUM is another story), so
# these tests open their own SQLite store rather than the both-databases fixture.


def test_store_connections_run_with_secure_delete(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'facesearch.db'}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
    finally:
        store.close()


def test_a_deleted_thumbnail_is_overwritten_in_the_database_file(
    tmp_path: Path, make: Make
) -> None:
    path = tmp_path / "facesearch.db"
    marker = b"THUMBNAIL-OF-AN-ERASED-PERSON-" * 40
    store = Store(f"sqlite:///{path}")
    gallery = store.catalog.create_gallery("g", legal_basis="test")
    face = dataclasses.replace(make.face(), thumbnail=marker)
    enrolled = store.catalog.add_image(gallery.id, make.image(), [face], [])
    store.catalog.delete_faces(enrolled.face_ids)
    store.close()  # the last connection checkpoints the WAL into the file
    with sqlite3.connect(path) as raw:  # and empties the WAL, if any is left
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    files = [path, path.with_name("facesearch.db-wal")]
    contents = b"".join(p.read_bytes() for p in files if p.exists())
    assert b"THUMBNAIL-OF-AN-ERASED-PERSON-" not in contents


def test_the_connect_hook_turns_secure_delete_on_whatever_the_build_default() -> None:
    # Many SQLite builds default to secure_delete=ON; the hook must not rely on that.
    raw = sqlite3.connect(":memory:")
    try:
        raw.execute("PRAGMA secure_delete=OFF")
        assert raw.execute("PRAGMA secure_delete").fetchone() == (0,)
        _sqlite_on_connect(raw, None)  # type: ignore[arg-type]
        assert raw.execute("PRAGMA secure_delete").fetchone() == (1,)
    finally:
        raw.close()
