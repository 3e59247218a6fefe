"""Galleries and subjects: create, read, count, delete."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from facesearch.errors import AlreadyExists, InvalidInput, NotFound, StoreError
from facesearch.store.tables import Gallery, Subject


def test_create_get_and_list_galleries(store: Any) -> None:
    created = store.catalog.create_gallery(
        "staff", legal_basis="employment contract", description="badge photos"
    )
    assert created.name == "staff"
    assert created.source_category == "unspecified"
    assert created.created_at.tzinfo is not None
    assert created.created_at.utcoffset() == UTC.utcoffset(None)
    store.catalog.create_gallery(
        "archive", legal_basis="court order 12", source_category="historical"
    )

    fetched = store.catalog.get_gallery("staff")
    assert fetched == created
    assert (fetched.n_subjects, fetched.n_images, fetched.n_faces) == (0, 0, 0)
    assert [g.name for g in store.catalog.list_galleries()] == ["archive", "staff"]
    assert store.catalog.get_gallery("archive").source_category == "historical"


def test_duplicate_gallery_name_is_already_exists(store: Any) -> None:
    store.catalog.create_gallery("g", legal_basis="test")
    with pytest.raises(AlreadyExists, match="'g'"):
        store.catalog.create_gallery("g", legal_basis="other")
    assert len(store.catalog.list_galleries()) == 1


@pytest.mark.parametrize(
    ("name", "legal_basis"), [("", "basis"), ("   ", "basis"), ("g", ""), ("x" * 201, "basis")]
)
def test_invalid_gallery_input(store: Any, name: str, legal_basis: str) -> None:
    with pytest.raises(InvalidInput):
        store.catalog.create_gallery(name, legal_basis=legal_basis)
    assert store.catalog.list_galleries() == []


def test_unknown_gallery_is_not_found(store: Any) -> None:
    with pytest.raises(NotFound):
        store.catalog.get_gallery("nope")
    with pytest.raises(NotFound):
        store.catalog.delete_gallery("nope")
    with pytest.raises(NotFound):
        store.catalog.list_subjects("nope")
    with pytest.raises(NotFound):
        store.catalog.delete_subject("nope", "alice")


def test_gallery_counts(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    store.catalog.add_image(
        g.id, make.image(), [make.face(), make.face()], [], subject_label="alice"
    )
    store.catalog.add_image(
        g.id, make.image(), [make.face()], [make.rejection()], subject_label="bob"
    )
    store.catalog.add_image(g.id, make.image(), [make.face()], [])
    record = store.catalog.get_gallery("g")
    assert (record.n_subjects, record.n_images, record.n_faces) == (2, 3, 4)
    assert store.catalog.list_galleries() == [record]


def test_list_subjects_with_face_counts(store: Any, make: Any) -> None:
    a = store.catalog.create_gallery("a", legal_basis="test")
    b = store.catalog.create_gallery("b", legal_basis="test")
    store.catalog.add_image(
        a.id,
        make.image(),
        [make.face(), make.face()],
        [],
        subject_label="zoe",
        subject_external_reference="case-7",
    )
    store.catalog.add_image(a.id, make.image(), [make.face()], [], subject_label="adam")
    store.catalog.add_image(b.id, make.image(), [make.face()], [], subject_label="zoe")

    in_a = store.catalog.list_subjects("a")
    assert [(s.label, s.n_faces, s.gallery_name) for s in in_a] == [
        ("adam", 1, "a"),
        ("zoe", 2, "a"),
    ]
    assert in_a[1].external_reference == "case-7"
    assert in_a[1].gallery_id == a.id
    everywhere = store.catalog.list_subjects()
    assert [(s.gallery_name, s.label) for s in everywhere] == [
        ("a", "adam"),
        ("a", "zoe"),
        ("b", "zoe"),
    ]


def test_delete_subject_deletes_its_faces_and_keeps_images(store: Any, make: Any) -> None:
    g = store.catalog.create_gallery("g", legal_basis="test")
    alice = store.catalog.add_image(
        g.id, make.image(), [make.face(), make.face()], [], subject_label="alice"
    )
    bob = store.catalog.add_image(g.id, make.image(), [make.face()], [], subject_label="bob")

    assert store.catalog.delete_subject("g", "alice") == alice.face_ids
    assert [s.label for s in store.catalog.list_subjects("g")] == ["bob"]
    assert store.catalog.get_faces(alice.face_ids) == {}
    image = store.catalog.get_image(alice.image_id)
    assert image.n_faces == 0
    assert store.catalog.get_faces(bob.face_ids).keys() == set(bob.face_ids)
    record = store.catalog.get_gallery("g")
    assert (record.n_subjects, record.n_images, record.n_faces) == (1, 2, 1)
    ids, _ = store.index_rows.deletions_since("test-model-v1", 0)
    assert ids.tolist() == alice.face_ids
    with pytest.raises(NotFound):
        store.catalog.delete_subject("g", "alice")


def test_delete_gallery_removes_everything_and_logs_faces(
    database: Any, store: Any, make: Any
) -> None:
    keep = store.catalog.create_gallery("keep", legal_basis="test")
    kept = store.catalog.add_image(keep.id, make.image(), [make.face()], [make.rejection()])
    g = store.catalog.create_gallery("g", legal_basis="test")
    first = store.catalog.add_image(
        g.id, make.image(), [make.face(), make.face()], [make.rejection()], subject_label="s"
    )
    second = store.catalog.add_image(g.id, make.image(), [make.face(model_id="other-model")], [])

    deleted = store.catalog.delete_gallery("g")
    assert deleted == sorted(first.face_ids + second.face_ids)
    assert [x.name for x in store.catalog.list_galleries()] == ["keep"]
    assert database.count_rows() == {
        "galleries": 1,
        "subjects": 0,
        "images": 1,
        "faces": 1,
        "face_rejections": 1,
        "face_deletions": 3,
    }
    assert store.index_rows.deletions_since("test-model-v1", 0)[0].tolist() == first.face_ids
    assert store.index_rows.deletions_since("other-model", 0)[0].tolist() == second.face_ids
    assert store.catalog.get_faces(kept.face_ids).keys() == set(kept.face_ids)
    with pytest.raises(NotFound):
        store.catalog.get_image(first.image_id)
    # The name is free again.
    assert store.catalog.create_gallery("g", legal_basis="test").id != g.id


def test_unique_violation_maps_to_already_exists_other_integrity_to_store_error(
    store: Any,
) -> None:
    """The race paths: the database's own constraints, past the store's pre-checks."""
    store.catalog.create_gallery("g", legal_basis="test")
    with (
        pytest.raises(AlreadyExists, match="raced"),
        store.database.transaction("t", write=True, conflict="raced") as s,
    ):
        s.add(Gallery(name="g", legal_basis="test"))
        s.flush()
    with (
        pytest.raises(StoreError, match="integrity"),
        store.database.transaction("t", write=True) as s,
    ):
        s.add(Subject(gallery_id=424242, label="orphan"))  # foreign keys are enforced
        s.flush()
    assert store.catalog.list_subjects() == []
