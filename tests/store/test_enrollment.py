"""add_image: one transaction for image, subject, faces and rejections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event

from facesearch.errors import AlreadyExists, Conflict, InvalidInput, NotFound, StoreError


@pytest.fixture
def gallery(store: Any) -> Any:
    return store.catalog.create_gallery("g", legal_basis="consent")


def test_add_image_stores_image_faces_and_rejections(
    database: Any, store: Any, make: Any, gallery: Any
) -> None:
    captured = datetime(2020, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    image = make.image(captured_at=captured)
    faces = [make.face(x=10.0), make.face(x=100.0)]
    enrolled = store.catalog.add_image(
        gallery.id,
        image,
        faces,
        [make.rejection(), make.rejection("blurry")],
        subject_label="alice",
        subject_external_reference="ref-1",
    )
    assert len(enrolled.face_ids) == 2
    assert enrolled.face_ids[0] < enrolled.face_ids[1]
    assert enrolled.subject_id is not None
    assert database.count_rows() == {
        "galleries": 1,
        "subjects": 1,
        "images": 1,
        "faces": 2,
        "face_rejections": 2,
        "face_deletions": 0,
    }

    record = store.catalog.get_image(enrolled.image_id)
    assert (record.sha256, record.width, record.height, record.format) == (
        image.sha256,
        640,
        480,
        "JPEG",
    )
    assert (record.n_faces, record.gallery_name, record.gallery_id) == (2, "g", gallery.id)
    assert record.captured_at == captured
    assert record.captured_at.tzinfo == UTC
    assert record.source_uri == image.source_uri
    assert store.catalog.get_face(enrolled.face_ids[1]).box.x1 == 100.0
    assert store.catalog.image_exists(gallery.id, image.sha256)
    assert not store.catalog.image_exists(gallery.id, "0" * 64)
    assert store.catalog.existing_sha256(gallery.id) == {image.sha256}


def test_subject_is_reused_and_external_reference_checked(
    store: Any, make: Any, gallery: Any
) -> None:
    first = store.catalog.add_image(
        gallery.id, make.image(), [make.face()], [], subject_label="bob"
    )
    second = store.catalog.add_image(
        gallery.id,
        make.image(),
        [make.face()],
        [],
        subject_label="bob",
        subject_external_reference="ref-9",
    )
    assert first.subject_id == second.subject_id
    (subject,) = store.catalog.list_subjects("g")
    assert (subject.n_faces, subject.external_reference) == (2, "ref-9")
    with pytest.raises(Conflict):
        store.catalog.add_image(
            gallery.id,
            make.image(),
            [make.face()],
            [],
            subject_label="bob",
            subject_external_reference="ref-other",
        )
    assert store.catalog.list_subjects("g")[0].n_faces == 2


def test_no_label_means_no_subject(store: Any, make: Any, gallery: Any) -> None:
    enrolled = store.catalog.add_image(gallery.id, make.image(), [make.face()], [])
    assert enrolled.subject_id is None
    face = store.catalog.get_face(enrolled.face_ids[0])
    assert (face.subject_id, face.subject_label) == (None, None)
    assert store.catalog.list_subjects() == []


def test_duplicate_sha256_is_already_exists_and_writes_nothing(
    database: Any, store: Any, make: Any, gallery: Any
) -> None:
    image = make.image()
    store.catalog.add_image(gallery.id, image, [make.face()], [])
    before = database.count_rows()
    with pytest.raises(AlreadyExists):
        store.catalog.add_image(
            gallery.id, image, [make.face()], [make.rejection()], subject_label="new"
        )
    assert database.count_rows() == before
    # The same bytes may be enrolled in another gallery.
    other = store.catalog.create_gallery("other", legal_basis="consent")
    store.catalog.add_image(other.id, image, [make.face()], [])


def test_failure_midway_rolls_back_every_row(
    database: Any, store: Any, make: Any, gallery: Any
) -> None:
    """A database error after the image and face rows were inserted leaves nothing behind."""
    store.catalog.add_image(gallery.id, make.image(), [make.face()], [])
    before = database.count_rows()
    seen: list[str] = []

    def fail_on_rejections(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split()[2] if statement.startswith("INSERT") else "")
        if statement.startswith("INSERT INTO face_rejections"):
            raise RuntimeError("injected failure")

    event.listen(store.engine, "before_cursor_execute", fail_on_rejections)
    try:
        with pytest.raises(RuntimeError, match="injected"):
            store.catalog.add_image(
                gallery.id,
                make.image(),
                [make.face(), make.face()],
                [make.rejection()],
                subject_label="new-subject",
            )
    finally:
        event.remove(store.engine, "before_cursor_execute", fail_on_rejections)
    assert {"subjects", "images", "faces"} <= set(seen)  # the failure really was mid-way
    assert database.count_rows() == before
    assert store.catalog.list_subjects() == []


def test_database_error_midway_is_store_error_and_rolls_back(
    database: Any, store: Any, make: Any, gallery: Any
) -> None:
    """The database refusing the rejection rows (after image and faces) fails it all."""
    before = database.count_rows()

    def break_rejections(
        conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any
    ) -> tuple[str, Any]:
        if statement.startswith("INSERT INTO face_rejections"):
            statement = statement.replace("face_rejections", "no_such_table", 1)
        return statement, parameters

    event.listen(store.engine, "before_cursor_execute", break_rejections, retval=True)
    try:
        with pytest.raises(StoreError, match="add_image failed") as info:
            store.catalog.add_image(
                gallery.id,
                make.image(),
                [make.face(), make.face()],
                [make.rejection()],
                subject_label="s",
            )
    finally:
        event.remove(store.engine, "before_cursor_execute", break_rejections)
    assert "no_such_table" not in str(info.value)  # one line, no SQL
    assert database.count_rows() == before
    # The store still works afterwards.
    assert len(store.catalog.add_image(gallery.id, make.image(), [make.face()], []).face_ids) == 1


def test_unknown_gallery_is_not_found(database: Any, store: Any, make: Any) -> None:
    with pytest.raises(NotFound):
        store.catalog.add_image(12345, make.image(), [make.face()], [])
    assert sum(database.count_rows().values()) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"sha256": "ABC"},
        {"sha256": "G" * 64},
        {"width": -1},
        {"format": ""},
        {"legal_basis": " "},
        {"captured_at": datetime(2020, 1, 1)},
        {"n_bytes": "12"},
    ],
)
def test_invalid_image_is_refused(
    store: Any, make: Any, gallery: Any, change: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        store.catalog.add_image(gallery.id, make.image(**change), [make.face()], [])
    assert store.catalog.get_gallery("g").n_images == 0


@pytest.mark.parametrize(
    "embedding",
    [
        np.zeros((2, 4), dtype=np.float32),
        np.zeros(0, dtype=np.float32),
        np.array([1.0, np.nan], dtype=np.float32),
        np.array([1, 2, 3], dtype=np.int64),
    ],
)
def test_invalid_embedding_is_refused(store: Any, make: Any, gallery: Any, embedding: Any) -> None:
    face = make.face()
    object.__setattr__(face, "embedding", embedding)
    with pytest.raises(InvalidInput):
        store.catalog.add_image(gallery.id, make.image(), [make.face(), face], [])
    assert store.index_rows.count_faces() == 0


def test_external_reference_needs_label(store: Any, make: Any, gallery: Any) -> None:
    with pytest.raises(InvalidInput):
        store.catalog.add_image(gallery.id, make.image(), [], [], subject_external_reference="ref")


def test_image_without_faces(store: Any, make: Any, gallery: Any) -> None:
    enrolled = store.catalog.add_image(gallery.id, make.image(), [], [make.rejection()])
    assert enrolled.face_ids == []
    assert store.catalog.get_image(enrolled.image_id).n_faces == 0


def test_non_numeric_face_fields_are_invalid_input(store: Any, make: Any, gallery: Any) -> None:
    face = make.face()
    object.__setattr__(face, "detector_score", None)
    with pytest.raises(InvalidInput):
        store.catalog.add_image(gallery.id, make.image(), [face], [])
