"""Queries and row conversions shared by :class:`facesearch.store.Store`'s methods.

Everything here runs inside a session the caller opened; nothing commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Row, Select, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from facesearch.errors import NotFound, StoreError
from facesearch.store import _validate
from facesearch.store.records import FaceRecord, GalleryRecord, ImageRecord
from facesearch.store.tables import (
    Face,
    FaceDeletion,
    Gallery,
    Image,
    Subject,
    UTCDateTime,
    utcnow,
)
from facesearch.types import BoundingBox, FaceQuality, Landmarks5

IN_CHUNK = 1000
"""Largest ``IN (...)`` list the store sends."""

NO_SYNC = {"synchronize_session": False}

AnyRow = Row[*tuple[Any, ...]]
AnySelect = Select[*tuple[Any, ...]]


def chunks(values: Sequence[int], size: int = IN_CHUNK) -> Iterator[list[int]]:
    """``values`` as sorted, de-duplicated Python ints, ``size`` at a time."""
    unique = sorted({int(v) for v in values})
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def int_array(values: Sequence[int]) -> NDArray[np.int64]:
    return np.asarray(values, dtype=np.int64).reshape(-1)


# --- galleries ---------------------------------------------------------------------------
def gallery_select() -> AnySelect:
    """Galleries with their counts of subjects, images and faces (unordered)."""
    subjects = (
        select(Subject.gallery_id, func.count().label("n")).group_by(Subject.gallery_id).subquery()
    )
    images = (
        select(
            Image.gallery_id,
            func.count().label("n"),
            func.coalesce(func.sum(Image.n_faces), 0).label("n_faces"),
        )
        .group_by(Image.gallery_id)
        .subquery()
    )
    return (
        select(
            Gallery,
            func.coalesce(subjects.c.n, 0),
            func.coalesce(images.c.n, 0),
            func.coalesce(images.c.n_faces, 0),
        )
        .outerjoin(subjects, subjects.c.gallery_id == Gallery.id)
        .outerjoin(images, images.c.gallery_id == Gallery.id)
    )


def gallery_record(row: AnyRow) -> GalleryRecord:
    gallery, n_subjects, n_images, n_faces = row
    return GalleryRecord(
        id=gallery.id,
        name=gallery.name,
        description=gallery.description,
        legal_basis=gallery.legal_basis,
        source_category=gallery.source_category,
        created_at=gallery.created_at,
        n_subjects=int(n_subjects),
        n_images=int(n_images),
        n_faces=int(n_faces),
        retention_days=gallery.retention_days,
        mask_source_category=bool(gallery.mask_source_category),
    )


# --- images ------------------------------------------------------------------------------
def image_record(image: Image, gallery_name: str) -> ImageRecord:
    return ImageRecord(
        id=image.id,
        gallery_id=image.gallery_id,
        gallery_name=gallery_name,
        sha256=image.sha256,
        source_uri=image.source_uri,
        legal_basis=image.legal_basis,
        captured_at=image.captured_at,
        width=image.width,
        height=image.height,
        n_bytes=image.n_bytes,
        format=image.format,
        n_faces=image.n_faces,
        created_at=image.created_at,
        collected_at=image.collected_at,
    )


# --- faces -------------------------------------------------------------------------------
_FACE_COLUMNS = (
    Face.id,
    Face.image_id,
    Image.gallery_id,
    Gallery.name,
    Face.subject_id,
    Subject.label,
    Face.x1,
    Face.y1,
    Face.x2,
    Face.y2,
    Face.landmarks,
    Face.detector,
    Face.detector_score,
    Face.interocular_px,
    Face.sharpness,
    Face.frontalness,
    Face.quality_score,
    Face.model_id,
    Image.source_uri,
    Image.legal_basis,
    Image.sha256,
    Face.created_at,
)


def face_select() -> AnySelect:
    """Face rows joined with image, gallery and subject; no embedding, no thumbnail."""
    return (
        select(*_FACE_COLUMNS)
        .join(Image, Image.id == Face.image_id)
        .join(Gallery, Gallery.id == Image.gallery_id)
        .outerjoin(Subject, Subject.id == Face.subject_id)
    )


def face_record(row: AnyRow) -> FaceRecord:
    flat = [float(v) for v in row.landmarks]
    points = tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))
    return FaceRecord(
        id=int(row.id),
        image_id=row.image_id,
        gallery_id=row.gallery_id,
        gallery_name=row.name,
        subject_id=row.subject_id,
        subject_label=row.label,
        box=BoundingBox(row.x1, row.y1, row.x2, row.y2),
        landmarks=Landmarks5(points),
        detector=row.detector,
        detector_score=row.detector_score,
        quality=FaceQuality(
            interocular_px=row.interocular_px,
            sharpness=row.sharpness,
            frontalness=row.frontalness,
            score=row.quality_score,
        ),
        model_id=row.model_id,
        source_uri=row.source_uri,
        legal_basis=row.legal_basis,
        image_sha256=row.sha256,
        created_at=row.created_at,
    )


def landmarks_json(landmarks: Landmarks5) -> list[float]:
    """``[x0, y0, x1, y1, ..., x4, y4]`` as plain floats."""
    return [float(c) for point in landmarks.points for c in point]


def decode_embeddings(
    model_id: str, rows: Sequence[Row[int, bytes, int]]
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """``(n,)`` int64 ids and ``(n, d)`` float32 C-contiguous vectors of rows ``(id, blob, d)``."""
    dims = {int(row[2]) for row in rows}
    if len(dims) != 1:
        raise StoreError(f"faces of model {model_id!r} have mixed embedding dimensions")
    (dim,) = dims
    blob = b"".join(bytes(row[1]) for row in rows)
    if len(blob) != 4 * dim * len(rows):
        raise StoreError(f"a stored embedding of model {model_id!r} has the wrong length")
    vectors = np.frombuffer(blob, dtype="<f4").reshape(len(rows), dim)
    ids = int_array([int(row[0]) for row in rows])
    return ids, np.ascontiguousarray(vectors, dtype=np.float32).copy()


def delete_faces_where(
    session: Session, where: ColumnElement[bool], *, recount_images: bool, linked: bool = True
) -> list[int]:
    """Delete the faces matching ``where``, logging each in ``face_deletions``.

    With ``linked`` (always, but for ``facesearch models drop``), the rows of the same faces
    under other models go too, in both directions and transitively: the rows a matched face
    was re-embedded from and the rows re-embedded from it (``faces.source_face_id``,
    ``facesearch models migrate``), each logged under its own model like any other.

    The caller holds the store's write lock, so the faces matched by the statements are
    the same set. With ``recount_images``, ``images.n_faces`` of the images that lost
    faces is recomputed. Returns the deleted ids, ascending.
    """
    if (
        linked
        and session.scalar(select(Face.id).where(Face.source_face_id.is_not(None)).limit(1))
        is not None
    ):
        ids = with_linked_faces(session, session.scalars(select(Face.id).where(where)).all())
        deleted: list[int] = []
        for chunk in chunks(ids):
            deleted += delete_faces_where(
                session, Face.id.in_(chunk), recount_images=recount_images, linked=False
            )
        return sorted(deleted)
    rows = session.execute(select(Face.id, Face.image_id).where(where).order_by(Face.id)).all()
    if not rows:
        return []
    logged = select(Face.id, Face.model_id, literal(utcnow(), UTCDateTime())).where(where)
    session.execute(
        insert(FaceDeletion).from_select(
            ["face_id", "model_id", "deleted_at"], logged.order_by(Face.id)
        )
    )
    session.execute(delete(Face).where(where), execution_options=NO_SYNC)
    if recount_images:
        recount_faces(session, [int(row.image_id) for row in rows])
    return [int(row.id) for row in rows]


def with_linked_faces(session: Session, face_ids: Sequence[int]) -> list[int]:
    """``face_ids`` and every stored row linked to them by ``faces.source_face_id`` (the
    same face under other models), in both directions and transitively; ascending."""
    found = {int(i) for i in face_ids}
    frontier = set(found)
    while frontier:
        new: set[int] = set()
        for chunk in chunks(sorted(frontier)):
            new.update(session.scalars(select(Face.id).where(Face.source_face_id.in_(chunk))))
            new.update(
                int(v)
                for v in session.scalars(
                    select(Face.source_face_id).where(
                        Face.id.in_(chunk), Face.source_face_id.is_not(None)
                    )
                )
                if v is not None
            )
        frontier = new - found
        found |= frontier
    return sorted(found)


def recount_faces(session: Session, image_ids: Sequence[int]) -> None:
    """Set ``images.n_faces`` to the number of faces, for ``image_ids``: rows as enrolled,
    not their re-embeddings under another model (``faces.source_face_id`` set)."""
    count = (
        select(func.count())
        .select_from(Face)
        .where(Face.image_id == Image.id, Face.source_face_id.is_(None))
        .scalar_subquery()
    )
    for chunk in chunks(image_ids):
        session.execute(
            update(Image).where(Image.id.in_(chunk)).values(n_faces=count),
            execution_options=NO_SYNC,
        )


def gallery_id(session: Session, name: str) -> int:
    """The id of the gallery ``name`` (stored name first, then its NFC form); ``NotFound``."""
    found = session.scalar(select(Gallery.id).where(_validate.named(Gallery.name, name)))
    if found is None:
        raise NotFound(f"gallery {name!r} not found")
    return found
