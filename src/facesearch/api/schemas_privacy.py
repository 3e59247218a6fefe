"""Request and response bodies of the erasure routes (erasure by face, suppression list)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from facesearch.api.schemas import FaceOut
from facesearch.service.privacy import ErasureConfirmation, ErasureView
from facesearch.store import ErasureRecord, SuppressionRecord


class ProposedFaceOut(BaseModel):
    """A face proposed for erasure: its cosine similarity to the requester's face, and the
    stored face (``null`` once it is gone)."""

    face_id: int
    similarity: float
    face: FaceOut | None


class ErasureOut(BaseModel):
    """An erasure request. ``status``: pending, completed or cancelled. ``threshold`` is the
    similarity of ``target_fmr`` in the model's calibration table."""

    id: int
    reference: str
    note: str
    status: str
    model_id: str
    target_fmr: float
    threshold: float
    proposed: list[ProposedFaceOut]
    erased_face_ids: list[int]
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, r: ErasureRecord, view: ErasureView | None = None) -> ErasureOut:
        if view is not None:
            proposed = [
                ProposedFaceOut(
                    face_id=f.face_id,
                    similarity=f.similarity,
                    face=None if f.face is None else FaceOut.of(f.face),
                )
                for f in view.faces
            ]
        else:
            proposed = [
                ProposedFaceOut(face_id=p.face_id, similarity=p.similarity, face=None)
                for p in r.proposed
            ]
        return cls(
            id=r.id,
            reference=r.reference,
            note=r.note,
            status=r.status,
            model_id=r.model_id,
            target_fmr=r.target_fmr,
            threshold=r.threshold,
            proposed=proposed,
            erased_face_ids=list(r.erased_face_ids),
            created_by=r.created_by,
            created_at=r.created_at,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
        )


class ErasureConfirmedOut(ErasureOut):
    """A confirmed erasure, with the stored faces it did not erase (the curator kept them)
    that the requester's suppression now hides from every search."""

    kept_faces_hidden_by_suppression: int = Field(
        description="How many kept faces the suppression hides from every search."
    )
    hidden_face_ids: list[int]

    @classmethod
    def of_confirmation(cls, c: ErasureConfirmation) -> ErasureConfirmedOut:
        return cls(
            **ErasureOut.of(c.record).model_dump(),
            kept_faces_hidden_by_suppression=len(c.hidden_face_ids),
            hidden_face_ids=list(c.hidden_face_ids),
        )


class ErasureConfirmIn(BaseModel):
    """Which proposed faces to erase; omitted or ``null``: every proposed face."""

    face_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        None, max_length=10_000
    )


class SuppressionOut(BaseModel):
    """One suppressed embedding's provenance (the vector itself is never served)."""

    id: int
    request_id: int
    reference: str
    model_id: str
    created_at: datetime

    @classmethod
    def of(cls, s: SuppressionRecord) -> SuppressionOut:
        return cls(
            id=s.id,
            request_id=s.request_id,
            reference=s.reference,
            model_id=s.model_id,
            created_at=s.created_at,
        )
