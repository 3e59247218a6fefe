"""Retention periods and gallery grants in the store.

A gallery's ``retention_days`` says how long an image is kept after its ``collected_at``
(``None``: until deleted). :meth:`RetentionQueries.purge_expired` deletes, in one
transaction under the write lock, every image past its gallery's period with its faces
(logged in ``face_deletions``, so every vector index drops them; thumbnails live in the
face rows), its rejections, the subjects left without faces (their label is a person's
name) and the review judgements of the purged faces, and appends the purge's audit event
(with ``details["review_judgements_deleted"]``, their count).

Grants (``gallery_grants``) give a user the right to search one gallery; they go with
the gallery when it is deleted. A user's effective grants add those of their groups
(:mod:`facesearch.store._groups`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facesearch.errors import AlreadyExists, InvalidInput, NotFound
from facesearch.store import _rows, _validate
from facesearch.store._audit import append_event
from facesearch.store._base import StoreBase
from facesearch.store._review import drop_judgements, with_details
from facesearch.store.records import (
    AuditHook,
    ExpiredImage,
    GalleryRecord,
    GrantRecord,
    PurgedImages,
)
from facesearch.store.tables import (
    Face,
    FaceRejection,
    Gallery,
    GalleryGrant,
    GroupGrant,
    GroupMember,
    Image,
    Subject,
    User,
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


class RetentionQueries(StoreBase):
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
        with self._tx("set_retention", write=True) as s:
            row = s.get(Gallery, self._gallery_id(s, gallery))
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
        with self._tx("expired_images") as s:
            return _expired(s, now)

    def purge_expired(
        self, now: datetime, *, audit: AuditHook[PurgedImages] | None = None
    ) -> PurgedImages:
        """Delete every image expired at ``now`` with its faces, rejections and the
        subjects left without faces (one transaction; see the module docstring).

        ``audit`` is called even when nothing expired."""
        with self._tx("purge_expired", write=True) as s:
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

    # --- gallery grants -----------------------------------------------------------------
    def add_grant(
        self,
        user: str,
        gallery: str,
        *,
        granted_by: str,
        audit: AuditHook[GrantRecord] | None = None,
    ) -> GrantRecord:
        """Let ``user`` search ``gallery``. ``AlreadyExists`` when granted already."""
        taken = f"user {user!r} already holds a grant on gallery {gallery!r}"
        with self._tx("add_grant", write=True, conflict=taken) as s:
            user_id = self._user_id(s, user)
            gallery_id = self._gallery_id(s, gallery)
            exists = select(GalleryGrant.id).where(
                GalleryGrant.user_id == user_id, GalleryGrant.gallery_id == gallery_id
            )
            if s.scalar(exists) is not None:
                raise AlreadyExists(taken)
            row = GalleryGrant(user_id=user_id, gallery_id=gallery_id, granted_by=granted_by)
            s.add(row)
            s.flush()
            record = GrantRecord(user, gallery, granted_by, row.created_at)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def remove_grant(
        self, user: str, gallery: str, *, audit: AuditHook[GrantRecord] | None = None
    ) -> GrantRecord:
        """Withdraw ``user``'s grant on ``gallery``. ``NotFound`` when there is none."""
        with self._tx("remove_grant", write=True) as s:
            user_id = self._user_id(s, user)
            gallery_id = self._gallery_id(s, gallery)
            row = s.scalars(
                select(GalleryGrant).where(
                    GalleryGrant.user_id == user_id, GalleryGrant.gallery_id == gallery_id
                )
            ).first()
            if row is None:
                raise NotFound(f"user {user!r} holds no grant on gallery {gallery!r}")
            record = GrantRecord(user, gallery, row.granted_by, row.created_at)
            s.delete(row)
            s.flush()
            if audit is not None:
                append_event(s, audit(record))
            return record

    def list_grants(
        self, *, user: str | None = None, gallery: str | None = None
    ) -> list[GrantRecord]:
        """Grants, by user then gallery name (optionally of one user or one gallery)."""
        with self._tx("list_grants") as s:
            query = (
                select(User.name, Gallery.name, GalleryGrant.granted_by, GalleryGrant.created_at)
                .join(User, User.id == GalleryGrant.user_id)
                .join(Gallery, Gallery.id == GalleryGrant.gallery_id)
                .order_by(User.name, Gallery.name)
            )
            if user is not None:
                query = query.where(GalleryGrant.user_id == self._user_id(s, user))
            if gallery is not None:
                query = query.where(GalleryGrant.gallery_id == self._gallery_id(s, gallery))
            return [GrantRecord(u, g, by, at) for u, g, by, at in s.execute(query).all()]

    def granted_galleries(self, user: str) -> list[str]:
        """Names of the galleries ``user`` may search, sorted (empty for an unknown user):
        their own grants and those of every group they belong to."""
        with self._tx("granted_galleries") as s:
            user_id = select(User.id).where(_validate.named(User.name, user)).scalar_subquery()
            own = select(GalleryGrant.gallery_id).where(GalleryGrant.user_id == user_id)
            via_groups = (
                select(GroupGrant.gallery_id)
                .join(GroupMember, GroupMember.group_id == GroupGrant.group_id)
                .where(GroupMember.user_id == user_id)
            )
            query = (
                select(Gallery.name)
                .where(Gallery.id.in_(own) | Gallery.id.in_(via_groups))
                .order_by(Gallery.name)
            )
            return list(s.scalars(query))

    @staticmethod
    def _user_id(session: Session, name: str) -> int:
        user_id = session.scalar(select(User.id).where(_validate.named(User.name, name)))
        if user_id is None:
            raise NotFound(f"user {name!r} not found")
        return user_id
