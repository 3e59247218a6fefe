"""Helpers for service tests."""

from __future__ import annotations

from sqlalchemy import text

from facesearch.audit import AuditContext
from facesearch.store import Store

CURATOR = AuditContext(actor="test-curator", client_address="127.0.0.1")
"""The context of enrollments and deletions in service tests."""

INVESTIGATION = AuditContext(
    actor="test-investigator",
    key_prefix="fsk_00000000",
    client_address="127.0.0.1",
    purpose="service test of search ranking",
    case_reference="TEST-1",
    authorization_reference="TEST-AUTH-1",
)
"""A justified context for searches and verifications in service tests."""

TABLES = ("galleries", "subjects", "images", "faces", "face_rejections", "face_deletions")


def row_counts(store: Store) -> dict[str, int]:
    """Rows in every table of the store."""
    with store.engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in TABLES
        }
