"""Request and response bodies of the catalog and search routes, with the examples the OpenAPI
document shows (accounts, audit and system bodies: :mod:`facesearch.api.schemas_admin`).

Results are *candidates*: leads for a trained reviewer, each with its similarity. Field
names and texts never call a candidate a positive identification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from facesearch.service.reviews import LEAD_DISCLAIMER
from facesearch.store import FaceRecord, GalleryRecord, ImageRecord, SubjectRecord
from facesearch.types import BoundingBox, FaceQuality

SHA_EXAMPLE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def examples(*values: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(values)})


class Box(BaseModel):
    """A face box in pixels of the (EXIF-corrected) image: ``x1, y1`` top-left."""

    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def of(cls, box: BoundingBox) -> Box:
        return cls(x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2)


class Quality(BaseModel):
    """Face quality: eye distance (px), sharpness (Laplacian variance), frontalness and score
    (0..1)."""

    interocular_px: float
    sharpness: float
    frontalness: float
    score: float

    @classmethod
    def of(cls, q: FaceQuality) -> Quality:
        return cls(
            interocular_px=q.interocular_px,
            sharpness=q.sharpness,
            frontalness=q.frontalness,
            score=q.score,
        )


# --- catalog -----------------------------------------------------------------------------
class GalleryIn(BaseModel):
    model_config = examples(
        {
            "name": "press-archive",
            "legal_basis": "newsroom archive, editorial use",
            "description": "Photos from the 1990-2010 print archive",
            "source_category": "press",
        }
    )
    name: str = Field(min_length=1, max_length=200)
    legal_basis: str = Field(min_length=1, max_length=2000)
    description: str = Field("", max_length=2000)
    source_category: str = Field("unspecified", min_length=1, max_length=100)
    retention_days: int | None = Field(
        None,
        ge=1,
        le=36_500,
        description="Days an image is kept after it was collected; null: until deleted.",
    )


class GalleryOut(BaseModel):
    model_config = examples(
        {
            "id": 1,
            "name": "press-archive",
            "description": "",
            "legal_basis": "newsroom archive, editorial use",
            "source_category": "press",
            "created_at": "2026-01-05T10:00:00Z",
            "n_subjects": 120,
            "n_images": 340,
            "n_faces": 352,
            "retention_days": None,
            "mask_source_category": False,
        }
    )
    id: int
    name: str
    description: str
    legal_basis: str
    source_category: str
    created_at: datetime
    n_subjects: int
    n_images: int
    n_faces: int
    retention_days: int | None = None
    mask_source_category: bool = Field(
        False,
        description="Blind review: reviewers see this gallery's candidates without gallery "
        "name and source category until they have recorded their judgement.",
    )

    @classmethod
    def of(cls, g: GalleryRecord) -> GalleryOut:
        return cls(
            id=g.id,
            name=g.name,
            description=g.description,
            legal_basis=g.legal_basis,
            source_category=g.source_category,
            created_at=g.created_at,
            n_subjects=g.n_subjects,
            n_images=g.n_images,
            n_faces=g.n_faces,
            retention_days=g.retention_days,
            mask_source_category=g.mask_source_category,
        )


class SubjectOut(BaseModel):
    model_config = examples(
        {
            "id": 5,
            "gallery": "press-archive",
            "label": "Alice Example",
            "external_reference": "ARCH-PERSON-0005",
            "n_faces": 3,
            "created_at": "2026-01-05T10:00:00Z",
        }
    )
    id: int
    gallery: str
    label: str
    external_reference: str | None
    n_faces: int
    created_at: datetime

    @classmethod
    def of(cls, s: SubjectRecord) -> SubjectOut:
        return cls(
            id=s.id,
            gallery=s.gallery_name,
            label=s.label,
            external_reference=s.external_reference,
            n_faces=s.n_faces,
            created_at=s.created_at,
        )


class ImageOut(BaseModel):
    model_config = examples(
        {
            "id": 17,
            "gallery": "press-archive",
            "sha256": SHA_EXAMPLE,
            "source_uri": "archive://box-12/scan-0042",
            "legal_basis": "newsroom archive, editorial use",
            "captured_at": "1998-06-02T00:00:00Z",
            "width": 1200,
            "height": 800,
            "n_bytes": 245123,
            "format": "JPEG",
            "n_faces": 2,
            "created_at": "2026-01-05T10:00:00Z",
            "collected_at": "2026-01-05T10:00:00Z",
        }
    )
    id: int
    gallery: str
    sha256: str
    source_uri: str | None
    legal_basis: str
    captured_at: datetime | None
    width: int
    height: int
    n_bytes: int
    format: str
    n_faces: int
    created_at: datetime
    collected_at: datetime | None = None

    @classmethod
    def of(cls, i: ImageRecord) -> ImageOut:
        return cls(
            id=i.id,
            gallery=i.gallery_name,
            sha256=i.sha256,
            source_uri=i.source_uri,
            legal_basis=i.legal_basis,
            captured_at=i.captured_at,
            width=i.width,
            height=i.height,
            n_bytes=i.n_bytes,
            format=i.format,
            n_faces=i.n_faces,
            created_at=i.created_at,
            collected_at=i.collected_at,
        )


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


class FaceOut(BaseModel):
    model_config = examples(FACE_EXAMPLE)
    id: int
    image_id: int
    gallery: str
    subject: str | None
    box: Box
    detector: str
    detector_score: float
    quality: Quality
    model_id: str
    source_uri: str | None
    legal_basis: str
    image_sha256: str
    created_at: datetime
    thumbnail_url: str

    @classmethod
    def of(cls, f: FaceRecord) -> FaceOut:
        return cls(
            id=f.id,
            image_id=f.image_id,
            gallery=f.gallery_name,
            subject=f.subject_label,
            box=Box.of(f.box),
            detector=f.detector,
            detector_score=f.detector_score,
            quality=Quality.of(f.quality),
            model_id=f.model_id,
            source_uri=f.source_uri,
            legal_basis=f.legal_basis,
            image_sha256=f.image_sha256,
            created_at=f.created_at,
            thumbnail_url=f"/api/v1/faces/{f.id}/thumbnail",
        )


class ErrorDetail(BaseModel):
    code: str
    message: str


class RejectedFaceOut(BaseModel):
    box: Box
    quality: Quality
    reasons: list[str]


class EnrolledFile(BaseModel):
    """The outcome of one uploaded file: ``enrolled`` with its faces, or ``failed`` with the
    error in the API's error shape."""

    filename: str
    outcome: str = Field(description="`enrolled` or `failed`")
    image_id: int | None = None
    sha256: str | None = None
    face_ids: list[int] = []
    rejected: list[RejectedFaceOut] = []
    error: ErrorDetail | None = None


class EnrollOut(BaseModel):
    model_config = examples(
        {
            "gallery": "press-archive",
            "enrolled": 1,
            "failed": 1,
            "files": [
                {
                    "filename": "scan-0042.jpg",
                    "outcome": "enrolled",
                    "image_id": 17,
                    "sha256": SHA_EXAMPLE,
                    "face_ids": [31],
                    "rejected": [],
                    "error": None,
                },
                {
                    "filename": "notes.txt",
                    "outcome": "failed",
                    "face_ids": [],
                    "rejected": [],
                    "error": {"code": "image_decode_error", "message": "not a supported image"},
                },
            ],
        }
    )
    gallery: str
    enrolled: int
    failed: int
    files: list[EnrolledFile]


class DeletedOut(BaseModel):
    model_config = examples({"deleted_face_ids": [31, 32]})
    deleted_face_ids: list[int]


# --- search and verify -------------------------------------------------------------------
CANDIDATE_EXAMPLE: dict[str, Any] = {
    "rank": 1,
    "face_id": 31,
    "similarity": 0.962,
    "gallery": "press-archive",
    "subject": "Alice Example",
    "image_id": 17,
    "source_uri": "archive://box-12/scan-0042",
    "legal_basis": "newsroom archive, editorial use",
    "box": {"x1": 40, "y1": 30, "x2": 130, "y2": 120},
    "quality": {"interocular_px": 36.0, "sharpness": 98.0, "frontalness": 0.9, "score": 0.85},
    "thumbnail_url": "/api/v1/faces/31/thumbnail",
    "fmr": 2.1e-6,
    "expected_false_candidates": 0.00074,
    "fpir": 0.00074,
}


class CandidateOut(BaseModel):
    """One ranked candidate: a lead to review, with its similarity, never a conclusion."""

    model_config = examples(CANDIDATE_EXAMPLE)

    rank: int
    face_id: int
    similarity: float = Field(description="Cosine similarity of the probe face and this face.")
    gallery: str
    subject: str | None
    image_id: int
    source_uri: str | None
    legal_basis: str
    box: Box
    quality: Quality
    thumbnail_url: str
    fmr: float = Field(
        description="Estimated FMR at this similarity: the share of comparisons "
        "of two different people that score at least this high (calibration table)."
    )
    expected_false_candidates: float = Field(
        description="Expected number of other people at or above this similarity in a "
        "search of this many faces (fmr x gallery_size)."
    )
    fpir: float = Field(
        description="Chance that a search of this many faces turns up anyone else at or "
        "above this similarity: 1 - (1 - fmr) ^ gallery_size."
    )


class ProbeFaceOut(BaseModel):
    box: Box
    detector_score: float
    quality: Quality
    candidates: list[CandidateOut]


NOTICE = (
    "Candidates are investigative leads for a trained reviewer; a high similarity is not "
    "proof of who anyone is. " + LEAD_DISCLAIMER
)


class SearchOut(BaseModel):
    model_config = examples(
        {
            "probe_sha256": SHA_EXAMPLE,
            "model_id": "dlib-resnet-v1",
            "k": 10,
            "threshold": 0.9411,
            "threshold_fmr": 0.0001,
            "threshold_fpir": 0.0346,
            "calibration": "dlib-resnet-v1: LFW deep-funneled, View 1 peopleDevTrain.txt; "
            "45,140,413 impostor pairs; floor FMR 2.4e-07",
            "galleries": ["press-archive"],
            "gallery_size": 352,
            "audit_seq": 1207,
            "notice": NOTICE,
            "faces": [
                {
                    "box": {"x1": 80, "y1": 64, "x2": 170, "y2": 154},
                    "detector_score": 1.2,
                    "quality": {
                        "interocular_px": 38.5,
                        "sharpness": 120.0,
                        "frontalness": 0.93,
                        "score": 0.88,
                    },
                    "candidates": [CANDIDATE_EXAMPLE],
                }
            ],
        }
    )
    probe_sha256: str
    model_id: str
    k: int
    threshold: float
    threshold_fmr: float = Field(description="Estimated FMR at the threshold.")
    threshold_fpir: float = Field(
        description="Chance that a search of this many faces returns any false candidate "
        "at the threshold."
    )
    calibration: str = Field(description="Where the FMR estimates come from.")
    galleries: list[str]
    gallery_size: int
    audit_seq: int | None = Field(None, description="Seq of this search's audit event.")
    notice: str = NOTICE
    faces: list[ProbeFaceOut]


class VerifyFaceOut(BaseModel):
    box: Box
    detector_score: float
    quality: Quality


class VerifyOut(BaseModel):
    model_config = examples(
        {
            "similarity": 0.951,
            "threshold": 0.9259,
            "above_threshold": True,
            "fmr": 1.9e-5,
            "threshold_fmr": 0.001,
            "model_id": "dlib-resnet-v1",
            "audit_seq": 1208,
            "notice": NOTICE,
            "face_a": {
                "box": {"x1": 80, "y1": 64, "x2": 170, "y2": 154},
                "detector_score": 1.2,
                "quality": {
                    "interocular_px": 38.5,
                    "sharpness": 120.0,
                    "frontalness": 0.93,
                    "score": 0.88,
                },
            },
            "face_b": {
                "box": {"x1": 60, "y1": 50, "x2": 150, "y2": 140},
                "detector_score": 0.9,
                "quality": {
                    "interocular_px": 35.0,
                    "sharpness": 80.0,
                    "frontalness": 0.85,
                    "score": 0.8,
                },
            },
        }
    )
    similarity: float
    threshold: float
    above_threshold: bool = Field(description="Whether the similarity reaches the threshold.")
    fmr: float = Field(
        description="Estimated FMR at this similarity (share of comparisons of two "
        "different people scoring at least this high)."
    )
    threshold_fmr: float = Field(description="FMR the verify threshold is set to.")
    model_id: str
    audit_seq: int | None = None
    notice: str = NOTICE
    face_a: VerifyFaceOut
    face_b: VerifyFaceOut
