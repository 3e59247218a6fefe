"""Request and response bodies of the erasure routes (erasure by face, suppression list)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from facesearch.api.schemas import FACE_EXAMPLE, FaceOut, examples
from facesearch.service.privacy import ErasureConfirmation, ErasureView
from facesearch.store import ErasureRecord, SuppressionRecord


class ProposedFaceOut(BaseModel):
    """A face proposed for erasure: its cosine similarity to the requester's face (or, when
    ``via_face_id`` is set, to that proposed face, through which it was found), and the
    stored face (``null`` once it is gone)."""

    face_id: int
    similarity: float
    via_face_id: int | None = None
    face: FaceOut | None


class ErasureOut(BaseModel):
    """An erasure request. ``status``: pending, completed or cancelled. ``threshold`` is the
    similarity of ``target_fmr`` in the model's calibration table."""

    model_config = examples(
        {
            "id": 3,
            "reference": "ER-2026-007",
            "note": "request received by post, identity checked at the desk",
            "status": "pending",
            "model_id": "dlib-resnet-v1",
            "target_fmr": 0.001,
            "threshold": 0.9259,
            "proposed": [
                {
                    "face_id": 31,
                    "similarity": 0.958,
                    "face": FACE_EXAMPLE,
                }
            ],
            "erased_face_ids": [],
            "created_by": "carla",
            "created_at": "2026-02-01T09:00:00Z",
            "decided_by": None,
            "decided_at": None,
        }
    )

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
                    via_face_id=f.via,
                    face=None if f.face is None else FaceOut.of(f.face),
                )
                for f in view.faces
            ]
        else:
            proposed = [
                ProposedFaceOut(
                    face_id=p.face_id, similarity=p.similarity, via_face_id=p.via, face=None
                )
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

    model_config = examples(
        {
            "id": 3,
            "reference": "ER-2026-007",
            "note": "",
            "status": "completed",
            "model_id": "dlib-resnet-v1",
            "target_fmr": 0.001,
            "threshold": 0.9259,
            "proposed": [{"face_id": 31, "similarity": 0.958, "face": None}],
            "erased_face_ids": [31],
            "created_by": "carla",
            "created_at": "2026-02-01T09:00:00Z",
            "decided_by": "carla",
            "decided_at": "2026-02-01T09:20:00Z",
            "kept_faces_hidden_by_suppression": 0,
            "hidden_face_ids": [],
        }
    )

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

    model_config = examples({"face_ids": [31, 32]}, {"face_ids": None})

    face_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        None, max_length=10_000
    )


class SuppressionOut(BaseModel):
    """One suppressed embedding's provenance (the vector itself is never served)."""

    model_config = examples(
        {
            "id": 2,
            "request_id": 3,
            "reference": "ER-2026-007",
            "model_id": "dlib-resnet-v1",
            "created_at": "2026-02-01T09:20:00Z",
        }
    )

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
