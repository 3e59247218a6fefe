"""store.models: faces re-embedded under another model are rows linked to their source;
deleting any row of a face deletes its rows under every model (transitively, logged per
model); counts are of faces, not rows; dropping a model keeps the rows made from it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from facesearch.errors import Conflict
from facesearch.store.database import Database
from facesearch.store.models import ModelRowsRepository

from .conftest import MODEL

NEXT, THIRD = "next-model-v1", "third-model-v1"


def _vectors(ids: list[int], dim: int = 8) -> list[tuple[int, Any]]:
    rng = np.random.default_rng(7)
    out = []
    for i in ids:
        v = rng.standard_normal(dim).astype(np.float32)
        out.append((i, v / np.linalg.norm(v)))
    return out


def test_repository_built_from_the_database_alone(store: Any) -> None:
    models = ModelRowsRepository(store.database)
    assert isinstance(store.database, Database)
    assert models.unfollowed_suppressions(MODEL, NEXT) == []
    assert models.add_reembedded(NEXT, []) == []


def test_linked_rows_are_deleted_together_and_logged_per_model(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="t")
    faces = [make.face(), make.face()]
    a = store.catalog.add_image(g.id, make.image(), faces, [], subject_label="s")
    b = store.catalog.add_image(g.id, make.image(), [make.face()], [])
    sources = [*a.face_ids, *b.face_ids]
    nxt = store.models.add_reembedded(NEXT, _vectors(sources))
    assert len(nxt) == 3
    assert store.models.add_reembedded(NEXT, _vectors(sources)) == []  # resumable: skipped
    third = store.models.add_reembedded(THIRD, _vectors(nxt[:1]))  # migrated again
    assert store.index_rows.index_state(NEXT).n_faces == 3
    # counts are of faces, not of their rows under several models
    assert store.catalog.list_galleries()[0].n_faces == 3
    assert store.catalog.list_subjects("g")[0].n_faces == 2

    # deleting the newest row of the first face takes its rows under every model
    gone = store.catalog.delete_faces(third)
    assert gone == sorted([a.face_ids[0], nxt[0], third[0]])
    ids, _ = store.index_rows.deletions_since(MODEL, 0)
    assert list(ids) == [a.face_ids[0]]
    assert list(store.index_rows.deletions_since(NEXT, 0)[0]) == [nxt[0]]
    assert list(store.index_rows.deletions_since(THIRD, 0)[0]) == [third[0]]
    assert store.catalog.get_image(a.image_id).n_faces == 1

    # an image delete, from the source side
    assert store.catalog.delete_image(b.image_id) == sorted([b.face_ids[0], nxt[2]])
    assert store.index_rows.index_state(NEXT).n_faces == 1


def test_drop_model_keeps_the_rows_made_from_it(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="t")
    a = store.catalog.add_image(g.id, make.image(), [make.face(), make.face()], [])
    b = store.catalog.add_image(g.id, make.image(), [make.face()], [])
    nxt = store.models.add_reembedded(NEXT, _vectors(list(a.face_ids)))
    with pytest.raises(Conflict, match="1 face"):  # b's face would be lost entirely
        store.models.drop_model(MODEL, keep=NEXT)
    assert store.catalog.delete_image(b.image_id) == list(b.face_ids)
    assert store.models.drop_model(MODEL, keep=NEXT) == list(a.face_ids)
    assert store.index_rows.index_state(MODEL).n_faces == 0
    assert store.index_rows.index_state(NEXT).n_faces == 2
    assert store.catalog.get_image(a.image_id).n_faces == 2  # the new rows are the faces now
    assert store.catalog.delete_faces(nxt[:1]) == nxt[:1]  # no longer linked to anything
