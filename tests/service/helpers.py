"""Helpers for service tests."""

from __future__ import annotations

from sqlalchemy import text

from facesearch.store import Store

TABLES = ("galleries", "subjects", "images", "faces", "face_rejections", "face_deletions")


def row_counts(store: Store) -> dict[str, int]:
    """Rows in every table of the store."""
    with store.engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in TABLES
        }
