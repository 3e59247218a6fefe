"""What the vector index reads: ids, embeddings, watermarks and the deletion log."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from facesearch.errors import InvalidInput
from facesearch.store import IndexState
from facesearch.store.database import Database as StoreDatabase
from facesearch.store.index_rows import IndexRowsRepository

MODEL = "test-model-v1"


@pytest.fixture
def enrolled(store: Any, make: Any) -> dict[str, Any]:
    """Twelve faces of MODEL in galleries a and b, and two of another model (dim 4)."""
    a = store.catalog.create_gallery("a", legal_basis="test")
    b = store.catalog.create_gallery("b", legal_basis="test")
    faces_a = [make.face() for _ in range(7)]
    faces_b = [make.face() for _ in range(5)]
    other = [make.face(model_id="other", dim=4) for _ in range(2)]
    ids_a = store.catalog.add_image(a.id, make.image(), faces_a[:4], []).face_ids
    ids_a += store.catalog.add_image(a.id, make.image(), faces_a[4:] + other, []).face_ids[:3]
    ids_b = store.catalog.add_image(b.id, make.image(), faces_b, []).face_ids
    vectors = {i: f.embedding for i, f in zip(ids_a + ids_b, faces_a + faces_b, strict=True)}
    return {"a": a, "b": b, "ids_a": ids_a, "ids_b": ids_b, "vectors": vectors}


def _collect(batches: Any) -> tuple[np.ndarray, np.ndarray]:
    ids, vecs = [], []
    for batch_ids, batch_vecs in batches:
        assert batch_ids.dtype == np.int64 and batch_ids.ndim == 1
        assert batch_vecs.dtype == np.float32 and batch_vecs.flags.c_contiguous
        assert batch_vecs.shape == (batch_ids.shape[0], 8)
        ids.append(batch_ids)
        vecs.append(batch_vecs)
    return np.concatenate(ids), np.concatenate(vecs)


def test_iter_embeddings_round_trips_bit_exact(store: Any, enrolled: dict[str, Any]) -> None:
    expected = enrolled["vectors"]
    batches = list(store.index_rows.iter_embeddings(MODEL, batch_size=5))
    assert [len(b[0]) for b in batches] == [5, 5, 2]
    ids, vecs = _collect(batches)
    assert ids.tolist() == sorted(expected)
    want = np.stack([expected[i] for i in ids.tolist()])
    assert vecs.tobytes() == want.astype("<f4").tobytes()


def test_iter_embeddings_of_given_ids(store: Any, enrolled: dict[str, Any]) -> None:
    expected = enrolled["vectors"]
    other_model_id = max(enrolled["ids_a"]) + 1  # a face of the "other" model
    asked = [
        enrolled["ids_b"][2],
        enrolled["ids_a"][0],
        10**9,
        other_model_id,
        enrolled["ids_a"][0],
    ]
    ids, vecs = _collect(store.index_rows.iter_embeddings(MODEL, ids=asked, batch_size=1))
    assert ids.tolist() == sorted({enrolled["ids_a"][0], enrolled["ids_b"][2]})
    want = np.stack([expected[i] for i in ids.tolist()])
    assert np.array_equal(vecs.view(np.uint32), want.view(np.uint32))
    assert list(store.index_rows.iter_embeddings(MODEL, ids=[])) == []
    other = list(store.index_rows.iter_embeddings("other"))
    assert len(other) == 1 and other[0][1].shape == (2, 4)


def test_iter_embeddings_of_unknown_model_is_empty(store: Any) -> None:
    assert list(store.index_rows.iter_embeddings("nobody")) == []
    with pytest.raises(InvalidInput):
        list(store.index_rows.iter_embeddings(MODEL, batch_size=0))


def test_face_ids_and_counts(store: Any, enrolled: dict[str, Any]) -> None:
    all_ids = sorted(enrolled["ids_a"] + enrolled["ids_b"])
    face_ids = store.index_rows.face_ids(MODEL)
    assert face_ids.dtype == np.int64 and face_ids.tolist() == all_ids
    assert store.index_rows.count_faces(MODEL) == 12
    assert store.index_rows.count_faces("other") == 2
    assert store.index_rows.count_faces() == 14
    assert store.index_rows.face_ids("nobody").shape == (0,)
    a, b = enrolled["a"].id, enrolled["b"].id
    ids, galleries = store.index_rows.face_galleries(MODEL, batch_size=5)  # 3 pages
    assert ids.dtype == galleries.dtype == np.int64
    assert ids.tolist() == all_ids
    assert dict(zip(ids.tolist(), galleries.tolist(), strict=True)) == {
        **dict.fromkeys(enrolled["ids_a"], a),
        **dict.fromkeys(enrolled["ids_b"], b),
    }
    assert store.index_rows.face_galleries("nobody")[0].shape == (0,)
    with pytest.raises(InvalidInput):
        store.index_rows.face_galleries(MODEL, batch_size=0)
    assert store.index_rows.count_in_galleries(MODEL, [b]) == len(enrolled["ids_b"])
    assert store.index_rows.count_in_galleries(MODEL, [a, b, b, 999]) == 12
    assert store.index_rows.count_in_galleries("other", [b]) == 0
    assert store.index_rows.count_in_galleries(MODEL, []) == 0


def test_index_state_and_deletions_since(store: Any, enrolled: dict[str, Any]) -> None:
    all_ids = sorted(enrolled["ids_a"] + enrolled["ids_b"])
    assert store.index_rows.index_state("nobody") == IndexState(0, 0, 0)
    assert store.index_rows.index_state(MODEL) == IndexState(max(all_ids), 12, 0)
    ids, seq = store.index_rows.deletions_since(MODEL, 0)
    assert ids.dtype == np.int64 and ids.tolist() == [] and seq == 0

    store.catalog.delete_faces([all_ids[3], all_ids[0]])
    state = store.index_rows.index_state(MODEL)
    assert (state.n_faces, state.max_face_id) == (10, max(all_ids))
    ids, seq = store.index_rows.deletions_since(MODEL, 0)
    assert sorted(ids.tolist()) == [all_ids[0], all_ids[3]]
    assert seq == state.last_deletion_seq > 0

    store.catalog.delete_gallery("b")
    later, seq2 = store.index_rows.deletions_since(MODEL, seq)
    assert later.tolist() == enrolled["ids_b"] and seq2 > seq
    empty, same = store.index_rows.deletions_since(MODEL, seq2)
    assert empty.tolist() == [] and same == seq2
    assert store.index_rows.index_state(MODEL) == IndexState(max(enrolled["ids_a"]), 5, seq2)
    # Other models' deletions are not in this model's log.
    assert store.index_rows.deletions_since("other", 0)[0].tolist() == []


def test_change_marks_and_face_ids_after(store: Any, enrolled: dict[str, Any]) -> None:
    all_ids = sorted(enrolled["ids_a"] + enrolled["ids_b"])
    assert store.index_rows.change_marks("nobody") == (0, 0)
    assert store.index_rows.change_marks(MODEL) == (max(all_ids), 0)
    assert store.index_rows.face_ids(MODEL, after=all_ids[8]).tolist() == all_ids[9:]
    store.catalog.delete_faces([all_ids[2]])
    max_id, seq = store.index_rows.change_marks(MODEL)
    assert (
        max_id == max(all_ids) and seq == store.index_rows.index_state(MODEL).last_deletion_seq > 0
    )


def test_index_rows_are_built_from_the_database_alone(sqlite_db: StoreDatabase, make: Any) -> None:
    rows = IndexRowsRepository(sqlite_db)
    assert rows.index_state(MODEL).n_faces == 0 and rows.change_marks(MODEL) == (0, 0)
