"""A stored face as the API shows it (catalog, erasure proposals), and the box and quality
of any face (stored, probe, rejected at enrollment)."""

from __future__ import annotations

from typing import Any, Self

from facesearch.api.schemas.base import SHA_EXAMPLE, RecordOut, examples, record_schema
from facesearch.store import FaceRecord
from facesearch.types import BoundingBox, FaceQuality


@record_schema(BoundingBox)
class Box(RecordOut[BoundingBox]):
    """A face box in pixels of the (EXIF-corrected) image: ``x1, y1`` top-left."""


@record_schema(FaceQuality)
class Quality(RecordOut[FaceQuality]):
    """Face quality: eye distance (px), sharpness (Laplacian variance), frontalness and score
    (0..1)."""


FACE_EXAMPLE: dict[str, Any] = {
    "id": 31,
    "image_id": 17,
    "gallery": "press-archive",
    "subject": "Alice Example",
    "box": {"x1": 40, "y1": 30, "x2": 130, "y2": 120},
    "detector": "dlib-hog",
    "detector_score": 1.1,
    "quality": {
        "interocular_px": 36.0,
        "sharpness": 98.0,
        "frontalness": 0.9,
        "score": 0.85,
    },
    "model_id": "dlib-resnet-v1",
    "source_uri": "archive://box-12/scan-0042",
    "legal_basis": "newsroom archive, editorial use",
    "image_sha256": SHA_EXAMPLE,
    "created_at": "2026-01-05T10:00:00Z",
    "thumbnail_url": "/api/v1/faces/31/thumbnail",
}


# Internal ids (gallery, subject) and the landmarks stay in the store; the gallery and the
# subject are shown by name, and the thumbnail by its URL.
@record_schema(
    FaceRecord,
    omit=("gallery_id", "subject_id", "landmarks"),
    rename={"gallery_name": "gallery", "subject_label": "subject"},
    fields={"box": Box, "quality": Quality, "thumbnail_url": str},
)
class FaceOut(RecordOut[FaceRecord]):
    model_config = examples(FACE_EXAMPLE)

    @classmethod
    def of(cls, record: FaceRecord) -> Self:
        return cls.from_record(record, thumbnail_url=f"/api/v1/faces/{record.id}/thumbnail")
