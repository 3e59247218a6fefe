"""Retention periods, purges and gallery grants in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from facesearch.errors import AlreadyExists, InvalidInput, NotFound
from facesearch.store import NewAuditEvent
from facesearch.store.catalog import CatalogRepository
from facesearch.store.database import Database as StoreDatabase
from facesearch.store.engine import migrate
from facesearch.store.retention import RetentionRepository

from .conftest import MODEL

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _enroll(store: Any, make: Any, gallery_id: int, *, at: datetime, label: str | None) -> Any:
    return store.catalog.add_image(
        gallery_id,
        make.image(collected_at=at),
        [make.face()],
        [make.rejection()],
        subject_label=label,
    )


def test_collected_at_defaults_to_the_enrollment_time(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="t")
    enrolled = store.catalog.add_image(g.id, make.image(), [make.face()], [])
    image = store.catalog.get_image(enrolled.image_id)
    assert image.collected_at == image.created_at
    given = store.catalog.add_image(g.id, make.image(collected_at=T0), [make.face()], [])
    assert store.catalog.get_image(given.image_id).collected_at == T0
    with pytest.raises(InvalidInput, match="collected_at"):
        store.catalog.add_image(g.id, make.image(collected_at=datetime(2026, 1, 1)), [], [])


def test_retention_is_set_validated_and_audited(store: Any) -> None:
    assert store.catalog.create_gallery("g", legal_basis="t").retention_days is None
    assert (
        store.catalog.create_gallery("h", legal_basis="t", retention_days=30).retention_days == 30
    )
    event = NewAuditEvent(actor="tester", action="gallery.retention")
    record = store.retention.set_retention("g", 7, audit=lambda g: event)
    assert record.retention_days == 7 and store.catalog.get_gallery("g").retention_days == 7
    assert store.audit.list_audit(limit=1)[0].action == "gallery.retention"
    assert store.retention.set_retention("g", None).retention_days is None
    for bad in (0, -1, 36_501, True):
        with pytest.raises(InvalidInput, match="retention_days"):
            store.retention.set_retention("g", bad)
    with pytest.raises(NotFound):
        store.retention.set_retention("nope", 3)


def test_purge_deletes_expired_images_faces_and_empty_subjects(
    store: Any, make: Any, database: Any
) -> None:
    g = store.catalog.create_gallery("g", legal_basis="t", retention_days=30)
    keep = store.catalog.create_gallery("keep", legal_basis="t")  # no period: never purged
    old = _enroll(store, make, g.id, at=T0, label="Ann")
    both = _enroll(store, make, g.id, at=T0, label="Bob")
    recent = _enroll(store, make, g.id, at=T0 + timedelta(days=20), label="Bob")
    kept = _enroll(store, make, keep.id, at=T0 - timedelta(days=3000), label="Cy")
    _, before_seq = store.index_rows.deletions_since(MODEL, 0)

    assert store.retention.expired_images(T0 + timedelta(days=29)) == []
    at = T0 + timedelta(days=31)
    expired = store.retention.expired_images(at)
    assert [e.image_id for e in expired] == [old.image_id, both.image_id]
    assert expired[0].expires_at == T0 + timedelta(days=30) and expired[0].n_faces == 1
    assert database.count_rows()["images"] == 4  # listing deletes nothing

    purged = store.retention.purge_expired(
        at, audit=lambda p: NewAuditEvent(actor="system:retention", action="retention.purge")
    )
    assert [i.image_id for i in purged.images] == [old.image_id, both.image_id]
    assert list(purged.face_ids) == old.face_ids + both.face_ids
    assert purged.by_gallery() == {"g": {"images": 2, "faces": 2}}
    rows = database.count_rows()
    assert rows["images"] == 2 and rows["faces"] == 2 and rows["face_rejections"] == 2
    # every deleted face is logged, so vector indexes drop it
    logged, _ = store.index_rows.deletions_since(MODEL, before_seq)
    assert sorted(int(i) for i in logged) == sorted(purged.face_ids)
    # Ann had no face left and went; Bob keeps his recent photo; the other gallery is untouched
    assert [s.label for s in store.catalog.list_subjects("g")] == ["Bob"]
    assert store.catalog.get_image(recent.image_id) and store.catalog.get_image(kept.image_id)
    assert store.audit.list_audit(limit=1)[0].action == "retention.purge"
    assert store.retention.purge_expired(at).images == ()  # nothing left to purge
    with pytest.raises(InvalidInput):
        store.retention.expired_images(datetime(2026, 3, 1))


def test_a_failing_audit_hook_rolls_the_purge_back(store: Any, make: Any, database: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="t", retention_days=1)
    _enroll(store, make, g.id, at=T0, label=None)

    def boom(_: Any) -> NewAuditEvent:
        raise RuntimeError("audit unavailable")

    with pytest.raises(RuntimeError):
        store.retention.purge_expired(T0 + timedelta(days=2), audit=boom)
    assert database.count_rows()["faces"] == 1


def test_upgrade_from_0003_fills_collected_at(database: Any) -> None:
    engine = database.engine()
    migrate(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO galleries (name, legal_basis) VALUES ('old', 'test')"))
        conn.execute(
            text(
                "INSERT INTO images (gallery_id, sha256, legal_basis, width, height, n_bytes,"
                " format, n_faces, created_at) VALUES (1, :sha, 'test', 1, 1, 1, 'JPEG', 0,"
                " :at)"
            ),
            {"sha": "a" * 64, "at": T0},
        )
    store = database.open_store()
    image = store.catalog.get_image(1)
    assert image.collected_at == T0 == image.created_at
    assert store.catalog.get_gallery("old").retention_days is None
    assert store.retention.expired_images(T0 + timedelta(days=10_000)) == []


def test_grants_add_list_remove_and_go_with_the_gallery(store: Any) -> None:
    store.accounts.create_user("ivy", ["investigator"])
    store.accounts.create_user("joe", ["investigator"])
    for name in ("a", "b"):
        store.catalog.create_gallery(name, legal_basis="t")
    assert store.groups.granted_galleries("ivy") == []
    grant = store.groups.add_grant(
        "ivy", "b", granted_by="root", audit=lambda g: NewAuditEvent("root", "grant.add")
    )
    assert (grant.user_name, grant.gallery_name, grant.granted_by) == ("ivy", "b", "root")
    store.groups.add_grant("ivy", "a", granted_by="root")
    store.groups.add_grant("joe", "a", granted_by="root")
    assert store.groups.granted_galleries("ivy") == ["a", "b"]
    assert store.groups.granted_galleries("nobody") == []
    with pytest.raises(AlreadyExists):
        store.groups.add_grant("ivy", "a", granted_by="root")
    with pytest.raises(NotFound, match="user"):
        store.groups.add_grant("zed", "a", granted_by="root")
    with pytest.raises(NotFound, match="gallery"):
        store.groups.add_grant("ivy", "zz", granted_by="root")
    assert [(g.user_name, g.gallery_name) for g in store.groups.list_grants()] == [
        ("ivy", "a"),
        ("ivy", "b"),
        ("joe", "a"),
    ]
    assert [g.user_name for g in store.groups.list_grants(gallery="a")] == ["ivy", "joe"]
    store.groups.remove_grant("ivy", "b")
    with pytest.raises(NotFound, match="no grant"):
        store.groups.remove_grant("ivy", "b")
    store.catalog.delete_gallery("a")
    assert store.groups.list_grants() == []
    assert store.audit.list_audit(limit=5)[-1].action == "grant.add"


def test_retention_is_built_from_the_database_alone(sqlite_db: StoreDatabase) -> None:
    CatalogRepository(sqlite_db).create_gallery("g", legal_basis="t")
    retention = RetentionRepository(sqlite_db)
    assert retention.set_retention("g", 7).retention_days == 7
    assert retention.expired_images(datetime.now(UTC)) == []
