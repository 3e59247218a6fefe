"""Shared-index watermarks in the store: moved only forward by a reconcile, set by a
rebuild, seen by every store on the database; the face-to-gallery lookup."""

from __future__ import annotations

from typing import Any

import numpy as np

from facesearch.store import Store

from .conftest import MODEL


def test_watermark_moves_only_forward_and_is_shared(database: Any, store: Store) -> None:
    repo = store.index_watermarks
    assert repo.get("c") is None
    first = repo.advance("c", model_id=MODEL, max_face_id=10, deletion_seq=3)
    assert (first.max_face_id, first.deletion_seq) == (10, 3)
    # two processes reconciling at once: neither moves it back
    other = database.open_store().index_watermarks
    other.advance("c", model_id=MODEL, max_face_id=7, deletion_seq=5)
    got = repo.get("c")
    assert got is not None and (got.max_face_id, got.deletion_seq) == (10, 5)
    assert got.updated_at.tzinfo is not None
    rebuilt = other.set("c", model_id=MODEL, max_face_id=4, deletion_seq=1)  # a rebuild
    assert (rebuilt.max_face_id, rebuilt.deletion_seq) == (4, 1)
    repo.clear("c")
    cleared = repo.get("c")
    assert cleared is not None and (cleared.max_face_id, cleared.deletion_seq) == (0, 0)
    assert repo.get("other") is None


def test_galleries_of_faces(store: Store, make: Any) -> None:
    a = store.catalog.create_gallery("a", legal_basis="test")
    b = store.catalog.create_gallery("b", legal_basis="test")
    ids_a = store.catalog.add_image(a.id, make.image(), [make.face(), make.face()], []).face_ids
    ids_b = store.catalog.add_image(b.id, make.image(), [make.face()], []).face_ids
    other = store.catalog.add_image(b.id, make.image(), [make.face(model_id="other", dim=4)], [])
    query = np.array([ids_b[0], ids_a[1], 999_999, other.face_ids[0], ids_a[0]])
    got = store.index_watermarks.galleries_of(MODEL, query)
    np.testing.assert_array_equal(got, [b.id, a.id, -1, -1, a.id])
