"""Request and response bodies of the retention, gallery-grant and group routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facesearch.api.schemas import examples
from facesearch.service.retention import RetentionReport
from facesearch.store import ExpiredImage, GrantRecord, GroupGrantRecord, GroupRecord


class RetentionIn(BaseModel):
    model_config = examples({"retention_days": 365}, {"retention_days": None})
    retention_days: int | None = Field(
        description="Days an image is kept after it was collected; null: until deleted.",
        ge=1,
        le=36_500,
    )


class BlindReviewIn(BaseModel):
    model_config = examples({"mask_source_category": True})
    mask_source_category: bool = Field(
        description="Hide gallery name and source category from reviewers until they judge."
    )


class ExpiredImageOut(BaseModel):
    image_id: int
    gallery: str
    collected_at: datetime
    expires_at: datetime
    n_faces: int

    @classmethod
    def of(cls, i: ExpiredImage) -> ExpiredImageOut:
        return cls(
            image_id=i.image_id,
            gallery=i.gallery_name,
            collected_at=i.collected_at,
            expires_at=i.expires_at,
            n_faces=i.n_faces,
        )


class GalleryCountsOut(BaseModel):
    images: int
    faces: int


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


class GrantIn(BaseModel):
    model_config = examples({"user": "ivy", "gallery": "press-archive"})
    user: str = Field(min_length=1, max_length=200)
    gallery: str = Field(min_length=1, max_length=200)


class GrantOut(BaseModel):
    """A user's right to search a gallery."""

    model_config = examples(
        {
            "user": "ivy",
            "gallery": "press-archive",
            "granted_by": "root",
            "created_at": "2026-01-05T10:00:00Z",
        }
    )

    user: str
    gallery: str
    granted_by: str
    created_at: datetime

    @classmethod
    def of(cls, g: GrantRecord) -> GrantOut:
        return cls(
            user=g.user_name,
            gallery=g.gallery_name,
            granted_by=g.granted_by,
            created_at=g.created_at,
        )


class GroupIn(BaseModel):
    model_config = examples({"name": "robbery-squad"})
    name: str = Field(min_length=1, max_length=200, description="The group's name.")


class GroupMemberIn(BaseModel):
    model_config = examples({"user": "ivy"})
    user: str = Field(min_length=1, max_length=200, description="A user name.")


class GroupGrantIn(BaseModel):
    model_config = examples({"gallery": "press-archive"})
    gallery: str = Field(min_length=1, max_length=200, description="A gallery name.")


class GroupOut(BaseModel):
    """A group of users and the galleries its members may search through it."""

    model_config = examples(
        {
            "name": "robbery-squad",
            "members": ["ivy", "omar"],
            "galleries": ["press-archive"],
            "created_by": "root",
            "created_at": "2026-01-05T10:00:00Z",
        }
    )

    name: str
    members: list[str]
    galleries: list[str]
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, g: GroupRecord) -> GroupOut:
        return cls(
            name=g.name,
            members=list(g.members),
            galleries=list(g.galleries),
            created_by=g.created_by,
            created_at=g.created_at,
        )


class GroupGrantOut(BaseModel):
    """A group's right to search a gallery."""

    model_config = examples(
        {
            "group": "robbery-squad",
            "gallery": "press-archive",
            "granted_by": "root",
            "created_at": "2026-01-05T10:00:00Z",
        }
    )

    group: str
    gallery: str
    granted_by: str
    created_at: datetime

    @classmethod
    def of(cls, g: GroupGrantRecord) -> GroupGrantOut:
        return cls(
            group=g.group_name,
            gallery=g.gallery_name,
            granted_by=g.granted_by,
            created_at=g.created_at,
        )
