"""Request and response bodies of the erasure routes (erasure by face, suppression list)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import RecordOut, examples, record_schema
from facesearch.api.schemas.faces import FACE_EXAMPLE, FaceOut
from facesearch.service.privacy import ErasureConfirmation, ErasureView
from facesearch.store import ErasureRecord, ProposedFace, SuppressionRecord


@record_schema(ProposedFace, rename={"via": "via_face_id"}, fields={"face": FaceOut | None})
class ProposedFaceOut(RecordOut[ProposedFace]):
    """A face proposed for erasure: its cosine similarity to the requester's face (or, when
    ``via_face_id`` is set, to that proposed face, through which it was found), and the
    stored face (``null`` once it is gone)."""


@record_schema(ErasureRecord, fields={"proposed": list[ProposedFaceOut]})
class ErasureOut(RecordOut[ErasureRecord]):
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

    @classmethod
    def of(cls, record: ErasureRecord, view: ErasureView | None = None) -> Self:
        """The request ``record``, its proposed faces with the stored faces when ``view``
        is given, without them (``face``: null) otherwise."""
        if view is None:
            proposed = [ProposedFaceOut.from_record(p, face=None) for p in record.proposed]
        else:
            proposed = [
                ProposedFaceOut.from_record(
                    ProposedFace(f.face_id, f.similarity, f.via),
                    face=None if f.face is None else FaceOut.of(f.face),
                )
                for f in view.faces
            ]
        return cls.from_record(record, proposed=proposed)


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


@record_schema(SuppressionRecord)
class SuppressionOut(RecordOut[SuppressionRecord]):
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
