"""Faces: joined records, listing, thumbnails, deletes and their deletion log."""

from __future__ import annotations

from typing import Any

import pytest

from facesearch.errors import InvalidInput, NotFound
from facesearch.types import BoundingBox, FaceQuality, Landmarks5

MODEL = "test-model-v1"


@pytest.fixture
def two_galleries(store: Any, make: Any) -> dict[str, Any]:
    a = store.catalog.create_gallery("a", legal_basis="consent A")
    b = store.catalog.create_gallery("b", legal_basis="consent B")
    return {
        "a_alice": store.catalog.add_image(
            a.id,
            make.image(source_uri="s3://a/1.jpg"),
            [make.face(), make.face()],
            [],
            subject_label="alice",
        ),
        "a_none": store.catalog.add_image(a.id, make.image(source_uri=None), [make.face()], []),
        "b_alice": store.catalog.add_image(
            b.id, make.image(legal_basis="warrant 5"), [make.face()], [], subject_label="alice"
        ),
        "b_bob": store.catalog.add_image(
            b.id, make.image(), [make.face()], [], subject_label="bob"
        ),
        "a": a,
        "b": b,
    }


def test_get_faces_joins_gallery_subject_and_image(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="gallery basis")
    image = make.image(source_uri="https://example.org/p.jpg", legal_basis="image basis")
    face = make.face()
    enrolled = store.catalog.add_image(g.id, image, [face], [], subject_label="carol")

    records = store.catalog.get_faces([enrolled.face_ids[0], 999_999])
    assert list(records) == enrolled.face_ids
    record = records[enrolled.face_ids[0]]
    assert (record.gallery_id, record.gallery_name) == (g.id, "g")
    assert (record.subject_id, record.subject_label) == (enrolled.subject_id, "carol")
    assert record.image_id == enrolled.image_id
    assert record.source_uri == "https://example.org/p.jpg"
    assert record.legal_basis == "image basis"
    assert record.image_sha256 == image.sha256
    assert record.model_id == MODEL
    assert record.box == BoundingBox(10.0, 20.0, 60.5, 80.25)
    assert record.landmarks == face.landmarks
    assert isinstance(record.landmarks, Landmarks5)
    assert record.quality == FaceQuality(22.5, 140.0, 0.9, 0.8)
    assert (record.detector, record.detector_score) == ("fake", 0.875)
    assert record.created_at.tzinfo is not None
    assert not hasattr(record, "embedding")
    assert store.catalog.get_face(enrolled.face_ids[0]) == record
    assert store.catalog.get_thumbnail(enrolled.face_ids[0]) == b"\xff\xd8thumb"


def test_get_faces_chunks_long_id_lists(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    enrolled = store.catalog.add_image(g.id, make.image(), [make.face() for _ in range(5)], [])
    asked = list(range(1, 2600)) + enrolled.face_ids
    assert sorted(store.catalog.get_faces(asked)) == enrolled.face_ids
    assert store.catalog.get_faces([]) == {}


def test_unknown_ids_are_not_found(store: Any) -> None:
    with pytest.raises(NotFound):
        store.catalog.get_face(1)
    with pytest.raises(NotFound):
        store.catalog.get_thumbnail(1)
    with pytest.raises(NotFound):
        store.catalog.get_image(1)
    with pytest.raises(NotFound):
        store.catalog.delete_image(1)
    assert store.catalog.delete_faces([1, 2]) == []


def test_list_faces_filters_and_pages(store: Any, two_galleries: dict[str, Any]) -> None:
    ids = {k: v.face_ids for k, v in two_galleries.items() if hasattr(v, "face_ids")}
    everything = sorted(i for v in ids.values() for i in v)

    assert [f.id for f in store.catalog.list_faces()] == everything
    assert [f.id for f in store.catalog.list_faces(gallery="a")] == ids["a_alice"] + ids["a_none"]
    assert [f.id for f in store.catalog.list_faces(subject="alice")] == ids["a_alice"] + ids[
        "b_alice"
    ]
    assert [f.id for f in store.catalog.list_faces(gallery="b", subject="alice")] == ids["b_alice"]
    assert [f.id for f in store.catalog.list_faces(limit=2, offset=1)] == everything[1:3]
    assert store.catalog.list_faces(limit=0) == []
    with pytest.raises(NotFound):
        store.catalog.list_faces(gallery="zzz")
    with pytest.raises(NotFound):
        store.catalog.list_faces(gallery="a", subject="bob")
    with pytest.raises(InvalidInput):
        store.catalog.list_faces(limit=-1)


def test_delete_faces_returns_existing_ids_and_updates_images(
    store: Any, two_galleries: dict[str, Any]
) -> None:
    alice = two_galleries["a_alice"]
    first, second = alice.face_ids
    assert store.catalog.delete_faces([first, 424242, first]) == [first]
    assert store.catalog.get_image(alice.image_id).n_faces == 1
    assert store.catalog.get_gallery("a").n_faces == 2
    assert store.catalog.list_subjects("a")[0].n_faces == 1
    assert store.catalog.delete_faces([first]) == []
    assert store.catalog.delete_faces([second]) == [second]
    assert store.catalog.get_image(alice.image_id).n_faces == 0
    assert store.index_rows.deletions_since(MODEL, 0)[0].tolist() == [first, second]


def test_delete_image_deletes_faces_and_rejections(database: Any, store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    gone = store.catalog.add_image(
        g.id, make.image(), [make.face(), make.face()], [make.rejection()]
    )
    kept = store.catalog.add_image(g.id, make.image(), [make.face()], [make.rejection()])
    assert store.catalog.delete_image(gone.image_id) == gone.face_ids
    rows = database.count_rows()
    assert (rows["images"], rows["faces"], rows["face_rejections"], rows["face_deletions"]) == (
        1,
        1,
        1,
        2,
    )
    assert store.catalog.get_image(kept.image_id).n_faces == 1
    with pytest.raises(NotFound):
        store.catalog.get_image(gone.image_id)
    assert store.catalog.existing_sha256(g.id) == {store.catalog.get_image(kept.image_id).sha256}


def test_face_ids_increase_and_are_never_reused(database: Any, store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    ids = store.catalog.add_image(g.id, make.image(), [make.face() for _ in range(3)], []).face_ids
    assert ids == sorted(ids) and len(set(ids)) == 3
    highest = ids[-1]
    assert store.catalog.delete_faces([highest]) == [highest]
    again = store.catalog.add_image(g.id, make.image(), [make.face()], []).face_ids[0]
    assert again > highest
    # Also across a restart: the counter lives in the database, not the process.
    assert store.catalog.delete_faces([again]) == [again]
    store.close()
    reopened = database.open_store()
    newest = reopened.catalog.add_image(g.id, make.image(), [make.face()], []).face_ids[0]
    assert newest > again
    # Deletion sequence numbers are never reused either.
    _, seq = reopened.index_rows.deletions_since(MODEL, 0)
    reopened.catalog.delete_faces([newest])
    ids_after, seq_after = reopened.index_rows.deletions_since(MODEL, seq)
    assert ids_after.tolist() == [newest] and seq_after > seq
