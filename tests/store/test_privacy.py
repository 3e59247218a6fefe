"""Erasure requests and suppressions in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from facesearch.errors import Conflict, NotFound, SuppressionListChanged
from facesearch.store import NewAuditEvent, ProposedFace
from facesearch.store.database import Database as StoreDatabase
from facesearch.store.privacy import PrivacyRepository

from .conftest import DIM, MODEL


def _request(store: Any, proposed: list[int], **kw: Any) -> Any:
    vector = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    return store.privacy.add_erasure_request(
        reference="ER-1",
        note="",
        model_id=MODEL,
        embedding=vector,
        target_fmr=1e-4,
        threshold=0.9,
        proposed=[ProposedFace(i, 0.95) for i in proposed],
        created_by="curator",
        **kw,
    )


def test_confirmation_erases_faces_images_subjects_and_suppresses(
    store: Any, make: Any, database: Any
) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    alone = store.catalog.add_image(
        g.id, make.image(), [make.face()], [make.rejection()], subject_label="p"
    )
    shared = store.catalog.add_image(g.id, make.image(), [make.face(), make.face(x=90.0)], [])
    other = store.catalog.add_image(g.id, make.image(), [make.face()], [], subject_label="q")
    erase = [alone.face_ids[0], shared.face_ids[0]]
    request = _request(store, erase)
    assert request.status == "pending" and store.privacy.suppression_marks(MODEL) == (0, 0)
    record = store.privacy.complete_erasure(
        request.id,
        [*erase, 999999],
        decided_by="curator",
        audit=lambda r: NewAuditEvent(actor="curator", action="erasure.confirm"),
    )
    assert record.status == "completed" and list(record.erased_face_ids) == sorted(erase)
    assert record.decided_by == "curator" and record.decided_at is not None
    counts = database.count_rows()
    assert counts["faces"] == 2 and counts["images"] == 2 and counts["subjects"] == 1
    assert counts["face_rejections"] == 0 and counts["face_deletions"] == 2
    assert {f.id for f in store.catalog.list_faces()} == {shared.face_ids[1], other.face_ids[0]}
    vectors = store.privacy.suppressed_embeddings(MODEL)
    assert vectors.shape == (3, DIM) and vectors.dtype == np.float32
    assert store.privacy.suppression_marks(MODEL)[1] == 3
    assert [s.reference for s in store.privacy.list_suppressions()] == ["ER-1"] * 3
    assert store.audit.list_audit(limit=1)[0].action == "erasure.confirm"
    with pytest.raises(Conflict):
        store.privacy.complete_erasure(request.id, [], decided_by="curator")
    with pytest.raises(Conflict):
        store.privacy.cancel_erasure(request.id, decided_by="curator")


def test_cancel_keeps_everything_and_suppresses_nothing(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    image = store.catalog.add_image(g.id, make.image(), [make.face()], [])
    request = _request(store, image.face_ids)
    assert store.privacy.cancel_erasure(request.id, decided_by="c").status == "cancelled"
    assert store.privacy.suppressed_embeddings(MODEL).shape == (0, 0)
    assert [f.id for f in store.catalog.list_faces()] == image.face_ids
    assert [r.status for r in store.privacy.list_erasure_requests()] == ["cancelled"]
    assert store.privacy.list_erasure_requests("pending") == []
    with pytest.raises(NotFound):
        store.privacy.get_erasure_request(12345)


def test_a_failing_audit_hook_rolls_the_erasure_back(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    image = store.catalog.add_image(g.id, make.image(), [make.face()], [])
    request = _request(store, image.face_ids)

    def broken(record: Any) -> NewAuditEvent:
        raise RuntimeError("audit down")

    with pytest.raises(RuntimeError):
        store.privacy.complete_erasure(request.id, image.face_ids, decided_by="c", audit=broken)
    assert [f.id for f in store.catalog.list_faces()] == image.face_ids
    assert store.privacy.get_erasure_request(request.id).status == "pending"
    assert store.privacy.suppression_marks(MODEL) == (0, 0)


def test_an_image_checked_against_an_older_suppression_list_is_not_stored(
    store: Any, make: Any, database: Any
) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    checked = store.privacy.suppression_marks(MODEL)
    store.privacy.complete_erasure(_request(store, []).id, [], decided_by="curator")
    assert store.privacy.suppression_marks(MODEL) != checked
    before = database.count_rows()
    with pytest.raises(SuppressionListChanged):
        store.catalog.add_image(
            g.id, make.image(), [make.face()], [], suppressions_checked=(MODEL, checked)
        )
    assert database.count_rows() == before
    fresh = store.privacy.suppression_marks(MODEL)
    stored = store.catalog.add_image(
        g.id, make.image(), [make.face()], [], suppressions_checked=(MODEL, fresh)
    )
    assert len(stored.face_ids) == 1


def test_privacy_is_built_from_the_database_alone(sqlite_db: StoreDatabase) -> None:
    privacy = PrivacyRepository(sqlite_db)
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8)
    request = privacy.add_erasure_request(
        reference="ER-1", note="", model_id=MODEL, embedding=vector,
        target_fmr=1e-4, threshold=0.9, proposed=[], created_by="c",
    )  # fmt: skip
    assert privacy.get_erasure_request(request.id).status == "pending"
