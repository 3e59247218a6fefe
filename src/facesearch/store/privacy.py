"""Erasure requests and the suppression list in the store.

A confirmed erasure is one transaction: the faces are deleted (logged in
``face_deletions``, so every vector index drops them), images left without faces go with
their rejections, subjects left without faces go too (their label is the person's name),
the review judgements of the erased faces go (their count is added to the audit event's
details as ``review_judgements_deleted``), the requester's embedding and the erased faces'
embeddings join ``suppressions``, the request is marked completed, and its audit event is
appended. Each suppression embedding keeps the loose face crop it came from (the
requester's, kept with the pending request; an erased face's kept crop), only so that it
can be re-embedded when a gallery moves to another model (``facesearch models migrate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facesearch.errors import Conflict, InvalidInput, NotFound
from facesearch.store import _rows, _validate
from facesearch.store.audit import append_event
from facesearch.store.database import Database
from facesearch.store.records import (
    AuditHook,
    ErasureRecord,
    ProposedFace,
    SuppressionRecord,
)
from facesearch.store.reviews import drop_judgements, with_details
from facesearch.store.tables import (
    ErasureRequest,
    Face,
    FaceRejection,
    Image,
    Subject,
    Suppression,
    utcnow,
)
from facesearch.types import BoundingBox

PENDING, COMPLETED, CANCELLED = "pending", "completed", "cancelled"


def suppression_marks_in(s: Session, model_id: str) -> tuple[int, int]:
    """``(highest suppression id, count)`` of ``model_id``'s suppression list, read in ``s``."""
    top, n = s.execute(
        select(func.coalesce(func.max(Suppression.id), 0), func.count()).where(
            Suppression.model_id == model_id
        )
    ).one()
    return int(top or 0), int(n)


def _proposal(p: ProposedFace) -> dict[str, int | float]:
    """A proposal as stored in the request's JSON list (``via`` only when there is one)."""
    out: dict[str, int | float] = {"face_id": int(p.face_id), "similarity": float(p.similarity)}
    if p.via is not None:
        out["via"] = int(p.via)
    return out


def _record(row: ErasureRequest) -> ErasureRecord:
    return ErasureRecord(
        id=row.id,
        reference=row.reference,
        note=row.note,
        status=row.status,
        model_id=row.model_id,
        target_fmr=row.target_fmr,
        threshold=row.threshold,
        proposed=tuple(
            ProposedFace(
                int(p["face_id"]),
                float(p["similarity"]),
                None if p.get("via") is None else int(p["via"]),
            )
            for p in row.proposed
        ),
        erased_face_ids=tuple(int(i) for i in row.erased_face_ids),
        created_by=row.created_by,
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def _vector_bytes(vector: NDArray[np.float32]) -> tuple[bytes, int]:
    v = np.asarray(vector)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise InvalidInput("an embedding must be a finite, non-empty (d,) vector")
    return v.astype("<f4").tobytes(), int(v.size)


class PrivacyRepository:
    """Erasure requests and the suppression list."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- erasure requests ---------------------------------------------------------------
    def add_erasure_request(
        self,
        *,
        reference: str,
        note: str,
        model_id: str,
        embedding: NDArray[np.float32],
        target_fmr: float,
        threshold: float,
        proposed: Sequence[ProposedFace],
        created_by: str,
        crop: bytes | None = None,
        crop_box: BoundingBox | None = None,
        audit: AuditHook[ErasureRecord] | None = None,
    ) -> ErasureRecord:
        """A pending request holding the requester's ``(d,)`` float32 embedding and the
        loose crop of their face (JPEG ``crop`` with the face's ``crop_box`` in it), which
        confirmation moves to the suppression list with the embedding."""
        _validate.text("reference", reference, 200)
        _validate.text("model_id", model_id, 64)
        blob, dim = _vector_bytes(embedding)
        with self._db.transaction("add_erasure_request", write=True) as s:
            row = ErasureRequest(
                reference=reference,
                note=note,
                status=PENDING,
                model_id=model_id,
                embedding=blob,
                embedding_dim=dim,
                target_fmr=float(target_fmr),
                threshold=float(threshold),
                proposed=[_proposal(p) for p in proposed],
                erased_face_ids=[],
                created_by=created_by,
                crop=crop if crop_box is not None else None,
                crop_box=None if crop is None or crop_box is None else list(crop_box.as_tuple()),
            )
            s.add(row)
            s.flush()
            record = _record(row)
            if audit is not None:
                append_event(s, audit(record))
            return record

    def erasure_embedding(self, request_id: int) -> NDArray[np.float32]:
        """The requester's ``(d,)`` float32 embedding of a pending request (``Conflict``
        once the request is decided: the embedding is then wiped or suppressed)."""
        with self._db.transaction("erasure_embedding") as s:
            row = self._request(s, request_id)
            if row.status != PENDING or row.embedding is None:
                raise Conflict(f"erasure request {request_id} is {row.status}, not pending")
            blob, dim = bytes(row.embedding), int(row.embedding_dim)
        vector = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        if vector.size != dim:  # pragma: no cover - written by add_erasure_request
            raise Conflict(f"erasure request {request_id} holds a damaged embedding")
        return vector

    def add_erasure_proposals(
        self, request_id: int, proposed: Sequence[ProposedFace]
    ) -> ErasureRecord:
        """Add ``proposed`` faces (those not proposed yet) to a pending request's proposals,
        which stay ordered best first. ``Conflict`` when the request is not pending."""
        with self._db.transaction("add_erasure_proposals", write=True) as s:
            row = self._request(s, request_id)
            if row.status != PENDING:
                raise Conflict(f"erasure request {request_id} is {row.status}, not pending")
            known = {int(p["face_id"]) for p in row.proposed}
            merged = list(row.proposed) + [
                _proposal(p) for p in proposed if int(p.face_id) not in known
            ]
            merged.sort(key=lambda p: (-float(p["similarity"]), int(p["face_id"])))
            row.proposed = merged
            s.flush()
            return _record(row)

    def get_erasure_request(self, request_id: int) -> ErasureRecord:
        with self._db.transaction("get_erasure_request") as s:
            return _record(self._request(s, request_id))

    def list_erasure_requests(self, status: str | None = None) -> list[ErasureRecord]:
        """Requests, newest first (optionally of one status)."""
        with self._db.transaction("list_erasure_requests") as s:
            query = select(ErasureRequest).order_by(ErasureRequest.id.desc())
            if status is not None:
                query = query.where(ErasureRequest.status == status)
            return [_record(row) for row in s.scalars(query)]

    def complete_erasure(
        self,
        request_id: int,
        face_ids: Sequence[int],
        *,
        decided_by: str,
        audit: AuditHook[ErasureRecord] | None = None,
    ) -> ErasureRecord:
        """Erase ``face_ids`` for a pending request and suppress the requester (one
        transaction; see the module docstring). Faces already gone are skipped; the
        judgements of the erased faces are deleted and counted in the audit event's
        ``details["review_judgements_deleted"]``.
        ``Conflict`` when the request is not pending."""
        with self._db.transaction("complete_erasure", write=True) as s:
            row = self._request(s, request_id)
            if row.status != PENDING:
                raise Conflict(f"erasure request {request_id} is {row.status}, not pending")
            wanted = list(_rows.chunks(face_ids))
            found: list[tuple[int, int, int | None, bytes, int, bytes | None, Any]] = []
            for chunk in wanted:
                found += [
                    (
                        int(r.id), int(r.image_id), r.subject_id, bytes(r.embedding),
                        r.embedding_dim, None if r.crop is None else bytes(r.crop), r.crop_box,
                    )
                    for r in s.execute(
                        select(
                            Face.id, Face.image_id, Face.subject_id, Face.embedding,
                            Face.embedding_dim, Face.crop, Face.crop_box,
                        ).where(Face.id.in_(chunk), Face.model_id == row.model_id)
                    )
                ]  # fmt: skip
            erased: list[int] = []
            for chunk in _rows.chunks([f[0] for f in found]):
                erased += _rows.delete_faces_where(s, Face.id.in_(chunk), recount_images=True)
            self._drop_empty(s, {f[1] for f in found}, {f[2] for f in found if f[2] is not None})
            dropped = drop_judgements(s, erased)
            if row.embedding is None:  # pending requests always keep it
                raise Conflict(f"erasure request {request_id} holds no embedding")
            # each embedding with the loose crop it came from, kept only so that the
            # suppression can follow a migration to another model (tables.Suppression)
            vectors = [(row.embedding, row.embedding_dim, row.crop, row.crop_box)] + [
                (f[3], f[4], f[5], f[6]) for f in found
            ]
            s.add_all(
                Suppression(
                    request_id=row.id,
                    reference=row.reference,
                    model_id=row.model_id,
                    embedding=blob,
                    embedding_dim=dim,
                    crop=None if crop is None or box is None else bytes(crop),
                    crop_box=None if crop is None or box is None else list(box),
                )
                for blob, dim, crop, box in vectors
            )
            row.status = COMPLETED
            row.embedding = None  # kept in suppressions only
            row.crop = None
            row.crop_box = None
            row.erased_face_ids = sorted(erased)
            row.decided_by = decided_by
            row.decided_at = utcnow()
            s.flush()
            record = _record(row)
            if audit is not None:
                append_event(s, with_details(audit(record), review_judgements_deleted=dropped))
            return record

    def cancel_erasure(
        self,
        request_id: int,
        *,
        decided_by: str,
        audit: AuditHook[ErasureRecord] | None = None,
    ) -> ErasureRecord:
        """Cancel a pending request; its embedding is wiped."""
        with self._db.transaction("cancel_erasure", write=True) as s:
            row = self._request(s, request_id)
            if row.status != PENDING:
                raise Conflict(f"erasure request {request_id} is {row.status}, not pending")
            row.status = CANCELLED
            row.embedding = None
            row.crop = None
            row.crop_box = None
            row.decided_by = decided_by
            row.decided_at = utcnow()
            s.flush()
            record = _record(row)
            if audit is not None:
                append_event(s, audit(record))
            return record

    # --- suppression list ---------------------------------------------------------------
    def suppression_marks(self, model_id: str) -> tuple[int, int]:
        """``(highest suppression id, count)`` of the model: cheap change detection."""
        with self._db.transaction("suppression_marks") as s:
            return suppression_marks_in(s, model_id)

    def suppressed_embeddings(self, model_id: str) -> NDArray[np.float32]:
        """The model's suppressed embeddings, ``(n, d)`` float32 (``(0, 0)`` when none)."""
        with self._db.transaction("suppressed_embeddings") as s:
            rows = s.execute(
                select(Suppression.id, Suppression.embedding, Suppression.embedding_dim)
                .where(Suppression.model_id == model_id)
                .order_by(Suppression.id)
            ).all()
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return _rows.decode_embeddings(model_id, rows)[1]

    def suppressed_requests(self) -> dict[str, frozenset[int]]:
        """Per model id, the erasure requests it has suppression entries for: a request
        missing under a model is a person that model does not keep out (see
        ``facesearch models migrate``)."""
        with self._db.transaction("suppressed_requests") as s:
            rows = s.execute(select(Suppression.model_id, Suppression.request_id).distinct()).all()
        out: dict[str, set[int]] = {}
        for model_id, request_id in rows:
            out.setdefault(str(model_id), set()).add(int(request_id))
        return {m: frozenset(r) for m, r in out.items()}

    def list_suppressions(self) -> list[SuppressionRecord]:
        """Every suppressed embedding's provenance (not the vector), by id."""
        with self._db.transaction("list_suppressions") as s:
            return [
                SuppressionRecord(
                    id=r.id,
                    request_id=r.request_id,
                    reference=r.reference,
                    model_id=r.model_id,
                    created_at=r.created_at,
                )
                for r in s.scalars(select(Suppression).order_by(Suppression.id))
            ]

    # --- helpers ------------------------------------------------------------------------
    @staticmethod
    def _request(session: Session, request_id: int) -> ErasureRequest:
        row = session.get(ErasureRequest, int(request_id))
        if row is None:
            raise NotFound(f"erasure request {request_id} not found")
        return row

    @staticmethod
    def _drop_empty(session: Session, image_ids: set[int], subject_ids: set[int]) -> None:
        """Delete the images and subjects of ``*_ids`` that no longer hold any face."""
        nosync = _rows.NO_SYNC
        for chunk in _rows.chunks(sorted(image_ids)):
            keep = select(Face.image_id).where(Face.image_id.in_(chunk))
            empty = select(Image.id).where(Image.id.in_(chunk), Image.id.not_in(keep))
            ids = list(session.scalars(empty))
            if ids:
                session.execute(
                    delete(FaceRejection).where(FaceRejection.image_id.in_(ids)),
                    execution_options=nosync,
                )
                session.execute(delete(Image).where(Image.id.in_(ids)), execution_options=nosync)
        for chunk in _rows.chunks(sorted(subject_ids)):
            kept = select(Face.subject_id).where(Face.subject_id.in_(chunk))
            session.execute(
                delete(Subject).where(Subject.id.in_(chunk), Subject.id.not_in(kept)),
                execution_options=nosync,
            )
