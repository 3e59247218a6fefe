"""Galleries, subjects, images and faces in the engine: create, list and delete.

A part of the engine (:class:`~facesearch.service.FaceSearch` builds it). A delete is one
store transaction with its audit event, under the engine's write lock, and then the index
applies the logged deletions (store first, then index).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from facesearch.audit import AuditContext, AuditLog
from facesearch.privacy import FieldKind, check_fields
from facesearch.service.index_sync import IndexSync
from facesearch.store import (
    AuditHook,
    FaceRecord,
    GalleryRecord,
    NewAuditEvent,
    SubjectRecord,
)
from facesearch.store.catalog import CatalogRepository


class Catalog:
    """Create, read and delete galleries, subjects, images and faces (audited).

    ``write_lock`` is the engine's lock around store-then-index steps."""

    def __init__(
        self,
        *,
        catalog: CatalogRepository,
        index: IndexSync,
        audit: AuditLog,
        write_lock: threading.Lock,
    ) -> None:
        self._catalog = catalog
        self._index = index
        self._audit = audit
        self._write_lock = write_lock

    # --- galleries and subjects ---------------------------------------------------------
    def create_gallery(
        self,
        name: str,
        *,
        legal_basis: str,
        description: str = "",
        source_category: str = "unspecified",
        retention_days: int | None = None,
        context: AuditContext,
    ) -> GalleryRecord:
        check_fields(
            {
                # a gallery is not a person: a date in its name is an event's unless marked
                # as a birth ("booking-2024-03-15" passes)
                "name": (name, FieldKind.REFERENCE),
                "description": (description, FieldKind.NARRATIVE),
                "legal_basis": (legal_basis, FieldKind.NARRATIVE),
                "source_category": (source_category, FieldKind.REFERENCE),
            }
        )
        gallery = self._catalog.create_gallery(
            name.strip(),
            legal_basis=legal_basis.strip(),
            description=description,
            source_category=source_category,
            retention_days=retention_days,
            audit=lambda g: context.event(
                "gallery.create",
                target=f"gallery:{g.name}",
                galleries=(g.name,),
                details={"retention_days": g.retention_days},
            ),
        )
        self._audit.committed()
        return gallery

    def list_galleries(self) -> list[GalleryRecord]:
        return self._catalog.list_galleries()

    def delete_gallery(self, name: str, *, context: AuditContext) -> list[int]:
        target = f"gallery:{name}"
        with self._write_lock:
            ids = self._catalog.delete_gallery(
                name, audit=self._deletion_event(context, "gallery.delete", target, (name,))
            )
            self._index.apply_deletions()
        self._audit.committed()
        return ids

    def list_subjects(self, gallery: str | None = None) -> list[SubjectRecord]:
        return self._catalog.list_subjects(gallery)

    def delete_subject(self, gallery: str, label: str, *, context: AuditContext) -> list[int]:
        """Delete a subject and its faces. The audit event names the subject by its id, not
        its label (often a person's name, which the append-only log could never drop)."""

        def event(deleted: tuple[int, list[int]]) -> NewAuditEvent:
            subject_id, ids = deleted
            return context.event(
                "subject.delete",
                target=f"subject:{subject_id}",
                galleries=(gallery,),
                details={"face_ids": list(ids)},
            )

        with self._write_lock:
            ids = self._catalog.delete_subject(gallery, label, audit=event)
            self._index.apply_deletions()
        self._audit.committed()
        return ids

    # --- faces and images ---------------------------------------------------------------
    def list_faces(
        self,
        *,
        gallery: str | None = None,
        subject: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FaceRecord]:
        return self._catalog.list_faces(
            gallery=gallery, subject=subject, limit=limit, offset=offset
        )

    def get_face(self, face_id: int) -> FaceRecord:
        return self._catalog.get_face(face_id)

    def delete_faces(self, ids: Sequence[int], *, context: AuditContext) -> list[int]:
        """Delete the faces of ``ids``; returns those that existed (ascending)."""
        event = self._deletion_event(context, "face.delete", None, ())
        with self._write_lock:
            deleted = self._catalog.delete_faces(list(ids), audit=event)
            self._index.apply_deletions()
        self._audit.committed()
        return deleted

    def delete_image(self, image_id: int, *, context: AuditContext) -> list[int]:
        event = self._deletion_event(context, "image.delete", f"image:{image_id}", ())
        with self._write_lock:
            deleted = self._catalog.delete_image(image_id, audit=event)
            self._index.apply_deletions()
        self._audit.committed()
        return deleted

    # --- helpers ------------------------------------------------------------------------
    @staticmethod
    def _deletion_event(
        context: AuditContext, action: str, target: str | None, galleries: tuple[str, ...]
    ) -> AuditHook[list[int]]:
        return lambda ids: context.event(
            action, target=target, galleries=galleries, details={"face_ids": list(ids)}
        )
