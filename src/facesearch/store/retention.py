"""Retention periods in the store.

A gallery's ``retention_days`` says how long an image is kept after its ``collected_at``
(``None``: until deleted). :meth:`RetentionRepository.purge_expired` deletes, in one
transaction under the write lock, every image past its gallery's period with its faces
(logged in ``face_deletions``, so every vector index drops them; thumbnails live in the
face rows), its rejections, the subjects left without faces (their label is a person's
name) and the review judgements of the purged faces, and appends the purge's audit event
(with ``details["review_judgements_deleted"]``, their count).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facesearch.errors import InvalidInput, NotFound
from facesearch.store import _rows, _validate
from facesearch.store.audit import append_event
from facesearch.store.database import Database
from facesearch.store.records import (
    AuditHook,
    ExpiredImage,
    GalleryRecord,
    PurgedImages,
)
from facesearch.store.reviews import drop_judgements, with_details
from facesearch.store.tables import (
    Face,
    FaceRejection,
    Gallery,
    Image,
    Subject,
)


def _expired(session: Session, now: datetime) -> list[ExpiredImage]:
    """Images past their gallery's retention period at ``now``, oldest first per gallery."""
    if now.tzinfo is None:
        raise InvalidInput("now must be timezone-aware")
    out: list[ExpiredImage] = []
    galleries = session.execute(
        select(Gallery.id, Gallery.name, Gallery.retention_days)
        .where(Gallery.retention_days.is_not(None))
        .order_by(Gallery.name)
    ).all()
    collected = func.coalesce(Image.collected_at, Image.created_at)
    for gallery_id, name, days in galleries:
        period = timedelta(days=int(days or 0))
        rows = session.execute(
            select(Image.id, Image.collected_at, Image.created_at, Image.n_faces)
            .where(Image.gallery_id == gallery_id, collected < now - period)
            .order_by(collected, Image.id)
        ).all()
        for image_id, collected_at, created_at, n_faces in rows:
            start = collected_at or created_at
            out.append(ExpiredImage(int(image_id), name, start, start + period, int(n_faces)))
    return out


class RetentionRepository:
    """Retention periods and the purge of expired images."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- retention ----------------------------------------------------------------------
    def set_retention(
        self,
        gallery: str,
        days: int | None,
        *,
        audit: AuditHook[GalleryRecord] | None = None,
    ) -> GalleryRecord:
        """Set ``gallery``'s retention period in days (``None``: keep until deleted)."""
        days = _validate.retention_days(days)
        with self._db.transaction("set_retention", write=True) as s:
            row = s.get(Gallery, _rows.gallery_id(s, gallery))
            if row is None:  # pragma: no cover - _gallery_id raised already
                raise NotFound(f"gallery {gallery!r} not found")
            row.retention_days = days
            s.flush()
            record = _rows.gallery_record(
                s.execute(_rows.gallery_select().where(Gallery.id == row.id)).one()
            )
            if audit is not None:
                append_event(s, audit(record))
            return record

    def expired_images(self, now: datetime) -> list[ExpiredImage]:
        """What :meth:`purge_expired` would delete at ``now`` (aware)."""
        with self._db.transaction("expired_images") as s:
            return _expired(s, now)

    def purge_expired(
        self, now: datetime, *, audit: AuditHook[PurgedImages] | None = None
    ) -> PurgedImages:
        """Delete every image expired at ``now`` with its faces, rejections and the
        subjects left without faces (one transaction; see the module docstring).

        ``audit`` is called even when nothing expired."""
        with self._db.transaction("purge_expired", write=True) as s:
            images = _expired(s, now)
            face_ids: list[int] = []
            subject_ids: set[int] = set()
            nosync = _rows.NO_SYNC
            for chunk in _rows.chunks([i.image_id for i in images]):
                subject_ids |= {
                    v
                    for v in s.scalars(
                        select(Face.subject_id).where(
                            Face.image_id.in_(chunk), Face.subject_id.is_not(None)
                        )
                    )
                    if v is not None
                }
                face_ids += _rows.delete_faces_where(
                    s, Face.image_id.in_(chunk), recount_images=False
                )
                s.execute(
                    delete(FaceRejection).where(FaceRejection.image_id.in_(chunk)),
                    execution_options=nosync,
                )
                s.execute(delete(Image).where(Image.id.in_(chunk)), execution_options=nosync)
            for chunk in _rows.chunks(sorted(subject_ids)):
                kept = select(Face.subject_id).where(Face.subject_id.in_(chunk))
                s.execute(
                    delete(Subject).where(Subject.id.in_(chunk), Subject.id.not_in(kept)),
                    execution_options=nosync,
                )
            dropped = drop_judgements(s, face_ids)
            result = PurgedImages(tuple(images), tuple(sorted(face_ids)))
            if audit is not None:
                append_event(s, with_details(audit(result), review_judgements_deleted=dropped))
            return result
