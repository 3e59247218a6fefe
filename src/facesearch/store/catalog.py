"""The relational store: the source of truth of galleries, subjects, images and faces.

:class:`Store` = lifecycle and transactions (:mod:`.database`) + vector-index queries
(:mod:`.index_rows`) + the galleries, subjects, enrollment and faces methods here. Every
public method is one transaction; see :mod:`facesearch.store.database` for error mapping and
write serialization.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, false, func, or_, select
from sqlalchemy.orm import Session

from facesearch.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    SuppressionListChanged,
)
from facesearch.names import name_key, shown
from facesearch.store import _rows, _validate
from facesearch.store.audit import append_event
from facesearch.store.database import Database
from facesearch.store.privacy import suppression_marks_in
from facesearch.store.records import (
    AuditHook,
    EnrolledImage,
    FaceRecord,
    GalleryRecord,
    ImageRecord,
    NameCollisionRecord,
    NewFace,
    NewImage,
    NewRejection,
    SubjectRecord,
)
from facesearch.store.tables import (
    Face,
    FaceRejection,
    Gallery,
    GalleryGrant,
    GroupGrant,
    Image,
    NameCollision,
    Subject,
    User,
    UserGroup,
    utcnow,
)


class CatalogRepository:
    """Galleries, subjects, images and faces: create, read, enroll (one image per
    transaction) and delete (every face deletion logged in ``face_deletions``).

    Write methods take an optional ``audit`` hook: a function of the write's result that
    returns the :class:`~facesearch.store.records.NewAuditEvent` appended to the audit log
    in the same transaction (so the change and its audit event commit, or fail, together).
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- galleries -----------------------------------------------------------------------
    def create_gallery(
        self,
        name: str,
        *,
        legal_basis: str,
        description: str = "",
        source_category: str = "unspecified",
        retention_days: int | None = None,
        audit: AuditHook[GalleryRecord] | None = None,
    ) -> GalleryRecord:
        """A new, empty gallery, its name in NFC. ``AlreadyExists`` when ``name``, or a name
        a reader cannot tell from it (same :func:`facesearch.names.name_key`), is taken."""
        name = _validate.name("name", name)
        key = name_key(name)
        _validate.text("legal_basis", legal_basis)
        _validate.text("source_category", source_category, 100)
        retention_days = _validate.retention_days(retention_days)
        if not isinstance(description, str):
            raise InvalidInput("description must be a string")
        exists = f"gallery {name!r} already exists"
        with self._db.transaction("create_gallery", write=True, conflict=exists) as s:
            if s.scalar(select(Gallery.id).where(Gallery.name == name)) is not None:
                raise AlreadyExists(exists)
            like = s.scalar(select(Gallery.name).where(Gallery.name_key == key).limit(1))
            if like is not None:
                new, old = shown(name, like)
                raise AlreadyExists(f"gallery {new} looks like the existing gallery {old}")
            gallery = Gallery(
                name=name,
                name_key=key,
                legal_basis=legal_basis,
                description=description,
                source_category=source_category,
                retention_days=retention_days,
            )
            s.add(gallery)
            s.flush()
            record = GalleryRecord(
                id=gallery.id,
                name=gallery.name,
                description=gallery.description,
                legal_basis=gallery.legal_basis,
                source_category=gallery.source_category,
                created_at=gallery.created_at,
                n_subjects=0,
                n_images=0,
                n_faces=0,
                retention_days=gallery.retention_days,
            )
            if audit is not None:
                append_event(s, audit(record))
            return record

    def get_gallery(self, name: str) -> GalleryRecord:
        with self._db.transaction("get_gallery") as s:
            query = _rows.gallery_select().where(_validate.named(Gallery.name, name))
            row = s.execute(query).first()
            if row is None:
                raise NotFound(f"gallery {name!r} not found")
            return _rows.gallery_record(row)

    def name_collisions(self, *, include_resolved: bool = False) -> list[NameCollisionRecord]:
        """Names migration 0007 could not make unambiguous (left as they were), oldest
        first: those still open (the flagged row still exists under that stored name), and
        with ``include_resolved`` also those resolved since (``resolved`` set)."""
        tables: dict[str, tuple[Any, Any]] = {
            "gallery": (Gallery.id, Gallery.name),
            "user": (User.id, User.name),
            "group": (UserGroup.id, UserGroup.name),
            "subject": (Subject.id, Subject.label),
        }
        with self._db.transaction("name_collisions") as s:
            out = []
            for r in s.scalars(select(NameCollision).order_by(NameCollision.id)).all():
                id_column, name_column = tables[r.kind]
                still = select(id_column).where(id_column == r.row_id, name_column == r.name)
                resolved = s.scalar(still) is None
                if include_resolved or not resolved:
                    out.append(
                        NameCollisionRecord(
                            r.kind, r.row_id, r.name, r.other, r.reason, r.created_at, resolved
                        )
                    )
            return out

    def list_galleries(self) -> list[GalleryRecord]:
        """All galleries, by name."""
        with self._db.transaction("list_galleries") as s:
            rows = s.execute(_rows.gallery_select().order_by(Gallery.name)).all()
            return [_rows.gallery_record(row) for row in rows]

    def delete_gallery(self, name: str, *, audit: AuditHook[list[int]] | None = None) -> list[int]:
        """Delete the gallery with its subjects, images, faces and rejections.

        Returns the deleted face ids (ascending), each logged in ``face_deletions``.
        """
        with self._db.transaction("delete_gallery", write=True) as s:
            gallery_id = _rows.gallery_id(s, name)
            image_ids = select(Image.id).where(Image.gallery_id == gallery_id)
            face_ids = _rows.delete_faces_where(
                s, Face.image_id.in_(image_ids), recount_images=False
            )
            nosync = _rows.NO_SYNC
            s.execute(
                delete(FaceRejection).where(FaceRejection.image_id.in_(image_ids)),
                execution_options=nosync,
            )
            s.execute(delete(Image).where(Image.gallery_id == gallery_id), execution_options=nosync)
            s.execute(
                delete(Subject).where(Subject.gallery_id == gallery_id), execution_options=nosync
            )
            s.execute(
                delete(GalleryGrant).where(GalleryGrant.gallery_id == gallery_id),
                execution_options=nosync,
            )
            s.execute(
                delete(GroupGrant).where(GroupGrant.gallery_id == gallery_id),
                execution_options=nosync,
            )
            s.execute(delete(Gallery).where(Gallery.id == gallery_id), execution_options=nosync)
            if audit is not None:
                append_event(s, audit(face_ids))
            return face_ids

    # --- subjects ------------------------------------------------------------------------
    def list_subjects(self, gallery: str | None = None) -> list[SubjectRecord]:
        """Subjects of one gallery (or all), by gallery name then label."""
        with self._db.transaction("list_subjects") as s:
            n_faces = (
                select(Face.subject_id, func.count().label("n"))
                .where(Face.subject_id.is_not(None), Face.source_face_id.is_(None))
                .group_by(Face.subject_id)
                .subquery()
            )
            query = (
                select(Subject, Gallery.name, func.coalesce(n_faces.c.n, 0))
                .join(Gallery, Gallery.id == Subject.gallery_id)
                .outerjoin(n_faces, n_faces.c.subject_id == Subject.id)
                .order_by(Gallery.name, Subject.label)
            )
            if gallery is not None:
                query = query.where(Subject.gallery_id == _rows.gallery_id(s, gallery))
            return [
                SubjectRecord(
                    id=subject.id,
                    gallery_id=subject.gallery_id,
                    gallery_name=gallery_name,
                    label=subject.label,
                    external_reference=subject.external_reference,
                    n_faces=int(count),
                    created_at=subject.created_at,
                )
                for subject, gallery_name, count in s.execute(query).all()
            ]

    def delete_subject(
        self,
        gallery: str,
        label: str,
        *,
        audit: AuditHook[tuple[int, list[int]]] | None = None,
    ) -> list[int]:
        """Delete the subject and its faces (their images stay). Returns the face ids;
        ``audit`` gets the subject's id and the face ids."""
        with self._db.transaction("delete_subject", write=True) as s:
            gallery_id = _rows.gallery_id(s, gallery)
            subject_id = s.scalar(
                select(Subject.id).where(
                    Subject.gallery_id == gallery_id,
                    _validate.named(Subject.label, label, Subject.gallery_id),
                )
            )
            if subject_id is None:
                raise NotFound(f"subject {label!r} not found in gallery {gallery!r}")
            face_ids = _rows.delete_faces_where(
                s, Face.subject_id == subject_id, recount_images=True
            )
            s.execute(
                delete(Subject).where(Subject.id == subject_id), execution_options=_rows.NO_SYNC
            )
            if audit is not None:
                append_event(s, audit((subject_id, face_ids)))
            return face_ids

    # --- enrollment ----------------------------------------------------------------------
    def image_exists(self, gallery_id: int, sha256: str) -> bool:
        with self._db.transaction("image_exists") as s:
            query = select(Image.id).where(Image.gallery_id == gallery_id, Image.sha256 == sha256)
            return s.scalar(query) is not None

    def existing_sha256(self, gallery_id: int) -> set[str]:
        """The sha256 of every image of the gallery."""
        with self._db.transaction("existing_sha256") as s:
            return set(s.scalars(select(Image.sha256).where(Image.gallery_id == gallery_id)))

    def add_image(
        self,
        gallery_id: int,
        image: NewImage,
        faces: Sequence[NewFace],
        rejections: Sequence[NewRejection],
        *,
        subject_label: str | None = None,
        subject_external_reference: str | None = None,
        suppressions_checked: tuple[str, tuple[int, int]] | None = None,
        audit: AuditHook[EnrolledImage] | None = None,
    ) -> EnrolledImage:
        """Store an image, its accepted faces and its rejected faces in one transaction.

        With ``subject_label``, the subject is found or created in the gallery and every
        face of the image belongs to it. ``NotFound`` for an unknown gallery,
        ``AlreadyExists`` when the gallery holds an image of the same sha256, ``Conflict``
        when the subject exists with another external reference.

        ``suppressions_checked`` is ``(model_id, marks)``: the suppression list the faces
        were checked against
        (:meth:`~facesearch.store.privacy.PrivacyRepository.suppression_marks`). Writers
        are serialised, so if the list still has those marks inside this transaction, no
        erasure completed in between, in any process; else :class:`SuppressionListChanged`
        and nothing is written.
        """
        _validate.image(image)
        embeddings = _validate.faces(faces)
        _validate.rejections(rejections)
        label = _validate.optional_name("subject_label", subject_label)
        reference = _validate.optional_text(
            "subject_external_reference", subject_external_reference, 200
        )
        if label is None and reference is not None:
            raise InvalidInput("subject_external_reference needs a subject_label")
        duplicate = f"this image (sha256 {image.sha256[:12]}...) is already in the gallery"
        with self._db.transaction("add_image", write=True, conflict=duplicate) as s:
            if s.get(Gallery, gallery_id) is None:
                raise NotFound(f"gallery id {gallery_id} not found")
            if suppressions_checked is not None:
                model_id, marks = suppressions_checked
                if suppression_marks_in(s, model_id) != marks:
                    raise SuppressionListChanged(
                        "the suppression list changed while this image was being stored"
                    )
            taken = select(Image.id).where(
                Image.gallery_id == gallery_id, Image.sha256 == image.sha256
            )
            if s.scalar(taken) is not None:
                raise AlreadyExists(duplicate)
            subject_id = (
                None
                if label is None or subject_label is None
                else self._subject_for(s, gallery_id, subject_label, label, reference)
            )
            created = utcnow()
            row = Image(
                gallery_id=gallery_id,
                sha256=image.sha256,
                source_uri=image.source_uri,
                legal_basis=image.legal_basis,
                captured_at=image.captured_at,
                created_at=created,
                collected_at=image.collected_at or created,
                width=int(image.width),
                height=int(image.height),
                n_bytes=int(image.n_bytes),
                format=image.format,
                n_faces=len(faces),
            )
            s.add(row)
            s.flush()
            face_rows = [
                Face(
                    image_id=row.id,
                    subject_id=subject_id,
                    x1=float(face.box.x1),
                    y1=float(face.box.y1),
                    x2=float(face.box.x2),
                    y2=float(face.box.y2),
                    landmarks=_rows.landmarks_json(face.landmarks),
                    detector=face.detector,
                    detector_score=float(face.detector_score),
                    interocular_px=float(face.quality.interocular_px),
                    sharpness=float(face.quality.sharpness),
                    frontalness=float(face.quality.frontalness),
                    quality_score=float(face.quality.score),
                    model_id=face.model_id,
                    embedding=blob,
                    embedding_dim=dim,
                    thumbnail=bytes(face.thumbnail),
                    crop=None if face.crop is None else bytes(face.crop),
                    crop_box=None if face.crop_box is None else list(face.crop_box.as_tuple()),
                )
                for face, (blob, dim) in zip(faces, embeddings, strict=True)
            ]
            s.add_all(face_rows)
            s.flush()
            s.add_all(
                FaceRejection(
                    image_id=row.id,
                    x1=float(r.box.x1),
                    y1=float(r.box.y1),
                    x2=float(r.box.x2),
                    y2=float(r.box.y2),
                    reason=r.reason,
                    interocular_px=float(r.quality.interocular_px),
                    sharpness=float(r.quality.sharpness),
                    frontalness=float(r.quality.frontalness),
                    quality_score=float(r.quality.score),
                )
                for r in rejections
            )
            s.flush()
            enrolled = EnrolledImage(
                image_id=row.id, face_ids=[int(f.id) for f in face_rows], subject_id=subject_id
            )
            if audit is not None:
                append_event(s, audit(enrolled))
            return enrolled

    @staticmethod
    def _subject_for(
        session: Session, gallery_id: int, given: str, label: str, reference: str | None
    ) -> int:
        """The id of the subject ``given`` names in the gallery (exact stored label first,
        then its NFC form ``label``), created under ``label`` when there is none."""
        subject = session.scalars(
            select(Subject).where(
                Subject.gallery_id == gallery_id,
                _validate.named(Subject.label, given, Subject.gallery_id),
            )
        ).first()
        if subject is None:
            subject = Subject(gallery_id=gallery_id, label=label, external_reference=reference)
            session.add(subject)
            session.flush()
        elif reference is not None and subject.external_reference != reference:
            if subject.external_reference is not None:
                raise Conflict(f"subject {label!r} has another external reference")
            subject.external_reference = reference
        return subject.id

    # --- faces ---------------------------------------------------------------------------
    def get_faces(self, ids: Sequence[int]) -> dict[int, FaceRecord]:
        """The faces of ``ids`` that exist, by id (missing ids are absent)."""
        out: dict[int, FaceRecord] = {}
        with self._db.transaction("get_faces") as s:
            for chunk in _rows.chunks(ids):
                for row in s.execute(_rows.face_select().where(Face.id.in_(chunk))):
                    record = _rows.face_record(row)
                    out[record.id] = record
        return out

    def get_face(self, id: int) -> FaceRecord:
        with self._db.transaction("get_face") as s:
            row = s.execute(_rows.face_select().where(Face.id == int(id))).first()
            if row is None:
                raise NotFound(f"face {id} not found")
            return _rows.face_record(row)

    def get_thumbnail(self, face_id: int) -> bytes:
        """The face's JPEG thumbnail."""
        with self._db.transaction("get_thumbnail") as s:
            thumbnail = s.scalar(select(Face.thumbnail).where(Face.id == int(face_id)))
            if thumbnail is None:
                raise NotFound(f"face {face_id} not found")
            return bytes(thumbnail)

    def list_faces(
        self,
        *,
        gallery: str | None = None,
        subject: str | None = None,
        limit: int = 100,
        offset: int = 0,
        galleries: Sequence[str] | None = None,
    ) -> list[FaceRecord]:
        """Faces by ascending id, optionally of one gallery and/or one subject label, and
        only of ``galleries`` when given (names; unknown ones match nothing).

        ``NotFound`` when the named gallery, or a subject of that label (within
        ``galleries``), does not exist.
        """
        if limit < 0 or offset < 0:
            raise InvalidInput("limit and offset must be non-negative")
        with self._db.transaction("list_faces") as s:
            query = _rows.face_select()
            if gallery is not None:
                query = query.where(Image.gallery_id == _rows.gallery_id(s, gallery))
            within = None
            if galleries is not None:
                names = [_validate.named(Gallery.name, g) for g in galleries]
                within = select(Gallery.id).where(or_(false(), *names))
                query = query.where(Image.gallery_id.in_(within))
            if subject is not None:
                subjects = select(Subject.id).where(
                    _validate.named(Subject.label, subject, Subject.gallery_id)
                )
                if gallery is not None:
                    subjects = subjects.where(Subject.gallery_id == _rows.gallery_id(s, gallery))
                if within is not None:
                    subjects = subjects.where(Subject.gallery_id.in_(within))
                if s.scalar(subjects.limit(1)) is None:
                    raise NotFound(f"subject {subject!r} not found")
                query = query.where(Face.subject_id.in_(subjects))
            rows = s.execute(query.order_by(Face.id).limit(limit).offset(offset)).all()
            return [_rows.face_record(row) for row in rows]

    def delete_faces(
        self, ids: Sequence[int], *, audit: AuditHook[list[int]] | None = None
    ) -> list[int]:
        """Delete the faces of ``ids``; returns those that existed (ascending)."""
        deleted: list[int] = []
        with self._db.transaction("delete_faces", write=True) as s:
            for chunk in _rows.chunks(ids):
                deleted += _rows.delete_faces_where(s, Face.id.in_(chunk), recount_images=True)
            if audit is not None:
                append_event(s, audit(deleted))
        return deleted

    def delete_image(
        self, image_id: int, *, audit: AuditHook[list[int]] | None = None
    ) -> list[int]:
        """Delete the image with its faces and rejections; returns the face ids."""
        with self._db.transaction("delete_image", write=True) as s:
            if s.get(Image, image_id) is None:
                raise NotFound(f"image {image_id} not found")
            face_ids = _rows.delete_faces_where(s, Face.image_id == image_id, recount_images=False)
            s.execute(
                delete(FaceRejection).where(FaceRejection.image_id == image_id),
                execution_options=_rows.NO_SYNC,
            )
            s.execute(delete(Image).where(Image.id == image_id), execution_options=_rows.NO_SYNC)
            if audit is not None:
                append_event(s, audit(face_ids))
            return face_ids

    def get_image(self, image_id: int) -> ImageRecord:
        with self._db.transaction("get_image") as s:
            row = s.execute(
                select(Image, Gallery.name)
                .join(Gallery, Gallery.id == Image.gallery_id)
                .where(Image.id == image_id)
            ).first()
            if row is None:
                raise NotFound(f"image {image_id} not found")
            return _rows.image_record(row[0], row[1])
