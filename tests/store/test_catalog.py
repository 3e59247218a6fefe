"""The catalog repository built from the database alone (its behaviour: test_galleries,
test_enrollment, test_faces)."""

from __future__ import annotations

from typing import Any

from facesearch.store.audit import AuditRepository
from facesearch.store.catalog import CatalogRepository
from facesearch.store.database import Database
from facesearch.store.records import NewAuditEvent


def test_catalog_is_built_from_the_database_alone(sqlite_db: Database, make: Any) -> None:
    catalog = CatalogRepository(sqlite_db)
    event = NewAuditEvent(actor="t", action="gallery.create")
    gallery = catalog.create_gallery("g", legal_basis="test", audit=lambda g: event)
    enrolled = catalog.add_image(gallery.id, make.image(), [make.face()], [])
    assert catalog.get_face(enrolled.face_ids[0]).gallery_name == "g"
    # the audit hook appended its event in the same transaction
    assert AuditRepository(sqlite_db).list_audit()[0].action == "gallery.create"
