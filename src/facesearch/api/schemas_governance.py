"""Request and response bodies of the retention, gallery-grant and group routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facesearch.service.retention import RetentionReport
from facesearch.store import ExpiredImage, GrantRecord, GroupGrantRecord, GroupRecord


class RetentionIn(BaseModel):
    retention_days: int | None = Field(
        description="Days an image is kept after it was collected; null: until deleted.",
        ge=1,
        le=36_500,
    )


class BlindReviewIn(BaseModel):
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
    user: str = Field(min_length=1, max_length=200)
    gallery: str = Field(min_length=1, max_length=200)


class GrantOut(BaseModel):
    """A user's right to search a gallery."""

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
    name: str = Field(min_length=1, max_length=200, description="The group's name.")


class GroupMemberIn(BaseModel):
    user: str = Field(min_length=1, max_length=200, description="A user name.")


class GroupGrantIn(BaseModel):
    gallery: str = Field(min_length=1, max_length=200, description="A gallery name.")


class GroupOut(BaseModel):
    """A group of users and the galleries its members may search through it."""

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
