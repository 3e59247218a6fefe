"""Request and response bodies of the retention routes: a gallery's period, expired images,
purges."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facesearch.api.schemas.base import RecordOut, examples, record_schema
from facesearch.service.retention import RetentionReport
from facesearch.store import ExpiredImage


class RetentionIn(BaseModel):
    model_config = examples({"retention_days": 365}, {"retention_days": None})
    retention_days: int | None = Field(
        description="Days an image is kept after it was collected; null: until deleted.",
        ge=1,
        le=36_500,
    )


@record_schema(ExpiredImage, rename={"gallery_name": "gallery"})
class ExpiredImageOut(RecordOut[ExpiredImage]):
    pass


class GalleryCountsOut(BaseModel):
    images: int
    faces: int


# Written out: the API shows a RetentionReport with counts of its own (n_images, n_faces,
# by_gallery) under names of its own (as_of, deleted_face_ids); tests/api/test_schemas.py
# checks that it still shows every field of the report.
class RetentionOut(BaseModel):
    """A retention run at ``as_of``: what would go (``dry_run``) or what went."""

    model_config = examples(
        {
            "as_of": "2027-01-06T00:00:00Z",
            "dry_run": True,
            "images": [
                {
                    "image_id": 17,
                    "gallery": "press-archive",
                    "collected_at": "2026-01-05T10:00:00Z",
                    "expires_at": "2027-01-05T10:00:00Z",
                    "n_faces": 2,
                }
            ],
            "n_images": 1,
            "n_faces": 2,
            "by_gallery": {"press-archive": {"images": 1, "faces": 2}},
            "deleted_face_ids": [],
        }
    )

    as_of: datetime
    dry_run: bool
    images: list[ExpiredImageOut]
    n_images: int
    n_faces: int
    by_gallery: dict[str, GalleryCountsOut]
    deleted_face_ids: list[int]

    @classmethod
    def of(cls, r: RetentionReport) -> RetentionOut:
        return cls(
            as_of=r.now,
            dry_run=r.dry_run,
            images=[ExpiredImageOut.of(i) for i in r.images],
            n_images=len(r.images),
            n_faces=r.n_faces,
            by_gallery={g: GalleryCountsOut(**c) for g, c in r.by_gallery().items()},
            deleted_face_ids=list(r.face_ids),
        )
