"""Request and response bodies of the catalog routes: galleries, subjects, images,
enrollment and deletion (the face itself: :mod:`facesearch.api.schemas.faces`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import SHA_EXAMPLE, RecordOut, examples, record_schema
from facesearch.api.schemas.faces import Box, Quality
from facesearch.service import RejectedFace
from facesearch.store import GalleryRecord, ImageRecord, SubjectRecord


# --- galleries ---------------------------------------------------------------------------
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


@record_schema(
    GalleryRecord,
    fields={
        "mask_source_category": (
            bool,
            Field(
                False,
                description="Blind review: reviewers see this gallery's candidates without "
                "gallery name and source category until they have recorded their judgement.",
            ),
        )
    },
)
class GalleryOut(RecordOut[GalleryRecord]):
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


class BlindReviewIn(BaseModel):
    model_config = examples({"mask_source_category": True})
    mask_source_category: bool = Field(
        description="Hide gallery name and source category from reviewers until they judge."
    )


# --- subjects and images -----------------------------------------------------------------
# The gallery is shown by name; its internal id stays in the store.
@record_schema(SubjectRecord, omit=("gallery_id",), rename={"gallery_name": "gallery"})
class SubjectOut(RecordOut[SubjectRecord]):
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


@record_schema(ImageRecord, omit=("gallery_id",), rename={"gallery_name": "gallery"})
class ImageOut(RecordOut[ImageRecord]):
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


# --- enrollment and deletion -------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str
    message: str


@record_schema(RejectedFace, fields={"box": Box, "quality": Quality})
class RejectedFaceOut(RecordOut[RejectedFace]):
    pass


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
